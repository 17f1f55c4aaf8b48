/// One-to-one assignment maximising the total score: each row gets a different column (or none
/// when rows outnumber columns). The Hungarian method with potentials, O(n² m) for an n x m
/// matrix with n <= m (rows and columns swap otherwise).
///
/// Returns, for each row, its column or nil. `scores` is row-major `rows x columns`; NaN is
/// refused by the caller before this runs.
public func maximumAssignment(_ scores: [Float], rows: Int, columns: Int) -> [Int?] {
    guard rows > 0, columns > 0 else { return Array(repeating: nil, count: rows) }
    if rows > columns {
        var t = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows { for c in 0..<columns { t[c * rows + r] = scores[r * columns + c] } }
        let byColumn = maximumAssignment(t, rows: columns, columns: rows)
        var out = [Int?](repeating: nil, count: rows)
        for (c, r) in byColumn.enumerated() { if let r { out[r] = c } }
        return out
    }
    // Minimise the negated scores. Arrays are 1-based as the method is usually written: index 0
    // is the virtual column the augmenting path starts from.
    let n = rows, m = columns
    func cost(_ i: Int, _ j: Int) -> Double { -Double(scores[(i - 1) * m + (j - 1)]) }
    var u = [Double](repeating: 0, count: n + 1), v = [Double](repeating: 0, count: m + 1)
    var owner = [Int](repeating: 0, count: m + 1)   // the row holding column j, 0 for none
    var way = [Int](repeating: 0, count: m + 1)
    for i in 1...n {
        owner[0] = i
        var j0 = 0
        var minv = [Double](repeating: .infinity, count: m + 1)
        var used = [Bool](repeating: false, count: m + 1)
        repeat {
            used[j0] = true
            let i0 = owner[j0]
            var delta = Double.infinity, j1 = 0
            for j in 1...m where !used[j] {
                let reduced = cost(i0, j) - u[i0] - v[j]
                if reduced < minv[j] { minv[j] = reduced; way[j] = j0 }
                if minv[j] < delta { delta = minv[j]; j1 = j }
            }
            for j in 0...m {
                if used[j] { u[owner[j]] += delta; v[j] -= delta } else { minv[j] -= delta }
            }
            j0 = j1
        } while owner[j0] != 0
        repeat {
            let j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
        } while j0 != 0
    }
    var out = [Int?](repeating: nil, count: n)
    for j in 1...m where owner[j] != 0 { out[owner[j] - 1] = j - 1 }
    return out
}
