import CKernels
import Glibc

// Elementwise operators. The per-element function is a closure literal at each call site of a
// generic loop, so the optimizer inlines it into a loop of its own.

@inline(__always)
/// Runs a C kernel over float chunks split across threads.
func mapFloatChunks(_ input: Tensor, into output: Tensor, threads: Int,
                    _ kernel: (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void) {
    let src = UnsafePointer(input.storage.base.assumingMemoryBound(to: Float.self))
    let dst = output.storage.base.assumingMemoryBound(to: Float.self)
    parallelChunks(input.count, threads: threads, minimumPerChunk: elementwiseGrain) { range in
        kernel(src + range.lowerBound, dst + range.lowerBound, range.count)
    }
}

func mapElements<T, R>(_ input: Tensor, into output: Tensor, threads: Int, _ f: (T) -> R) {
    let src = UnsafePointer(input.storage.base.assumingMemoryBound(to: T.self))
    let dst = output.storage.base.assumingMemoryBound(to: R.self)
    parallelChunks(input.count, threads: threads, minimumPerChunk: elementwiseGrain) { range in
        for i in range { dst[i] = f(src[i]) }
    }
}

/// out = f(a, b) with broadcasting; `out` already has the broadcast shape.
@inline(__always)
func zipElements<A, B, R>(_ a: Tensor, _ b: Tensor, into out: Tensor, threads: Int, _ f: (A, B) -> R) {
    let pa = UnsafePointer(a.storage.base.assumingMemoryBound(to: A.self))
    let pb = UnsafePointer(b.storage.base.assumingMemoryBound(to: B.self))
    let po = out.storage.base.assumingMemoryBound(to: R.self)
    let n = out.count
    if a.shape == b.shape {
        parallelChunks(n, threads: threads, minimumPerChunk: elementwiseGrain) { r in
            for i in r { po[i] = f(pa[i], pb[i]) }
        }
    } else if b.count == 1 {
        let y = pb[0]
        parallelChunks(n, threads: threads, minimumPerChunk: elementwiseGrain) { r in
            for i in r { po[i] = f(pa[i], y) }
        }
    } else if a.count == 1 {
        let x = pa[0]
        parallelChunks(n, threads: threads, minimumPerChunk: elementwiseGrain) { r in
            for i in r { po[i] = f(x, pb[i]) }
        }
    } else {
        let walk = BroadcastWalk(out: out.shape, strides: [broadcastStrides(a.shape, to: out.shape),
                                                          broadcastStrides(b.shape, to: out.shape)])
        let len = walk.rowLength, sa = walk.innerStride(0), sb = walk.innerStride(1)
        parallelChunks(walk.rows, threads: threads, minimumPerChunk: max(1, elementwiseGrain / max(len, 1))) { rows in
            walk.visit(rows: rows) { start, offsets in
                let oa = offsets[0], ob = offsets[1]
                for i in 0..<len { po[start + i] = f(pa[oa + i * sa], pb[ob + i * sb]) }
            }
        }
    }
}

/// out = a op b for float tensors through goal_vbinary, in rows along which each operand is
/// contiguous or constant: whole tensors of one shape, a scalar operand, or broadcast rows such
/// as a mask added to every attention head. Returns false, having done nothing, for other
/// layouts (zipElements handles those). A closure called per element costs several times the
/// arithmetic itself, which made these operators a tenth of a long-text run.
func floatArithmetic(_ code: Int32, _ a: Tensor, _ b: Tensor, into out: Tensor, threads: Int) -> Bool {
    let pa = UnsafePointer(a.storage.base.assumingMemoryBound(to: Float.self))
    let pb = UnsafePointer(b.storage.base.assumingMemoryBound(to: Float.self))
    let po = out.storage.base.assumingMemoryBound(to: Float.self)
    let n = out.count
    if a.shape == b.shape || a.count == 1 || b.count == 1 {
        let sa = a.count == 1 && n != 1 ? 0 : 1, sb = b.count == 1 && n != 1 ? 0 : 1
        parallelChunks(n, threads: threads, minimumPerChunk: elementwiseGrain) { r in
            goal_vbinary(code, pa + sa * r.lowerBound, sa, pb + sb * r.lowerBound, sb, po + r.lowerBound, r.count)
        }
        return true
    }
    let walk = BroadcastWalk(out: out.shape, strides: [broadcastStrides(a.shape, to: out.shape),
                                                      broadcastStrides(b.shape, to: out.shape)])
    let len = walk.rowLength, sa = walk.innerStride(0), sb = walk.innerStride(1)
    guard (sa == 0 || sa == 1) && (sb == 0 || sb == 1) else { return false }
    parallelChunks(walk.rows, threads: threads, minimumPerChunk: max(1, elementwiseGrain / max(len, 1))) { rows in
        walk.visit(rows: rows) { start, offsets in
            goal_vbinary(code, pa + offsets[0], sa, pb + offsets[1], sb, po + start, len)
        }
    }
    return true
}

// MARK: - Unary

enum UnaryOp: Sendable {
    case sqrt, exp, log, neg, abs, erf, tanh, sigmoid, relu, gelu, geluTanh, quickGelu, isNaN, not, identity
}

struct UnaryKernel: Kernel {
    let op: UnaryOp
    let label: String

    init(_ op: UnaryOp, _ node: Node) throws(GoalError) {
        label = node.label
        if op == .gelu, try node.string("approximate", default: "none") == "tanh" {
            self.op = .geluTanh
        } else {
            self.op = op
        }
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        let t = context.threads
        switch (op, x.dtype) {
        case (.not, .bool):
            let y = try context.tensor(.bool, x.shape)
            mapElements(x, into: y, threads: t) { (v: UInt8) -> UInt8 in v == 0 ? 1 : 0 }
            return [y]
        case (.isNaN, .float32):
            let y = try context.tensor(.bool, x.shape)
            mapElements(x, into: y, threads: t) { (v: Float) -> UInt8 in v.isNaN ? 1 : 0 }
            return [y]
        case (.isNaN, .int64):
            let y = try context.tensor(.bool, x.shape)
            mapElements(x, into: y, threads: t) { (_: Int64) -> UInt8 in 0 }
            return [y]
        case (.neg, .int64):
            let y = try context.tensor(.int64, x.shape)
            mapElements(x, into: y, threads: t) { (v: Int64) -> Int64 in 0 &- v }
            return [y]
        case (.abs, .int64):
            let y = try context.tensor(.int64, x.shape)
            mapElements(x, into: y, threads: t) { (v: Int64) -> Int64 in v < 0 ? 0 &- v : v }
            return [y]
        case (.relu, .int64):
            let y = try context.tensor(.int64, x.shape)
            mapElements(x, into: y, threads: t) { (v: Int64) -> Int64 in max(v, 0) }
            return [y]
        case (.identity, _):
            return [x]
        case (_, .float32):
            let y = try context.tensor(.float32, x.shape)
            switch op {
            case .sqrt: mapElements(x, into: y, threads: t) { (v: Float) -> Float in v.squareRoot() }
            case .exp: mapFloatChunks(x, into: y, threads: t, goal_vexp)
            case .log: mapElements(x, into: y, threads: t) { (v: Float) -> Float in logf(v) }
            case .neg: mapElements(x, into: y, threads: t) { (v: Float) -> Float in -v }
            case .abs: mapElements(x, into: y, threads: t) { (v: Float) -> Float in Swift.abs(v) }
            case .erf: mapElements(x, into: y, threads: t) { (v: Float) -> Float in erff(v) }
            case .tanh: mapElements(x, into: y, threads: t) { (v: Float) -> Float in tanhf(v) }
            case .sigmoid: mapFloatChunks(x, into: y, threads: t, goal_vsigmoid)
            case .relu: mapElements(x, into: y, threads: t) { (v: Float) -> Float in v > 0 ? v : 0 }
            case .quickGelu: mapFloatChunks(x, into: y, threads: t, goal_vquick_gelu)
            case .gelu: mapElements(x, into: y, threads: t) { (v: Float) -> Float in 0.5 * v * (1 + erff(v * 0.70710678118654752)) }
            case .geluTanh:
                mapElements(x, into: y, threads: t) { (v: Float) -> Float in
                    0.5 * v * (1 + tanhf(0.79788456080286536 * (v + 0.044715 * v * v * v)))
                }
            case .isNaN, .not, .identity: break
            }
            return [y]
        default:
            throw GoalError(.invalidArgument, "\(label): input has type \(x.dtype), which this operator does not take")
        }
    }
}

// MARK: - Binary arithmetic

enum BinaryOp: Sendable { case add, sub, mul, div, pow, mod, fmod, min, max }

struct BinaryKernel: Kernel {
    let op: BinaryOp
    let label: String

    init(_ op: BinaryOp, _ node: Node) throws(GoalError) {
        label = node.label
        if op == .mod {
            self.op = try node.int("fmod", default: 0) == 1 ? .fmod : .mod
        } else {
            self.op = op
        }
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        // Min and Max take any number of inputs; fold them pairwise.
        var acc = try inputs.required(0, label)
        if inputs.count == 1 && (op == .min || op == .max) { return [acc] }
        for k in 1..<max(inputs.count, 2) {
            acc = try apply(acc, try inputs.required(k, label), context)
        }
        return [acc]
    }

    /// The C kernel's code for the four arithmetic operators (goal_vbinary).
    private var vectorCode: Int32? {
        switch op {
        case .add: Int32(GOAL_BINARY_ADD)
        case .sub: Int32(GOAL_BINARY_SUB)
        case .mul: Int32(GOAL_BINARY_MUL)
        case .div: Int32(GOAL_BINARY_DIV)
        default: nil
        }
    }

    private func apply(_ a: Tensor, _ b0: Tensor, _ context: ExecutionContext) throws(GoalError) -> Tensor {
        var b = b0
        if op == .pow && a.dtype == .float32 && b.dtype != .float32 {
            b = try Tensor(floats: b.floatValues(), shape: b.shape)
        }
        guard a.dtype == b.dtype else {
            throw GoalError(.invalidArgument, "\(label): inputs have types \(a.dtype) and \(b.dtype)")
        }
        let shape = try broadcastShape([a.shape, b.shape], label)
        let out = try context.tensor(a.dtype, shape)
        let t = context.threads
        switch a.dtype {
        case .float32:
            if let code = vectorCode, floatArithmetic(code, a, b, into: out, threads: t) { return out }
            switch op {
            case .add: zipElements(a, b, into: out, threads: t) { (x: Float, y: Float) -> Float in x + y }
            case .sub: zipElements(a, b, into: out, threads: t) { (x: Float, y: Float) -> Float in x - y }
            case .mul: zipElements(a, b, into: out, threads: t) { (x: Float, y: Float) -> Float in x * y }
            case .div: zipElements(a, b, into: out, threads: t) { (x: Float, y: Float) -> Float in x / y }
            case .pow: zipElements(a, b, into: out, threads: t) { (x: Float, y: Float) -> Float in powf(x, y) }
            case .fmod, .mod: zipElements(a, b, into: out, threads: t) { (x: Float, y: Float) -> Float in fmodf(x, y) }
            case .min: zipElements(a, b, into: out, threads: t) { (x: Float, y: Float) -> Float in x.isNaN || y.isNaN ? .nan : Swift.min(x, y) }
            case .max: zipElements(a, b, into: out, threads: t) { (x: Float, y: Float) -> Float in x.isNaN || y.isNaN ? .nan : Swift.max(x, y) }
            }
        case .int64:
            if (op == .div || op == .mod || op == .fmod), b.ints.contains(0) {
                throw GoalError(.invalidArgument, "\(label): integer division by zero")
            }
            switch op {
            case .add: zipElements(a, b, into: out, threads: t) { (x: Int64, y: Int64) -> Int64 in x &+ y }
            case .sub: zipElements(a, b, into: out, threads: t) { (x: Int64, y: Int64) -> Int64 in x &- y }
            case .mul: zipElements(a, b, into: out, threads: t) { (x: Int64, y: Int64) -> Int64 in x &* y }
            case .div: zipElements(a, b, into: out, threads: t) { (x: Int64, y: Int64) -> Int64 in x.dividedReportingOverflow(by: y).partialValue }
            case .fmod: zipElements(a, b, into: out, threads: t) { (x: Int64, y: Int64) -> Int64 in x.remainderReportingOverflow(dividingBy: y).partialValue }
            case .mod:
                // The sign follows the divisor, as Python's %.
                zipElements(a, b, into: out, threads: t) { (x: Int64, y: Int64) -> Int64 in
                    let r = x.remainderReportingOverflow(dividingBy: y).partialValue
                    return r != 0 && ((r < 0) != (y < 0)) ? r &+ y : r
                }
            case .pow: zipElements(a, b, into: out, threads: t) { (x: Int64, y: Int64) -> Int64 in integerPower(x, y) }
            case .min: zipElements(a, b, into: out, threads: t) { (x: Int64, y: Int64) -> Int64 in Swift.min(x, y) }
            case .max: zipElements(a, b, into: out, threads: t) { (x: Int64, y: Int64) -> Int64 in Swift.max(x, y) }
            }
        case .bool:
            throw GoalError(.invalidArgument, "\(label): arithmetic on bool tensors is not defined")
        }
        return out
    }
}

func integerPower(_ base: Int64, _ exponent: Int64) -> Int64 {
    if exponent < 0 { return base == 1 ? 1 : (base == -1 ? (exponent % 2 == 0 ? 1 : -1) : 0) }
    var result: Int64 = 1, b = base, e = exponent
    while e > 0 {
        if e & 1 == 1 { result = result &* b }
        b = b &* b
        e >>= 1
    }
    return result
}

// MARK: - Comparison and logic

enum CompareOp: Sendable { case equal, less, lessOrEqual, greater, greaterOrEqual, and, or, xor }

struct CompareKernel: Kernel {
    let op: CompareOp
    let label: String

    init(_ op: CompareOp, _ node: Node) {
        self.op = op
        label = node.label
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let a = try inputs.required(0, label), b = try inputs.required(1, label)
        guard a.dtype == b.dtype else {
            throw GoalError(.invalidArgument, "\(label): inputs have types \(a.dtype) and \(b.dtype)")
        }
        let out = try context.tensor(.bool, try broadcastShape([a.shape, b.shape], label))
        let t = context.threads
        switch (op, a.dtype) {
        case (.and, .bool): zipElements(a, b, into: out, threads: t) { (x: UInt8, y: UInt8) -> UInt8 in x != 0 && y != 0 ? 1 : 0 }
        case (.or, .bool): zipElements(a, b, into: out, threads: t) { (x: UInt8, y: UInt8) -> UInt8 in x != 0 || y != 0 ? 1 : 0 }
        case (.xor, .bool): zipElements(a, b, into: out, threads: t) { (x: UInt8, y: UInt8) -> UInt8 in (x != 0) != (y != 0) ? 1 : 0 }
        case (.and, _), (.or, _), (.xor, _):
            throw GoalError(.invalidArgument, "\(label): logical operators take bool inputs, not \(a.dtype)")
        case (_, .float32): compare(a, b, out, t, Float.self)
        case (_, .int64): compare(a, b, out, t, Int64.self)
        case (_, .bool): compare(a, b, out, t, UInt8.self)
        }
        return [out]
    }

    @inline(__always)
    private func compare<T: Comparable>(_ a: Tensor, _ b: Tensor, _ out: Tensor, _ t: Int, _: T.Type) {
        switch op {
        case .equal: zipElements(a, b, into: out, threads: t) { (x: T, y: T) -> UInt8 in x == y ? 1 : 0 }
        case .less: zipElements(a, b, into: out, threads: t) { (x: T, y: T) -> UInt8 in x < y ? 1 : 0 }
        case .lessOrEqual: zipElements(a, b, into: out, threads: t) { (x: T, y: T) -> UInt8 in x <= y ? 1 : 0 }
        case .greater: zipElements(a, b, into: out, threads: t) { (x: T, y: T) -> UInt8 in x > y ? 1 : 0 }
        case .greaterOrEqual: zipElements(a, b, into: out, threads: t) { (x: T, y: T) -> UInt8 in x >= y ? 1 : 0 }
        case .and, .or, .xor: break
        }
    }
}

// MARK: - Where, Clip, Cast

struct WhereKernel: Kernel {
    let label: String
    init(_ node: Node) { label = node.label }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let c = try inputs.required(0, label), x = try inputs.required(1, label), y = try inputs.required(2, label)
        try requireDType(c, [.bool], label, "the condition")
        guard x.dtype == y.dtype else {
            throw GoalError(.invalidArgument, "\(label): X and Y have types \(x.dtype) and \(y.dtype)")
        }
        let shape = try broadcastShape([c.shape, x.shape, y.shape], label)
        let out = try context.tensor(x.dtype, shape)
        let walk = BroadcastWalk(out: shape, strides: [c.shape, x.shape, y.shape].map { broadcastStrides($0, to: shape) })
        let w = x.dtype.byteWidth
        let pc = c.storage.base.assumingMemoryBound(to: UInt8.self)
        let px = x.storage.base, py = y.storage.base, po = out.storage.base
        let len = walk.rowLength, sc = walk.innerStride(0), sx = walk.innerStride(1), sy = walk.innerStride(2)
        walk.visit(rows: 0..<walk.rows) { start, o in
            for i in 0..<len {
                let source = pc[o[0] + i * sc] != 0 ? px + (o[1] + i * sx) * w : py + (o[2] + i * sy) * w
                (po + (start + i) * w).copyMemory(from: source, byteCount: w)
            }
        }
        return [out]
    }
}

struct ClipKernel: Kernel {
    let label: String
    init(_ node: Node) { label = node.label }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        let low = inputs.optional(1), high = inputs.optional(2)
        switch x.dtype {
        case .float32:
            let lo = low?.floatValues().first ?? -.infinity, hi = high?.floatValues().first ?? .infinity
            let y = try context.tensor(.float32, x.shape)
            mapElements(x, into: y, threads: context.threads) { (v: Float) -> Float in v.isNaN ? v : Swift.min(Swift.max(v, lo), hi) }
            return [y]
        case .int64:
            let lo = low?.intValues().first ?? .min, hi = high?.intValues().first ?? .max
            let y = try context.tensor(.int64, x.shape)
            mapElements(x, into: y, threads: context.threads) { (v: Int64) -> Int64 in Swift.min(Swift.max(v, lo), hi) }
            return [y]
        case .bool:
            throw GoalError(.invalidArgument, "\(label): Clip does not take bool")
        }
    }
}

struct CastKernel: Kernel {
    let label: String
    let target: ElementType
    let dtype: DType

    init(_ node: Node) throws(GoalError) {
        label = node.label
        target = ElementType(rawValue: Int32(truncatingIfNeeded: try node.int("to")))
        guard let d = DType(target) else {
            throw GoalError(.unsupported, "\(label): casting to \(target) is not supported")
        }
        dtype = d
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        let y = try context.tensor(dtype, x.shape)
        let t = context.threads
        switch (x.dtype, dtype) {
        case (.float32, .float32):
            // Narrow float types keep only the precision they have.
            switch target {
            case .float16: mapElements(x, into: y, threads: t) { (v: Float) -> Float in Float(Float16(v)) }
            case .bfloat16: mapElements(x, into: y, threads: t) { (v: Float) -> Float in floatFromBFloat16(bfloat16FromFloat(v)) }
            default: mapElements(x, into: y, threads: t) { (v: Float) -> Float in v }
            }
        case (.float32, .int64): mapElements(x, into: y, threads: t) { (v: Float) -> Int64 in Int64(clamping: Double(v)) }
        case (.float32, .bool): mapElements(x, into: y, threads: t) { (v: Float) -> UInt8 in v != 0 ? 1 : 0 }
        case (.int64, .float32): mapElements(x, into: y, threads: t) { (v: Int64) -> Float in Float(v) }
        case (.int64, .int64):
            switch target {
            case .int32: mapElements(x, into: y, threads: t) { (v: Int64) -> Int64 in Int64(Int32(truncatingIfNeeded: v)) }
            case .int8: mapElements(x, into: y, threads: t) { (v: Int64) -> Int64 in Int64(Int8(truncatingIfNeeded: v)) }
            case .uint8: mapElements(x, into: y, threads: t) { (v: Int64) -> Int64 in Int64(UInt8(truncatingIfNeeded: v)) }
            default: mapElements(x, into: y, threads: t) { (v: Int64) -> Int64 in v }
            }
        case (.int64, .bool): mapElements(x, into: y, threads: t) { (v: Int64) -> UInt8 in v != 0 ? 1 : 0 }
        case (.bool, .float32): mapElements(x, into: y, threads: t) { (v: UInt8) -> Float in Float(v) }
        case (.bool, .int64): mapElements(x, into: y, threads: t) { (v: UInt8) -> Int64 in Int64(v) }
        case (.bool, .bool): mapElements(x, into: y, threads: t) { (v: UInt8) -> UInt8 in v }
        }
        return [y]
    }
}
