/// One scalar of text being normalized, with the UTF-8 byte range of the ORIGINAL input it came
/// from. Every normalization step maps pieces to pieces, so a token can always name the input
/// bytes behind it, however much the text was rewritten on the way.
struct Piece: Sendable {
    var scalar: Unicode.Scalar
    var start: Int
    var end: Int

    init(_ scalar: Unicode.Scalar, _ start: Int, _ end: Int) {
        self.scalar = scalar
        self.start = start
        self.end = end
    }

    /// The same source range, another scalar: for replacements of one piece.
    @inline(__always)
    func with(_ scalar: Unicode.Scalar) -> Piece { Piece(scalar, start, end) }
}

extension Array where Element == Piece {
    /// Pieces covering the union of `range`'s sources, one per scalar of `replacement`.
    static func replacing(_ source: ArraySlice<Piece>, with replacement: some Sequence<Unicode.Scalar>) -> [Piece] {
        var lo = Int.max, hi = Int.min
        for p in source { lo = Swift.min(lo, p.start); hi = Swift.max(hi, p.end) }
        if lo > hi { lo = 0; hi = 0 }
        return replacement.map { Piece($0, lo, hi) }
    }

    func sameScalars(as other: [Piece]) -> Bool {
        guard count == other.count else { return false }
        for i in indices where self[i].scalar != other[i].scalar { return false }
        return true
    }
}

/// Decodes and validates the caller's UTF-8 into pieces, one per scalar, each pointing at its
/// own bytes.
func decodePieces(_ utf8: some Collection<UInt8>) throws(GoalError) -> [Piece] {
    guard let text = String(validating: utf8, as: UTF8.self) else {
        throw GoalError(.invalidArgument, "the text is not valid UTF-8")
    }
    var pieces: [Piece] = []
    pieces.reserveCapacity(utf8.count)
    var offset = 0
    for scalar in text.unicodeScalars {
        let length = utf8Length(scalar)
        pieces.append(Piece(scalar, offset, offset + length))
        offset += length
    }
    return pieces
}

/// NFC, applied one extended grapheme cluster at a time so that a composed scalar can be mapped
/// back to the cluster it came from. Composition never crosses a cluster boundary (marks and
/// Hangul jamo that compose belong to their base's cluster), so the result equals whole-text NFC.
/// Clusters NFC leaves alone keep their per-scalar ranges.
func nfc(_ pieces: [Piece]) -> [Piece] {
    // Below U+0300 nothing composes or decomposes, and that covers most caption text.
    if pieces.allSatisfy({ $0.scalar.value < 0x300 }) { return pieces }
    var text = String()
    text.unicodeScalars.append(contentsOf: pieces.lazy.map(\.scalar))
    var out: [Piece] = []
    out.reserveCapacity(pieces.count)
    var at = 0
    for cluster in text {
        let n = cluster.unicodeScalars.count
        let group = pieces[at..<min(at + n, pieces.count)]
        at += n
        if n == 1, let only = group.first, only.scalar.value < 0x300 {
            out.append(only)
            continue
        }
        let normalized = String(cluster)._nfcCodeUnits
        let scalars = String(decoding: normalized, as: UTF8.self).unicodeScalars
        if scalars.elementsEqual(group.lazy.map(\.scalar)) {
            out.append(contentsOf: group)
        } else {
            out.append(contentsOf: [Piece].replacing(group, with: scalars))
        }
    }
    return out
}
