import Dispatch
import Glibc

/// Exact top-k by cosine over unit rows.
///
/// Two stages. BLAS (through the engine's BLAS door) scores blocks of queries against blocks of
/// stored vectors, and each query keeps the rows whose BLAS score is within `slack` of its k-th
/// best: a superset of its true top k, usually barely larger than k. Those rows are then scored
/// again in double precision in a fixed order, and ranked by that score (rounded to float), then
/// by id. A reported score is therefore the cosine of the two normalised vectors correctly rounded
/// (up to double rounding), and a result depends only on the query and the stored vectors: not on
/// the number of threads, the other queries of the batch, or where a vector sits in the index.
/// Equal vectors get equal scores, so they are always ordered by id.
///
/// Work is split over threads by queries and, when there are fewer queries than threads, also
/// by stored vectors (shards whose candidates are merged per query).
enum ExactSearch {
    /// Rows of a BLAS product: queries and stored vectors per block. 128 x 2048 scores are 1 MiB.
    static let queryBlock = 128
    static let vectorBlock = 2048
    /// Below this many multiply-adds a search left to choose its threads stays on the calling
    /// thread.
    static let parallelWork = 1 << 21
    /// Fewest stored vectors a shard is given.
    static let shardMinimum = 1024

    static var cores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The threads a search uses: as many as asked, or with 0 one per core, unless the work is
    /// too small to be worth splitting.
    static func threads(asked: Int, queries: Int, count: Int, dim: Int) -> Int {
        if asked > 0 { return asked }
        let work = Double(queries) * Double(count) * Double(dim)
        return work < Double(parallelWork) ? 1 : cores
    }

    /// Twice the largest difference between a float dot product of two unit vectors of `dim`
    /// (summed in any order, with or without FMA) and the exact value: at most dim·u/(1 - dim·u)
    /// for the BLAS score and u for the rounded double-precision one (u = 2^-24), with room for
    /// the vectors' norms being 1 only to within rounding.
    static func slack(dim: Int) -> Float {
        1.25 * Float(dim + 1) * Float.ulpOfOne
    }

    /// The dot product in double precision, in a fixed order, rounded to float.
    @inline(__always)
    static func exactScore(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, dim: Int) -> Float {
        Float(doubleDot(a, b, dim: dim))
    }

    /// The dot product summed in double precision in four lanes, in a fixed order: the same
    /// inputs give the same bits whatever thread or batch computes them.
    @inline(__always)
    static func doubleDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, dim: Int) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var i = 0
        while i + 4 <= dim {
            s0 += Double(a[i]) * Double(b[i])
            s1 += Double(a[i + 1]) * Double(b[i + 1])
            s2 += Double(a[i + 2]) * Double(b[i + 2])
            s3 += Double(a[i + 3]) * Double(b[i + 3])
            i += 4
        }
        while i < dim {
            s0 += Double(a[i]) * Double(b[i])
            i += 1
        }
        return (s0 + s1) + (s2 + s3)
    }

    /// The results of `queryCount` unit queries against `count` unit rows: per query
    /// `min(k, count)` pairs, best first, laid out query after query.
    static func run(queries: UnsafePointer<Float>, queryCount: Int, vectors: UnsafePointer<Float>?,
                    ids: UnsafePointer<Int64>?, count: Int, dim: Int, k: Int,
                    threads: Int) -> (found: Int, scores: [Float], ids: [Int64]) {
        let found = min(k, count)
        guard queryCount > 0, found > 0, let vectors, let ids else { return (found, [], []) }
        let budget = max(1, threads)
        let queryChunks = min(budget, queryCount)
        let shards = max(1, min(budget / queryChunks, count / shardMinimum))
        let perChunk = (queryCount + queryChunks - 1) / queryChunks
        let perShard = (count + shards - 1) / shards
        let slack = slack(dim: dim)

        // Stage 1: candidates per (query chunk, shard), on Dispatch's threads.
        let slots = UnsafeMutableBufferPointer<[Candidates]>.allocate(capacity: queryChunks * shards)
        slots.initialize(repeating: [])
        defer {
            _ = slots.deinitialize()
            slots.deallocate()
        }
        let shared = Shared((queries, vectors, slots))
        DispatchQueue.concurrentPerform(iterations: queryChunks * shards) { task in
            let (queries, vectors, slots) = shared.value
            let c = task / shards, s = task % shards
            let queryRange = min(c * perChunk, queryCount) ..< min((c + 1) * perChunk, queryCount)
            let rowRange = min(s * perShard, count) ..< min((s + 1) * perShard, count)
            slots[task] = scan(queries: queries, queryRange: queryRange, vectors: vectors, rowRange: rowRange,
                               dim: dim, k: found, slack: slack)
        }

        // Stage 2: per query, merge the shards' candidates, score them exactly, rank them.
        var outScores = [Float](repeating: -.infinity, count: queryCount * found)
        var outIDs = [Int64](repeating: -1, count: queryCount * found)
        let results = Shared((queries, vectors, ids, slots))
        outScores.withUnsafeMutableBufferPointer { outScores in
            outIDs.withUnsafeMutableBufferPointer { outIDs in
                let out = Shared((outScores, outIDs))
                DispatchQueue.concurrentPerform(iterations: queryChunks) { c in
                    let (queries, vectors, ids, slots) = results.value
                    let (outScores, outIDs) = out.value
                    for q in min(c * perChunk, queryCount) ..< min((c + 1) * perChunk, queryCount) {
                        let local = q - c * perChunk
                        var merged = slots[c * shards][local]
                        for s in 1..<shards { merged.offer(slots[c * shards + s][local]) }
                        let query = queries + q * dim
                        var ranked = merged.rows.map { row in
                            (score: exactScore(query, vectors + row * dim, dim: dim), id: ids[row])
                        }
                        ranked.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
                        // Every row is a candidate until k have been seen, so there are always
                        // `found` of them; should there not be, the rest stays padding.
                        for i in 0..<min(found, ranked.count) {
                            outScores[q * found + i] = ranked[i].score
                            outIDs[q * found + i] = ranked[i].id
                        }
                    }
                }
            }
        }
        return (found, outScores, outIDs)
    }

    /// Candidates of the queries in `queryRange` among the rows in `rowRange`.
    private static func scan(queries: UnsafePointer<Float>, queryRange: Range<Int>, vectors: UnsafePointer<Float>,
                             rowRange: Range<Int>, dim: Int, k: Int, slack: Float) -> [Candidates] {
        var lists = [Candidates](repeating: Candidates(k: k, slack: slack), count: queryRange.count)
        guard !queryRange.isEmpty, !rowRange.isEmpty else { return lists }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock * vectorBlock)
        defer { scratch.deallocate() }
        lists.withUnsafeMutableBufferPointer { lists in
            for r0 in stride(from: rowRange.lowerBound, to: rowRange.upperBound, by: vectorBlock) {
                let rn = min(vectorBlock, rowRange.upperBound - r0)
                for q0 in stride(from: queryRange.lowerBound, to: queryRange.upperBound, by: queryBlock) {
                    let qn = min(queryBlock, queryRange.upperBound - q0)
                    // scores[qn x rn] = queries[qn x dim] · vectors[rn x dim]ᵀ. A matrix product
                    // copies the rows into its own layout first, which only pays for several
                    // queries; one query streams them through a matrix-vector product.
                    if qn == 1 {
                        BLAS.matrixVector(m: rn, n: dim, a: vectors + r0 * dim, lda: dim, x: queries + q0 * dim,
                                          y: scratch)
                    } else {
                        BLAS.product(transA: false, transB: true, m: qn, n: rn, k: dim, a: queries + q0 * dim,
                                     lda: dim, b: vectors + r0 * dim, ldb: dim, c: scratch, ldc: rn)
                    }
                    for i in 0..<qn {
                        let h = q0 - queryRange.lowerBound + i
                        let row = scratch + i * rn
                        var floor = lists[h].floor
                        for j in 0..<rn where row[j] >= floor {
                            lists[h].offer(row[j], row: r0 + j)
                            floor = lists[h].floor
                        }
                    }
                }
            }
        }
        return lists
    }
}

/// Values handed to Dispatch's worker threads, which touch disjoint parts of them.
struct Shared<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
