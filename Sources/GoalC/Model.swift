import CGoalSupport
import Glibc
import GoalCLIP

/// What a goal_model handle points at: the model, and C copies of the paths it reports.
final class ModelObject {
    let model: CLIPModel
    let paths: [Int: UnsafePointer<CChar>]
    private let strings = CStringTable()

    init(_ model: CLIPModel) {
        self.model = model
        let f = model.files
        var tokenizer: String?
        switch f.tokenizer {
        case .tokenizerJSON(let p)?, .openAIBPE(let p)?, .vocabAndMerges(let p, _)?: tokenizer = p
        case nil: tokenizer = nil
        }
        let named: [Int: String?] = [
            GOAL_OPTION_TEXT_MODEL: model.info.contextLength > 0 ? f.textGraph : nil,
            GOAL_OPTION_VISION_MODEL: model.info.imageSize > 0 ? f.visionGraph : nil,
            GOAL_OPTION_TOKENIZER: model.info.contextLength > 0 ? tokenizer : nil,
            GOAL_OPTION_PREPROCESSOR_CONFIG: model.info.imageSize > 0 ? f.preprocessorConfig : nil,
            GOAL_OPTION_MODEL_CONFIG: f.modelConfig,
        ]
        var paths: [Int: UnsafePointer<CChar>] = [:]
        for (key, value) in named { if let value { paths[key] = strings.add(value) } }
        self.paths = paths
    }
}

@_cdecl("goal_model_open")
public func goalModelOpen(_ path: UnsafePointer<CChar>?, _ options: OpaquePointer?,
                          _ outModel: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outModel?.pointee = nil
    return abiCall { () throws(GoalError) in
        let out = try required(outModel, "goal_model_open", "out_model")
        var folder: String?
        if let path {
            guard let text = String(validatingCString: path) else {
                throw GoalError(.invalidArgument, "goal_model_open: the path is not valid UTF-8")
            }
            guard !text.isEmpty else {
                throw GoalError(.invalidArgument, "goal_model_open: the path is empty (pass NULL to open only the files named in the options)")
            }
            folder = text
        }
        let settings = options == nil ? OptionsObject() : try object(options, "goal_model_open", "options", as: OptionsObject.self)
        let model = try CLIPModel(path: folder, options: try settings.modelOptions)
        out.pointee = retainedHandle(ModelObject(model))
    }
}

@_cdecl("goal_model_free")
public func goalModelFree(_ model: OpaquePointer?) {
    releaseHandle(model, as: ModelObject.self)
}

@_cdecl("goal_model_get_int")
public func goalModelGetInt(_ model: OpaquePointer?, _ key: goal_model_key,
                            _ outValue: UnsafeMutablePointer<Int64>?) -> goal_status {
    outValue?.pointee = 0
    return abiCall { () throws(GoalError) in
        let info = try object(model, "goal_model_get_int", "model", as: ModelObject.self).model.info
        let out = try required(outValue, "goal_model_get_int", "out_value")
        switch Int(key) {
        case GOAL_MODEL_DIM: out.pointee = Int64(info.dim)
        case GOAL_MODEL_CONTEXT_LENGTH: out.pointee = Int64(info.contextLength)
        case GOAL_MODEL_IMAGE_SIZE: out.pointee = Int64(info.imageSize)
        case GOAL_MODEL_PATCH_SIZE: out.pointee = Int64(info.patchSize)
        case GOAL_MODEL_CONVENTION:
            out.pointee = Int64(info.convention == .huggingFace ? GOAL_CONVENTION_HUGGINGFACE : GOAL_CONVENTION_OPENAI)
        case GOAL_MODEL_HAS_TEXT: out.pointee = info.contextLength > 0 ? 1 : 0
        case GOAL_MODEL_HAS_IMAGE: out.pointee = info.imageSize > 0 ? 1 : 0
        default: throw GoalError(.invalidArgument, "goal_model_get_int: unknown key \(key)")
        }
    }
}

@_cdecl("goal_model_file")
public func goalModelFile(_ model: OpaquePointer?, _ key: goal_option,
                          _ outPath: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> goal_status {
    outPath?.pointee = nil
    return abiCall { () throws(GoalError) in
        let m = try object(model, "goal_model_file", "model", as: ModelObject.self)
        let out = try required(outPath, "goal_model_file", "out_path")
        switch Int(key) {
        case GOAL_OPTION_TEXT_MODEL, GOAL_OPTION_VISION_MODEL, GOAL_OPTION_TOKENIZER,
             GOAL_OPTION_PREPROCESSOR_CONFIG, GOAL_OPTION_MODEL_CONFIG:
            out.pointee = m.paths[Int(key)]
        default:
            throw GoalError(.invalidArgument, "goal_model_file: \(key) is not a file option")
        }
    }
}

/// A C size_t as Swift sees it: values above Int.max arrive negative and mean "as large as can be".
func sizeT(_ value: Int) -> Int { value < 0 ? Int.max : value }

/// `length` bytes of caller text (GOAL_NUL_TERMINATED: up to the NUL), copied.
func textBytes(_ text: UnsafePointer<CChar>?, _ length: Int, _ function: StaticString, _ what: String) throws(GoalError) -> [UInt8] {
    guard length >= -1 else { throw GoalError(.invalidArgument, "\(function): the length of \(what) is \(UInt(bitPattern: length)) bytes") }
    guard let text else {
        if length == 0 { return [] }
        throw GoalError(.invalidArgument, "\(function): \(what) is NULL")
    }
    let count = length == -1 ? strlen(text) : length
    return text.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
}

/// Copies `values` into a caller buffer of `capacity` floats, or reports the size needed.
func copyOut(_ values: [Float], _ out: UnsafeMutablePointer<Float>?, _ capacity: Int, _ function: StaticString) throws(GoalError) {
    if values.isEmpty { return }
    guard sizeT(capacity) >= values.count else {
        throw GoalError(.bufferTooSmall, "\(function): the output needs \(values.count) floats; the buffer holds \(capacity)")
    }
    let out = try required(out, function, "out_embeddings")
    values.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: values.count) }
}

@_cdecl("goal_model_tokenize")
public func goalModelTokenize(_ model: OpaquePointer?, _ text: UnsafePointer<CChar>?, _ length: Int, _ maxTokens: Int,
                              _ outIDs: UnsafeMutablePointer<Int32>?, _ outSpans: UnsafeMutablePointer<Int64>?,
                              _ capacity: Int, _ outCount: UnsafeMutablePointer<Int>?) -> goal_status {
    outCount?.pointee = 0
    return abiCall { () throws(GoalError) in
        let m = try object(model, "goal_model_tokenize", "model", as: ModelObject.self).model
        let bytes = try textBytes(text, length, "goal_model_tokenize", "text")
        let tokens = try m.tokenize(bytes, limit: maxTokens == 0 ? nil : sizeT(maxTokens))
        guard sizeT(capacity) >= tokens.count else {
            outCount?.pointee = tokens.count
            throw GoalError(.bufferTooSmall, "goal_model_tokenize: the text is \(tokens.count) tokens; the buffer holds \(capacity)")
        }
        let ids = try required(outIDs, "goal_model_tokenize", "out_ids")
        outCount?.pointee = tokens.count
        for (i, t) in tokens.enumerated() {
            ids[i] = t.id
            outSpans?[2 * i] = Int64(t.span.lowerBound)
            outSpans?[2 * i + 1] = Int64(t.span.upperBound)
        }
    }
}

@_cdecl("goal_model_tokenize_batch")
public func goalModelTokenizeBatch(_ model: OpaquePointer?, _ count: Int, _ texts: UnsafePointer<UnsafePointer<CChar>?>?,
                                   _ lengths: UnsafePointer<Int>?, _ maxTokens: Int, _ outIDs: UnsafeMutablePointer<Int32>?,
                                   _ capacity: Int, _ outOffsets: UnsafeMutablePointer<Int>?,
                                   _ outTotal: UnsafeMutablePointer<Int>?) -> goal_status {
    outTotal?.pointee = 0
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_model_tokenize_batch"
        let m = try object(model, f, "model", as: ModelObject.self).model
        guard count >= 0 else { throw GoalError(.invalidArgument, "\(f): a count of \(UInt(bitPattern: count))") }
        var inputs: [[UInt8]] = []
        if count > 0 {
            let texts = try required(texts, f, "texts")
            for i in 0..<count { inputs.append(try textBytes(texts[i], lengths?[i] ?? -1, f, "text \(i)")) }
        }
        let ids = try m.tokenizeBatch(inputs, limit: maxTokens == 0 ? nil : sizeT(maxTokens))
        let total = ids.reduce(0) { $0 + $1.count }
        guard sizeT(capacity) >= total else {
            outTotal?.pointee = total
            throw GoalError(.bufferTooSmall, "\(f): the texts are \(total) tokens; the buffer holds \(capacity)")
        }
        let offsets = try required(outOffsets, f, "out_offsets")
        var at = 0
        if total > 0 {
            let out = try required(outIDs, f, "out_ids")
            for (i, row) in ids.enumerated() {
                offsets[i] = at
                for id in row { out[at] = id; at += 1 }
            }
        } else {
            for i in 0..<count { offsets[i] = 0 }
        }
        offsets[count] = at
        outTotal?.pointee = total
    }
}

@_cdecl("goal_model_encode_text")
public func goalModelEncodeText(_ model: OpaquePointer?, _ count: Int, _ texts: UnsafePointer<UnsafePointer<CChar>?>?,
                                _ lengths: UnsafePointer<Int>?, _ outEmbeddings: UnsafeMutablePointer<Float>?,
                                _ capacity: Int) -> goal_status {
    abiCall { () throws(GoalError) in
        let m = try object(model, "goal_model_encode_text", "model", as: ModelObject.self).model
        try checkCapacity(count, m.info.dim, capacity, "goal_model_encode_text")
        var inputs: [[UInt8]] = []
        if count > 0 {
            let texts = try required(texts, "goal_model_encode_text", "texts")
            for i in 0..<count {
                inputs.append(try textBytes(texts[i], lengths?[i] ?? -1, "goal_model_encode_text", "text \(i)"))
            }
        }
        try copyOut(try m.encodeText(inputs), outEmbeddings, capacity, "goal_model_encode_text")
    }
}

/// Fails early, before any work, when `count` embeddings cannot fit.
func checkCapacity(_ count: Int, _ dim: Int, _ capacity: Int, _ function: StaticString) throws(GoalError) {
    guard count >= 0 else { throw GoalError(.invalidArgument, "\(function): a count of \(UInt(bitPattern: count))") }
    let (needed, overflow) = count.multipliedReportingOverflow(by: dim)
    guard !overflow, sizeT(capacity) >= needed else {
        throw GoalError(.bufferTooSmall, "\(function): \(count) embeddings of \(dim) need \(overflow ? "more" : String(needed)) floats; the buffer holds \(capacity)")
    }
}

@_cdecl("goal_model_encode_image_files")
public func goalModelEncodeImageFiles(_ model: OpaquePointer?, _ count: Int, _ paths: UnsafePointer<UnsafePointer<CChar>?>?,
                                      _ outEmbeddings: UnsafeMutablePointer<Float>?, _ capacity: Int) -> goal_status {
    abiCall { () throws(GoalError) in
        let m = try object(model, "goal_model_encode_image_files", "model", as: ModelObject.self).model
        try checkCapacity(count, m.info.dim, capacity, "goal_model_encode_image_files")
        var sources: [ImageSource] = []
        if count > 0 {
            let paths = try required(paths, "goal_model_encode_image_files", "paths")
            for i in 0..<count {
                guard let p = paths[i], let path = String(validatingCString: p) else {
                    throw GoalError(.invalidArgument, "goal_model_encode_image_files: path \(i) is NULL or not UTF-8")
                }
                sources.append(.file(path))
            }
        }
        try copyOut(try m.encodeImages(sources), outEmbeddings, capacity, "goal_model_encode_image_files")
    }
}

@_cdecl("goal_model_encode_image_memory")
public func goalModelEncodeImageMemory(_ model: OpaquePointer?, _ count: Int, _ data: UnsafePointer<UnsafeRawPointer?>?,
                                       _ sizes: UnsafePointer<Int>?, _ outEmbeddings: UnsafeMutablePointer<Float>?,
                                       _ capacity: Int) -> goal_status {
    abiCall { () throws(GoalError) in
        let m = try object(model, "goal_model_encode_image_memory", "model", as: ModelObject.self).model
        try checkCapacity(count, m.info.dim, capacity, "goal_model_encode_image_memory")
        var sources: [ImageSource] = []
        if count > 0 {
            let data = try required(data, "goal_model_encode_image_memory", "data")
            let sizes = try required(sizes, "goal_model_encode_image_memory", "sizes")
            for i in 0..<count {
                guard let bytes = data[i] else {
                    throw GoalError(.invalidArgument, "goal_model_encode_image_memory: data \(i) is NULL")
                }
                guard sizes[i] >= 0 else { throw GoalError(.invalidArgument, "goal_model_encode_image_memory: size \(i) is \(UInt(bitPattern: sizes[i])) bytes") }
                sources.append(.encoded(Array(UnsafeRawBufferPointer(start: bytes, count: sizes[i]))))
            }
        }
        try copyOut(try m.encodeImages(sources), outEmbeddings, capacity, "goal_model_encode_image_memory")
    }
}

/// One caller image of raw pixels, copied.
func rawImage(_ pixels: UnsafePointer<UInt8>?, _ width: Int32, _ height: Int32, _ stride: Int, _ channels: Int32,
              _ alpha: AlphaHandling, _ function: StaticString, _ index: Int) throws(GoalError) -> RGBImage {
    guard let pixels else { throw GoalError(.invalidArgument, "\(function): pixels of image \(index) are NULL") }
    // The buffer's extent is what the caller promises: (height - 1) strides plus one row.
    let rows = max(Int(height) - 1, 0)
    let (spanned, o1) = stride.multipliedReportingOverflow(by: rows)
    let (extent, o2) = spanned.addingReportingOverflow(max(Int(width), 0) * max(Int(channels), 0))
    guard !o1, !o2 else { throw GoalError(.invalidArgument, "\(function): image \(index) is too large to address") }
    do {
        return try RGBImage(width: Int(width), height: Int(height), rowStride: stride, channels: Int(channels),
                            pixels: UnsafeRawBufferPointer(start: pixels, count: extent), alpha: alpha)
    } catch {
        throw GoalError(error.kind, "\(function): image \(index): \(error.message)")
    }
}

@_cdecl("goal_model_encode_image_pixels")
public func goalModelEncodeImagePixels(_ model: OpaquePointer?, _ count: Int, _ pixels: UnsafePointer<UnsafePointer<UInt8>?>?,
                                       _ widths: UnsafePointer<Int32>?, _ heights: UnsafePointer<Int32>?,
                                       _ strides: UnsafePointer<Int>?, _ channels: UnsafePointer<Int32>?,
                                       _ outEmbeddings: UnsafeMutablePointer<Float>?, _ capacity: Int) -> goal_status {
    abiCall { () throws(GoalError) in
        let f: StaticString = "goal_model_encode_image_pixels"
        let m = try object(model, f, "model", as: ModelObject.self).model
        try checkCapacity(count, m.info.dim, capacity, f)
        var sources: [ImageSource] = []
        if count > 0 {
            let pixels = try required(pixels, f, "pixels"), widths = try required(widths, f, "widths")
            let heights = try required(heights, f, "heights"), strides = try required(strides, f, "strides")
            let channels = try required(channels, f, "channels")
            for i in 0..<count {
                sources.append(.pixels(try rawImage(pixels[i], widths[i], heights[i], strides[i], channels[i], m.alphaHandling, f, i)))
            }
        }
        try copyOut(try m.encodeImages(sources), outEmbeddings, capacity, f)
    }
}
