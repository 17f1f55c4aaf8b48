/// GPT-2's byte-to-symbol table, which CLIP reuses: every byte becomes one printable character,
/// so that BPE never sees whitespace or control characters. Printable Latin-1 bytes stand for
/// themselves; the other 68 bytes take the code points from U+0100 up, in byte order.
let byteLevelSymbols: [Unicode.Scalar] = {
    var table = [Unicode.Scalar](repeating: " ", count: 256)
    var next: UInt32 = 256
    for byte in 0..<256 {
        let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
        let code = printable ? UInt32(byte) : next
        if !printable { next += 1 }
        table[byte] = Unicode.Scalar(code) ?? " "
    }
    return table
}()
