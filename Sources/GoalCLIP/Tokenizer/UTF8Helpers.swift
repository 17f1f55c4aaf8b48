/// Appends a scalar's UTF-8 encoding. Written out because the stdlib's encoder returns an
/// optional, and the library keeps force-unwraps off every path that input can reach.
@inline(__always)
func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
    let v = scalar.value
    switch v {
    case 0..<0x80:
        out.append(UInt8(truncatingIfNeeded: v))
    case 0x80..<0x800:
        out.append(UInt8(truncatingIfNeeded: 0xC0 | (v >> 6)))
        out.append(UInt8(truncatingIfNeeded: 0x80 | (v & 0x3F)))
    case 0x800..<0x10000:
        out.append(UInt8(truncatingIfNeeded: 0xE0 | (v >> 12)))
        out.append(UInt8(truncatingIfNeeded: 0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(truncatingIfNeeded: 0x80 | (v & 0x3F)))
    default:
        out.append(UInt8(truncatingIfNeeded: 0xF0 | (v >> 18)))
        out.append(UInt8(truncatingIfNeeded: 0x80 | ((v >> 12) & 0x3F)))
        out.append(UInt8(truncatingIfNeeded: 0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(truncatingIfNeeded: 0x80 | (v & 0x3F)))
    }
}

/// Bytes a scalar takes in UTF-8.
@inline(__always)
func utf8Length(_ scalar: Unicode.Scalar) -> Int {
    switch scalar.value {
    case 0..<0x80: 1
    case 0x80..<0x800: 2
    case 0x800..<0x10000: 3
    default: 4
    }
}
