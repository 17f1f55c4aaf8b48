// Operators that move elements without computing on them: Reshape, Flatten, Squeeze,
// Unsqueeze, Identity, Transpose, Concat, Split, Slice, Expand, Tile, Trilu.

/// Integer values of a small tensor input that steers an operator (a shape, axes, indices).
func intsInput(_ inputs: [Tensor?], _ i: Int, _ label: String) throws(GoalError) -> [Int64]? {
    guard let t = inputs.optional(i) else { return nil }
    guard t.dtype == .int64 else {
        throw GoalError(.invalidArgument, "\(label): input \(i) must hold integers, not \(t.dtype)")
    }
    return Array(t.ints)
}

struct ReshapeKernel: Kernel {
    let label: String
    let allowZero: Bool
    init(_ node: Node) throws(GoalError) {
        label = node.label
        allowZero = try node.int("allowzero", default: 0) != 0
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        guard let spec = try intsInput(inputs, 1, label) else { throw GoalError(.invalidModel, "\(label): shape input is required") }
        var shape: [Int] = []
        var inferred: Int? = nil
        for (i, d) in spec.enumerated() {
            if d == 0 && !allowZero {
                guard i < x.rank else { throw GoalError(.invalidArgument, "\(label): shape \(spec) copies axis \(i) of an input of rank \(x.rank)") }
                shape.append(x.shape[i])
            } else if d == -1 {
                guard inferred == nil else { throw GoalError(.invalidArgument, "\(label): shape \(spec) has more than one -1") }
                inferred = i
                shape.append(1)
            } else if d < 0 {
                throw GoalError(.invalidArgument, "\(label): shape \(spec) has a negative size")
            } else {
                shape.append(Int(d))
            }
        }
        guard sizeFits(shape) else { throw GoalError(.invalidArgument, "\(label): shape \(spec) is too large") }
        let known = shape.reduce(1, *)
        if let i = inferred {
            guard known > 0, x.count % known == 0 else {
                throw GoalError(.invalidArgument, "\(label): cannot reshape \(x.shape) to \(spec)")
            }
            shape[i] = x.count / known
        }
        guard shape.reduce(1, *) == x.count else {
            throw GoalError(.invalidArgument, "\(label): cannot reshape \(x.shape) (\(x.count) elements) to \(spec)")
        }
        return [x.reshaped(shape)]
    }
}

struct FlattenKernel: Kernel {
    let label: String
    let axis: Int64
    init(_ node: Node) throws(GoalError) {
        label = node.label
        axis = try node.int("axis", default: 1)
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        let a = axis < 0 ? Int(axis) + x.rank : Int(axis)
        guard a >= 0, a <= x.rank else { throw GoalError(.invalidArgument, "\(label): axis \(axis) is out of range for rank \(x.rank)") }
        return [x.reshaped([x.shape[..<a].reduce(1, *), x.shape[a...].reduce(1, *)])]
    }
}

struct SqueezeKernel: Kernel {
    let label: String
    let attributeAxes: [Int64]?
    init(_ node: Node) throws(GoalError) {
        label = node.label
        attributeAxes = try node.ints("axes")
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        guard let axes = try intsInput(inputs, 1, label) ?? attributeAxes else {
            return [x.reshaped(x.shape.filter { $0 != 1 })]
        }
        var drop = Set<Int>()
        for a in axes {
            let n = try normalizedAxis(a, rank: x.rank, label)
            guard x.shape[n] == 1 else { throw GoalError(.invalidArgument, "\(label): axis \(a) of shape \(x.shape) is not 1") }
            drop.insert(n)
        }
        return [x.reshaped(x.shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element))]
    }
}

struct UnsqueezeKernel: Kernel {
    let label: String
    let attributeAxes: [Int64]?
    init(_ node: Node) throws(GoalError) {
        label = node.label
        attributeAxes = try node.ints("axes")
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        guard let axes = try intsInput(inputs, 1, label) ?? attributeAxes else {
            throw GoalError(.invalidModel, "\(label): axes are required")
        }
        let rank = x.rank + axes.count
        var insert = Set<Int>()
        for a in axes {
            guard insert.insert(try normalizedAxis(a, rank: rank, label)).inserted else {
                throw GoalError(.invalidArgument, "\(label): axes \(axes) repeat an axis")
            }
        }
        var shape: [Int] = []
        var next = 0
        for d in 0..<rank {
            if insert.contains(d) { shape.append(1) } else { shape.append(x.shape[next]); next += 1 }
        }
        return [x.reshaped(shape)]
    }
}

struct TransposeKernel: Kernel {
    let label: String
    let perm: [Int64]?
    init(_ node: Node) throws(GoalError) {
        label = node.label
        perm = try node.ints("perm")
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        let p = perm.map { $0.map(Int.init) } ?? Array((0..<x.rank).reversed())
        guard p.count == x.rank, Set(p) == Set(0..<x.rank) else {
            throw GoalError(.invalidArgument, "\(label): perm \(p) is not a permutation of the \(x.rank) axes of \(x.shape)")
        }
        return [try transpose(x, p, context)]
    }
}

/// The tensor with its axes permuted: output axis d is input axis perm[d].
func transpose(_ x: Tensor, _ perm: [Int], _ context: ExecutionContext) throws(GoalError) -> Tensor {
    let outShape = perm.map { x.shape[$0] }
    if perm == Array(0..<x.rank) { return x }
    let out = try context.tensor(x.dtype, outShape)
    let inStrides = contiguousStrides(x.shape)
    let strides = perm.map { inStrides[$0] }  // input stride for each output axis
    let w = x.dtype.byteWidth
    let src = x.storage.base, dst = out.storage.base
    let walk = BroadcastWalk(out: outShape, strides: [strides])
    let len = walk.rowLength, s = walk.innerStride(0)
    parallelChunks(walk.rows, threads: context.threads, minimumPerChunk: max(1, elementwiseGrain / max(len, 1))) { rows in
        walk.visit(rows: rows) { start, o in
            if s == 1 {
                (dst + start * w).copyMemory(from: src + o[0] * w, byteCount: len * w)
            } else {
                switch w {
                case 4:
                    let ps = src.assumingMemoryBound(to: UInt32.self), pd = dst.assumingMemoryBound(to: UInt32.self)
                    for i in 0..<len { pd[start + i] = ps[o[0] + i * s] }
                case 8:
                    let ps = src.assumingMemoryBound(to: UInt64.self), pd = dst.assumingMemoryBound(to: UInt64.self)
                    for i in 0..<len { pd[start + i] = ps[o[0] + i * s] }
                default:
                    let ps = src.assumingMemoryBound(to: UInt8.self), pd = dst.assumingMemoryBound(to: UInt8.self)
                    for i in 0..<len { pd[start + i] = ps[o[0] + i * s] }
                }
            }
        }
    }
    return out
}

struct ConcatKernel: Kernel {
    let label: String
    let axis: Int64
    init(_ node: Node) throws(GoalError) {
        label = node.label
        axis = try node.int("axis")
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let parts = inputs.compactMap { $0 }
        guard let first = parts.first else { throw GoalError(.invalidModel, "\(label): Concat needs inputs") }
        let a = try normalizedAxis(axis, rank: first.rank, label)
        var shape = first.shape
        shape[a] = 0
        for p in parts {
            guard p.dtype == first.dtype, p.rank == first.rank,
                  (0..<p.rank).allSatisfy({ $0 == a || p.shape[$0] == first.shape[$0] }) else {
                throw GoalError(.invalidArgument, "\(label): cannot concatenate shapes \(parts.map(\.shape)) on axis \(axis)")
            }
            shape[a] += p.shape[a]
        }
        let out = try context.tensor(first.dtype, shape)
        let outer = shape[..<a].reduce(1, *)
        let w = first.dtype.byteWidth
        let rowBytes = shape[a...].reduce(1, *) * w
        var offset = 0
        for p in parts {
            let chunk = p.shape[a...].reduce(1, *) * w
            for o in 0..<outer where chunk > 0 {
                (out.storage.base + o * rowBytes + offset).copyMemory(from: p.storage.base + o * chunk, byteCount: chunk)
            }
            offset += chunk
        }
        return [out]
    }
}

struct SplitKernel: Kernel {
    let label: String
    let axis: Int64
    let attributeSplit: [Int64]?
    let outputs: Int

    init(_ node: Node) throws(GoalError) {
        label = node.label
        axis = try node.int("axis", default: 0)
        attributeSplit = try node.ints("split")
        outputs = node.outputs.count
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        let a = try normalizedAxis(axis, rank: x.rank, label)
        let n = x.shape[a]
        var sizes: [Int]
        if let split = try intsInput(inputs, 1, label) ?? attributeSplit {
            sizes = split.map(Int.init)
            guard sizes.count == outputs, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == n else {
                throw GoalError(.invalidArgument, "\(label): split \(split) does not divide axis \(a) of size \(n) into \(outputs) parts")
            }
        } else {
            // Equal parts; with num_outputs (opset 18) the last part may be smaller.
            let part = (n + outputs - 1) / outputs
            sizes = (0..<outputs).map { max(0, min(part, n - $0 * part)) }
        }
        let outer = x.shape[..<a].reduce(1, *), inner = x.shape[(a + 1)...].reduce(1, *)
        let w = x.dtype.byteWidth
        var start = 0
        var parts: [Tensor] = []
        for size in sizes {
            var shape = x.shape
            shape[a] = size
            let out = try context.tensor(x.dtype, shape)
            let chunk = size * inner * w
            for o in 0..<outer where chunk > 0 {
                (out.storage.base + o * chunk).copyMemory(from: x.storage.base + (o * n + start) * inner * w, byteCount: chunk)
            }
            start += size
            parts.append(out)
        }
        return parts
    }
}

struct SliceKernel: Kernel {
    let label: String
    init(_ node: Node) { label = node.label }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        guard let starts = try intsInput(inputs, 1, label), let ends = try intsInput(inputs, 2, label) else {
            throw GoalError(.invalidModel, "\(label): starts and ends are required")
        }
        let axes = try intsInput(inputs, 3, label) ?? (0..<Int64(starts.count)).map { $0 }
        let steps = try intsInput(inputs, 4, label) ?? [Int64](repeating: 1, count: starts.count)
        guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
            throw GoalError(.invalidArgument, "\(label): starts, ends, axes and steps differ in length")
        }
        var begin = [Int](repeating: 0, count: x.rank)
        var step = [Int](repeating: 1, count: x.rank)
        var shape = x.shape
        for k in 0..<starts.count {
            let a = try normalizedAxis(axes[k], rank: x.rank, label)
            let n = Int64(x.shape[a]), s = steps[k]
            guard s != 0 else { throw GoalError(.invalidArgument, "\(label): a step is 0") }
            // Clamp as ONNX does: both into [0, n] for forward steps; for backward steps the
            // start into [0, n-1] and the end into [-1, n-1].
            func adjusted(_ v: Int64) -> Int64 { v < 0 ? v &+ n : v }
            let b = s > 0 ? min(max(adjusted(starts[k]), 0), n) : min(max(adjusted(starts[k]), 0), n - 1)
            let e = s > 0 ? min(max(adjusted(ends[k]), 0), n) : min(max(adjusted(ends[k]), -1), n - 1)
            // Counted so that no step size, however large, overflows.
            let count: Int64 = s > 0 ? (e > b ? Int64((UInt64(e - b) - 1) / s.magnitude + 1) : 0)
                                     : (b > e ? Int64((UInt64(b - e) - 1) / s.magnitude + 1) : 0)
            begin[a] = Int(b)
            step[a] = Int(s)
            shape[a] = Int(count)
        }
        let out = try context.tensor(x.dtype, shape)
        if out.count == 0 { return [out] }
        let inStrides = contiguousStrides(x.shape)
        var base = 0
        for d in 0..<x.rank { base += begin[d] * inStrides[d] }
        let strides = (0..<x.rank).map { inStrides[$0] * step[$0] }
        let w = x.dtype.byteWidth
        let walk = BroadcastWalk(out: shape, strides: [strides])
        let len = walk.rowLength, s = walk.innerStride(0)
        let src = x.storage.base + base * w, dst = out.storage.base
        walk.visit(rows: 0..<walk.rows) { start, o in
            if s == 1 {
                (dst + start * w).copyMemory(from: src + o[0] * w, byteCount: len * w)
            } else {
                for i in 0..<len { (dst + (start + i) * w).copyMemory(from: src + (o[0] + i * s) * w, byteCount: w) }
            }
        }
        return [out]
    }
}

/// Copies `x` broadcast to `shape`.
func broadcastCopy(_ x: Tensor, to shape: [Int], _ context: ExecutionContext) throws(GoalError) -> Tensor {
    let out = try context.tensor(x.dtype, shape)
    let w = x.dtype.byteWidth
    let walk = BroadcastWalk(out: shape, strides: [broadcastStrides(x.shape, to: shape)])
    let len = walk.rowLength, s = walk.innerStride(0)
    let src = x.storage.base, dst = out.storage.base
    guard out.count > 0 else { return out }
    parallelChunks(walk.rows, threads: context.threads, minimumPerChunk: max(1, elementwiseGrain / max(len, 1))) { rows in
        walk.visit(rows: rows) { start, o in
            if s == 1 {
                (dst + start * w).copyMemory(from: src + o[0] * w, byteCount: len * w)
            } else {
                for i in 0..<len { (dst + (start + i) * w).copyMemory(from: src + o[0] * w, byteCount: w) }
            }
        }
    }
    return out
}

struct ExpandKernel: Kernel {
    let label: String
    init(_ node: Node) { label = node.label }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        guard let spec = try intsInput(inputs, 1, label) else { throw GoalError(.invalidModel, "\(label): shape is required") }
        guard spec.allSatisfy({ $0 >= 0 }) else { throw GoalError(.invalidArgument, "\(label): shape \(spec) has a negative size") }
        let shape = try broadcastShape([x.shape, spec.map(Int.init)], label)
        guard sizeFits(shape) else { throw GoalError(.invalidArgument, "\(label): shape \(shape) is too large") }
        return [shape == x.shape ? x : try broadcastCopy(x, to: shape, context)]
    }
}

struct TileKernel: Kernel {
    let label: String
    init(_ node: Node) { label = node.label }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        guard let repeats = try intsInput(inputs, 1, label), repeats.count == x.rank, repeats.allSatisfy({ $0 >= 0 }) else {
            throw GoalError(.invalidArgument, "\(label): repeats must hold one non-negative count per axis of \(x.shape)")
        }
        var shape: [Int] = []
        for (d, r) in zip(x.shape, repeats) {
            let (p, overflow) = d.multipliedReportingOverflow(by: Int(r))
            guard !overflow else { throw GoalError(.invalidArgument, "\(label): repeats \(repeats) of shape \(x.shape) are too large") }
            shape.append(p)
        }
        guard sizeFits(shape) else { throw GoalError(.invalidArgument, "\(label): shape \(shape) is too large") }
        let out = try context.tensor(x.dtype, shape)
        let inStrides = contiguousStrides(x.shape)
        let w = x.dtype.byteWidth
        let outStrides = contiguousStrides(shape)
        for i in 0..<out.count {
            var rest = i, src = 0
            for d in 0..<shape.count {
                let idx = rest / outStrides[d]
                rest %= outStrides[d]
                src += (idx % x.shape[d]) * inStrides[d]
            }
            (out.storage.base + i * w).copyMemory(from: x.storage.base + src * w, byteCount: w)
        }
        return [out]
    }
}

struct TriluKernel: Kernel {
    let label: String
    let upper: Bool
    init(_ node: Node) throws(GoalError) {
        label = node.label
        upper = try node.int("upper", default: 1) != 0
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        guard x.rank >= 2 else { throw GoalError(.invalidArgument, "\(label): input must have rank 2 or more") }
        let k = Int(try intsInput(inputs, 1, label)?.first ?? 0)
        let rows = x.shape[x.rank - 2], cols = x.shape[x.rank - 1]
        let out = try context.tensor(x.dtype, x.shape)
        let w = x.dtype.byteWidth
        out.storage.base.copyMemory(from: x.storage.base, byteCount: x.count * w)
        let matrices = x.count / max(rows * cols, 1)
        for m in 0..<matrices {
            for i in 0..<rows {
                for j in 0..<cols {
                    let keep = upper ? j - i >= k : j - i <= k
                    if !keep { (out.storage.base + ((m * rows + i) * cols + j) * w).initializeMemory(as: UInt8.self, repeating: 0, count: w) }
                }
            }
        }
        return [out]
    }
}
