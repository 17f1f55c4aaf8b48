/// An exact embedding index: float32 vectors of one dimension, each with a 64-bit id, searched by
/// cosine similarity.
///
/// Vectors are L2-normalised when added, and queries when searched, so a score is the cosine of
/// the two (a value from -1 to 1). Ids are 0 to `Int64.max - 1`, unique within the index; `add`
/// without ids assigns the next ones after the largest id the index has ever held (removed ids
/// are not reused). Search is exhaustive (every stored vector is scored, with BLAS), and its
/// results are ordered by score, then by id for equal scores.
///
/// Thread safety: `search`, `save`, `count`, `nextID` and `contents` may run on any number of
/// threads at once; `add` and `remove` take the index exclusively (they wait for calls in
/// progress, and calls made meanwhile wait for them). A readers–writer lock does this.
///
/// An index loaded from a file reads its vectors from the file, memory-mapped, without copying
/// them; the first `add` or `remove` copies them into memory of its own.
public final class EmbeddingIndex: @unchecked Sendable {
    /// The largest dimension an index may have.
    public static let maximumDim = 1 << 20

    public let dim: Int

    private let lock = ReadWriteLock()
    // Everything below is guarded by `lock`.
    private var ids: [Int64] = []
    /// The row of each id.
    private var rows: [Int64: Int] = [:]
    /// The vectors, row by row, when they live in memory of the index's own.
    private var owned: [Float] = []
    /// The vectors when they are read in place from a mapped file (then `owned` is empty).
    private var mapped: (file: MappedFile, vectors: UnsafePointer<Float>)?
    private var next: Int64 = 0

    /// An empty index of `dim`-dimensional vectors (1 to `maximumDim`).
    public init(dim: Int) throws(GoalError) {
        guard dim >= 1, dim <= Self.maximumDim else {
            throw GoalError(.invalidArgument, "an index dimension of \(dim) (it must be 1 to \(Self.maximumDim))")
        }
        self.dim = dim
    }

    /// How many vectors the index holds.
    public var count: Int { lock.reading { ids.count } }

    /// The id the next `add` without ids starts at: one past the largest id the index has held.
    public var nextID: Int64 { lock.reading { next } }

    /// Whether the vectors are read in place from a loaded file (no add or remove since).
    public var isMapped: Bool { lock.reading { mapped != nil } }

    /// The ids and the (normalised) vectors, in the index's order: a copy, for tests and tools.
    public func contents() -> (ids: [Int64], vectors: [Float]) {
        lock.reading { (ids, withVectors { Array(UnsafeBufferPointer(start: $0, count: ids.count * dim)) }) }
    }

    // ---- adding and removing -------------------------------------------------------------------

    /// Adds `count` vectors of `dim` floats, row by row, with the given ids (`count` of them) or,
    /// when `ids` is nil, with the next free ids in order. Returns the first vector's id (with
    /// `count` 0, the next free id). Nothing is added when anything is refused: a NaN or infinite
    /// value, a vector of zeros, a negative id or `Int64.max`, an id given twice or already in
    /// the index, or more vectors than ids are left (all `.invalidArgument`).
    @discardableResult
    public func add(_ vectors: UnsafePointer<Float>?, count: Int, ids given: UnsafePointer<Int64>?) throws(GoalError) -> Int64 {
        guard count >= 0 else { throw GoalError(.invalidArgument, "a count of \(count) vectors") }
        guard count > 0 else { return nextID }
        guard let vectors else { throw GoalError(.invalidArgument, "the vectors are NULL") }
        guard count.multipliedReportingOverflow(by: dim).overflow == false else {
            throw GoalError(.invalidArgument, "\(count) vectors of \(dim) are more than memory holds")
        }
        // Caller data is checked and normalised before the index is locked.
        let unit = try Normalization.unitRows(vectors, rows: count, dim: dim, what: "vector")
        var newIDs: [Int64]?
        if let given {
            let list = Array(UnsafeBufferPointer(start: given, count: count))
            var seen = Set<Int64>(minimumCapacity: count)
            for (i, id) in list.enumerated() {
                guard id >= 0, id < Int64.max else {
                    throw GoalError(.invalidArgument, "id \(id) (of vector \(i)) is out of range: ids are 0 to \(Int64.max - 1)")
                }
                guard seen.insert(id).inserted else {
                    throw GoalError(.invalidArgument, "id \(id) is given twice (the second time for vector \(i)); nothing was added")
                }
            }
            newIDs = list
        }
        return try lock.writing { () throws(GoalError) -> Int64 in
            let assigned: [Int64]
            if let newIDs {
                if let taken = newIDs.first(where: { rows[$0] != nil }) {
                    throw GoalError(.invalidArgument, "id \(taken) is already in the index; nothing was added")
                }
                assigned = newIDs
            } else {
                guard Int64(count) <= Int64.max - next else {
                    throw GoalError(.invalidArgument, "the index has used ids up to \(next - 1); \(count) more would pass \(Int64.max - 1)")
                }
                assigned = (0..<Int64(count)).map { next + $0 }
            }
            makeOwned()
            let start = ids.count
            ids += assigned
            owned += unit
            for (i, id) in assigned.enumerated() { rows[id] = start + i }
            next = max(next, assigned.max()! + 1)
            return assigned[0]
        }
    }

    /// `add` for Swift arrays; returns every vector's id.
    @discardableResult
    public func add(_ vectors: [Float], ids: [Int64]? = nil) throws(GoalError) -> [Int64] {
        guard vectors.count % dim == 0 else {
            throw GoalError(.invalidArgument, "\(vectors.count) values are not whole vectors of \(dim)")
        }
        let count = vectors.count / dim
        if let ids, ids.count != count {
            throw GoalError(.invalidArgument, "\(ids.count) ids for \(count) vectors")
        }
        let first = try vectors.withUnsafeBufferPointer { (v: UnsafeBufferPointer<Float>) throws(GoalError) -> Int64 in
            if let ids {
                return try ids.withUnsafeBufferPointer { (i: UnsafeBufferPointer<Int64>) throws(GoalError) -> Int64 in
                    try add(v.baseAddress, count: count, ids: i.baseAddress)
                }
            }
            return try add(v.baseAddress, count: count, ids: nil)
        }
        return ids ?? (0..<Int64(count)).map { first + $0 }
    }

    /// Removes the vectors with these ids (an id listed twice is removed once). If any id is not
    /// in the index, nothing is removed and the error (`.invalidArgument`) lists the unknown ids.
    public func remove(_ list: UnsafePointer<Int64>?, count: Int) throws(GoalError) {
        guard count >= 0 else { throw GoalError(.invalidArgument, "a count of \(count) ids") }
        guard count > 0 else { return }
        guard let list else { throw GoalError(.invalidArgument, "the ids are NULL") }
        let wanted = Array(UnsafeBufferPointer(start: list, count: count))
        try lock.writing { () throws(GoalError) in
            var doomed = [Bool](repeating: false, count: ids.count)
            var unknown: [Int64] = []
            var reported = Set<Int64>()
            for id in wanted {
                if let row = rows[id] {
                    doomed[row] = true
                } else if reported.insert(id).inserted {
                    unknown.append(id)
                }
            }
            guard unknown.isEmpty else {
                let shown = unknown.prefix(10).map(String.init).joined(separator: ", ") + (unknown.count > 10 ? ", ..." : "")
                let noun = unknown.count == 1 ? "id is" : "ids are"
                throw GoalError(.invalidArgument, "\(unknown.count) \(noun) not in the index: \(shown); nothing was removed")
            }
            makeOwned()
            var kept = 0
            owned.withUnsafeMutableBufferPointer { v in
                for row in 0..<ids.count where !doomed[row] {
                    if kept != row {
                        ids[kept] = ids[row]
                        for i in 0..<dim { v[kept * dim + i] = v[row * dim + i] }
                    }
                    kept += 1
                }
            }
            ids.removeLast(ids.count - kept)
            owned.removeLast(owned.count - kept * dim)
            rows = Dictionary(minimumCapacity: kept)
            for (row, id) in ids.enumerated() { rows[id] = row }
        }
    }

    public func remove(_ list: [Int64]) throws(GoalError) {
        try list.withUnsafeBufferPointer { (p: UnsafeBufferPointer<Int64>) throws(GoalError) in
            try remove(p.baseAddress, count: p.count)
        }
    }

    // ---- searching -------------------------------------------------------------------------------

    /// The `k` stored vectors most similar to each of `count` queries (`dim` floats each, row by
    /// row): per query `min(k, self.count)` pairs, highest cosine first, equal scores by lower id
    /// first. Queries are normalised; a NaN or infinite value or a query of zeros is
    /// `.invalidArgument`. `threads` 0 means one per core (one for small searches).
    public func search(_ queries: UnsafePointer<Float>?, count: Int, k: Int, threads: Int = 0) throws(GoalError) -> IndexSearchResult {
        guard count >= 0 else { throw GoalError(.invalidArgument, "a count of \(count) queries") }
        guard k >= 0 else { throw GoalError(.invalidArgument, "k is \(k); it must be 0 or more") }
        guard count.multipliedReportingOverflow(by: dim).overflow == false else {
            throw GoalError(.invalidArgument, "\(count) queries of \(dim) are more than memory holds")
        }
        var unit: [Float] = []
        if count > 0 {
            guard let queries else { throw GoalError(.invalidArgument, "the queries are NULL") }
            unit = try Normalization.unitRows(queries, rows: count, dim: dim, what: "query")
        }
        return lock.reading {
            let held = ids.count
            guard count > 0, k > 0, held > 0 else {
                return IndexSearchResult(queries: count, found: min(k, held), scores: [], ids: [])
            }
            let (found, scores, resultIDs) = unit.withUnsafeBufferPointer { q in
                ids.withUnsafeBufferPointer { idp in
                    withVectors { v in
                        ExactSearch.run(queries: q.baseAddress!, queryCount: count, vectors: v, ids: idp.baseAddress,
                                        count: held, dim: dim, k: k,
                                        threads: ExactSearch.threads(asked: threads, queries: count, count: held, dim: dim))
                    }
                }
            }
            return IndexSearchResult(queries: count, found: found, scores: scores, ids: resultIDs)
        }
    }

    public func search(_ queries: [Float], k: Int, threads: Int = 0) throws(GoalError) -> IndexSearchResult {
        guard queries.count % dim == 0 else {
            throw GoalError(.invalidArgument, "\(queries.count) values are not whole queries of \(dim)")
        }
        return try queries.withUnsafeBufferPointer { (q: UnsafeBufferPointer<Float>) throws(GoalError) -> IndexSearchResult in
            try search(q.baseAddress, count: q.count / dim, k: k, threads: threads)
        }
    }

    // ---- files -----------------------------------------------------------------------------------

    /// Writes the index to `path` in the format of docs/INDEX_FORMAT.md, atomically: a
    /// temporary file in the same folder, flushed, renamed over `path`. A path that cannot be
    /// written is `.io` naming it. Runs alongside searches; waits for adds and removes.
    public func save(to path: String) throws(GoalError) {
        try lock.reading { () throws(GoalError) in
            let format = IndexFormat(dim: dim, count: ids.count, nextID: next)
            try ids.withUnsafeBufferPointer { (idp: UnsafeBufferPointer<Int64>) throws(GoalError) in
                try withVectors { (v: UnsafePointer<Float>?) throws(GoalError) in
                    try IndexFileWriter.write(format, ids: idp, vectors: UnsafeBufferPointer(start: v, count: idp.count * dim),
                                              to: path)
                }
            }
        }
    }

    /// Opens an index file, mapping it into memory: the vectors are used in place. The file is
    /// checked first (magic, version, sizes against its length, checksum, then ids unique and in
    /// range and rows finite and of unit length): a missing file is `.notFound`, an unreadable one `.io`, one cut
    /// short `.truncated`, a newer format version `.unsupported`, anything else wrong `.corrupt`,
    /// each with a message saying what was wrong.
    public static func load(from path: String) throws(GoalError) -> EmbeddingIndex {
        guard !path.isEmpty else { throw GoalError(.invalidArgument, "the index path is empty") }
        let file = try MappedFile(path: path)
        let (format, vectorsOffset) = try IndexFormat.parse(file.bytes, path: path)
        let index = try EmbeddingIndex(dim: format.dim)
        let n = format.count
        var ids = [Int64](repeating: 0, count: n)
        var rows = [Int64: Int](minimumCapacity: n)
        if n > 0, let base = file.base {
            for row in 0..<n {
                let id = Int64(littleEndian: base.loadUnaligned(fromByteOffset: format.idsOffset + 8 * row, as: Int64.self))
                guard id >= 0, id < format.nextID else {
                    throw GoalError(.corrupt, "\(path): vector \(row) has id \(id), outside 0 to \(format.nextID - 1) (the header's next id is \(format.nextID))")
                }
                if let other = rows.updateValue(row, forKey: id) {
                    throw GoalError(.corrupt, "\(path): id \(id) appears twice (vectors \(other) and \(row))")
                }
                ids[row] = id
            }
            let vectors = (base + vectorsOffset).assumingMemoryBound(to: Float.self)
            let dim = format.dim
            for row in 0..<n {
                let v = vectors + row * dim
                var sum = 0.0
                for i in 0..<dim { sum += Double(v[i]) * Double(v[i]) }
                guard sum.isFinite else {
                    let at = (0..<dim).first { !v[$0].isFinite } ?? 0
                    throw GoalError(.corrupt, "\(path): vector \(row) holds \(v[at]) at position \(at)")
                }
                // Rounding a unit vector to float moves its squared length by about 2^-23 at most.
                guard abs(sum - 1) <= 1e-5 else {
                    throw GoalError(.corrupt, "\(path): vector \(row) has length \(sum.squareRoot()), but the rows of an index file are normalised")
                }
            }
            index.mapped = (file, UnsafePointer(vectors))
        }
        index.ids = ids
        index.rows = rows
        index.next = format.nextID
        return index
    }

    // ---- storage ---------------------------------------------------------------------------------

    /// Calls `body` with the vectors (nil when there are none). Call with the lock held.
    private func withVectors<R, E: Error>(_ body: (UnsafePointer<Float>?) throws(E) -> R) throws(E) -> R {
        if let mapped { return try body(mapped.vectors) }
        return try owned.withUnsafeBufferPointer { (v: UnsafeBufferPointer<Float>) throws(E) -> R in try body(v.baseAddress) }
    }

    /// Copies mapped vectors into memory of the index's own, before a change. Call with the write
    /// lock held.
    private func makeOwned() {
        guard let m = mapped else { return }
        owned = Array(UnsafeBufferPointer(start: m.vectors, count: ids.count * dim))
        mapped = nil
    }
}

/// The results of a search: for each of `queries` queries, `found` (score, id) pairs, best first,
/// laid out query after query in `scores` and `ids`.
public struct IndexSearchResult: Sendable, Equatable {
    public let queries: Int
    public let found: Int
    public let scores: [Float]
    public let ids: [Int64]
}
