/// The character classes of CLIP's split pattern, from the stdlib's Unicode tables, with ASCII
/// answered by table because nearly all caption text is ASCII.

private let asciiClass: [UInt8] = {
    // 1 letter, 2 digit, 3 White_Space, 0 other
    var t = [UInt8](repeating: 0, count: 128)
    for c in UInt8(ascii: "a")...UInt8(ascii: "z") { t[Int(c)] = 1 }
    for c in UInt8(ascii: "A")...UInt8(ascii: "Z") { t[Int(c)] = 1 }
    for c in UInt8(ascii: "0")...UInt8(ascii: "9") { t[Int(c)] = 2 }
    for c in [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20] { t[c] = 3 }
    return t
}()

/// \p{L}
@inline(__always)
func isLetter(_ s: Unicode.Scalar) -> Bool {
    if s.value < 128 { return asciiClass[Int(s.value)] == 1 }
    switch s.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
    default: return false
    }
}

/// \p{N}
@inline(__always)
func isNumber(_ s: Unicode.Scalar) -> Bool {
    if s.value < 128 { return asciiClass[Int(s.value)] == 2 }
    switch s.properties.generalCategory {
    case .decimalNumber, .letterNumber, .otherNumber: return true
    default: return false
    }
}

/// \s of Oniguruma and of Python's `regex`: the Unicode White_Space property.
@inline(__always)
func isWhiteSpace(_ s: Unicode.Scalar) -> Bool {
    if s.value < 128 { return asciiClass[Int(s.value)] == 3 }
    return s.properties.isWhitespace
}

/// Python's str.isspace, which `str.split()` and `str.strip()` use: White_Space plus the four
/// ASCII separators U+001C...U+001F.
@inline(__always)
func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
    (0x1C...0x1F).contains(s.value) || isWhiteSpace(s)
}
