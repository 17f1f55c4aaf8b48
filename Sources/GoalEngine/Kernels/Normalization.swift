import CKernels
import Glibc

// LayerNormalization and Softmax: both work on rows formed by the trailing axes (LayerNorm) or
// by one axis with an inner stride (Softmax).

struct LayerNormalizationKernel: Kernel {
    let label: String
    let axis: Int64
    let epsilon: Float

    init(_ node: Node) throws(GoalError) {
        label = node.label
        axis = try node.int("axis", default: -1)
        epsilon = try node.float("epsilon", default: 1e-5)
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label), scale = try inputs.required(1, label)
        let bias = inputs.optional(2)
        try requireDType(x, [.float32], label, "X")
        let a = try normalizedAxis(axis, rank: x.rank, label)
        let width = x.shape[a...].reduce(1, *)
        let rows = x.shape[..<a].reduce(1, *)
        let normalized = Array(x.shape[a...])
        // Scale and bias broadcast over the normalized axes; expand them to one row each.
        let gamma = try expandRow(scale, to: normalized, "Scale")
        let beta = try bias.map { b throws(GoalError) in try expandRow(b, to: normalized, "B") }
        let y = try context.tensor(.float32, x.shape)
        let meanShape = Array(x.shape[..<a]) + [Int](repeating: 1, count: x.rank - a)
        let mean = try context.tensor(.float32, meanShape), invStd = try context.tensor(.float32, meanShape)
        let px = x.floats.baseAddress!, py = y.floats.baseAddress!
        let pm = mean.floats.baseAddress!, pi = invStd.floats.baseAddress!
        let eps = epsilon
        guard width > 0 else { return [y, mean, invStd] }
        gamma.withUnsafeBufferPointer { gamma in
            let pg = gamma.baseAddress!
            let runRows = { (pb: UnsafePointer<Float>?) in
                parallelChunks(rows, threads: context.threads, minimumPerChunk: max(1, 4096 / max(width, 1))) { range in
                    for r in range {
                        goal_layer_norm_row(px + r * width, py + r * width, width, pg, pb, eps, pm + r, pi + r)
                    }
                }
            }
            if let beta { beta.withUnsafeBufferPointer { runRows($0.baseAddress!) } } else { runRows(nil) }
        }
        return [y, mean, invStd]
    }

    private func expandRow(_ t: Tensor, to shape: [Int], _ what: String) throws(GoalError) -> [Float] {
        try requireDType(t, [.float32], label, what)
        if t.shape == shape { return Array(t.floats) }
        guard (try? broadcastShape([t.shape, shape], label)) == shape else {
            throw GoalError(.invalidArgument, "\(label): \(what) of shape \(t.shape) does not broadcast to \(shape)")
        }
        var row = [Float](repeating: 0, count: shape.reduce(1, *))
        let walk = BroadcastWalk(out: shape, strides: [broadcastStrides(t.shape, to: shape)])
        let p = t.floats.baseAddress!, len = walk.rowLength, s = walk.innerStride(0)
        walk.visit(rows: 0..<walk.rows) { start, o in
            for i in 0..<len { row[start + i] = p[o[0] + i * s] }
        }
        return row
    }
}

struct SoftmaxKernel: Kernel {
    let label: String
    let axis: Int64

    init(_ node: Node) throws(GoalError) {
        label = node.label
        axis = try node.int("axis", default: -1)
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        try requireDType(x, [.float32], label, "the input")
        let a = try normalizedAxis(axis, rank: x.rank, label)
        let n = x.rank == 0 ? 1 : x.shape[a]
        let inner = x.rank == 0 ? 1 : x.shape[(a + 1)...].reduce(1, *)
        let outer = x.rank == 0 ? 1 : x.shape[..<a].reduce(1, *)
        let y = try context.tensor(.float32, x.shape)
        let px = x.floats.baseAddress!, py = y.floats.baseAddress!
        parallelChunks(outer * inner, threads: context.threads, minimumPerChunk: max(1, 4096 / max(n, 1))) { range in
            for line in range {
                let o = line / inner, i = line % inner
                let base = o * n * inner + i
                // The common case (attention over the last axis): contiguous, vectorised. Rows
                // with an infinite or NaN maximum take the general path below.
                if inner == 1 && n > 0 && goal_softmax_row(px + base, py + base, n).isFinite { continue }
                var peak = -Float.infinity
                for k in 0..<n { peak = max(peak, px[base + k * inner]) }
                var sum: Float = 0
                for k in 0..<n {
                    let e = expf(px[base + k * inner] - peak)
                    py[base + k * inner] = e
                    sum += e
                }
                let scale = 1 / sum
                for k in 0..<n { py[base + k * inner] *= scale }
            }
        }
        return [y]
    }
}
