/// Rewrites a folded graph whose sequence axis is fixed at `full` positions so that it runs on the
/// first `length` positions instead: the graph inputs' sequence axis, every constant with an axis
/// of `full` elements (position tables, position ids, baked causal masks) cut to its first `length`
/// entries on that axis, every integer scalar or vector holding `full` (reshape targets, slice
/// ends) rewritten to hold `length`, and every inferred shape likewise.
///
/// This is sound only for a causal sequence model, where position `i` never reads a later one, and
/// only when `full` appears in the graph because of the sequence and for no other reason. Neither is
/// visible in the graph, so the result must be checked against the full graph before it is used
/// (the CLIP text tower does this once per length with a probe).
enum SequenceShortening {
    static func run(_ graph: GraphIR, full: Int, length: Int) throws(GoalError) {
        let n = Int64(full)
        func shortened(_ dims: [Dimension]) -> [Dimension] {
            dims.map { $0 == .fixed(n) ? .fixed(Int64(length)) : $0 }
        }
        graph.valueShapes = graph.valueShapes.mapValues(shortened)
        // Packed weights are matrices of the model's widths, never of its sequence length.
        for (name, tensor) in graph.constants where tensor.layout == .rowMajor {
            if tensor.shape.contains(full) {
                graph.constants[name] = try prefix(of: tensor, axesOf: full, length: length)
            } else if tensor.dtype == .int64, tensor.rank <= 1, tensor.ints.contains(n) {
                let values = tensor.intValues().map { $0 == n ? Int64(length) : $0 }
                graph.constants[name] = try Tensor(ints: values, shape: tensor.shape)
            }
        }
    }

    /// A copy of `tensor` keeping the first `length` entries of every axis that has `full`.
    static func prefix(of tensor: Tensor, axesOf full: Int, length: Int) throws(GoalError) -> Tensor {
        let shape = tensor.shape.map { $0 == full ? length : $0 }
        let out = try Tensor(dtype: tensor.dtype, shape: shape)
        let width = tensor.dtype.byteWidth
        // Copy runs of the innermost axes that are kept whole, walking the outer index space.
        var inner = 1
        var split = tensor.rank
        while split > 0, shape[split - 1] == tensor.shape[split - 1] {
            split -= 1
            inner *= shape[split]
        }
        let runBytes = inner * width
        let outer = shape[..<split].reduce(1, *)
        var sourceStrides = [Int](repeating: inner, count: split)
        for axis in stride(from: split - 2, through: 0, by: -1) {
            sourceStrides[axis] = sourceStrides[axis + 1] * tensor.shape[axis + 1]
        }
        var index = [Int](repeating: 0, count: split)
        for run in 0..<outer {
            var source = 0
            for axis in 0..<split { source += index[axis] * sourceStrides[axis] }
            (out.storage.base + run * runBytes).copyMemory(from: tensor.storage.base + source * width, byteCount: runBytes)
            var axis = split - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return out
    }
}
