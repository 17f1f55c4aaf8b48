import CKernels
import Foundation
import Synchronization
import Testing

@testable import GoalEngine

/// parallelChunks and parallelPieces over goal's worker pool: every index exactly once, whatever the chunk count,
/// from nested and concurrent callers alike (those the pool is not serving go to Dispatch).
@Suite struct ParallelTests {
    /// How often each index of 0..<count was visited by one parallelChunks call.
    static func visits(_ count: Int, threads: Int, minimumPerChunk: Int = 1) -> [Int] {
        var seen = [Int](repeating: 0, count: count)
        seen.withUnsafeMutableBufferPointer { seen in
            let shared = UncheckedSendable(seen)
            parallelChunks(count, threads: threads, minimumPerChunk: minimumPerChunk) { range in
                for i in range { shared.value[i] += 1 }
            }
        }
        return seen
    }

    @Test(arguments: [(0, 2), (1, 2), (2, 2), (7, 3), (1000, 2), (1000, 8), (100, 64), (5, 100)])
    func everyIndexOnce(count: Int, threads: Int) {
        #expect(Self.visits(count, threads: threads) == [Int](repeating: 1, count: count))
    }

    /// More pieces than threads, taken as threads become free: each piece whole, once.
    @Test(arguments: [(37, 4, 2), (64, 4, 2), (10, 1, 3), (9, 100, 2), (0, 4, 2)])
    func piecesAreEachRunOnce(count: Int, per: Int, threads: Int) {
        let ranges = Mutex<[Range<Int>]>([])
        parallelPieces(count, per: per, threads: threads) { range in ranges.withLock { $0.append(range) } }
        let sorted = ranges.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
        let expected = stride(from: 0, to: count, by: per).map { $0..<min(count, $0 + per) }
        #expect(sorted == expected)
    }

    @Test func chunksFollowTheMinimum() {
        let ranges = Mutex<[Range<Int>]>([])
        parallelChunks(100, threads: 8, minimumPerChunk: 40) { range in ranges.withLock { $0.append(range) } }
        let sorted = ranges.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
        #expect(sorted == [0..<50, 50..<100])
    }

    @Test func nestedCallsComplete() {
        let total = Atomic<Int>(0)
        parallelChunks(4, threads: 4) { outer in
            for _ in outer {
                let inner = Self.visits(300, threads: 3)
                total.add(inner.reduce(0, +), ordering: .relaxed)
            }
        }
        #expect(total.load(ordering: .relaxed) == 4 * 300)
    }

    @Test func concurrentCallersComplete() async {
        await withTaskGroup(of: Bool.self) { group in
            for caller in 0..<4 {
                group.addTask {
                    (0..<200).allSatisfy { i in
                        let count = 50 + (i * 7 + caller) % 400
                        return Self.visits(count, threads: 2 + caller % 3) == [Int](repeating: 1, count: count)
                    }
                }
            }
            for await allRight in group { #expect(allRight) }
        }
    }

    @Test func poolNeverStartsMoreWorkersThanCoresBesidesTheCaller() {
        _ = Self.visits(10_000, threads: 256)
        let workers = Int(goal_pool_worker_count())
        #expect(workers >= 0 && workers <= max(sysconf(Int32(_SC_NPROCESSORS_ONLN)) - 1, 0))
    }
}
