/// CLIP's BPE tokenizer, exact to one of two references.
///
/// Immutable and `Sendable`: one instance may tokenize from any number of threads (the per-word
/// cache inside is locked).
///
/// Special tokens: the spelling of a special token inside the text ("<|endoftext|>") is
/// tokenized as ordinary text, never as the special id, so user text cannot end or restart the
/// sequence. The references differ here: HF tokenizers matches its added tokens in raw text
/// (a literal "<|endoftext|>" becomes 49407); open_clip matches only its own spellings
/// "<start_of_text>" / "<end_of_text>" (case-insensitively), while "<|endoftext|>" is plain
/// text there. Both references are reproduced with that matching turned off.
public struct CLIPTokenizer: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Hugging Face tokenizer.json semantics (CLIPTokenizerFast): NFC, whitespace runs to one
        /// space, lower-case, CLIP split, byte-level BPE.
        case huggingFace
        /// open_clip's SimpleTokenizer (OpenAI's original): ftfy.fix_text, html.unescape twice,
        /// whitespace clean, Python lower-case, CLIP split, byte-level BPE.
        case openAI
    }

    /// One token and the bytes of the ORIGINAL input it came from (UTF-8 offsets). Tokens from
    /// one normalized character share its span (a CJK character split into two byte tokens;
    /// "&amp;" decoded to "&"; "ﬁ" expanded to "f" "i"). Spans never decrease.
    public struct Token: Sendable, Equatable {
        public let id: Int32
        public let span: Range<Int>
    }

    public let vocabulary: CLIPVocabulary
    public let mode: Mode
    public var startOfText: Int32 { vocabulary.startOfText }
    public var endOfText: Int32 { vocabulary.endOfText }
    private let cache = BPECache()

    public init(vocabulary: CLIPVocabulary, mode: Mode) {
        self.vocabulary = vocabulary
        self.mode = mode
    }

    /// Tokens of the text, without start or end tokens. Invalid UTF-8 is `.invalidArgument`.
    public func tokens(_ utf8: some Collection<UInt8>) throws(GoalError) -> [Token] {
        let original = try decodePieces(utf8)
        let text: [Piece]
        switch mode {
        case .huggingFace:
            // Whitespace needs no rewriting: the split drops it, and a run of it splits the
            // same as one space.
            text = lowercaseHF(nfc(original))
        case .openAI:
            // strip() and " ".join(split()) likewise only reshape whitespace, which the split
            // drops; Python's whitespace also includes U+001C...U+001F, so those go here.
            let cleaned = htmlUnescape(htmlUnescape(ftfyFixText(original)))
            text = lowercasePython(cleaned.filter { !isPythonSpace($0.scalar) || isWhiteSpace($0.scalar) })
        }
        var out: [Token] = []
        out.reserveCapacity(text.count / 3 + 1)
        var bytes: [UInt8] = []
        var owner: [Int] = []   // for each byte of the word, the piece it came from
        for word in splitWords(text, openAI: mode == .openAI) {
            bytes.removeAll(keepingCapacity: true)
            owner.removeAll(keepingCapacity: true)
            for k in word {
                let before = bytes.count
                appendUTF8(text[k].scalar, to: &bytes)
                for _ in before..<bytes.count { owner.append(k) }
            }
            var at = 0
            for piece in cache.pieces(for: bytes, vocabulary) {
                let last = min(at + Int(piece.byteCount), owner.count) - 1
                guard at <= last else { break }
                var lo = Int.max, hi = Int.min
                for k in owner[at] ... owner[last] {
                    lo = min(lo, text[k].start)
                    hi = max(hi, text[k].end)
                }
                out.append(Token(id: piece.id, span: lo..<max(lo, hi)))
                at = last + 1
            }
        }
        return out
    }

    /// start + tokens + end, unpadded. Longer than `contextLength`: cut so that the end token is
    /// still last (`truncate`, the references' behaviour), or `.invalidArgument`.
    public func encode(_ utf8: some Collection<UInt8>, contextLength: Int = 77, truncate: Bool = true) throws(GoalError) -> [Int32] {
        guard contextLength >= 2 else {
            throw GoalError(.invalidArgument, "context length \(contextLength) leaves no room for the start and end tokens")
        }
        let body = try tokens(utf8)
        if body.count + 2 > contextLength {
            guard truncate else {
                throw GoalError(.invalidArgument, "the text is \(body.count + 2) tokens with start and end; the context holds \(contextLength)")
            }
            return [startOfText] + body.prefix(contextLength - 2).map(\.id) + [endOfText]
        }
        var ids: [Int32] = []
        ids.reserveCapacity(body.count + 2)
        ids.append(startOfText)
        for t in body { ids.append(t.id) }
        ids.append(endOfText)
        return ids
    }
}

extension CLIPTokenizer {
    /// A tokenizer.json in HF mode.
    public static func load(tokenizerJSON path: String, mode: Mode = .huggingFace) throws(GoalError) -> CLIPTokenizer {
        CLIPTokenizer(vocabulary: try CLIPVocabulary.load(tokenizerJSON: path), mode: mode)
    }

    /// vocab.json + merges.txt in HF mode.
    public static func load(vocabJSON: String, mergesTXT: String, mode: Mode = .huggingFace) throws(GoalError) -> CLIPTokenizer {
        CLIPTokenizer(vocabulary: try CLIPVocabulary.load(vocabJSON: vocabJSON, mergesTXT: mergesTXT), mode: mode)
    }

    /// OpenAI's bpe_simple_vocab_16e6.txt.gz in OpenAI mode.
    public static func load(openAIBPE path: String, mode: Mode = .openAI) throws(GoalError) -> CLIPTokenizer {
        CLIPTokenizer(vocabulary: try CLIPVocabulary.load(openAIBPE: path), mode: mode)
    }
}
