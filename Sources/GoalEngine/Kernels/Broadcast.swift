/// ONNX multidirectional (NumPy) broadcasting: shapes align on their last axes, and an axis of
/// size 1 stretches to its partner's size.
func broadcastShape(_ shapes: [[Int]], _ label: String) throws(GoalError) -> [Int] {
    let rank = shapes.map(\.count).max() ?? 0
    var out = [Int](repeating: 1, count: rank)
    for shape in shapes {
        let offset = rank - shape.count
        for (i, d) in shape.enumerated() {
            let o = out[offset + i]
            if o == d || d == 1 { continue }
            if o == 1 { out[offset + i] = d; continue }
            throw GoalError(.invalidArgument, "\(label): shapes \(shapes.map { "\($0)" }.joined(separator: " and ")) do not broadcast")
        }
    }
    return out
}

/// Element strides of `shape` when broadcast to `out`: 0 along stretched axes.
func broadcastStrides(_ shape: [Int], to out: [Int]) -> [Int] {
    let natural = contiguousStrides(shape)
    let offset = out.count - shape.count
    return (0..<out.count).map { d in
        d < offset || shape[d - offset] == 1 ? 0 : natural[d - offset]
    }
}

/// Walks an output of shape `out` row by row (a row is the last axis) and gives, for each row,
/// the output offset and every operand's offset; `body(rowStart, offsets)` handles the row, whose
/// elements step through operand k by `strides[k].last`.
struct BroadcastWalk {
    let out: [Int]
    let strides: [[Int]]

    var rowLength: Int { out.last ?? 1 }
    var rows: Int { out.isEmpty ? 1 : out.dropLast().reduce(1, *) }
    func innerStride(_ k: Int) -> Int { strides[k].last ?? 0 }

    /// Visits rows in `range`, in order.
    func visit(rows range: Range<Int>, _ body: (Int, [Int]) -> Void) {
        guard !range.isEmpty else { return }
        let r = out.count
        var index = [Int](repeating: 0, count: max(r - 1, 0))
        var offsets = [Int](repeating: 0, count: strides.count)
        // Position at the first row of the range.
        var rest = range.lowerBound
        for d in stride(from: r - 2, through: 0, by: -1) {
            index[d] = rest % out[d]
            rest /= out[d]
            for k in 0..<strides.count { offsets[k] += index[d] * strides[k][d] }
        }
        for row in range {
            body(row * rowLength, offsets)
            var d = r - 2
            while d >= 0 {
                index[d] += 1
                for k in 0..<strides.count { offsets[k] += strides[k][d] }
                if index[d] < out[d] { break }
                for k in 0..<strides.count { offsets[k] -= strides[k][d] * out[d] }
                index[d] = 0
                d -= 1
            }
        }
    }
}
