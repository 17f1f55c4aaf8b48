import Glibc

/// Which exporter family a folder comes from. It decides the conventions a model was trained
/// with: how text is normalised before BPE, what pads a sequence, how the centre crop rounds.
public enum Convention: Sendable, Equatable {
    /// Hugging Face transformers (optimum exports, `CLIPModel.save_pretrained` folders).
    case huggingFace
    /// OpenAI CLIP and open_clip (immich's exports among them).
    case openAI
}

/// Where the tokenizer's vocabulary and merges are.
public enum TokenizerFile: Sendable, Equatable {
    case tokenizerJSON(String)
    case vocabAndMerges(vocab: String, merges: String)
    case openAIBPE(String)

    var description: String {
        switch self {
        case .tokenizerJSON(let p), .openAIBPE(let p): p
        case .vocabAndMerges(let v, let m): "\(v) + \(m)"
        }
    }
}

/// The files a CLIP model is made of, found in a folder or given one by one.
public struct ModelFiles: Sendable, Equatable {
    /// The graph holding the text tower; the same path as `visionGraph` for a combined file.
    public var textGraph: String?
    public var visionGraph: String?
    public var tokenizer: TokenizerFile?
    /// preprocessor_config.json, preprocess_cfg.json or open_clip_config.json.
    public var preprocessorConfig: String?
    /// config.json or open_clip_config.json: fallbacks for sizes a graph leaves symbolic.
    public var modelConfig: String?
    public var convention: Convention = .huggingFace

    public init() {}

    /// Looks in `path` (a folder, or one .onnx file whose folder holds the rest). `given` fills in
    /// or overrides what the caller named explicitly; its non-nil fields win. A folder with no
    /// graph at all is `.notFound` naming every name tried.
    public static func find(at path: String?, given: ModelFiles = ModelFiles()) throws(GoalError) -> ModelFiles {
        var found = ModelFiles()
        if let path, !path.isEmpty {
            switch fileKind(path) {
            case .missing:
                throw GoalError(.notFound, "\(path): no such file or folder")
            case .file:
                found = try inFolder(parentFolder(of: path), singleGraph: path)
            case .folder:
                found = try inFolder(path, singleGraph: nil)
            }
        } else if given.textGraph == nil && given.visionGraph == nil {
            throw GoalError(.invalidArgument, "no model path, and the options name no text or vision graph")
        }
        if let p = given.textGraph { found.textGraph = p }
        if let p = given.visionGraph { found.visionGraph = p }
        if let t = given.tokenizer { found.tokenizer = t }
        if let p = given.preprocessorConfig { found.preprocessorConfig = p }
        if let p = given.modelConfig { found.modelConfig = p }
        var named = [found.textGraph, found.visionGraph, found.preprocessorConfig, found.modelConfig]
        switch found.tokenizer {
        case .tokenizerJSON(let p)?, .openAIBPE(let p)?: named.append(p)
        case .vocabAndMerges(let v, let m)?: named += [v, m]
        case nil: break
        }
        for p in named.compactMap({ $0 }) {
            switch fileKind(p) {
            case .file: continue
            case .folder: throw GoalError(.io, "\(p): a folder, not a file")
            case .missing: throw GoalError(.notFound, "\(p): no such file")
            }
        }
        return found
    }

    /// Graph names in the order they are tried, as laid out by HF optimum (also under onnx/, as
    /// Hub repositories often have it) and by immich.
    static let textGraphNames = ["text_model.onnx", "onnx/text_model.onnx", "textual/model.onnx"]
    static let visionGraphNames = ["vision_model.onnx", "onnx/vision_model.onnx", "visual/model.onnx"]
    static let combinedGraphNames = ["model.onnx", "onnx/model.onnx"]

    private static func inFolder(_ folder: String, singleGraph: String?) throws(GoalError) -> ModelFiles {
        func existing(_ names: [String]) -> String? {
            names.lazy.map { join(folder, $0) }.first { fileKind($0) == .file }
        }
        var files = ModelFiles()
        let openCLIPConfig = existing(["open_clip_config.json"])
        let immich = fileKind(join(folder, "textual")) == .folder || fileKind(join(folder, "visual")) == .folder
        files.convention = openCLIPConfig != nil || immich ? .openAI : .huggingFace
        if let single = singleGraph {
            // One file: it may hold either tower or both; the model sorts that out by its inputs.
            files.textGraph = single
            files.visionGraph = single
        } else {
            files.textGraph = existing(textGraphNames)
            files.visionGraph = existing(visionGraphNames)
            if files.textGraph == nil && files.visionGraph == nil, let combined = existing(combinedGraphNames) {
                files.textGraph = combined
                files.visionGraph = combined
            }
            if files.textGraph == nil && files.visionGraph == nil {
                let tried = (textGraphNames + visionGraphNames + combinedGraphNames).joined(separator: ", ")
                throw GoalError(.notFound, "\(folder): no ONNX graph found (looked for \(tried))")
            }
        }
        for dir in ["", "textual/", "onnx/"] {
            if let t = existing([dir + "tokenizer.json"]) { files.tokenizer = .tokenizerJSON(t); break }
            if let v = existing([dir + "vocab.json"]), let m = existing([dir + "merges.txt"]) {
                files.tokenizer = .vocabAndMerges(vocab: v, merges: m); break
            }
            if let b = existing([dir + "bpe_simple_vocab_16e6.txt.gz", dir + "bpe_simple_vocab_16e6.txt"]) {
                files.tokenizer = .openAIBPE(b); break
            }
        }
        files.preprocessorConfig = existing(["preprocessor_config.json", "visual/preprocess_cfg.json",
                                             "onnx/preprocessor_config.json"]) ?? openCLIPConfig
        files.modelConfig = existing(["config.json"]) ?? openCLIPConfig
        if openCLIPConfig != nil { files.modelConfig = openCLIPConfig }
        return files
    }

    /// What a missing tokenizer message lists.
    static let tokenizerNames = "tokenizer.json, vocab.json + merges.txt, or bpe_simple_vocab_16e6.txt.gz (also under textual/ and onnx/)"
}

enum FileKind { case missing, file, folder }

func fileKind(_ path: String) -> FileKind {
    var info = stat()
    guard stat(path, &info) == 0 else { return .missing }
    return (info.st_mode & S_IFMT) == S_IFDIR ? .folder : .file
}

func join(_ folder: String, _ name: String) -> String {
    folder.hasSuffix("/") ? folder + name : folder + "/" + name
}

func parentFolder(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}
