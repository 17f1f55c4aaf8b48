import CKernels

// Kernels for the patterns Fusion replaces (domain "goal"). Each computes what its pattern
// computes, in one pass.

/// y = x · W + b (+ r) for x [..., K], a constant W [K, N], b [N] and, when Fusion found a
/// residual connection after the product, r of y's shape: the product adds r and b as it stores
/// each tile. (Another r, which the Add would have broadcast, is added after.)
struct LinearKernel: Kernel {
    let label: String
    init(_ node: Node) { label = node.label }
    var readsPackedWeights: Bool { true }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try PackedMatrix.rowMajor(try inputs.required(0, label)), b = try PackedMatrix.rowMajor(try inputs.required(2, label))
        let given = try inputs.required(1, label)
        let residual = try inputs.optional(3).map { r throws(GoalError) in try PackedMatrix.rowMajor(r) }
        try requireDType(x, [.float32], label, "X")
        if let residual { try requireDType(residual, [.float32], label, "the residual") }
        if given.layout == .panels(transposed: false) {
            if let residual, let (_, n) = PackedMatrix.sizes(given), residual.shape == Array(x.shape.dropLast()) + [n] {
                return [try packedProduct(x, given, bias: b, addend: residual, context, label)]
            }
            return [try adding(residual, to: try packedProduct(x, given, bias: b, context, label), context)]
        }
        let w = try PackedMatrix.rowMajor(given)
        let k = w.shape[0], n = w.shape[1]
        guard x.rank >= 1, x.shape[x.rank - 1] == k else {
            throw GoalError(.invalidArgument, "\(label): MatMul of shapes \(x.shape) and \(w.shape): inner sizes differ")
        }
        let rows = x.shape.dropLast().reduce(1, *)
        let y = try context.tensor(.float32, Array(x.shape.dropLast()) + [n])
        let py = y.floats.baseAddress!, pb = UnsafePointer(b.floats.baseAddress!)
        for r in 0..<rows { (py + r * n).update(from: pb, count: n) }
        BLAS.sgemm(transA: false, transB: false, m: rows, n: n, k: k, alpha: 1, a: x.floats.baseAddress!, lda: k,
                   b: w.floats.baseAddress!, ldb: n, beta: 1, c: py, ldc: n, threads: context.threads)
        return [try adding(residual, to: y, context)]
    }

    /// y + r as the Add that Fusion folded in would have computed it (r broadcast).
    private func adding(_ r: Tensor?, to y: Tensor, _ context: ExecutionContext) throws(GoalError) -> Tensor {
        guard let r else { return y }
        let out = try context.tensor(.float32, try broadcastShape([y.shape, r.shape], label))
        if !floatArithmetic(Int32(GOAL_BINARY_ADD), y, r, into: out, threads: context.threads) {
            zipElements(y, r, into: out, threads: context.threads) { (a: Float, b: Float) -> Float in a + b }
        }
        return out
    }
}
