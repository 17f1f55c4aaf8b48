import CGoalSupport
import GoalCLIP

/// What a goal_options handle points at.
final class OptionsObject {
    var load = LoadOptions()
    var engine = EngineOptions()
    var convention: Convention?
    var longText = CLIPModel.LongText.truncate
    var batchSize = 16
    var maxImagePixels = CLIPModel.Options().maxImagePixels
    var maxTextBytes = CLIPModel.Options().maxTextBytes
    /// String options by key, with NUL-terminated copies handed out by goal_options_get_string.
    var strings: [Int: String] = [:]
    var handedOut: [Int: CStringTable] = [:]

    /// The model options these settings make.
    var modelOptions: CLIPModel.Options {
        get throws(GoalError) {
            var o = CLIPModel.Options()
            o.load = load
            o.engine = engine
            o.convention = convention
            o.longText = longText
            o.batchSize = batchSize
            o.maxImagePixels = maxImagePixels
            o.maxTextBytes = maxTextBytes
            o.files.textGraph = strings[GOAL_OPTION_TEXT_MODEL]
            o.files.visionGraph = strings[GOAL_OPTION_VISION_MODEL]
            o.files.preprocessorConfig = strings[GOAL_OPTION_PREPROCESSOR_CONFIG]
            o.files.modelConfig = strings[GOAL_OPTION_MODEL_CONFIG]
            if let t = strings[GOAL_OPTION_TOKENIZER] { o.files.tokenizer = tokenizerFile(t) }
            return o
        }
    }
}

/// How a tokenizer path is read: vocab.json pairs with the merges.txt beside it, any other
/// .json is a tokenizer.json, anything else OpenAI's BPE file.
private func tokenizerFile(_ path: String) -> TokenizerFile {
    let name = path.split(separator: "/").last.map(String.init) ?? path
    if name == "vocab.json" {
        let folder = path.dropLast(name.count)
        return .vocabAndMerges(vocab: path, merges: folder + "merges.txt")
    }
    return name.hasSuffix(".json") ? .tokenizerJSON(path) : .openAIBPE(path)
}

private let stringKeys: Set<Int> = [GOAL_OPTION_TEXT_MODEL, GOAL_OPTION_VISION_MODEL, GOAL_OPTION_TOKENIZER,
                                    GOAL_OPTION_PREPROCESSOR_CONFIG, GOAL_OPTION_MODEL_CONFIG]

@_cdecl("goal_options_set_string")
public func goalOptionsSetString(_ options: OpaquePointer?, _ key: goal_option, _ value: UnsafePointer<CChar>?) -> goal_status {
    abiCall { () throws(GoalError) in
        let target = try object(options, "goal_options_set_string", "options", as: OptionsObject.self)
        guard stringKeys.contains(Int(key)) else {
            throw GoalError(.invalidArgument, "goal_options_set_string: \(key) is not a string option")
        }
        guard let value else {
            target.strings[Int(key)] = nil
            return
        }
        guard let text = String(validatingCString: value) else {
            throw GoalError(.invalidArgument, "goal_options_set_string: the value is not valid UTF-8")
        }
        guard !text.isEmpty else { throw GoalError(.invalidArgument, "goal_options_set_string: the path is empty") }
        target.strings[Int(key)] = text
    }
}

@_cdecl("goal_options_get_string")
public func goalOptionsGetString(_ options: OpaquePointer?, _ key: goal_option,
                                 _ outValue: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> goal_status {
    outValue?.pointee = nil
    return abiCall { () throws(GoalError) in
        let source = try object(options, "goal_options_get_string", "options", as: OptionsObject.self)
        let out = try required(outValue, "goal_options_get_string", "out_value")
        guard stringKeys.contains(Int(key)) else {
            throw GoalError(.invalidArgument, "goal_options_get_string: \(key) is not a string option")
        }
        guard let text = source.strings[Int(key)] else { return }
        let table = CStringTable()
        out.pointee = table.add(text)
        source.handedOut[Int(key)] = table
    }
}

@_cdecl("goal_options_new")
public func goalOptionsNew(_ outOptions: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outOptions?.pointee = nil
    return abiCall { () throws(GoalError) in
        let out = try required(outOptions, "goal_options_new", "out_options")
        out.pointee = retainedHandle(OptionsObject())
    }
}

@_cdecl("goal_options_free")
public func goalOptionsFree(_ options: OpaquePointer?) {
    releaseHandle(options, as: OptionsObject.self)
}

/// A limit option's value: at least 1.
private func limit(_ value: Int64, _ name: String) throws(GoalError) -> Int {
    guard value >= 1 else {
        throw GoalError(.invalidArgument, "goal_options_set_int: \(name) takes a limit of at least 1, not \(value)")
    }
    return Int(value)
}

/// The boolean options: their key, and where each lives in the options object.
private func flag(_ key: goal_option, _ function: StaticString) throws(GoalError) -> WritableKeyPath<LoadOptions, Bool> {
    switch Int(key) {
    case GOAL_OPTION_CHECK_MODEL: return \.checkModel
    case GOAL_OPTION_INFER_SHAPES: return \.inferShapes
    case GOAL_OPTION_CONVERT_OPSET: return \.convertOpset
    default: throw GoalError(.invalidArgument, "\(function): unknown option key \(key)")
    }
}

@_cdecl("goal_options_set_int")
public func goalOptionsSetInt(_ options: OpaquePointer?, _ key: goal_option, _ value: Int64) -> goal_status {
    abiCall { () throws(GoalError) in
        let target = try object(options, "goal_options_set_int", "options", as: OptionsObject.self)
        switch Int(key) {
        case GOAL_OPTION_THREADS:
            guard (0...1024).contains(value) else {
                throw GoalError(.invalidArgument, "goal_options_set_int: GOAL_OPTION_THREADS takes 0 (one per core) to 1024, not \(value)")
            }
            target.engine.threads = Int(value)
        case GOAL_OPTION_FUSE:
            guard value == 0 || value == 1 else {
                throw GoalError(.invalidArgument, "goal_options_set_int: option \(key) takes 0 or 1, not \(value)")
            }
            target.engine.fuse = value == 1
        case GOAL_OPTION_CONVENTION:
            switch Int(value) {
            case GOAL_CONVENTION_AUTO: target.convention = nil
            case GOAL_CONVENTION_HUGGINGFACE: target.convention = .huggingFace
            case GOAL_CONVENTION_OPENAI: target.convention = .openAI
            default: throw GoalError(.invalidArgument, "goal_options_set_int: GOAL_OPTION_CONVENTION takes 0, 1 or 2, not \(value)")
            }
        case GOAL_OPTION_LONG_TEXT:
            switch Int(value) {
            case GOAL_LONG_TEXT_TRUNCATE: target.longText = .truncate
            case GOAL_LONG_TEXT_FAIL: target.longText = .fail
            case GOAL_LONG_TEXT_SENTENCES: target.longText = .sentences
            default: throw GoalError(.invalidArgument, "goal_options_set_int: GOAL_OPTION_LONG_TEXT takes 0, 1 or 2, not \(value)")
            }
        case GOAL_OPTION_BATCH_SIZE:
            guard (1...4096).contains(value) else {
                throw GoalError(.invalidArgument, "goal_options_set_int: GOAL_OPTION_BATCH_SIZE takes 1 to 4096, not \(value)")
            }
            target.batchSize = Int(value)
        case GOAL_OPTION_MAX_TENSOR_ELEMENTS:
            target.engine.maxTensorElements = try limit(value, "GOAL_OPTION_MAX_TENSOR_ELEMENTS")
        case GOAL_OPTION_MAX_IMAGE_PIXELS:
            target.maxImagePixels = try limit(value, "GOAL_OPTION_MAX_IMAGE_PIXELS")
        case GOAL_OPTION_MAX_TEXT_BYTES:
            target.maxTextBytes = try limit(value, "GOAL_OPTION_MAX_TEXT_BYTES")
        default:
            let path = try flag(key, "goal_options_set_int")
            guard value == 0 || value == 1 else {
                throw GoalError(.invalidArgument, "goal_options_set_int: option \(key) takes 0 or 1, not \(value)")
            }
            target.load[keyPath: path] = value == 1
        }
    }
}

@_cdecl("goal_options_get_int")
public func goalOptionsGetInt(_ options: OpaquePointer?, _ key: goal_option,
                              _ outValue: UnsafeMutablePointer<Int64>?) -> goal_status {
    outValue?.pointee = 0
    return abiCall { () throws(GoalError) in
        let source = try object(options, "goal_options_get_int", "options", as: OptionsObject.self)
        let out = try required(outValue, "goal_options_get_int", "out_value")
        switch Int(key) {
        case GOAL_OPTION_THREADS: out.pointee = Int64(source.engine.threads)
        case GOAL_OPTION_FUSE: out.pointee = source.engine.fuse ? 1 : 0
        case GOAL_OPTION_CONVENTION:
            out.pointee = Int64(source.convention == nil ? GOAL_CONVENTION_AUTO
                                : source.convention == .huggingFace ? GOAL_CONVENTION_HUGGINGFACE : GOAL_CONVENTION_OPENAI)
        case GOAL_OPTION_LONG_TEXT:
            out.pointee = Int64(source.longText == .truncate ? GOAL_LONG_TEXT_TRUNCATE
                                : source.longText == .fail ? GOAL_LONG_TEXT_FAIL : GOAL_LONG_TEXT_SENTENCES)
        case GOAL_OPTION_BATCH_SIZE: out.pointee = Int64(source.batchSize)
        case GOAL_OPTION_MAX_TENSOR_ELEMENTS: out.pointee = Int64(source.engine.maxTensorElements)
        case GOAL_OPTION_MAX_IMAGE_PIXELS: out.pointee = Int64(source.maxImagePixels)
        case GOAL_OPTION_MAX_TEXT_BYTES: out.pointee = Int64(source.maxTextBytes)
        default: out.pointee = source.load[keyPath: try flag(key, "goal_options_get_int")] ? 1 : 0
        }
    }
}
