/// Caller vectors checked and scaled to unit length, which makes a dot product a cosine.
enum Normalization {
    /// `rows` vectors of `dim` floats, row by row, each divided by its L2 norm. A value that is
    /// NaN or infinite, or a row of zeros (which has no direction), is `.invalidArgument` naming
    /// the row (`what` is "vector" or "query").
    static func unitRows(_ values: UnsafePointer<Float>, rows: Int, dim: Int, what: String) throws(GoalError) -> [Float] {
        var norms = [Double](repeating: 0, count: rows)
        for r in 0..<rows {
            let row = values + r * dim
            // The sum of squares in double precision: it neither overflows for the largest floats
            // nor underflows for the smallest, so it is finite exactly when every value is.
            let sum = ExactSearch.doubleDot(row, row, dim: dim)
            guard sum.isFinite else {
                let at = (0..<dim).first { !row[$0].isFinite } ?? 0
                throw GoalError(.invalidArgument, "\(what) \(r) has \(row[at].isNaN ? "a NaN" : "an infinite value") at position \(at)")
            }
            guard sum > 0 else {
                throw GoalError(.invalidArgument, "\(what) \(r) is all zeros: it has no direction to compare by cosine")
            }
            norms[r] = sum.squareRoot()
        }
        var out = [Float](repeating: 0, count: rows * dim)
        out.withUnsafeMutableBufferPointer { out in
            for r in 0..<rows {
                let row = values + r * dim, norm = norms[r]
                for i in 0..<dim { out[r * dim + i] = Float(Double(row[i]) / norm) }
            }
        }
        return out
    }
}
