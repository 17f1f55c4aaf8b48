/// The k best (score, id) pairs offered to it: higher scores first, and among equal scores the
/// lower id first, so that results never depend on the order vectors were scanned in.
///
/// A binary heap whose root is the worst pair kept, so that a pair worse than it is turned away
/// with one comparison.
struct TopK {
    let capacity: Int
    private(set) var scores: [Float] = []
    private(set) var ids: [Int64] = []

    init(capacity: Int) {
        self.capacity = capacity
        scores.reserveCapacity(capacity)
        ids.reserveCapacity(capacity)
    }

    /// Whether (s1, id1) ranks below (s2, id2).
    @inline(__always)
    static func worse(_ s1: Float, _ id1: Int64, than s2: Float, _ id2: Int64) -> Bool {
        s1 < s2 || (s1 == s2 && id1 > id2)
    }

    /// The score a pair must at least have to be kept: -infinity until k pairs are held.
    @inline(__always)
    var threshold: Float { scores.count < capacity ? -.infinity : scores[0] }

    @inline(__always)
    mutating func offer(_ score: Float, _ id: Int64) {
        guard capacity > 0 else { return }
        if scores.count < capacity {
            scores.append(score)
            ids.append(id)
            siftUp(scores.count - 1)
        } else if Self.worse(scores[0], ids[0], than: score, id) {
            scores[0] = score
            ids[0] = id
            siftDown(0)
        }
    }

    mutating func offer(_ other: TopK) {
        for i in other.scores.indices { offer(other.scores[i], other.ids[i]) }
    }

    /// The pairs kept, best first.
    func sorted() -> [(score: Float, id: Int64)] {
        zip(scores, ids).map { (score: $0, id: $1) }.sorted { Self.worse($1.score, $1.id, than: $0.score, $0.id) }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.worse(scores[child], ids[child], than: scores[parent], ids[parent]) else { break }
            scores.swapAt(child, parent)
            ids.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let n = scores.count
        while true {
            let left = 2 * parent + 1
            guard left < n else { break }
            var worst = left
            let right = left + 1
            if right < n, Self.worse(scores[right], ids[right], than: scores[left], ids[left]) { worst = right }
            guard Self.worse(scores[worst], ids[worst], than: scores[parent], ids[parent]) else { break }
            scores.swapAt(worst, parent)
            ids.swapAt(worst, parent)
            parent = worst
        }
    }
}
