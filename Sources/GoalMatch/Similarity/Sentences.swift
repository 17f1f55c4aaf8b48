/// A sentence of a caption: its UTF-8 byte range in the caption and the range of the caption's
/// tokens (indices into its tokenisation with the start token at 0) that fall inside it. The
/// token range is empty when the sentence lies beyond the context the caption was cut to.
public struct SentenceSpan: Sendable, Equatable {
    public let bytes: Range<Int>
    public let tokens: Range<Int>
}

/// How sentence embeddings are made.
public enum SentenceMode: Sendable, Equatable {
    /// Encode each sentence as a text of its own.
    case standalone
    /// Average the caption's token states over the sentence's tokens, then apply the text head
    /// (TSL's text side). A sentence beyond the caption's context is encoded standalone.
    case spanPooled
}

extension CLIPModel {
    /// The sentences of a caption with their token ranges in the caption's full tokenisation
    /// (no truncation). `naive` splits at every "." as the GOAL paper's code does.
    public func sentences(_ utf8: [UInt8], naive: Bool = false) throws(GoalError) -> [SentenceSpan] {
        let tokens = try tokenize(utf8, limit: nil)
        return spans(sentenceRanges(utf8, naive: naive), tokens: tokens)
    }

    func spans(_ ranges: [Range<Int>], tokens: [CLIPTokenizer.Token]) -> [SentenceSpan] {
        // Tokens 1 ..< count-1 are the text's; a token belongs to the sentence holding its start.
        ranges.map { range in
            var lo = Int.max, hi = Int.min
            for i in 1 ..< max(1, tokens.count - 1) where range.contains(tokens[i].span.lowerBound) {
                lo = min(lo, i)
                hi = max(hi, i + 1)
            }
            return SentenceSpan(bytes: range, tokens: lo <= hi ? lo..<hi : 0..<0)
        }
    }

    /// L2-normalised embeddings of a caption's sentences, `sentences.count * dim` floats.
    public func sentenceEmbeddings(_ utf8: [UInt8], sentences: [SentenceSpan], mode: SentenceMode) throws(GoalError) -> [Float] {
        for (i, s) in sentences.enumerated() where s.bytes.lowerBound < 0 || s.bytes.upperBound > utf8.count {
            throw GoalError(.invalidArgument, "sentence \(i) spans bytes \(s.bytes), outside the caption's \(utf8.count)")
        }
        let texts = sentences.map { Array(utf8[$0.bytes]) }
        guard mode == .spanPooled, !sentences.isEmpty else { return try encodeText(texts) }
        let states = try textStates(utf8)
        let dim = info.dim, width = states.width
        var out = [Float](repeating: 0, count: sentences.count * dim)
        var pooled: [Float] = [], pooledRows: [Int] = [], standalone: [Int] = []
        for (i, s) in sentences.enumerated() {
            // Only a sentence wholly inside the tokens the tower saw can be pooled from them.
            guard !s.tokens.isEmpty, s.tokens.upperBound <= states.tokens.count - 1 else {
                standalone.append(i)
                continue
            }
            var sum = [Double](repeating: 0, count: width)
            for t in s.tokens { for k in 0..<width { sum[k] += Double(states.states[t * width + k]) } }
            pooled += sum.map { Float($0 / Double(s.tokens.count)) }
            pooledRows.append(i)
        }
        if !pooledRows.isEmpty {
            let projected = try projectTextStates(pooled, rows: pooledRows.count)
            for (k, i) in pooledRows.enumerated() {
                out.replaceSubrange(i * dim ..< (i + 1) * dim, with: projected[k * dim ..< (k + 1) * dim])
            }
        }
        if !standalone.isEmpty {
            let encoded = try encodeText(standalone.map { texts[$0] })
            for (k, i) in standalone.enumerated() {
                out.replaceSubrange(i * dim ..< (i + 1) * dim, with: encoded[k * dim ..< (k + 1) * dim])
            }
        }
        return out
    }
}
