/// The layout of an index file, version 1 (docs/INDEX_FORMAT.md is the specification):
///
///     offset  size  field
///          0     8  magic "GOALINDX"
///          8     4  u32 format version (1)
///         12     4  u32 header size (64)
///         16     4  u32 flags (bit 0: rows are L2-normalised; set in every version-1 file)
///         20     4  u32 dim
///         24     8  u64 count (rows)
///         32     8  i64 next id (where ids assigned by add start; above every id in the file)
///         40     8  u64 offset of the ids (64)
///         48     8  u64 offset of the vectors (the end of the ids rounded up to 64)
///         56     4  u32 CRC-32 of the whole file with these 4 bytes read as zeros
///         60     4  reserved, zero
///         64        count ids, int64 little-endian; zeros up to the vectors' offset
///                   count x dim float32 little-endian, row by row; the file ends there
///
/// Every integer is little-endian.
struct IndexFormat: Equatable {
    static let magic: [UInt8] = Array("GOALINDX".utf8)
    static let version: UInt32 = 1
    static let headerSize = 64
    static let alignment = 64
    static let checksumOffset = 56
    /// Bit 0 of the flags: the rows are L2-normalised (scores are cosines).
    static let normalizedRows: UInt32 = 1
    static let knownFlags: UInt32 = normalizedRows

    var dim: Int
    var count: Int
    var nextID: Int64
    var flags: UInt32 = normalizedRows

    var idsOffset: Int { Self.headerSize }

    /// Where the vectors start and where the file ends, or nil when that overflows.
    static func layout(dim: Int, count: Int) -> (vectors: Int, end: Int)? {
        let (idBytes, o1) = count.multipliedReportingOverflow(by: 8)
        let (idsEnd, o2) = idBytes.addingReportingOverflow(headerSize)
        let (padded, o3) = idsEnd.addingReportingOverflow(alignment - 1)
        let vectors = padded / alignment * alignment
        let (values, o4) = count.multipliedReportingOverflow(by: dim)
        let (valueBytes, o5) = values.multipliedReportingOverflow(by: 4)
        let (end, o6) = vectors.addingReportingOverflow(valueBytes)
        return o1 || o2 || o3 || o4 || o5 || o6 ? nil : (vectors, end)
    }

    /// The 64 header bytes with `checksum` in its place.
    func encoded(checksum: UInt32, vectorsOffset: Int) -> [UInt8] {
        var bytes = Self.magic
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        append(Self.version)
        append(UInt32(Self.headerSize))
        append(flags)
        append(UInt32(dim))
        append(UInt64(count))
        append(nextID)
        append(UInt64(idsOffset))
        append(UInt64(vectorsOffset))
        append(checksum)
        append(UInt32(0))
        return bytes
    }

    /// The header of a whole file's bytes, checked against the file: the magic, the version and
    /// flags, the sizes and offsets against the file's length, then the checksum. A file cut
    /// short is `.truncated`; a newer version or unknown flags `.unsupported`; anything else
    /// wrong `.corrupt`. Messages say what was found and what was expected.
    static func parse(_ file: UnsafeRawBufferPointer, path: String) throws(GoalError) -> (format: IndexFormat, vectorsOffset: Int) {
        let size = file.count
        let head = Array(file.prefix(magic.count))
        guard head == Array(magic.prefix(head.count)) else {
            let shown = head.map { (32..<127).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined()
            throw GoalError(.corrupt, "\(path): not a goal index file (it starts with \"\(shown)\", not \"GOALINDX\")")
        }
        guard size >= headerSize else {
            throw GoalError(.truncated, "\(path): the file is truncated: \(size) bytes, shorter than the \(headerSize)-byte header")
        }
        func read<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            T(littleEndian: file.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        let version = read(8, UInt32.self)
        guard version != 0 else { throw GoalError(.corrupt, "\(path): the header gives format version 0, which does not exist") }
        guard version <= Self.version else {
            throw GoalError(.unsupported, "\(path): index format version \(version) is newer than this library reads (version \(Self.version)); open it with a newer goal")
        }
        let declaredHeader = read(12, UInt32.self)
        guard declaredHeader == UInt32(headerSize) else {
            throw GoalError(.corrupt, "\(path): the header gives its size as \(declaredHeader) bytes; version \(version) headers are \(headerSize)")
        }
        let flags = read(16, UInt32.self)
        guard flags & ~knownFlags == 0 else {
            throw GoalError(.unsupported, "\(path): the header has flags 0x\(String(flags, radix: 16)) that this library does not know")
        }
        guard flags & normalizedRows != 0 else {
            throw GoalError(.unsupported, "\(path): the rows are not marked as L2-normalised (flag bit 0), which this library requires")
        }
        let dim = read(20, UInt32.self)
        guard dim >= 1, Int(dim) <= EmbeddingIndex.maximumDim else {
            throw GoalError(.corrupt, "\(path): the header gives a dimension of \(dim) (it must be 1 to \(EmbeddingIndex.maximumDim))")
        }
        let count = read(24, UInt64.self)
        guard count <= UInt64(Int.max), let layout = layout(dim: Int(dim), count: Int(count)) else {
            throw GoalError(.corrupt, "\(path): the header gives \(count) vectors of \(dim), more than any file holds")
        }
        let nextID = read(32, Int64.self)
        guard nextID >= 0 else { throw GoalError(.corrupt, "\(path): the header gives a next id of \(nextID), below 0") }
        let idsOffset = read(40, UInt64.self), vectorsOffset = read(48, UInt64.self)
        guard idsOffset == UInt64(headerSize) else {
            throw GoalError(.corrupt, "\(path): the header puts the ids at byte \(idsOffset); version \(version) puts them at \(headerSize)")
        }
        guard vectorsOffset == UInt64(layout.vectors) else {
            throw GoalError(.corrupt, "\(path): the header puts the vectors at byte \(vectorsOffset); after \(count) ids they start at \(layout.vectors)")
        }
        guard size >= layout.end else {
            throw GoalError(.truncated, "\(path): the file is truncated: \(size) bytes, but its header describes \(count) vectors of \(dim) in \(layout.end) bytes")
        }
        guard size == layout.end else {
            throw GoalError(.corrupt, "\(path): the file is \(size) bytes, but its header describes \(count) vectors of \(dim) in \(layout.end) bytes (\(size - layout.end) bytes too many)")
        }
        let stored = read(checksumOffset, UInt32.self)
        let computed = checksum(of: file)
        guard stored == computed else {
            throw GoalError(.corrupt, "\(path): the file is damaged: its checksum is 0x\(hex(stored)) but its bytes give 0x\(hex(computed))")
        }
        return (IndexFormat(dim: Int(dim), count: Int(count), nextID: nextID, flags: flags), layout.vectors)
    }

    /// CRC-32 of a whole file with the checksum field read as zeros.
    static func checksum(of file: UnsafeRawBufferPointer) -> UInt32 {
        var header = Array(file.prefix(headerSize))
        for i in checksumOffset ..< checksumOffset + 4 { header[i] = 0 }
        let crc = header.withUnsafeBytes { CRC32.update(0, $0) }
        return CRC32.update(crc, UnsafeRawBufferPointer(rebasing: file[headerSize...]))
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
