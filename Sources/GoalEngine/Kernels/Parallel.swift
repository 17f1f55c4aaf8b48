import CKernels
import Dispatch

/// Runs body over 0..<count split into at most `threads` contiguous chunks, in parallel when
/// there is enough work to pay for it, each chunk a multiple of `multipleOf` items but the last.
/// The chunks go to goal's worker pool (thread_pool.h), whose workers stay awake between the
/// steps of a run; when the pool is serving another caller they go to Dispatch instead. In the
/// pool a thread takes the next chunk when it is free, so a helper that starts late (another
/// process on its core) leaves its chunk to the caller instead of holding it up. Neither runs
/// more threads than there are cores, so concurrent runs never oversubscribe the machine.
/// (Cutting the work finer than the threads, for balance, was measured: four chunks per thread
/// made a ViT-B/32 image 8 % slower, each chunk packing its rows of A again.)
func parallelChunks(_ count: Int, threads: Int, minimumPerChunk: Int = 1, multipleOf: Int = 1,
                    _ body: (Range<Int>) -> Void) {
    let chunks = min(threads, count / max(minimumPerChunk, 1))
    if chunks <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    let unit = max(multipleOf, 1)
    let per = ((count + chunks - 1) / chunks + unit - 1) / unit * unit
    let used = (count + per - 1) / per
    withoutActuallyEscaping(body) { body in
        // The chunks touch disjoint parts of the output; that is what makes this safe.
        var job = ChunkedJob(count: count, per: per, body: body)
        let ran = withUnsafeMutablePointer(to: &job) { pointer in
            goal_pool_run(used, Int32(chunks), { context, chunk in
                context!.assumingMemoryBound(to: ChunkedJob.self).pointee.run(chunk)
            }, pointer) == 0
        }
        if ran { return }
        let shared = UncheckedSendable(job)
        DispatchQueue.concurrentPerform(iterations: used) { c in shared.value.run(c) }
    }
}

/// One parallelChunks call as the pool's tasks see it.
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
