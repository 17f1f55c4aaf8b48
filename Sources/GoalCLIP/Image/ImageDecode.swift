import Glibc

extension RGBImage {
    /// Decodes a JPEG or PNG held in memory into what `PIL.Image.open(f).convert("RGB")` gives.
    /// The format is told by the file's signature, never by a name. EXIF orientation is not
    /// applied and colour profiles are ignored, as PIL does unless asked.
    public init(encoded bytes: UnsafeRawBufferPointer,
                pixelLimit: Int = RGBImage.defaultPixelLimit, alpha: AlphaHandling = .drop) throws(GoalError) {
        if bytes.count >= 8, pngSignature.indices.allSatisfy({ bytes[$0] == pngSignature[$0] }) {
            self = try decodePNG(bytes, pixelLimit: pixelLimit, alpha: alpha)
        } else if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF {
            self = try decodeJPEG(bytes, pixelLimit: pixelLimit)
        } else {
            throw GoalError(.unsupported, "the data is neither a JPEG nor a PNG image")
        }
    }

    /// Convenience over `init(encoded:pixelLimit:)` for an array.
    public init(encoded bytes: [UInt8], pixelLimit: Int = RGBImage.defaultPixelLimit,
                alpha: AlphaHandling = .drop) throws(GoalError) {
        var result: Result<RGBImage, GoalError>!
        bytes.withUnsafeBytes { raw in
            result = Result { () throws(GoalError) in try RGBImage(encoded: raw, pixelLimit: pixelLimit, alpha: alpha) }
        }
        self = try result.get()
    }

    /// Reads and decodes an image file; errors name the path.
    public init(contentsOf path: String, pixelLimit: Int = RGBImage.defaultPixelLimit,
                alpha: AlphaHandling = .drop) throws(GoalError) {
        let bytes = try readImageFile(path)
        do {
            self = try RGBImage(encoded: bytes, pixelLimit: pixelLimit, alpha: alpha)
        } catch {
            throw GoalError(error.kind, "\(path): \(error.message)")
        }
    }
}

let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

/// The whole file, read with plain POSIX calls (no Foundation in the library).
package func readImageFile(_ path: String) throws(GoalError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        throw GoalError(errno == ENOENT ? .notFound : .io, "\(path): cannot open the file (\(String(cString: strerror(errno))))")
    }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if got < 0 {
            if errno == EINTR { continue }
            throw GoalError(.io, "\(path): cannot read the file (\(String(cString: strerror(errno))))")
        }
        if got == 0 { break }
        bytes.append(contentsOf: chunk[0..<got])
    }
    return bytes
}
