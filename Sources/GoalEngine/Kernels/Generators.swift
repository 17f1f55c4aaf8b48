// Operators that make tensors from attributes or shapes: Constant, Shape, ConstantOfShape, Range.

struct ConstantKernel: Kernel {
    let value: Tensor

    init(_ node: Node) throws(GoalError) {
        switch (node.attributes["value"], node.attributes["value_float"], node.attributes["value_floats"],
                node.attributes["value_int"], node.attributes["value_ints"]) {
        case (.tensor(let t, _)?, _, _, _, _): value = t
        case (_, .float(let v)?, _, _, _): value = try Tensor(floats: [v], shape: [])
        case (_, _, .floats(let v)?, _, _): value = try Tensor(floats: v, shape: [v.count])
        case (_, _, _, .int(let v)?, _): value = try Tensor(ints: [v], shape: [])
        case (_, _, _, _, .ints(let v)?): value = try Tensor(ints: v, shape: [v.count])
        default: throw GoalError(.unsupported, "\(node.label): only tensor, float(s) and int(s) constants are supported")
        }
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] { [value] }
}

struct ShapeKernel: Kernel {
    let label: String
    let start: Int64
    let end: Int64?
    init(_ node: Node) throws(GoalError) {
        label = node.label
        start = try node.int("start", default: 0)
        end = node.attributes["end"] == nil ? nil : try node.int("end")
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        let r = Int64(x.rank)
        func clamp(_ v: Int64) -> Int { Int(min(max(v < 0 ? v + r : v, 0), r)) }
        let s = clamp(start), e = clamp(end ?? r)
        let dims = s < e ? x.shape[s..<e].map(Int64.init) : []
        return [try Tensor(ints: dims, shape: [dims.count])]
    }
}

struct ConstantOfShapeKernel: Kernel {
    let label: String
    let value: Tensor

    init(_ node: Node) throws(GoalError) {
        label = node.label
        if case .tensor(let t, _)? = node.attributes["value"] {
            guard t.count == 1 else { throw GoalError(.invalidModel, "\(label): value must hold one element") }
            value = t
        } else {
            value = try Tensor(floats: [0], shape: [1])
        }
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        guard let spec = try intsInput(inputs, 0, label) else { throw GoalError(.invalidModel, "\(label): shape is required") }
        let shape = spec.map(Int.init)
        guard sizeFits(shape) else { throw GoalError(.invalidArgument, "\(label): shape \(spec) is not a valid size") }
        return [try broadcastCopy(value.reshaped([]), to: shape, context)]
    }
}

struct RangeKernel: Kernel {
    let label: String
    init(_ node: Node) { label = node.label }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let start = try inputs.required(0, label), limit = try inputs.required(1, label), delta = try inputs.required(2, label)
        guard start.count == 1, limit.count == 1, delta.count == 1, start.dtype == limit.dtype, start.dtype == delta.dtype else {
            throw GoalError(.invalidArgument, "\(label): start, limit and delta must be scalars of one type")
        }
        switch start.dtype {
        case .int64:
            let s = start.ints[0], l = limit.ints[0], d = delta.ints[0]
            guard d != 0 else { throw GoalError(.invalidArgument, "\(label): delta is 0") }
            let length = ((Double(l) - Double(s)) / Double(d)).rounded(.up)
            guard length <= Double(1 << 32) else { throw GoalError(.invalidArgument, "\(label): the range is too long") }
            let n = max(0, Int(length))
            return [try Tensor(ints: (0..<n).map { s &+ Int64($0) &* d }, shape: [n])]
        case .float32:
            let s = start.floats[0], l = limit.floats[0], d = delta.floats[0]
            guard d != 0, s.isFinite, l.isFinite, d.isFinite else { throw GoalError(.invalidArgument, "\(label): invalid range") }
            let length = (Double(l - s) / Double(d)).rounded(.up)
            guard length.isFinite, length <= Double(1 << 32) else { throw GoalError(.invalidArgument, "\(label): the range is too long") }
            let n = max(0, Int(length))
            return [try Tensor(floats: (0..<n).map { s + Float($0) * d }, shape: [n])]
        case .bool:
            throw GoalError(.invalidArgument, "\(label): Range does not take bool")
        }
    }
}
