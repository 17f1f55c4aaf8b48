import CImageDecode
import Glibc

extension RGBImage {
    /// Writes the image as an 8-bit RGB PNG at `path`, replacing what is there. The PNG goes to
    /// a new temporary file in the same folder first and is renamed over the target only once
    /// complete (rename within a folder is atomic), so a failure leaves neither a partial PNG
    /// nor a stray temporary file, and readers never see half an image. Any failure is `.io`
    /// naming `path`.
    public func writePNG(to path: String) throws(GoalError) {
        guard !path.isEmpty else { throw GoalError(.invalidArgument, "the PNG path is empty") }
        guard width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw GoalError(.invalidArgument, "a \(width)x\(height) image is too large for a PNG")
        }
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        // Hidden, and random so that concurrent writers to the same target never share one.
        let temporary = folder + "." + name + ".goal-" + String(UInt64.random(in: .min ... .max), radix: 16) + ".tmp"
        var message = [CChar](repeating: 0, count: 256)
        let status = pixels.withUnsafeBufferPointer { rgb in
            goal_png_write_rgb(temporary, rgb.baseAddress, Int32(width), Int32(height), width * 3,
                               &message, message.count)
        }
        guard status == GOAL_PNG_WRITE_OK else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if status != GOAL_PNG_WRITE_OPEN_FAILED { unlink(temporary) }
            if status == GOAL_PNG_WRITE_OUT_OF_MEMORY { throw GoalError(.outOfMemory, "writing the PNG \(path): out of memory") }
            throw GoalError(.io, "cannot write the PNG \(path): \(reason)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw GoalError(.io, "cannot write the PNG \(path): \(reason)")
        }
    }
}
