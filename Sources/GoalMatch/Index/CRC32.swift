import CZlib

/// CRC-32 as zlib computes it (the same value as Python's zlib.crc32 and gzip's trailer),
/// continued across calls: start with 0 and pass each result back in.
enum CRC32 {
    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return crc }
        var left = bytes.count
        var value = UInt(crc)
        // zlib's length is 32 bits; feed larger buffers in pieces.
        while left > 0 {
            let piece = min(left, 1 << 30)
            value = crc32(value, p, UInt32(piece))
            p += piece
            left -= piece
        }
        return UInt32(truncatingIfNeeded: value)
    }
}
