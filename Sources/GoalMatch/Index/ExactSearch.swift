import Dispatch
import Glibc

/// Exact top-k by cosine over unit rows: blocks of queries times blocks of stored vectors as
/// BLAS products (through the engine's BLAS door), each block of scores offered to one TopK
/// per query.
///
/// Work is split over threads by queries and, when there are fewer queries than threads, also
/// by stored vectors (shards whose top-k lists are merged per query). Every score is one
/// product's entry, whatever the split, and ties are ordered by id, so the results do not
/// depend on the number of threads.
enum ExactSearch {
    /// Rows of a BLAS product: queries and stored vectors per block. 128 x 2048 scores are 1 MiB.
    static let queryBlock = 128
    static let vectorBlock = 2048
    /// Below this many multiply-adds a search stays on the calling thread.
    static let parallelWork = 1 << 21
    /// Fewest stored vectors a shard is given.
    static let shardMinimum = 1024

    static var cores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The results of `queryCount` unit queries against `count` unit rows: per query
    /// `min(k, count)` pairs, best first, laid out query after query.
    static func run(queries: UnsafePointer<Float>, queryCount: Int, vectors: UnsafePointer<Float>?,
                    ids: UnsafePointer<Int64>?, count: Int, dim: Int, k: Int,
                    threads: Int) -> (found: Int, scores: [Float], ids: [Int64]) {
        let found = min(k, count)
        guard queryCount > 0, found > 0, let vectors, let ids else { return (found, [], []) }
        let work = Double(queryCount) * Double(count) * Double(dim)
        let budget = work < Double(parallelWork) ? 1 : max(1, threads)
        let queryChunks = min(budget, queryCount)
        let shards = max(1, min(budget / queryChunks, count / shardMinimum))
        let perChunk = (queryCount + queryChunks - 1) / queryChunks
        let perShard = (count + shards - 1) / shards
        let tasks = queryChunks * shards

        let slots = UnsafeMutableBufferPointer<[TopK]>.allocate(capacity: tasks)
        slots.initialize(repeating: [])
        defer {
            _ = slots.deinitialize()
            slots.deallocate()
        }
        let shared = Shared((queries, vectors, ids, slots))
        DispatchQueue.concurrentPerform(iterations: tasks) { task in
            let (queries, vectors, ids, slots) = shared.value
            let c = task / shards, s = task % shards
            let queryRange = min(c * perChunk, queryCount) ..< min((c + 1) * perChunk, queryCount)
            let rowRange = min(s * perShard, count) ..< min((s + 1) * perShard, count)
            slots[task] = scan(queries: queries, queryRange: queryRange, vectors: vectors, ids: ids,
                               rowRange: rowRange, dim: dim, found: found)
        }

        var outScores = [Float](repeating: 0, count: queryCount * found)
        var outIDs = [Int64](repeating: -1, count: queryCount * found)
        for q in 0..<queryCount {
            let c = q / perChunk, local = q - c * perChunk
            var best = slots[c * shards][local]
            for s in 1..<shards { best.offer(slots[c * shards + s][local]) }
            for (i, pair) in best.sorted().enumerated() {
                outScores[q * found + i] = pair.score
                outIDs[q * found + i] = pair.id
            }
        }
        return (found, outScores, outIDs)
    }

    /// Top-k lists of the queries in `queryRange` over the rows in `rowRange`.
    private static func scan(queries: UnsafePointer<Float>, queryRange: Range<Int>, vectors: UnsafePointer<Float>,
                             ids: UnsafePointer<Int64>, rowRange: Range<Int>, dim: Int, found: Int) -> [TopK] {
        var heaps = [TopK](repeating: TopK(capacity: found), count: queryRange.count)
        guard !queryRange.isEmpty, !rowRange.isEmpty else { return heaps }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock * vectorBlock)
        defer { scratch.deallocate() }
        heaps.withUnsafeMutableBufferPointer { heaps in
            for r0 in stride(from: rowRange.lowerBound, to: rowRange.upperBound, by: vectorBlock) {
                let rn = min(vectorBlock, rowRange.upperBound - r0)
                for q0 in stride(from: queryRange.lowerBound, to: queryRange.upperBound, by: queryBlock) {
                    let qn = min(queryBlock, queryRange.upperBound - q0)
                    // scores[qn x rn] = queries[qn x dim] · vectors[rn x dim]ᵀ
                    BLAS.product(transA: false, transB: true, m: qn, n: rn, k: dim, a: queries + q0 * dim, lda: dim,
                                 b: vectors + r0 * dim, ldb: dim, c: scratch, ldc: rn)
                    for i in 0..<qn {
                        let h = q0 - queryRange.lowerBound + i
                        let row = scratch + i * rn
                        var threshold = heaps[h].threshold
                        for j in 0..<rn where row[j] >= threshold {
                            heaps[h].offer(row[j], ids[r0 + j])
                            threshold = heaps[h].threshold
                        }
                    }
                }
            }
        }
        return heaps
    }
}

/// Values handed to Dispatch's worker threads, which touch disjoint parts of them.
struct Shared<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
