import COpenBLAS

/// The engine's only door to OpenBLAS.
///
/// OpenBLAS runs single-threaded: the engine splits large products across its own thread budget
/// instead, so that one budget covers BLAS and every other kernel and two pools never fight for
/// the same cores. (OpenBLAS's thread count is process-wide; libgoal sets it to 1 when the first
/// graph is prepared.)
public enum BLAS {
    private static let configured: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    static func configure() { _ = configured }

    /// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, row-major, on one thread.
    @inline(__always)
    static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            // BLAS leaves C untouched for k = 0 only when beta is 1; make the empty sum explicit.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// The single-threaded product for layers above the engine (GoalMatch's embedding index),
    /// which split their work across threads themselves:
    /// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, row-major. Every size and leading
    /// dimension must fit OpenBLAS's 32-bit integers.
    public static func product(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                               a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                               beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        configure()
        sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
              beta: beta, c: c, ldc: ldc)
    }

    /// y[m] = alpha · A[m×n] · x[n] + beta · y, A row-major, on one thread: for one vector
    /// against many rows, where a matrix product would copy (pack) the rows first.
    public static func matrixVector(m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                                    x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>) {
        guard m > 0 else { return }
        configure()
        guard n > 0 else {
            for i in 0..<m { y[i] = beta == 0 ? 0 : beta * y[i] }
            return
        }
        cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(m), blasint(n), alpha, a, blasint(lda), x, 1, beta, y, 1)
    }

    /// The same product split across up to `threads` threads, by rows of C or by columns,
    /// whichever is larger.
    static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int) {
        let useful = productThreads(m: m, n: n, k: k, threads: threads)
        if useful <= 1 {
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                  beta: beta, c: c, ldc: ldc)
            return
        }
        if m >= n {
            parallelChunks(m, threads: useful) { rows in
                let aRows = transA ? a + rows.lowerBound : a + rows.lowerBound * lda
                sgemm(transA: transA, transB: transB, m: rows.count, n: n, k: k, alpha: alpha, a: aRows, lda: lda,
                      b: b, ldb: ldb, beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
            }
        } else {
            parallelChunks(n, threads: useful) { cols in
                let bCols = transB ? b + cols.lowerBound * ldb : b + cols.lowerBound
                sgemm(transA: transA, transB: transB, m: m, n: cols.count, k: k, alpha: alpha, a: a, lda: lda,
                      b: bCols, ldb: ldb, beta: beta, c: c + cols.lowerBound, ldc: ldc)
            }
        }
    }
}
