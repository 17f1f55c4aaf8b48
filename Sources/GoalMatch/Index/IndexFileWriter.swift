import Glibc

/// Writes index files so that a crash never leaves a damaged or partial one at the path: the
/// bytes go to a new temporary file in the same folder, which is flushed to disk (fsync) and
/// then renamed over the path (rename within a folder is atomic), and the folder is flushed so
/// that the rename itself survives a crash. Readers see the old file or the new one, never a
/// mixture; a failure removes the temporary file and leaves the old one as it was.
enum IndexFileWriter {
    static func write(_ format: IndexFormat, ids: UnsafeBufferPointer<Int64>, vectors: UnsafeBufferPointer<Float>,
                      to path: String) throws(GoalError) {
        guard !path.isEmpty else { throw GoalError(.invalidArgument, "the index path is empty") }
        guard let layout = IndexFormat.layout(dim: format.dim, count: format.count) else {
            throw GoalError(.invalidArgument, "\(path): \(format.count) vectors of \(format.dim) are too large for a file")
        }
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw GoalError(.io, "cannot write the index \(path): the path names a folder") }
        // Hidden, and random so that concurrent writers to the same path never share one.
        let temporary = folder + "." + name + ".goal-" + String(UInt64.random(in: .min ... .max), radix: 16) + ".tmp"
        func failure(_ reason: String) -> GoalError { GoalError(.io, "cannot write the index \(path): \(reason)") }
        func systemReason() -> String { String(cString: strerror(errno)) }

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(systemReason()) }
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temporary) }
        }

        // The header goes first with a zero checksum and is rewritten once the bytes are known.
        var crc: UInt32 = 0
        let blank = format.encoded(checksum: 0, vectorsOffset: layout.vectors)
        crc = blank.withUnsafeBytes { CRC32.update(crc, $0) }
        try writeAll(fd, blank, failure)
        let idBytes = UnsafeRawBufferPointer(ids)
        crc = CRC32.update(crc, idBytes)
        try writeAll(fd, idBytes, failure)
        let padding = [UInt8](repeating: 0, count: layout.vectors - IndexFormat.headerSize - idBytes.count)
        crc = padding.withUnsafeBytes { CRC32.update(crc, $0) }
        try writeAll(fd, padding, failure)
        let vectorBytes = UnsafeRawBufferPointer(vectors)
        crc = CRC32.update(crc, vectorBytes)
        try writeAll(fd, vectorBytes, failure)
        let header = format.encoded(checksum: crc, vectorsOffset: layout.vectors)
        let wrote = header.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard wrote == header.count else { throw failure(wrote < 0 ? systemReason() : "a short write") }

        guard fsync(fd) == 0 else { throw failure(systemReason()) }
        closed = true
        guard close(fd) == 0 else { throw failure(systemReason()) }
        guard rename(temporary, path) == 0 else { throw failure(systemReason()) }
        renamed = true
        // Flush the folder so that the new name is on disk too; file systems that cannot sync a
        // folder (EINVAL) have nothing more to do.
        let dir = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            let synced = fsync(dir) == 0 || errno == EINVAL
            let reason = synced ? "" : systemReason()
            close(dir)
            guard synced else { throw failure("the file was written but its folder could not be flushed: \(reason)") }
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ failure: (String) -> GoalError) throws(GoalError) {
        let error = bytes.withUnsafeBytes { b -> GoalError? in
            do throws(GoalError) { try writeAll(fd, b, failure) } catch { return error }
            return nil
        }
        if let error { throw error }
    }

    /// Writes every byte, resuming after interrupted and partial writes.
    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer,
                                 _ failure: (String) -> GoalError) throws(GoalError) {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, p, min(left, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw failure(String(cString: strerror(errno)))
            }
            guard n > 0 else { throw failure("a short write") }
            p += n
            left -= n
        }
    }
}
