import CGoalSupport
import GoalMatch

/// What a goal_image handle points at: the source, decoded when a model uses it.
final class ImageObject {
    let source: ImageSource
    init(_ source: ImageSource) { self.source = source }
}

@_cdecl("goal_image_from_file")
public func goalImageFromFile(_ path: UnsafePointer<CChar>?, _ outImage: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outImage?.pointee = nil
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_image_from_file"
        let out = try required(outImage, f, "out_image")
        guard let file = String(validatingCString: try required(path, f, "path")) else {
            throw GoalError(.invalidArgument, "\(f): the path is not valid UTF-8")
        }
        out.pointee = retainedHandle(ImageObject(.encoded(try readImageFile(file))))
    }
}

@_cdecl("goal_image_from_memory")
public func goalImageFromMemory(_ data: UnsafeRawPointer?, _ size: Int, _ outImage: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outImage?.pointee = nil
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_image_from_memory"
        let out = try required(outImage, f, "out_image")
        let bytes = try required(data, f, "data")
        guard size >= 0 else { throw GoalError(.invalidArgument, "\(f): a size of \(UInt(bitPattern: size)) bytes") }
        out.pointee = retainedHandle(ImageObject(.encoded(Array(UnsafeRawBufferPointer(start: bytes, count: size)))))
    }
}

@_cdecl("goal_image_from_pixels")
public func goalImageFromPixels(_ pixels: UnsafePointer<UInt8>?, _ width: Int32, _ height: Int32, _ stride: Int,
                                _ channels: Int32, _ outImage: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outImage?.pointee = nil
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_image_from_pixels"
        let out = try required(outImage, f, "out_image")
        // Checked now with alpha dropped, so that a bad buffer fails here; kept raw so that each
        // model applies its own convention to alpha.
        _ = try rawImage(pixels, width, height, stride, channels, .drop, f, 0)
        let extent = (Int(height) - 1) * stride + Int(width) * Int(channels)
        let bytes = Array(UnsafeBufferPointer(start: pixels!, count: extent))
        out.pointee = retainedHandle(ImageObject(.raw(width: Int(width), height: Int(height), rowStride: stride,
                                                      channels: Int(channels), bytes: bytes)))
    }
}

@_cdecl("goal_image_free")
public func goalImageFree(_ image: OpaquePointer?) {
    releaseHandle(image, as: ImageObject.self)
}

func imageSource(_ image: OpaquePointer?, _ function: StaticString) throws(GoalError) -> ImageSource {
    try object(image, function, "image", as: ImageObject.self).source
}

/// `count` boxes of four doubles from caller memory.
func boxes(_ values: UnsafePointer<Double>?, _ count: Int, _ function: StaticString) throws(GoalError) -> [Box] {
    guard count >= 0 else { throw GoalError(.invalidArgument, "\(function): a count of \(UInt(bitPattern: count))") }
    guard count > 0 else { return [] }
    let v = try required(values, function, "boxes")
    return (0..<count).map { Box(x0: v[4 * $0], y0: v[4 * $0 + 1], x1: v[4 * $0 + 2], y1: v[4 * $0 + 3]) }
}

@_cdecl("goal_model_sentences")
public func goalModelSentences(_ model: OpaquePointer?, _ text: UnsafePointer<CChar>?, _ length: Int, _ naive: Int32,
                               _ outSpans: UnsafeMutablePointer<Int64>?, _ capacity: Int,
                               _ outCount: UnsafeMutablePointer<Int>?) -> goal_status {
    outCount?.pointee = 0
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_model_sentences"
        let m = try object(model, f, "model", as: ModelObject.self).model
        let spans = try m.sentences(try textBytes(text, length, f, "text"), naive: naive != 0)
        guard sizeT(capacity) >= spans.count else {
            outCount?.pointee = spans.count
            throw GoalError(.bufferTooSmall, "\(f): the text has \(spans.count) sentences; the buffer holds \(capacity)")
        }
        if !spans.isEmpty {
            let out = try required(outSpans, f, "out_spans")
            for (i, s) in spans.enumerated() { write(s, to: out + 4 * i) }
        }
        outCount?.pointee = spans.count
    }
}

func write(_ s: SentenceSpan, to out: UnsafeMutablePointer<Int64>) {
    out[0] = Int64(s.bytes.lowerBound)
    out[1] = Int64(s.bytes.upperBound)
    out[2] = Int64(s.tokens.lowerBound)
    out[3] = Int64(s.tokens.upperBound)
}

@_cdecl("goal_model_region_embeddings")
public func goalModelRegionEmbeddings(_ model: OpaquePointer?, _ image: OpaquePointer?, _ count: Int,
                                      _ boxValues: UnsafePointer<Double>?, _ mode: goal_region_mode,
                                      _ outEmbeddings: UnsafeMutablePointer<Float>?, _ capacity: Int) -> goal_status {
    abiCall { () throws(GoalError) in
        let f: StaticString = "goal_model_region_embeddings"
        let m = try object(model, f, "model", as: ModelObject.self).model
        let source = try imageSource(image, f)
        try checkCapacity(count, m.info.dim, capacity, f)
        let regionMode = try regionMode(mode, f)
        try copyOut(try m.regionEmbeddings(source, boxes: try boxes(boxValues, count, f), mode: regionMode),
                    outEmbeddings, capacity, f)
    }
}

func regionMode(_ mode: Int64, _ function: StaticString) throws(GoalError) -> RegionMode {
    switch Int(mode) {
    case GOAL_REGION_CROP: return .crop
    case GOAL_REGION_POOLED: return .pooled
    default: throw GoalError(.invalidArgument, "\(function): region mode \(mode) is not GOAL_REGION_CROP (0) or GOAL_REGION_POOLED (1)")
    }
}

func regionMode(_ mode: goal_region_mode, _ function: StaticString) throws(GoalError) -> RegionMode {
    try regionMode(Int64(mode), function)
}

@_cdecl("goal_model_late_interaction")
public func goalModelLateInteraction(_ model: OpaquePointer?, _ text: UnsafePointer<CChar>?, _ length: Int,
                                     _ image: OpaquePointer?, _ outTextToImage: UnsafeMutablePointer<Float>?,
                                     _ outImageToText: UnsafeMutablePointer<Float>?) -> goal_status {
    store(outTextToImage, 0)
    store(outImageToText, 0)
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_model_late_interaction"
        let m = try object(model, f, "model", as: ModelObject.self).model
        let result = try m.lateInteraction(text: try textBytes(text, length, f, "text"), image: try imageSource(image, f))
        store(outTextToImage, result.textToImage)
        store(outImageToText, result.imageToText)
    }
}
