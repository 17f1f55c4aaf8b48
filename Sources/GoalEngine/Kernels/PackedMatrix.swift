import CKernels

/// A constant matrix rearranged once into the panels `goal_packed_gemm` streams (see
/// CKernels/packed_gemm.h), and products against it split across the engine's threads. OpenBLAS
/// repacks its right-hand matrix on every call; for the few rows of a CLIP tower at batch 1 that
/// copy costs as much as the arithmetic.
enum PackedMatrix {
    /// The product's sizes for a packed weight: op(W) is k×n.
    static func sizes(_ w: Tensor) -> (k: Int, n: Int)? {
        guard case .panels(let transposed) = w.layout, w.rank == 2 else { return nil }
        return transposed ? (w.shape[1], w.shape[0]) : (w.shape[0], w.shape[1])
    }

    /// Bytes the packed form of `w` (float32, rank 2, row-major) as op(w) takes.
    static func byteCount(_ w: Tensor, transposed: Bool) -> Int {
        let (k, n) = transposed ? (w.shape[1], w.shape[0]) : (w.shape[0], w.shape[1])
        return goal_packed_floats(k, n) * MemoryLayout<Float>.stride
    }

    /// A packed tensor of `w`'s shape over `byteCount(w)` bytes of `arena` from `offset` on
    /// (64-byte aligned), not yet filled: see `fill`.
    static func slot(for w: Tensor, transposed: Bool, in arena: Storage, at offset: Int) -> Tensor {
        let storage = Storage(borrowing: arena.base + offset, byteCount: byteCount(w, transposed: transposed), owner: arena)
        return Tensor(dtype: .float32, shape: w.shape, storage: storage, layout: .panels(transposed: transposed))
    }

    /// Writes op(w) into the packed tensor made for it by `slot`.
    static func fill(_ packed: Tensor, from w: Tensor) {
        guard let (k, n) = sizes(packed), case .panels(let transposed) = packed.layout else { return }
        goal_pack(w.floats.baseAddress!, k, n, w.shape[1], transposed ? 1 : 0,
                  packed.storage.base.assumingMemoryBound(to: Float.self))
    }

    /// The tensor in row-major order: itself unless packed.
    static func rowMajor(_ t: Tensor) throws(GoalError) -> Tensor {
        guard case .panels(let transposed) = t.layout, let (k, n) = sizes(t) else { return t }
        let plain = try Tensor(dtype: .float32, shape: [k, n])
        goal_unpack(t.storage.base.assumingMemoryBound(to: Float.self), k, n, plain.floats.baseAddress!)
        guard transposed else { return plain }
        let out = try Tensor(dtype: .float32, shape: t.shape)
        let src = plain.floats, dst = out.floats
        for i in 0..<k { for j in 0..<n { dst[j * k + i] = src[i * n + j] } }
        return out
    }

    /// C[m×n] = A[m×k] · op(W) + bias + addend, A, C and the addend (which may be C itself)
    /// row-major with row strides lda, ldc and ldAddend, over up to `threads` threads: a few
    /// panels of columns at a time, taken by each thread as it becomes free, or by rows when there
    /// are too few panels to go round.
    static func product(m: Int, a: UnsafePointer<Float>, lda: Int, w: Tensor, bias: UnsafePointer<Float>?,
                        addend: UnsafePointer<Float>? = nil, ldAddend: Int = 0, c: UnsafeMutablePointer<Float>,
                        ldc: Int, threads: Int) {
        guard let (k, n) = sizes(w), m > 0, n > 0 else { return }
        let packed = UnsafePointer(w.storage.base.assumingMemoryBound(to: Float.self))
        let panels = (n + Int(GOAL_PANEL) - 1) / Int(GOAL_PANEL)
        let useful = productThreads(m: m, n: n, k: k, threads: threads)
        if useful > 1 && panels >= 2 * useful {
            // Four panels a piece: a slow core then holds up a product by four panels' work at
            // most, not by half of it. (ViT and text towers' products, cold weights, 2 threads,
            // against one piece per thread: medians 1.00 to 1.13 times as fast; two or eight panels
            // a piece did no better.)
            parallelPieces(panels, per: min(4, panels / useful), threads: useful) { range in
                goal_packed_gemm(m, n, k, a, lda, packed, bias, addend, ldAddend, c, ldc,
                                 range.lowerBound, range.upperBound)
            }
        } else {
            parallelChunks(m, threads: useful, multipleOf: Int(GOAL_TILE_ROWS)) { rows in
                goal_packed_gemm(rows.count, n, k, a + rows.lowerBound * lda, lda, packed, bias,
                                 addend.map { $0 + rows.lowerBound * ldAddend }, ldAddend,
                                 c + rows.lowerBound * ldc, ldc, 0, panels)
            }
        }
    }
}
