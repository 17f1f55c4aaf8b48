/// The part of `ftfy.fix_text` (ftfy 6, default settings) that open_clip's cleaning depends on
/// for text that is not mojibake. Per line (each segment ends after a "\n"), repeated until the
/// text stops changing:
///   unescape_html -> fix_c1_controls -> fix_latin_ligatures -> fix_character_width ->
///   uncurl_quotes -> fix_line_breaks -> remove_terminal_escapes -> remove_control_chars -> NFC
/// Not reimplemented: fix_encoding (mojibake repair by re-decoding, e.g. "Ã©" -> "é"), which
/// needs ftfy's heuristics; fix_surrogates, which valid UTF-8 input cannot need.
/// ftfy's unescape_html is its own, stricter variant (only "&name;" / "&#...;" forms, plus
/// upper-cased Latin names like "&EACUTE;"), and it is switched off for the rest of the text as
/// soon as a line containing "<" is met — that is how fix_text's loop behaves.
func ftfyFixText(_ pieces: [Piece]) -> [Piece] {
    let maxSegment = 1_000_000
    var out: [Piece] = []
    out.reserveCapacity(pieces.count)
    var unescape = true
    var start = 0
    while start < pieces.count {
        var end = start
        while end < pieces.count, end - start < maxSegment {
            end += 1
            if pieces[end - 1].scalar == "\n" { break }
        }
        var segment = Array(pieces[start..<end])
        if unescape, segment.contains(where: { $0.scalar == "<" }) { unescape = false }
        while true {
            let before = segment
            if unescape { segment = ftfyUnescapeHTML(segment) }
            segment = fixSegmentOnce(segment)
            if segment.sameScalars(as: before) { break }
        }
        out.append(contentsOf: segment)
        start = end
    }
    return out
}

/// The fixers after unescape_html, once each, in fix_text's order.
private func fixSegmentOnce(_ p: [Piece]) -> [Piece] {
    let tables = fixTables
    // Most text is plain: skip the per-character passes when nothing could apply.
    let needsWork = p.contains { piece in
        switch piece.scalar.value {
        case 0..<0x20, 0x7F...0x9F, 0x132...0x1F3, 0x2BC, 0x2018...0x201F, 0x2028, 0x2029,
             0x206A...0x206F, 0x3000, 0xFB00...0xFB06, 0xFEFF, 0xFF01...0xFFEF, 0xFFF9...0xFFFC:
            true
        default:
            false
        }
    }
    if !needsWork { return nfc(p) }

    var text: [Piece] = []
    text.reserveCapacity(p.count)
    // fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes: one scalar each.
    for piece in p {
        var scalars = [piece.scalar]
        let v = piece.scalar.value
        if let c1 = tables.c1[v] { scalars = c1 }
        scalars = scalars.flatMap { tables.ligatures[$0.value] ?? [$0] }
        scalars = scalars.flatMap { tables.width[$0.value] ?? [$0] }
        for s in scalars {
            switch s.value {
            case 0x2BC, 0x2018...0x201B: text.append(piece.with("'"))
            case 0x201C...0x201F: text.append(piece.with("\""))
            default: text.append(piece.with(s))
            }
        }
    }
    // fix_line_breaks: CRLF, CR, U+2028, U+2029 and U+0085 become "\n".
    var lines: [Piece] = []
    lines.reserveCapacity(text.count)
    var i = 0
    while i < text.count {
        let s = text[i].scalar
        if s == "\r", i + 1 < text.count, text[i + 1].scalar == "\n" {
            lines.append(contentsOf: [Piece].replacing(text[i...(i + 1)], with: ["\n"]))
            i += 2
            continue
        }
        switch s.value {
        case 0x0D, 0x2028, 0x2029, 0x85: lines.append(text[i].with("\n"))
        default: lines.append(text[i])
        }
        i += 1
    }
    // remove_terminal_escapes: ESC '[' (digits | ';')* letter; then remove_control_chars.
    var cleaned: [Piece] = []
    cleaned.reserveCapacity(lines.count)
    i = 0
    while i < lines.count {
        if lines[i].scalar == "\u{1B}", i + 1 < lines.count, lines[i + 1].scalar == "[" {
            var k = i + 2
            while k < lines.count, lines[k].scalar == ";" || lines[k].scalar.properties.generalCategory == .decimalNumber {
                k += 1
            }
            if k < lines.count, lines[k].scalar.isASCII, isLetter(lines[k].scalar) {
                i = k + 1
                continue
            }
        }
        if !tables.controls.contains(lines[i].scalar.value) { cleaned.append(lines[i]) }
        i += 1
    }
    return nfc(cleaned)
}

/// ftfy.fixes.unescape_html: "&" "#"? [0-9A-Za-z]{1,24} ";" when it is a known entity (or a
/// numeric reference that html.unescape decodes entirely, ';' included).
private func ftfyUnescapeHTML(_ p: [Piece]) -> [Piece] {
    guard p.contains(where: { $0.scalar == "&" }) else { return p }
    let tables = fixTables
    var out: [Piece] = []
    out.reserveCapacity(p.count)
    var i = 0
    while i < p.count {
        guard p[i].scalar == "&" else { out.append(p[i]); i += 1; continue }
        let hash = i + 1 < p.count && p[i + 1].scalar == "#"
        let first = hash ? i + 2 : i + 1
        var k = first
        while k < p.count, p[k].scalar.isASCII, isLetter(p[k].scalar) || isNumber(p[k].scalar) { k += 1 }
        let length = k - first
        guard (1...24).contains(length), k < p.count, p[k].scalar == ";" else {
            out.append(p[i]); i += 1; continue
        }
        let match = p[i...k]
        var text = String()
        text.unicodeScalars.append(contentsOf: match.lazy.map(\.scalar))
        if let value = tables.ftfyEntities[text] {
            out.append(contentsOf: [Piece].replacing(match, with: value))
        } else if hash {
            let decoded = htmlUnescape(Array(match))
            if decoded.contains(where: { $0.scalar == ";" }) {
                out.append(contentsOf: match)
            } else {
                out.append(contentsOf: [Piece].replacing(match, with: decoded.map(\.scalar)))
            }
        } else {
            out.append(contentsOf: match)
        }
        i = k + 1
    }
    return out
}
