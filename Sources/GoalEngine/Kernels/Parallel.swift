import CKernels
import Dispatch

/// Runs body over 0..<count split into at most `threads` contiguous chunks, in parallel when
/// there is enough work to pay for it, each chunk a multiple of `multipleOf` items but the last.
func parallelChunks(_ count: Int, threads: Int, minimumPerChunk: Int = 1, multipleOf: Int = 1,
                    _ body: (Range<Int>) -> Void) {
    let chunks = min(threads, count / max(minimumPerChunk, 1))
    if chunks <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    let unit = max(multipleOf, 1)
    parallelPieces(count, per: ((count + chunks - 1) / chunks + unit - 1) / unit * unit, threads: chunks, body)
}

/// Runs body over 0..<count cut into pieces of `per` items (the last may be shorter), which up
/// to `threads` threads take one at a time as each becomes free. The pieces go to goal's worker
/// pool (thread_pool.h), whose workers stay awake between the steps of a run; when the pool is
/// serving another caller they go to Dispatch instead. A thread that is slow to start or runs
/// slowly (another process on its core) takes fewer pieces rather than holding the others up;
/// more pieces than threads buy that balance where a piece costs no set-up of its own. Neither
/// runs more threads than there are cores, so concurrent runs never oversubscribe the machine.
func parallelPieces(_ count: Int, per: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    let per = max(per, 1)
    let pieces = (count + per - 1) / per
    if pieces <= 1 || threads <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        // The pieces touch disjoint parts of the output; that is what makes this safe.
        var job = ChunkedJob(count: count, per: per, body: body)
        let ran = withUnsafeMutablePointer(to: &job) { pointer in
            goal_pool_run(pieces, Int32(min(threads, pieces)), { context, piece in
                context!.assumingMemoryBound(to: ChunkedJob.self).pointee.run(piece)
            }, pointer) == 0
        }
        if ran { return }
        let shared = UncheckedSendable(job)
        DispatchQueue.concurrentPerform(iterations: pieces) { c in shared.value.run(c) }
    }
}

/// One parallelPieces call as the pool's tasks see it.
private struct ChunkedJob {
    let count: Int
    let per: Int
    let body: (Range<Int>) -> Void

    func run(_ chunk: Int) {
        let start = chunk * per
        let end = min(count, start + per)
        if start < end { body(start..<end) }
    }
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Elements per chunk below which elementwise work stays on one thread.
let elementwiseGrain = 32_768

/// Threads worth using for an m×n×k matrix product: about 256 Ki multiply-adds each at least,
/// below which waking a thread costs more than it saves.
func productThreads(m: Int, n: Int, k: Int, threads: Int) -> Int {
    min(threads, max(1, m * n * max(k, 1) / 262_144))
}
