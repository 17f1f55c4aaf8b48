/// Folds shape arithmetic whose answer does not depend on the batch: exporters (TorchScript above
/// all) compute reshape targets at run time as Shape → Gather → Unsqueeze → Concat chains even
/// when every size but the batch is fixed. Values are tracked as partly known integer vectors
/// (nil where a size is symbolic); a vector that becomes fully known turns into a constant.
///
/// Static shapes come from the graph inputs' declarations and, when the caller trusts it, from
/// libonnx's shape inference (trusted only for opsets libonnx fully knows: for newer operators
/// it would infer from older schemas).
struct ShapeFolding {
    private let shapes: [String: [Dimension]]
    /// Partly known int64 scalars and vectors: their elements, and whether the value is a scalar.
    private var partial: [String: (values: [Int64?], scalar: Bool)] = [:]

    init(_ graph: GraphIR, trustInferredShapes: Bool) {
        shapes = trustInferredShapes ? graph.valueShapes : graph.valueShapes.filter { graph.inputs.contains($0.key) }
    }

    /// The node's outputs as constants if they are fully known now; else nil (and what is known
    /// of them is remembered for the nodes that read them).
    mutating func fold(_ node: Node, _ constants: [String: Tensor]) -> [Tensor]? {
        guard node.domain.isEmpty, node.outputs.count == 1, let result = evaluate(node, constants) else { return nil }
        if result.values.allSatisfy({ $0 != nil }) {
            let ints = result.values.map { $0! }
            return (try? Tensor(ints: ints, shape: result.scalar ? [] : [ints.count])).map { [$0] }
        }
        partial[node.outputs[0]] = result
        return nil
    }

    private func vector(_ name: String?, _ constants: [String: Tensor]) -> (values: [Int64?], scalar: Bool)? {
        guard let name else { return nil }
        if let t = constants[name], t.dtype == .int64, t.rank <= 1 { return (t.intValues().map { $0 }, t.rank == 0) }
        return partial[name]
    }

    private func evaluate(_ node: Node, _ constants: [String: Tensor]) -> (values: [Int64?], scalar: Bool)? {
        switch node.opType {
        case "Shape":
            guard let x = node.input(0), let dims = shapes[x] else { return nil }
            let rank = Int64(dims.count)
            func clamp(_ v: Int64) -> Int { Int(min(max(v < 0 ? v + rank : v, 0), rank)) }
            let start = clamp((try? node.int("start", default: 0)) ?? 0)
            let end = clamp(node.attributes["end"] == nil ? rank : ((try? node.int("end")) ?? rank))
            let picked = start < end ? Array(dims[start..<end]) : []
            return (picked.map { if case .fixed(let n) = $0 { n } else { nil } }, false)
        case "Gather":
            guard let data = vector(node.input(0), constants), !data.scalar,
                  (try? node.int("axis", default: 0)) == 0,
                  let indices = node.input(1).flatMap({ constants[$0] }), indices.dtype == .int64, indices.rank <= 1 else { return nil }
            var picked: [Int64?] = []
            for i in indices.intValues() {
                let j = i < 0 ? Int(i) + data.values.count : Int(i)
                guard j >= 0, j < data.values.count else { return nil }
                picked.append(data.values[j])
            }
            return (picked, indices.rank == 0)
        case "Unsqueeze":
            guard let x = vector(node.input(0), constants), x.scalar else { return nil }
            let axes = node.input(1).flatMap { constants[$0]?.intValues() } ?? (try? node.ints("axes")) ?? nil
            guard axes == [0] || axes == [-1] else { return nil }
            return (x.values, false)
        case "Squeeze":
            guard let x = vector(node.input(0), constants), !x.scalar, x.values.count == 1 else { return nil }
            return (x.values, true)
        case "Concat":
            guard (try? node.int("axis")) == 0 || (try? node.int("axis")) == -1 else { return nil }
            var all: [Int64?] = []
            for name in node.inputs where !name.isEmpty {
                guard let part = vector(name, constants), !part.scalar else { return nil }
                all += part.values
            }
            return (all, false)
        case "Cast":
            let to = (try? node.int("to")) ?? 0
            guard to == Int64(ElementType.int64.rawValue) || to == Int64(ElementType.int32.rawValue) else { return nil }
            return vector(node.input(0), constants)
        case "Identity":
            return vector(node.input(0), constants)
        case "Add", "Sub", "Mul":
            guard let a = vector(node.input(0), constants), let b = vector(node.input(1), constants) else { return nil }
            let n = max(a.values.count, b.values.count)
            guard a.values.count == n || a.values.count == 1, b.values.count == n || b.values.count == 1 else { return nil }
            let values: [Int64?] = (0..<n).map { i in
                guard let x = a.values[a.values.count == 1 ? 0 : i], let y = b.values[b.values.count == 1 ? 0 : i] else { return nil }
                switch node.opType {
                case "Add": return x &+ y
                case "Sub": return x &- y
                default: return x &* y
                }
            }
            return (values, a.scalar && b.scalar)
        default:
            return nil
        }
    }
}
