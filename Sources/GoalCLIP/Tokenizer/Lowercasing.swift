/// Lower-casing as each reference does it. Both use the full Unicode mapping (so "İ" becomes
/// "i" + U+0307); only Python's str.lower also applies the Final_Sigma rule.

@inline(__always)
private func appendLower(_ p: Piece, to out: inout [Piece]) {
    let v = p.scalar.value
    if v < 128 {
        out.append((0x41...0x5A).contains(v) ? p.with(Unicode.Scalar(UInt8(v + 32))) : p)
        return
    }
    let props = p.scalar.properties
    if !props.changesWhenLowercased {
        out.append(p)
        return
    }
    for s in props.lowercaseMapping.unicodeScalars { out.append(p.with(s)) }
}

/// HF's Lowercase normalizer: each char's own mapping, no context (Σ is always σ).
func lowercaseHF(_ pieces: [Piece]) -> [Piece] {
    var out: [Piece] = []
    out.reserveCapacity(pieces.count)
    for p in pieces { appendLower(p, to: &out) }
    return out
}

/// Python's str.lower: as above, except that capital sigma becomes final ς when a cased letter
/// precedes it and none follows (case-ignorable characters skipped both ways), judged on the
/// text before lower-casing.
func lowercasePython(_ pieces: [Piece]) -> [Piece] {
    var out: [Piece] = []
    out.reserveCapacity(pieces.count)
    for i in pieces.indices {
        let p = pieces[i]
        if p.scalar.value == 0x3A3 {
            out.append(p.with(isFinalSigma(pieces, i) ? "\u{3C2}" : "\u{3C3}"))
        } else {
            appendLower(p, to: &out)
        }
    }
    return out
}

private func isFinalSigma(_ pieces: [Piece], _ i: Int) -> Bool {
    var j = i - 1
    while j >= 0, pieces[j].scalar.properties.isCaseIgnorable { j -= 1 }
    guard j >= 0, pieces[j].scalar.properties.isCased else { return false }
    j = i + 1
    while j < pieces.count, pieces[j].scalar.properties.isCaseIgnorable { j += 1 }
    return j == pieces.count || !pieces[j].scalar.properties.isCased
}
