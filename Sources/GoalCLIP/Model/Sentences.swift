/// Splits text into sentences, as UTF-8 byte ranges with surrounding whitespace trimmed.
///
/// A sentence ends at ".", "!" or "?" (with any closing quotes or brackets after it) followed by
/// whitespace or the end of the text, except where the full stop belongs to a word that is not
/// an end: a known abbreviation ("Mr.", "e.g.", "St."), a single-letter initial, or an ellipsis
/// followed by a lower-case word. A decimal point never qualifies (no whitespace follows it).
/// Text without any end mark is one sentence; whitespace-only text has none.
///
/// `naive` is the GOAL paper's rule instead: split at every ".", drop the stops themselves and
/// the pieces that are only whitespace.
public func sentenceRanges(_ utf8: [UInt8], naive: Bool = false) -> [Range<Int>] {
    if naive { return naiveSentenceRanges(utf8) }
    var ranges: [Range<Int>] = []
    var start = 0
    var i = 0
    func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }
    func push(_ end: Int) {
        var lo = start, hi = end
        while lo < hi, isSpace(utf8[lo]) { lo += 1 }
        while hi > lo, isSpace(utf8[hi - 1]) { hi -= 1 }
        if lo < hi { ranges.append(lo..<hi) }
        start = end
    }
    while i < utf8.count {
        let b = utf8[i]
        guard isEndMark(b) else { i += 1; continue }
        var marks = i + 1
        while marks < utf8.count, isEndMark(utf8[marks]) { marks += 1 }
        var end = marks
        while end < utf8.count, isCloser(utf8[end]) { end += 1 }
        guard end == utf8.count || isSpace(utf8[end]) else { i = end; continue }
        if b == UInt8(ascii: "."), !endsSentence(utf8, stop: i, stops: marks - i, after: end) { i = end; continue }
        push(end)
        i = end
    }
    push(utf8.count)
    return ranges
}

private func isEndMark(_ b: UInt8) -> Bool {
    b == UInt8(ascii: ".") || b == UInt8(ascii: "!") || b == UInt8(ascii: "?")
}

private func isCloser(_ b: UInt8) -> Bool {
    b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") || b == UInt8(ascii: ")") || b == UInt8(ascii: "]")
}

/// Abbreviations whose full stop does not end a sentence (lower-case, without the final stop).
private let abbreviations: Set<String> = [
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "cf", "approx",
    "no", "fig", "mt", "ft", "inc", "ltd", "co", "corp", "dept", "est", "ca", "al",
]

/// Whether the run of `stops` full stops at `stop` ends a sentence, given that whitespace or the
/// end follows at `after`.
private func endsSentence(_ utf8: [UInt8], stop: Int, stops: Int, after: Int) -> Bool {
    // The word before the stop, back to whitespace.
    var lo = stop
    while lo > 0, !(utf8[lo - 1] == 0x20 || (0x09...0x0D).contains(utf8[lo - 1])) { lo -= 1 }
    let word = String(decoding: utf8[lo..<stop], as: UTF8.self).lowercased()
        .trimmingPrefix(while: { $0 == "(" || $0 == "\"" || $0 == "'" })
    let next = utf8[after...].first { !(($0 == 0x20) || (0x09...0x0D).contains($0)) }
    let nextIsLower = next.map { (0x61...0x7A).contains($0) } ?? false
    if abbreviations.contains(String(word)) && after < utf8.count { return false }
    // A single-letter initial ("J. Smith"), unless nothing follows.
    if word.count == 1, word.first!.isLetter, after < utf8.count, !nextIsLower { return false }
    // An ellipsis that the sentence carries on after.
    if stops >= 2, nextIsLower { return false }
    return true
}

extension Substring {
    fileprivate func trimmingPrefix(while drop: (Character) -> Bool) -> Substring {
        var s = self[...]
        while let c = s.first, drop(c) { s = s.dropFirst() }
        return s
    }
}

extension String {
    fileprivate func trimmingPrefix(while drop: (Character) -> Bool) -> Substring {
        self[...].trimmingPrefix(while: drop)
    }
}

private func naiveSentenceRanges(_ utf8: [UInt8]) -> [Range<Int>] {
    func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }
    var ranges: [Range<Int>] = []
    var start = 0
    for end in 0...utf8.count where end == utf8.count || utf8[end] == UInt8(ascii: ".") {
        var lo = start, hi = end
        while lo < hi, isSpace(utf8[lo]) { lo += 1 }
        while hi > lo, isSpace(utf8[hi - 1]) { hi -= 1 }
        if lo < hi { ranges.append(lo..<hi) }
        start = end + 1
    }
    return ranges
}
