// Kernels for the patterns Fusion replaces (domain "goal"). Each computes what its pattern
// computes, in one pass.

/// y = x · W + b for x [..., K], a constant W [K, N] and b [N]: the bias is written first and
/// the GEMM accumulates onto it.
struct LinearKernel: Kernel {
    let label: String
    init(_ node: Node) { label = node.label }
    var readsPackedWeights: Bool { true }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try PackedMatrix.rowMajor(try inputs.required(0, label)), b = try PackedMatrix.rowMajor(try inputs.required(2, label))
        let given = try inputs.required(1, label)
        try requireDType(x, [.float32], label, "X")
        if given.layout == .panels(transposed: false) {
            return [try packedProduct(x, given, bias: b, context, label)]
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
        return [y]
    }
}
