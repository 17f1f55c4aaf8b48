/// CLIP's split pattern, written out by hand:
///     's|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
/// At each position the first alternative that matches wins; text no alternative matches
/// (whitespace) is dropped. The two references differ in two corners, selected by `openAI`:
/// open_clip compiles the pattern with IGNORECASE in Python's `regex`, so "'ſ" (long s) matches
/// "'s" and U+0345 (combining ypogegrammeni, which case-folds to a letter) matches no class at
/// all and is dropped; HF's Oniguruma pattern is case-sensitive, so both fall in the
/// punctuation class there.
func splitWords(_ p: [Piece], openAI: Bool) -> [Range<Int>] {
    var words: [Range<Int>] = []
    let n = p.count
    var i = 0

    @inline(__always) func isSkipped(_ s: Unicode.Scalar) -> Bool {
        isWhiteSpace(s) || (openAI && s.value == 0x345)
    }
    @inline(__always) func isOther(_ s: Unicode.Scalar) -> Bool {
        !isSkipped(s) && !isLetter(s) && !isNumber(s)
    }

    while i < n {
        let s = p[i].scalar
        if s == "'", let length = contraction(p, i + 1, openAI: openAI) {
            words.append(i..<(i + 1 + length))
            i += 1 + length
            continue
        }
        if isLetter(s) {
            var k = i + 1
            while k < n, isLetter(p[k].scalar) { k += 1 }
            words.append(i..<k)
            i = k
        } else if isNumber(s) {
            words.append(i..<(i + 1))
            i += 1
        } else if isSkipped(s) {
            i += 1
        } else {
            var k = i + 1
            while k < n, isOther(p[k].scalar) { k += 1 }
            words.append(i..<k)
            i = k
        }
    }
    return words
}

/// Length after the apostrophe of the contraction starting at `at`, if any, tried in the
/// pattern's order: s t re ve m ll d.
@inline(__always)
private func contraction(_ p: [Piece], _ at: Int, openAI: Bool) -> Int? {
    guard at < p.count else { return nil }
    let a = p[at].scalar
    let b: Unicode.Scalar? = at + 1 < p.count ? p[at + 1].scalar : nil
    switch a {
    case "s", "t", "m", "d": return 1
    case "\u{17F}" where openAI: return 1
    case "r" where b == "e", "v" where b == "e", "l" where b == "l": return 2
    default: return nil
    }
}
