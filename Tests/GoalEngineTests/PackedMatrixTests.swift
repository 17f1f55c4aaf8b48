import CKernels
import Testing

@testable import GoalEngine

/// The packed product against a plain double-precision sum, over sizes that cross every
/// blocking edge: rows past a 6-row tile and a 240-row block (and the remainders of 1 to 3 rows
/// that are spread over the last tiles: 7, 8, 9, 13, 50), columns past a 16-wide panel, depths
/// past a 256-deep slice.
@Suite struct PackedMatrixTests {
    struct Case: CustomStringConvertible, Sendable {
        let m: Int, k: Int, n: Int
        var description: String { "\(m)×\(k)·\(k)×\(n)" }
    }

    static let cases = [Case(m: 1, k: 1, n: 1), Case(m: 5, k: 7, n: 15), Case(m: 6, k: 256, n: 16),
                        Case(m: 7, k: 257, n: 17), Case(m: 13, k: 600, n: 50), Case(m: 241, k: 300, n: 33),
                        Case(m: 8, k: 9, n: 16), Case(m: 9, k: 30, n: 31), Case(m: 50, k: 260, n: 40),
                        Case(m: 2, k: 0, n: 20)]

    /// Values in [-1, 1) from a fixed linear congruential sequence, so that failures repeat.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
        }
    }

    @Test(arguments: cases, [false, true])
    func productMatchesPlainSum(_ c: Case, transposed: Bool) throws {
        let a = Self.values(c.m * c.k, seed: 1), b = Self.values(c.k * c.n, seed: 2)
        let bias = Self.values(c.n, seed: 3), start = Self.values(c.m * c.n, seed: 4)
        // The matrix as the kernel is given it: k×n, or its n×k transpose.
        var given = b
        if transposed { for p in 0..<c.k { for j in 0..<c.n { given[j * c.k + p] = b[p * c.n + j] } } }
        var packed = [Float](repeating: .nan, count: goal_packed_floats(c.k, c.n))
        goal_pack(given, c.k, c.n, transposed ? c.k : c.n, transposed ? 1 : 0, &packed)

        // A as the kernel reads it, in place: rows of a wider stride, with NaN between them that
        // would show in the result if it were read.
        let lda = c.k + 5
        var strided = [Float](repeating: .nan, count: max(c.m * lda, 1))
        for i in 0..<c.m { for p in 0..<c.k { strided[i * lda + p] = a[i * c.k + p] } }

        var back = [Float](repeating: .nan, count: c.k * c.n)
        goal_unpack(packed, c.k, c.n, &back)
        #expect(back == b, "unpacking gives the matrix back exactly")

        let panels = (c.n + 15) / 16
        // What is added: nothing, C itself (accumulating), or another matrix with a wider row
        // stride (a residual connection).
        enum Addend: CaseIterable { case none, itself, separate }
        let ldr = c.n + 3
        let residual = Self.values(c.m * ldr, seed: 5)
        for addend in Addend.allCases {
            for baseline in [false, true] {
                var out = start
                // Two calls over two halves of the panels, as two threads would make them.
                let split = panels / 2
                for (first, end) in [(0, split), (split, panels)] {
                    out.withUnsafeMutableBufferPointer { out in
                        residual.withUnsafeBufferPointer { residual in
                            let (pointer, ld): (UnsafePointer<Float>?, Int) = switch addend {
                            case .none: (nil, 0)
                            case .itself: (UnsafePointer(out.baseAddress!), c.n)
                            case .separate: (residual.baseAddress!, ldr)
                            }
                            if baseline {
                                goal_packed_gemm_baseline(c.m, c.n, c.k, strided, lda, packed, bias, pointer, ld,
                                                          out.baseAddress!, c.n, first, end)
                            } else {
                                goal_packed_gemm(c.m, c.n, c.k, strided, lda, packed, bias, pointer, ld, out.baseAddress!,
                                                 c.n, first, end)
                            }
                        }
                    }
                }
                var worst = 0.0
                for i in 0..<c.m {
                    for j in 0..<c.n {
                        var sum = Double(bias[j])
                        switch addend {
                        case .none: break
                        case .itself: sum += Double(start[i * c.n + j])
                        case .separate: sum += Double(residual[i * ldr + j])
                        }
                        for p in 0..<c.k { sum += Double(a[i * c.k + p]) * Double(b[p * c.n + j]) }
                        let error = abs(sum - Double(out[i * c.n + j])) / (1 + abs(sum))
                        if !(error <= worst) { worst = error }  // a NaN sticks (max would drop it)
                    }
                }
                // float32 sums of up to 600 terms of size 1: far inside 1e-4 relative.
                #expect(worst < 1e-4, "addend \(addend), baseline \(baseline): worst relative error \(worst)")
            }
        }
    }

    @Test func rowMajorUndoesPackingForEitherReading() throws {
        let w = try Tensor(floats: Self.values(40 * 24, seed: 5), shape: [40, 24])
        for transposed in [false, true] {
            let arena = try Storage(longLivedByteCount: PackedMatrix.byteCount(w, transposed: transposed))
            let packed = PackedMatrix.slot(for: w, transposed: transposed, in: arena, at: 0)
            PackedMatrix.fill(packed, from: w)
            #expect(packed.shape == [40, 24])
            let plain = try PackedMatrix.rowMajor(packed)
            #expect(plain.layout == .rowMajor && plain.shape == [40, 24])
            #expect(Array(plain.floats) == Array(w.floats))
        }
    }
}
