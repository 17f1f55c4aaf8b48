import CONNXLoader

/// A graph as the engine sees it: nodes in topological order, constants (initializers) as
/// tensors, the names of its inputs and outputs, and the ONNX element type of every value the
/// file or shape inference typed.
public final class GraphIR: @unchecked Sendable {
    public var nodes: [Node]
    public var constants: [String: Tensor]
    /// ONNX types of constants whose storage widened them (float16 weights, int32 tensors, ...).
    public var constantTypes: [String: ElementType]
    public var inputs: [String]
    public var outputs: [String]
    public var valueTypes: [String: ElementType]
    /// Static shapes of values, where the file or a trusted shape inference gives them.
    public var valueShapes: [String: [Dimension]] = [:]

    public init(nodes: [Node], constants: [String: Tensor], constantTypes: [String: ElementType] = [:],
                inputs: [String], outputs: [String], valueTypes: [String: ElementType]) {
        self.nodes = nodes
        self.constants = constants
        self.constantTypes = constantTypes
        self.inputs = inputs
        self.outputs = outputs
        self.valueTypes = valueTypes
    }

    /// Every op type in this graph and its subgraphs, with the labels of the nodes using it.
    func opTypes() -> [(domain: String, opType: String, label: String)] {
        var found: [(String, String, String)] = []
        for node in nodes {
            found.append((node.domain, node.opType, node.label))
            for case .graph(let sub) in node.attributes.values { found += sub.opTypes() }
        }
        return found
    }
}

extension GraphIR {
    /// The IR of a loaded model's graph. Weights in float32, int64 and bool are borrowed from
    /// the model file, which the returned graph keeps alive.
    convenience init(model: ModelFile) throws(GoalError) {
        try self.init(view: model.graphView, owner: model)
    }

    private static func string(_ p: UnsafePointer<CChar>?) -> String {
        p.map { String(cString: $0) } ?? ""
    }

    private static func strings(_ p: UnsafePointer<UnsafePointer<CChar>?>?, _ n: Int) -> [String] {
        (0..<n).map { string(p?[$0]) }
    }

    private static func tensor(_ t: ox_tensor, owner: AnyObject) throws(GoalError) -> (Tensor, ElementType) {
        let type = ElementType(rawValue: t.elem_type)
        let shape = (0..<Int(t.rank)).map { Int(t.dims[$0]) }
        let bytes = UnsafeRawBufferPointer(start: t.data, count: Int(t.byte_size))
        do {
            return (try Tensor.from(bytes: bytes, type: type, shape: shape, owner: owner), type)
        } catch {
            throw GoalError(error.kind, "tensor '\(string(t.name))': \(error.message)")
        }
    }

    convenience init(view: UnsafePointer<ox_graph>, owner: AnyObject) throws(GoalError) {
        let g = view.pointee
        var constants: [String: Tensor] = [:]
        var constantTypes: [String: ElementType] = [:]
        for i in 0..<g.initializer_count {
            let (t, type) = try Self.tensor(g.initializers[i], owner: owner)
            let name = Self.string(g.initializers[i].name)
            constants[name] = t
            if type != t.dtype.elementType { constantTypes[name] = type }
        }
        var nodes: [Node] = []
        nodes.reserveCapacity(g.node_count)
        for i in 0..<g.node_count {
            let n = g.nodes[i]
            var attributes: [String: Attribute] = [:]
            for k in 0..<n.attribute_count {
                let a = n.attributes[k]
                let key = Self.string(a.name)
                switch a.type {
                case 1: attributes[key] = .float(a.f)
                case 2: attributes[key] = .int(a.i)
                case 3:
                    let bytes = UnsafeRawBufferPointer(start: a.s, count: a.s_size)
                    attributes[key] = .string(String(decoding: bytes, as: UTF8.self))
                case 4:
                    if let t = a.tensor {
                        let (tensor, type) = try Self.tensor(t.pointee, owner: owner)
                        attributes[key] = .tensor(tensor, type)
                    }
                case 5: if let sub = a.graph { attributes[key] = .graph(try GraphIR(view: sub, owner: owner)) }
                case 6: attributes[key] = .floats(Array(UnsafeBufferPointer(start: a.floats, count: a.count)))
                case 7: attributes[key] = .ints(Array(UnsafeBufferPointer(start: a.ints, count: a.count)))
                case 8: attributes[key] = .strings(Self.strings(a.strings, a.count))
                default: break  // attribute kinds no supported operator reads
                }
            }
            nodes.append(Node(name: Self.string(n.name), opType: Self.string(n.op_type), domain: Self.string(n.domain),
                              inputs: Self.strings(n.inputs, n.input_count),
                              outputs: Self.strings(n.outputs, n.output_count), attributes: attributes))
        }
        var valueTypes: [String: ElementType] = [:]
        var valueShapes: [String: [Dimension]] = [:]
        for i in 0..<g.typed_count {
            let name = Self.string(g.typed_names[i])
            valueTypes[name] = ElementType(rawValue: g.typed_types[i])
            let rank = Int(g.typed_ranks[i])
            if rank >= 0, let dims = g.typed_dims[i] {
                valueShapes[name] = (0..<rank).map { k in
                    dims[k].value >= 0 ? .fixed(dims[k].value) : (dims[k].symbol.map { .symbolic(String(cString: $0)) } ?? .unknown)
                }
            }
        }
        self.init(nodes: nodes, constants: constants, constantTypes: constantTypes,
                  inputs: Self.strings(g.inputs, g.input_count), outputs: Self.strings(g.outputs, g.output_count),
                  valueTypes: valueTypes)
        self.valueShapes = valueShapes
    }
}
