import Dispatch
import Synchronization

/// A CLIP model opened from a folder: tokenizer, preprocessing, and one or both towers.
///
/// Immutable once open, and `Sendable`: every method may be called from any number of threads at
/// once. Global embeddings are L2-normalised; so are token embeddings, row by row.
public final class CLIPModel: Sendable {
    /// What happens to a text longer than the context.
    public enum LongText: Sendable, Equatable {
        /// Keep the first tokens and the end token (what the references do).
        case truncate
        /// Refuse the text with `.invalidArgument`.
        case fail
        /// Encode each sentence (each truncated if it alone is too long), average their
        /// normalised embeddings and normalise the mean. Only texts that do not fit are split.
        case sentences
    }

    public struct Options: Sendable {
        /// Paths that override or replace what the folder holds.
        public var files = ModelFiles()
        /// The convention for tokenizing and cropping; nil follows the folder (open_clip's
        /// files or immich's layout mean `.openAI`, anything else `.huggingFace`).
        public var convention: Convention?
        public var longText = LongText.truncate
        public var load = LoadOptions()
        public var engine = EngineOptions()
        /// Texts or images per tower run.
        public var batchSize = 16
        /// Run a text tower whose export fixes the sequence at the whole context only as far as
        /// the batch's longest text (see `TextEncoder`). Off runs every position, as the file
        /// has it, which tests compare against.
        public var shortenText = true
        /// Images with more pixels are refused before their pixels are decoded (decompression
        /// bombs). The default is PIL's `MAX_IMAGE_PIXELS` doubled, the size PIL refuses.
        public var maxImagePixels = RGBImage.defaultPixelLimit
        /// Texts longer than this many UTF-8 bytes are refused before they are tokenized.
        public var maxTextBytes = 1 << 20

        public init() {}
    }

    public struct Info: Sendable, Equatable {
        /// Width of the joint embedding space.
        public let dim: Int
        /// Text positions, start and end tokens included (0 without a text tower).
        public let contextLength: Int
        /// Side of the square image the vision tower takes (0 without one).
        public let imageSize: Int
        /// Side of a patch (0 for towers without a patch grid, or without a vision tower).
        public let patchSize: Int
        public let convention: Convention
    }

    public let files: ModelFiles
    public let info: Info
    public let options: Options
    let text: TextEncoder?
    let image: ImageEncoder?

    public init(path: String?, options: Options = Options()) throws(GoalError) {
        let files = try ModelFiles.find(at: path, given: options.files)
        let convention = options.convention ?? files.convention
        let config = try FolderConfig(files, convention: convention)
        var engines: [String: Engine] = [:]
        func engine(_ file: String) throws(GoalError) -> Engine {
            if let e = engines[file] { return e }
            let e = try Engine(model: try ModelFile(path: file, options: options.load), options: options.engine)
            engines[file] = e
            return e
        }
        // A combined file stands for both towers; the one it lacks is simply absent.
        let combined = files.textGraph != nil && files.textGraph == files.visionGraph
        var text: TextEncoder?
        if let file = files.textGraph {
            let e = try engine(file)
            if !combined || e.model.inputs.contains(where: { [.int64, .int32].contains($0.elementType) }) {
                guard let source = files.tokenizer else {
                    throw GoalError(.notFound, "\(path ?? file): the text tower needs a tokenizer; none found (looked for \(ModelFiles.tokenizerNames))")
                }
                let mode: CLIPTokenizer.Mode = convention == .openAI ? .openAI : .huggingFace
                let tokenizer = switch source {
                case .tokenizerJSON(let p): try CLIPTokenizer.load(tokenizerJSON: p, mode: mode)
                case .vocabAndMerges(let v, let m): try CLIPTokenizer.load(vocabJSON: v, mergesTXT: m, mode: mode)
                case .openAIBPE(let p): try CLIPTokenizer.load(openAIBPE: p, mode: mode)
                }
                text = try TextEncoder(tower: try Tower(.text, engine: e, file: file), tokenizer: tokenizer,
                                       config: config, convention: convention, shortens: options.shortenText, file: file)
            }
        }
        var image: ImageEncoder?
        if let file = files.visionGraph {
            let e = try engine(file)
            if !combined || e.model.inputs.contains(where: { $0.shape?.count == 4 }) {
                image = try ImageEncoder(tower: try Tower(.image, engine: e, file: file), config: config,
                                         configured: files.preprocessorConfig != nil, file: file)
            }
        }
        guard text != nil || image != nil else {
            throw GoalError(.notFound, "\(path ?? "the model"): neither a text nor an image tower was found")
        }
        let dims = [text?.tower.staticDim, image?.tower.staticDim].compactMap { $0 }
        if dims.count == 2, dims[0] != dims[1] {
            throw GoalError(.invalidModel, "the text tower embeds in \(dims[0]) dimensions and the image tower in \(dims[1])")
        }
        self.files = files
        self.options = options
        self.text = text
        self.image = image
        var dim = dims.first ?? config.embeddingSize ?? 0
        if dims.isEmpty {
            // Neither graph states the width: ask one of them.
            if let text {
                dim = try text.embed([[text.tokenizer.startOfText, text.tokenizer.endOfText]]).dim
            } else if let image {
                dim = try image.tower.embed(try image.feeds([try RGBImage(width: 1, height: 1, pixels: [0, 0, 0])]), batch: 1).dim
            }
        }
        info = Info(dim: dim, contextLength: text?.contextLength ?? 0, imageSize: image?.imageSize ?? 0,
                    patchSize: image?.patchSize ?? 0, convention: convention)
    }

    fileprivate func textEncoder() throws(GoalError) -> TextEncoder {
        guard let text else { throw GoalError(.unsupported, "this model has no text tower") }
        return text
    }

    fileprivate func imageEncoder() throws(GoalError) -> ImageEncoder {
        guard let image else { throw GoalError(.unsupported, "this model has no image tower") }
        return image
    }

    /// The tokenizer of the text tower.
    public var tokenizer: CLIPTokenizer? { text?.tokenizer }

    /// The preprocessing of the image tower.
    public var preprocessing: Preprocessing? { image?.preprocessing }

    /// How transparency is handled: composited over white under the Hugging Face convention,
    /// dropped under OpenAI's (see `AlphaHandling`).
    public var alphaHandling: AlphaHandling { info.convention == .huggingFace ? .compositeOverWhite : .drop }

    /// How this model decodes images: its alpha handling and pixel limit.
    package var imageDecoding: ImageDecoding { ImageDecoding(alpha: alphaHandling, pixelLimit: options.maxImagePixels) }

    // MARK: Text

    /// The tokens of a text with the start and end tokens, unpadded, at most `limit` of them
    /// (the end token stays last); nil means no limit. Spans are UTF-8 byte ranges of the text;
    /// the start token's is empty at 0, the end token's empty at the end of the text.
    public func tokenize(_ utf8: [UInt8], limit: Int?) throws(GoalError) -> [CLIPTokenizer.Token] {
        let text = try textEncoder()
        if let limit, limit < 2 {
            throw GoalError(.invalidArgument, "a limit of \(limit) tokens leaves no room for the start and end tokens")
        }
        guard utf8.count <= options.maxTextBytes else {
            throw GoalError(.invalidArgument, "the text is \(utf8.count) bytes, above the limit of \(options.maxTextBytes) bytes this model was opened with")
        }
        var body = try text.tokenizer.tokens(utf8)
        if let limit, body.count + 2 > limit { body.removeLast(body.count + 2 - limit) }
        return [CLIPTokenizer.Token(id: text.tokenizer.startOfText, span: 0..<0)] + body
            + [CLIPTokenizer.Token(id: text.tokenizer.endOfText, span: utf8.count..<utf8.count)]
    }

    /// The ids of many texts (as `tokenize`, without spans), tokenized in parallel on Dispatch's
    /// pool. The failure of the lowest index is thrown, naming the text.
    public func tokenizeBatch(_ texts: [[UInt8]], limit: Int?) throws(GoalError) -> [[Int32]] {
        _ = try textEncoder()
        let results = Mutex<[Int: Result<[Int32], GoalError>]>([:])
        // A chunk per task, so that short texts do not drown in scheduling.
        let chunk = 64
        DispatchQueue.concurrentPerform(iterations: (texts.count + chunk - 1) / chunk) { c in
            var local: [Int: Result<[Int32], GoalError>] = [:]
            for i in c * chunk ..< min(texts.count, (c + 1) * chunk) {
                local[i] = Result { () throws(GoalError) in try tokenize(texts[i], limit: limit).map(\.id) }
            }
            results.withLock { $0.merge(local) { a, _ in a } }
        }
        let all = results.withLock { $0 }
        var out: [[Int32]] = []
        out.reserveCapacity(texts.count)
        for i in texts.indices {
            switch all[i]! {
            case .success(let ids): out.append(ids)
            case .failure(let error): throw GoalError(error.kind, "text \(i): \(error.message)")
            }
        }
        return out
    }

    /// The sequence a text is encoded as under the model's long-text rule: one sequence, or one
    /// per sentence in `.sentences` mode for a text that does not fit.
    private func sequences(_ utf8: [UInt8], index: Int, _ text: TextEncoder) throws(GoalError) -> [[Int32]] {
        let n = text.contextLength
        let ids = try tokenize(utf8, limit: nil).map(\.id)
        if ids.count <= n { return [ids] }
        switch options.longText {
        case .truncate:
            return [Array(ids.prefix(n - 1)) + [ids[ids.count - 1]]]
        case .fail:
            throw GoalError(.invalidArgument, "text \(index) is \(ids.count) tokens with start and end; the context holds \(n)")
        case .sentences:
            return try sentenceRanges(utf8).map { range throws(GoalError) in
                try tokenize(Array(utf8[range]), limit: n).map(\.id)
            }
        }
    }

    /// L2-normalised embeddings of the texts, `texts.count * info.dim` floats, row-major.
    public func encodeText(_ texts: [[UInt8]]) throws(GoalError) -> [Float] {
        let text = try textEncoder()
        var sequences: [[Int32]] = [], owner: [Int] = []
        for (i, t) in texts.enumerated() {
            let parts = try self.sequences(t, index: i, text)
            sequences += parts
            owner += Array(repeating: i, count: parts.count)
        }
        let dim = info.dim
        var parts: [Float] = []
        parts.reserveCapacity(sequences.count * dim)
        for start in stride(from: 0, to: sequences.count, by: max(1, options.batchSize)) {
            let chunk = Array(sequences[start..<min(sequences.count, start + max(1, options.batchSize))])
            let (d, values) = try text.embed(chunk)
            guard d == dim else { throw GoalError(.internal, "the text tower gave \(d) dimensions, not \(dim)") }
            parts += values
        }
        if owner.count == texts.count { return parts }
        // Sentence mode: average each split text's sentence embeddings, then normalise; a text
        // encoded whole keeps its row as it is.
        var out = [Float](repeating: 0, count: texts.count * dim)
        var pieces = [Int](repeating: 0, count: texts.count)
        for (k, i) in owner.enumerated() {
            pieces[i] += 1
            for j in 0..<dim { out[i * dim + j] += parts[k * dim + j] }
        }
        for i in texts.indices where pieces[i] > 1 {
            let row = normalizedRows(out[i * dim ..< (i + 1) * dim], width: dim)
            out.replaceSubrange(i * dim ..< (i + 1) * dim, with: row)
        }
        return out
    }

    /// Token embeddings of one text: every token of its sequence (start and end included, as
    /// truncated to the context), each projected into the joint space and L2-normalised.
    public func textTokens(_ utf8: [UInt8]) throws(GoalError) -> TextTokens {
        let text = try textEncoder()
        let tokens = try tokenize(utf8, limit: text.contextLength)
        let ids = tokens.map(\.id)
        let projected = try text.tokens([ids])
        guard projected.shape[1] >= ids.count else {
            throw GoalError(.internal, "the text tower gave \(projected.shape[1]) token states for \(ids.count) tokens")
        }
        let dim = projected.shape[2]
        return TextTokens(ids: ids, spans: tokens.map(\.span), dim: dim,
                          embeddings: normalizedRows(projected.floats.prefix(ids.count * dim), width: dim))
    }

    // MARK: Images

    /// L2-normalised embeddings of the images, `images.count * info.dim` floats, row-major.
    /// Sources are decoded a batch at a time; a failure names the image's index.
    public func encodeImages(_ images: [ImageSource]) throws(GoalError) -> [Float] {
        let image = try imageEncoder()
        let dim = info.dim
        var out: [Float] = []
        out.reserveCapacity(images.count * dim)
        let step = max(1, options.batchSize)
        for start in stride(from: 0, to: images.count, by: step) {
            let range = start ..< min(images.count, start + step)
            let feeds = try image.feeds(images, range, rules: imageDecoding)
            let (d, values) = try image.tower.embed(feeds, batch: range.count)
            guard d == dim else { throw GoalError(.internal, "the image tower gave \(d) dimensions, not \(dim)") }
            out += values
        }
        return out
    }

    /// Patch embeddings of one image, row-major over the patch grid, each projected into the
    /// joint space and L2-normalised. The class token, if the tower has one, is left out.
    public func imageTokens(_ source: ImageSource) throws(GoalError) -> ImageTokens {
        let image = try imageEncoder()
        let projected = try image.tower.tokens(try image.feeds([try source.decode(index: 0, rules: imageDecoding)]), batch: 1)
        let n = projected.shape[1], dim = projected.shape[2]
        guard let grid = image.grid else {
            throw GoalError(.unsupported, "the image tower has no patch grid (no convolution with kernel = stride on its pixels)")
        }
        let patches = grid.rows * grid.columns
        guard n == patches || n == patches + 1 else {
            throw GoalError(.unsupported, "the image tower has \(n) token states, not a \(grid.rows)x\(grid.columns) patch grid with or without a class token")
        }
        let values = projected.floats.dropFirst((n - patches) * dim)
        return ImageTokens(rows: grid.rows, columns: grid.columns, dim: dim,
                           embeddings: normalizedRows(values, width: dim))
    }
}

// MARK: States for the match layer

/// An image's last-layer patch states, before the tower's head, with what is needed to place
/// them: the decoded image and the patch grid.
package struct ImageStates: Sendable {
    package let image: RGBImage
    package let rows: Int
    package let columns: Int
    package let patchSize: Int
    /// `rows * columns` vectors of `width`, patches row by row (no class token).
    package let width: Int
    package let states: [Float]
}

/// A text's tokens (start and end included, truncated to the context) and their states before
/// the tower's head.
package struct TextStates: Sendable {
    package let tokens: [CLIPTokenizer.Token]
    package let width: Int
    package let states: [Float]
}

extension CLIPModel {
    package func imageStates(_ source: ImageSource) throws(GoalError) -> ImageStates {
        let encoder = try imageEncoder()
        let image = try source.decode(index: 0, rules: imageDecoding)
        guard let grid = encoder.grid, let patch = encoder.patchSize else {
            throw GoalError(.unsupported, "the image tower has no patch grid (no convolution with kernel = stride on its pixels)")
        }
        let (_, states) = try encoder.tower.tokenStates(try encoder.feeds([image]), batch: 1)
        let n = states.shape[1], width = states.shape[2], patches = grid.rows * grid.columns
        guard n == patches || n == patches + 1 else {
            throw GoalError(.unsupported, "the image tower has \(n) token states, not a \(grid.rows)x\(grid.columns) patch grid with or without a class token")
        }
        return ImageStates(image: image, rows: grid.rows, columns: grid.columns, patchSize: patch, width: width,
                           states: Array(states.floats.dropFirst((n - patches) * width)))
    }

    package func textStates(_ utf8: [UInt8]) throws(GoalError) -> TextStates {
        let encoder = try textEncoder()
        let tokens = try tokenize(utf8, limit: encoder.contextLength)
        let (_, states) = try encoder.tokenStates([tokens.map(\.id)])
        let width = states.shape[2]
        return TextStates(tokens: tokens, width: width, states: Array(states.floats.prefix(tokens.count * width)))
    }

    /// The image head applied to `rows` state vectors: `rows * dim` floats, rows normalised.
    package func projectImageStates(_ states: [Float], rows: Int) throws(GoalError) -> [Float] {
        let out = try imageEncoder().tower.project(states, rows: rows)
        return normalizedRows(out.floats, width: out.shape[1])
    }

    /// The text head applied to `rows` state vectors: `rows * dim` floats, rows normalised.
    package func projectTextStates(_ states: [Float], rows: Int) throws(GoalError) -> [Float] {
        let out = try textEncoder().tower.project(states, rows: rows)
        return normalizedRows(out.floats, width: out.shape[1])
    }
}

/// Token-level embeddings of a text.
public struct TextTokens: Sendable {
    public let ids: [Int32]
    /// UTF-8 byte ranges of the text, one per token.
    public let spans: [Range<Int>]
    public let dim: Int
    /// `ids.count * dim` floats.
    public let embeddings: [Float]
}

/// Patch-level embeddings of an image.
public struct ImageTokens: Sendable {
    public let rows: Int
    public let columns: Int
    public let dim: Int
    /// `rows * columns * dim` floats, patches row by row.
    public let embeddings: [Float]
}

/// The rules images are decoded by: what happens to transparency, and how many pixels are too many.
package struct ImageDecoding: Sendable {
    package var alpha: AlphaHandling
    package var pixelLimit: Int
}

/// An image to encode: a file, encoded bytes in memory, or decoded pixels (whose alpha, if they
/// had any, was handled when they were made: see `CLIPModel.alphaHandling`).
public enum ImageSource: Sendable {
    case file(String)
    case encoded([UInt8])
    case pixels(RGBImage)
    /// Caller pixels kept as given (1, 3 or 4 channels, rows `rowStride` bytes apart), turned
    /// into RGB when used, by the using model's convention for alpha.
    case raw(width: Int, height: Int, rowStride: Int, channels: Int, bytes: [UInt8])

    package func decode(index: Int, rules: ImageDecoding) throws(GoalError) -> RGBImage {
        let alpha = rules.alpha
        do {
            switch self {
            case .file(let path): return try RGBImage(contentsOf: path, pixelLimit: rules.pixelLimit, alpha: alpha)
            case .encoded(let bytes): return try RGBImage(encoded: bytes, pixelLimit: rules.pixelLimit, alpha: alpha)
            case .pixels(let image):
                try checkPixelLimit(width: image.width, height: image.height, limit: rules.pixelLimit)
                return image
            case .raw(let width, let height, let stride, let channels, let bytes):
                var result: Result<RGBImage, GoalError>!
                bytes.withUnsafeBytes { buffer in
                    result = Result { () throws(GoalError) in
                        try RGBImage(width: width, height: height, rowStride: stride, channels: channels,
                                     pixels: buffer, pixelLimit: rules.pixelLimit, alpha: alpha)
                    }
                }
                return try result.get()
            }
        } catch {
            throw GoalError(error.kind, "image \(index): \(error.message)")
        }
    }
}
