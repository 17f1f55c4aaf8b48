// MatMul (NumPy matmul semantics) and Gemm, on BLAS.

struct MatMulKernel: Kernel {
    let label: String
    init(_ node: Node) { label = node.label }
    var readsPackedWeights: Bool { true }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let a0 = try PackedMatrix.rowMajor(try inputs.required(0, label)), b0 = try inputs.required(1, label)
        try requireDType(a0, [.float32], label, "A")
        try requireDType(b0, [.float32], label, "B")
        if b0.layout == .panels(transposed: false) {
            return [try packedProduct(a0, b0, bias: nil, context, label)]
        }
        return [try matmul(a0, try PackedMatrix.rowMajor(b0), context, label)]
    }
}

/// x · W (+ bias) for x [..., K] (or [K]) and a weight W packed as K×N: every row of x in one
/// product. The result is [..., N] (or [N]).
func packedProduct(_ x: Tensor, _ w: Tensor, bias: Tensor?, addend: Tensor? = nil, _ context: ExecutionContext,
                   _ label: String) throws(GoalError) -> Tensor {
    guard let (k, n) = PackedMatrix.sizes(w) else { throw GoalError(.internal, "\(label): the weight is not packed") }
    guard x.rank >= 1, x.shape[x.rank - 1] == k else {
        throw GoalError(.invalidArgument, "\(label): MatMul of shapes \(x.shape) and \(w.shape): inner sizes \(x.shape.last ?? 0) and \(k) differ")
    }
    let rows = x.shape.dropLast().reduce(1, *)
    let y = try context.tensor(.float32, Array(x.shape.dropLast()) + [n])
    if let addend, addend.shape != y.shape || addend.dtype != .float32 {
        throw GoalError(.internal, "\(label): the addend's shape \(addend.shape) is not the product's \(y.shape)")
    }
    PackedMatrix.product(m: rows, a: x.floats.baseAddress!, lda: k, w: w,
                         bias: bias.map { UnsafePointer($0.floats.baseAddress!) },
                         addend: addend.map { UnsafePointer($0.floats.baseAddress!) }, ldAddend: n,
                         c: y.floats.baseAddress!, ldc: n, threads: context.threads)
    return y
}

/// NumPy matmul: 1-D operands are promoted to matrices (and the added axis removed after),
/// batch axes broadcast.
func matmul(_ a0: Tensor, _ b0: Tensor, _ context: ExecutionContext, _ label: String) throws(GoalError) -> Tensor {
    guard a0.rank >= 1, b0.rank >= 1 else {
        throw GoalError(.invalidArgument, "\(label): MatMul needs operands of rank 1 or more")
    }
    let a = a0.rank == 1 ? a0.reshaped([1, a0.shape[0]]) : a0
    let b = b0.rank == 1 ? b0.reshaped([b0.shape[0], 1]) : b0
    let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1]
    let n = b.shape[b.rank - 1]
    guard b.shape[b.rank - 2] == k else {
        throw GoalError(.invalidArgument, "\(label): MatMul of shapes \(a0.shape) and \(b0.shape): inner sizes \(k) and \(b.shape[b.rank - 2]) differ")
    }
    let aBatch = Array(a.shape.dropLast(2)), bBatch = Array(b.shape.dropLast(2))
    let batch = try broadcastShape([aBatch, bBatch], label)
    var outShape = batch + [m, n]
    let out = try context.tensor(.float32, outShape)
    let pa = UnsafePointer(a.floats.baseAddress!), pb = UnsafePointer(b.floats.baseAddress!)
    let po = out.floats.baseAddress!
    let batches = batch.reduce(1, *)

    if bBatch.reduce(1, *) == 1 {
        // B is one matrix (the weights case): all of A's rows form one product.
        let rows = aBatch.reduce(1, *) * m
        if aBatch.reduce(1, *) == batches {
            BLAS.sgemm(transA: false, transB: false, m: rows, n: n, k: k, alpha: 1, a: pa, lda: k, b: pb, ldb: n,
                       beta: 0, c: po, ldc: n, threads: context.threads)
        } else {
            throw GoalError(.internal, "\(label): unexpected MatMul broadcast \(a0.shape) × \(b0.shape)")
        }
    } else {
        let aStrides = broadcastStrides(aBatch, to: batch), bStrides = broadcastStrides(bBatch, to: batch)
        let batchStrides = contiguousStrides(batch)
        let mk = m * k, kn = k * n, mn = m * n
        func offsets(_ i: Int) -> (Int, Int) {
            var oa = 0, ob = 0, rest = i
            for d in 0..<batch.count {
                let idx = rest / batchStrides[d]
                rest %= batchStrides[d]
                oa += idx * aStrides[d]
                ob += idx * bStrides[d]
            }
            return (oa * mk, ob * kn)
        }
        if batches >= context.threads {
            parallelChunks(batches, threads: context.threads) { range in
                for i in range {
                    let (oa, ob) = offsets(i)
                    BLAS.sgemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: pa + oa, lda: k,
                               b: pb + ob, ldb: n, beta: 0, c: po + i * mn, ldc: n)
                }
            }
        } else {
            for i in 0..<batches {
                let (oa, ob) = offsets(i)
                BLAS.sgemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: pa + oa, lda: k,
                           b: pb + ob, ldb: n, beta: 0, c: po + i * mn, ldc: n, threads: context.threads)
            }
        }
    }
    if a0.rank == 1 { outShape.remove(at: outShape.count - 2) }
    if b0.rank == 1 { outShape.removeLast() }
    return out.reshaped(outShape)
}

struct GemmKernel: Kernel {
    let label: String
    let transA: Bool, transB: Bool
    let alpha: Float, beta: Float
    var readsPackedWeights: Bool { true }

    init(_ node: Node) throws(GoalError) {
        label = node.label
        transA = try node.int("transA", default: 0) != 0
        transB = try node.int("transB", default: 0) != 0
        alpha = try node.float("alpha", default: 1)
        beta = try node.float("beta", default: 1)
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let a = try PackedMatrix.rowMajor(try inputs.required(0, label)), given = try inputs.required(1, label)
        // The packed path takes B packed the way this node reads it, and the common alpha of 1.
        let packed = given.layout == .panels(transposed: transB) && !transA && alpha == 1
        let b = packed ? given : try PackedMatrix.rowMajor(given)
        try requireDType(a, [.float32], label, "A")
        try requireDType(b, [.float32], label, "B")
        guard a.rank == 2, b.rank == 2 else {
            throw GoalError(.invalidArgument, "\(label): Gemm takes matrices, got shapes \(a.shape) and \(b.shape)")
        }
        let m = transA ? a.shape[1] : a.shape[0], k = transA ? a.shape[0] : a.shape[1]
        let n = transB ? b.shape[0] : b.shape[1], kb = transB ? b.shape[1] : b.shape[0]
        guard k == kb else {
            throw GoalError(.invalidArgument, "\(label): Gemm of shapes \(a.shape) and \(b.shape): inner sizes \(k) and \(kb) differ")
        }
        let y = try context.tensor(.float32, [m, n])
        var betaForBLAS: Float = 0
        if let c = inputs.optional(2), beta != 0 {
            try requireDType(c, [.float32], label, "C")
            _ = try broadcastShape([c.shape, [m, n]], label)
            // Y starts as beta·C broadcast to m×n; the product is then added onto it.
            let walk = BroadcastWalk(out: [m, n], strides: [broadcastStrides(c.shape, to: [m, n])])
            let pc = c.floats.baseAddress!, py = y.floats.baseAddress!
            let len = walk.rowLength, sc = walk.innerStride(0), scale = beta
            walk.visit(rows: 0..<walk.rows) { start, o in
                for i in 0..<len { py[start + i] = scale * pc[o[0] + i * sc] }
            }
            betaForBLAS = 1
        }
        if packed {
            let py = y.floats.baseAddress!
            PackedMatrix.product(m: m, a: a.floats.baseAddress!, lda: k, w: b, bias: nil,
                                 addend: betaForBLAS == 1 ? UnsafePointer(py) : nil, ldAddend: n,
                                 c: py, ldc: n, threads: context.threads)
            return [y]
        }
        BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                   a: a.floats.baseAddress!, lda: a.shape[1], b: b.floats.baseAddress!, ldb: b.shape[1],
                   beta: betaForBLAS, c: y.floats.baseAddress!, ldc: n, threads: context.threads)
        return [y]
    }
}
