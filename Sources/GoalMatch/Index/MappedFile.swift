import Glibc

/// A whole file mapped read-only into memory, unmapped when the last reference goes.
///
/// The mapping is private and read-only: nothing the process does can change the file through
/// it. The file must not be truncated or rewritten in place by anyone while it is mapped (reading
/// a page that is gone ends the process with SIGBUS); files replaced by rename, as
/// `EmbeddingIndex.save` does, are safe, because the mapping keeps the old file alive.
final class MappedFile: @unchecked Sendable {
    let path: String
    /// The bytes; empty (and `base` nil) for an empty file.
    let base: UnsafeRawPointer?
    let size: Int

    /// Maps `path`. A missing file is `.notFound`; one that exists but cannot be read (a folder,
    /// no permission) is `.io`, naming the path and the reason.
    init(path: String) throws(GoalError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                throw GoalError(.notFound, "\(path): no such file")
            }
            throw GoalError(.io, "\(path): cannot open the file (\(String(cString: strerror(code))))")
        }
        defer { close(fd) }  // the mapping keeps the file alive
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw GoalError(.io, "\(path): cannot read the file (\(String(cString: strerror(errno))))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            let what = (info.st_mode & S_IFMT) == S_IFDIR ? "a folder" : "not a regular file"
            throw GoalError(.io, "\(path): cannot read the file (it is \(what))")
        }
        size = Int(info.st_size)
        guard size > 0 else {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw GoalError(.io, "\(path): cannot map the file's \(size) bytes (\(String(cString: strerror(errno))))")
        }
        base = UnsafeRawPointer(p)
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }
}
