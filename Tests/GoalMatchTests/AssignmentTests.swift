import Testing
@testable import GoalMatch

/// The Hungarian assignment against brute force over every injective assignment.
@Suite struct AssignmentTests {
    /// The best total over all ways to give each row of the smaller side a distinct column.
    func bruteForce(_ s: [Float], rows: Int, columns: Int) -> Double {
        func best(_ row: Int, _ used: Set<Int>) -> Double {
            if row == rows { return 0 }
            var top = -Double.infinity
            for c in 0..<columns where !used.contains(c) {
                top = max(top, Double(s[row * columns + c]) + best(row + 1, used.union([c])))
            }
            // With more rows than columns some rows go without.
            if rows - row > columns - used.count { top = max(top, best(row + 1, used)) }
            return top
        }
        return best(0, [])
    }

    @Test func matchesBruteForce() {
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<300 {
            let rows = 1 + trial % 5, columns = 1 + (trial / 5) % 6
            let scores = (0..<rows * columns).map { _ in Float(Int.random(in: -50...50, using: &generator)) / 7 }
            let assignment = maximumAssignment(scores, rows: rows, columns: columns)
            let chosen = assignment.compactMap { $0 }
            #expect(Set(chosen).count == chosen.count, "columns reused")
            #expect(chosen.count == min(rows, columns))
            let total = assignment.enumerated().reduce(0.0) { sum, pair in
                pair.element.map { sum + Double(scores[pair.offset * columns + $0]) } ?? sum
            }
            #expect(abs(total - bruteForce(scores, rows: rows, columns: columns)) < 1e-4,
                    "rows \(rows) columns \(columns) scores \(scores)")
        }
    }

    @Test func emptySides() {
        #expect(maximumAssignment([], rows: 0, columns: 3).isEmpty)
        #expect(maximumAssignment([], rows: 2, columns: 0) == [nil, nil])
    }
}
