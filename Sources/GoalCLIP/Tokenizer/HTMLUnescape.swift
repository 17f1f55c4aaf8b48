/// Python's `html.unescape`, which open_clip applies twice after ftfy: numeric references
/// (with or without ';', out-of-range numbers become U+FFFD, some become nothing), and named
/// references from the HTML5 table, where a name without ';' may be the longest known prefix of
/// the run ("&notit;" is "¬it;").

@inline(__always) private func isASCIIDigit(_ s: Unicode.Scalar) -> Bool { (0x30...0x39).contains(s.value) }
@inline(__always) private func hexValue(_ s: Unicode.Scalar) -> UInt32? {
    switch s.value {
    case 0x30...0x39: s.value - 0x30
    case 0x41...0x46: s.value - 0x41 + 10
    case 0x61...0x66: s.value - 0x61 + 10
    default: nil
    }
}

func htmlUnescape(_ p: [Piece]) -> [Piece] {
    guard p.contains(where: { $0.scalar == "&" }) else { return p }
    let tables = fixTables
    var out: [Piece] = []
    out.reserveCapacity(p.count)
    var i = 0
    let n = p.count
    while i < n {
        guard p[i].scalar == "&", i + 1 < n else { out.append(p[i]); i += 1; continue }
        var k = i + 1
        if p[k].scalar == "#" {
            // '#' digits ';'?  or  '#' [xX] hexdigits ';'?
            k += 1
            var number: UInt32 = 0
            var digits = 0
            if k < n, isASCIIDigit(p[k].scalar) {
                while k < n, isASCIIDigit(p[k].scalar) {
                    number = min(number &* 10 &+ (p[k].scalar.value - 0x30), 0x110000)
                    k += 1; digits += 1
                }
            } else if k + 1 < n, p[k].scalar == "x" || p[k].scalar == "X", hexValue(p[k + 1].scalar) != nil {
                k += 1
                while k < n, let d = hexValue(p[k].scalar) {
                    number = min(number << 4 | d, 0x110000)
                    k += 1; digits += 1
                }
            }
            if digits == 0 { out.append(p[i]); i += 1; continue }
            if k < n, p[k].scalar == ";" { k += 1 }
            let value: [Unicode.Scalar]
            if let special = tables.invalidCharrefs[number] {
                value = special
            } else if (0xD800...0xDFFF).contains(number) || number > 0x10FFFF {
                value = ["\u{FFFD}"]
            } else if tables.invalidCodepoints.contains(number) {
                value = []
            } else {
                value = Unicode.Scalar(number).map { [$0] } ?? ["\u{FFFD}"]
            }
            out.append(contentsOf: [Piece].replacing(p[i..<k], with: value))
            i = k
            continue
        }
        // Named: up to 32 characters other than \t \n \f space < & # ;, then an optional ';'.
        while k < n, k - (i + 1) < 32 {
            switch p[k].scalar {
            case "\t", "\n", "\u{0C}", " ", "<", "&", "#", ";": break
            default: k += 1; continue
            }
            break
        }
        if k == i + 1 { out.append(p[i]); i += 1; continue }
        if k < n, p[k].scalar == ";" { k += 1 }
        let name = p[(i + 1)..<k]
        var text = String()
        text.unicodeScalars.append(contentsOf: name.lazy.map(\.scalar))
        if let value = tables.html5[text] {
            out.append(contentsOf: [Piece].replacing(p[i..<k], with: value))
            i = k
            continue
        }
        // The longest prefix (of at least 2 characters) that is a name; the rest stays as is.
        var matched = false
        var length = name.count - 1
        while length >= 2 {
            if length <= tables.longestName {
                var prefix = String()
                prefix.unicodeScalars.append(contentsOf: name.prefix(length).lazy.map(\.scalar))
                if let value = tables.html5[prefix] {
                    out.append(contentsOf: [Piece].replacing(p[i..<(i + 1 + length)], with: value))
                    out.append(contentsOf: p[(i + 1 + length)..<k])
                    matched = true
                    break
                }
            }
            length -= 1
        }
        if !matched { out.append(contentsOf: p[i..<k]) }
        i = k
    }
    return out
}
