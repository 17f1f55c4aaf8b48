// Reductions over axes (ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceL2), ArgMax, and
// CumSum.

enum ReduceOp: Sendable { case mean, sum, max, min, l2 }

struct ReduceKernel: Kernel {
    let op: ReduceOp
    let label: String
    let keepDims: Bool
    let noopWithEmptyAxes: Bool
    /// Axes from the attribute (before opset 18 for most reductions); the input wins when given.
    let attributeAxes: [Int64]?

    init(_ op: ReduceOp, _ node: Node) throws(GoalError) {
        self.op = op
        label = node.label
        keepDims = try node.int("keepdims", default: 1) != 0
        noopWithEmptyAxes = try node.int("noop_with_empty_axes", default: 0) != 0
        attributeAxes = try node.ints("axes")
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        guard x.dtype != .bool else { throw GoalError(.invalidArgument, "\(label): cannot reduce bool values") }
        let given = inputs.optional(1)?.intValues() ?? attributeAxes ?? []
        if given.isEmpty && noopWithEmptyAxes { return [x] }
        var reduced = Set<Int>()
        for a in given { reduced.insert(try normalizedAxis(a, rank: x.rank, label)) }
        if given.isEmpty { reduced = Set(0..<x.rank) }

        let keptShape = x.shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let outShape = keepDims ? keptShape : x.shape.enumerated().filter { !reduced.contains($0.offset) }.map(\.element)
        let outCount = keptShape.reduce(1, *)
        let groupSize = max(1, x.count / max(outCount, 1))
        // Each input element adds into the output element it maps to: its index with the reduced
        // axes set to 0, read through the kept shape's strides.
        let outStrides = broadcastStrides(keptShape, to: x.shape)
        switch x.dtype {
        case .float32:
            var acc = [Double](repeating: initial, count: outCount)
            let p = x.floats.baseAddress!
            accumulate(x.shape, outStrides) { i, o in acc[o] = combine(acc[o], Double(p[i])) }
            let out = try context.tensor(.float32, outShape)
            for k in 0..<outCount { out.floats[k] = Float(finish(acc[k], groupSize, x.count)) }
            return [out]
        case .int64:
            var acc = [Double](repeating: initial, count: outCount)
            let p = x.ints.baseAddress!
            accumulate(x.shape, outStrides) { i, o in acc[o] = combine(acc[o], Double(p[i])) }
            let out = try context.tensor(.int64, outShape)
            for k in 0..<outCount { out.ints[k] = Int64(clamping: finish(acc[k], groupSize, x.count)) }
            return [out]
        case .bool:
            return [x]
        }
    }

    private var initial: Double {
        switch op {
        case .mean, .sum, .l2: 0
        case .max: -.infinity
        case .min: .infinity
        }
    }

    @inline(__always)
    private func combine(_ a: Double, _ v: Double) -> Double {
        switch op {
        case .mean, .sum: a + v
        case .l2: a + v * v
        case .max: v.isNaN || a.isNaN ? .nan : Swift.max(a, v)
        case .min: v.isNaN || a.isNaN ? .nan : Swift.min(a, v)
        }
    }

    private func finish(_ v: Double, _ group: Int, _ total: Int) -> Double {
        switch op {
        case .mean: total == 0 ? .nan : v / Double(group)
        case .l2: v.squareRoot()
        default: v
        }
    }
}

/// Calls body(inputIndex, outputIndex) for every element of a tensor of `shape`, in order, where
/// the output index steps by `outStrides`.
func accumulate(_ shape: [Int], _ outStrides: [Int], _ body: (Int, Int) -> Void) {
    let count = shape.reduce(1, *)
    guard count > 0 else { return }
    let walk = BroadcastWalk(out: shape, strides: [outStrides])
    let len = walk.rowLength, s = walk.innerStride(0)
    walk.visit(rows: 0..<walk.rows) { start, o in
        for i in 0..<len { body(start + i, o[0] + i * s) }
    }
}

struct ArgExtremumKernel: Kernel {
    let label: String
    let axis: Int64
    let keepDims: Bool
    let selectLast: Bool
    let maximum: Bool

    init(_ node: Node, maximum: Bool) throws(GoalError) {
        label = node.label
        axis = try node.int("axis", default: 0)
        keepDims = try node.int("keepdims", default: 1) != 0
        selectLast = try node.int("select_last_index", default: 0) != 0
        self.maximum = maximum
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        guard x.rank > 0 else { throw GoalError(.invalidArgument, "\(label): input must have rank 1 or more") }
        let a = try normalizedAxis(axis, rank: x.rank, label)
        let n = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *), outer = x.shape[..<a].reduce(1, *)
        guard n > 0 else { throw GoalError(.invalidArgument, "\(label): the reduced axis is empty") }
        var shape = x.shape
        if keepDims { shape[a] = 1 } else { shape.remove(at: a) }
        let out = try context.tensor(.int64, shape)
        let values = x.floatValues()  // int64 indices in CLIP graphs are small; float order is exact there
        for o in 0..<outer {
            for i in 0..<inner {
                var best = 0
                var bestValue = values[o * n * inner + i]
                for k in 1..<n {
                    let v = values[(o * n + k) * inner + i]
                    let better = maximum ? (v > bestValue || (selectLast && v == bestValue))
                                         : (v < bestValue || (selectLast && v == bestValue))
                    if better { best = k; bestValue = v }
                }
                out.ints[o * inner + i] = Int64(best)
            }
        }
        return [out]
    }
}

struct CumSumKernel: Kernel {
    let label: String
    let exclusive: Bool
    let reverse: Bool

    init(_ node: Node) throws(GoalError) {
        label = node.label
        exclusive = try node.int("exclusive", default: 0) != 0
        reverse = try node.int("reverse", default: 0) != 0
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        let axisTensor = try inputs.required(1, label)
        guard let axisValue = axisTensor.intValues().first, axisTensor.count == 1 else {
            throw GoalError(.invalidArgument, "\(label): axis must be a single integer")
        }
        let a = try normalizedAxis(axisValue, rank: x.rank, label)
        let n = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *), outer = x.shape[..<a].reduce(1, *)
        let out = try context.tensor(x.dtype, x.shape)
        func scan<T>(_ src: UnsafeMutablePointer<T>, _ dst: UnsafeMutablePointer<T>, _ zero: T, _ add: (T, T) -> T) {
            for o in 0..<outer {
                for i in 0..<inner {
                    var sum = zero
                    for step in 0..<n {
                        let k = reverse ? n - 1 - step : step
                        let at = (o * n + k) * inner + i
                        if exclusive { dst[at] = sum; sum = add(sum, src[at]) } else { sum = add(sum, src[at]); dst[at] = sum }
                    }
                }
            }
        }
        switch x.dtype {
        case .float32: scan(x.floats.baseAddress!, out.floats.baseAddress!, 0) { $0 + $1 }
        case .int64: scan(x.ints.baseAddress!, out.ints.baseAddress!, 0) { $0 &+ $1 }
        case .bool: throw GoalError(.invalidArgument, "\(label): CumSum does not take bool")
        }
        return [out]
    }
}
