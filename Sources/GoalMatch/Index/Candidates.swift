/// The k largest of the floats offered to it, as a min-heap: the root is the k-th largest.
struct KthLargest {
    let k: Int
    private var heap: [Float] = []

    init(k: Int) {
        self.k = k
        heap.reserveCapacity(k)
    }

    /// The k-th largest value offered so far; -infinity until k values have been offered.
    @inline(__always)
    var value: Float { heap.count < k ? -.infinity : heap[0] }

    @inline(__always)
    mutating func offer(_ x: Float) {
        if heap.count < k {
            heap.append(x)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[child] < heap[parent] else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        } else if x > heap[0] {
            heap[0] = x
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < heap.count else { break }
                var smallest = left
                if left + 1 < heap.count, heap[left + 1] < heap[left] { smallest = left + 1 }
                guard heap[smallest] < heap[parent] else { break }
                heap.swapAt(smallest, parent)
                parent = smallest
            }
        }
    }
}

/// The stored rows that may be among one query's k best, judged by scores from BLAS.
///
/// A BLAS score differs from the exact cosine by at most half of `slack` (the error bound of a
/// float dot product of unit vectors; see ExactSearch.slack). So every row of the true top k
/// scores at least (k-th best BLAS score) - slack, and a row below that can be dropped: this
/// keeps every row that could belong to the exact answer, which is then decided by exact scores.
struct Candidates {
    let slack: Float
    private var kth: KthLargest
    /// (BLAS score, row) of every row offered at or above the floor at the time.
    private(set) var entries: [(score: Float, row: Int)] = []
    private var pruneAt: Int

    init(k: Int, slack: Float) {
        self.slack = slack
        kth = KthLargest(k: k)
        pruneAt = 2 * k + 64
    }

    /// Scores below this cannot reach the top k.
    @inline(__always)
    var floor: Float { kth.value - slack }

    @inline(__always)
    mutating func offer(_ score: Float, row: Int) {
        guard score >= floor else { return }
        kth.offer(score)
        entries.append((score, row))
        if entries.count >= pruneAt {
            let f = floor
            entries.removeAll { $0.score < f }
            pruneAt = 2 * entries.count + 64
        }
    }

    mutating func offer(_ other: Candidates) {
        for e in other.entries { offer(e.score, row: e.row) }
    }

    /// The rows still at or above the floor.
    var rows: [Int] {
        let f = floor
        return entries.compactMap { $0.score >= f ? $0.row : nil }
    }
}
