import Glibc
import Synchronization

/// How a graph is run.
public struct EngineOptions: Sendable, Equatable {
    /// Threads for one run, shared by BLAS and every kernel; 0 means one per core.
    public var threads = 0
    /// Replace op patterns by fused kernels (MatMul + bias, GELU, ...) and pack weight matrices
    /// for products once. Off runs every node as the file has it, on row-major weights through
    /// BLAS, which tests compare against.
    public var fuse = true
    /// The most elements one tensor may have; a larger one, computed from the model's shapes or
    /// the inputs, fails the run with `.outOfMemory` before memory is asked for.
    public var maxTensorElements = EngineOptions.defaultMaxTensorElements
    /// 2^31 elements: 8 GiB of float32, far above what a CLIP tower needs at any sane batch.
    public static let defaultMaxTensorElements = 1 << 31

    public init() {}
}

/// A caller's tensor for one input: its elements in engine storage, and the ONNX type the caller
/// gave them as (checked against the type the model declares).
public struct Feed: Sendable {
    public let tensor: Tensor
    public let type: ElementType

    public init(tensor: Tensor, type: ElementType) {
        self.tensor = tensor
        self.type = type
    }
}

/// A model file prepared to run: operators checked, constants folded, kernels made. Runs may
/// happen on any number of threads at once; each gets its own buffers.
public final class Engine: @unchecked Sendable {
    public let model: ModelFile
    public let threads: Int
    /// The graph inputs as this engine takes them: as the file declares them, or with a shorter
    /// sequence axis for an engine made by `shortened(to:)`.
    public let inputs: [ValueInfo]
    let graph: GraphIR
    /// The nodes after folding, before fusion: what a shortened copy starts from.
    private let folded: [Node]
    private let options: EngineOptions
    private let trustInferredShapes: Bool
    /// The nodes as run: fused where options allow.
    private let program: Program
    /// The nodes as the file has them, for runs that ask for a value a fusion absorbed.
    private let plain: Program?
    private let pools = Mutex<[BufferPool]>([])

    /// Prepares `model` to run. The engine takes over the file's weights: a packed weight's bytes
    /// in the file are given back (see `WeightPacking`), so one `ModelFile` serves one engine.
    public convenience init(model: ModelFile, options: EngineOptions = EngineOptions()) throws(GoalError) {
        BLAS.configure()
        let graph = try GraphIR(model: model)
        try Operators.checkSupported(graph)
        // libonnx's inferred shapes are sound only for opsets it knows; declared ones always are.
        let opset = model.opsets.first { $0.domain == "ai.onnx" }?.version ?? 0
        let trust = opset <= ModelFile.libonnxLimits.opset
        try ConstantFolding.run(graph, trustInferredShapes: trust, maxElements: options.maxTensorElements)
        if options.fuse {
            // The file's bytes of a packed weight are never read again: without giving them back
            // the process would hold every weight twice.
            try WeightPacking.run(graph, threads: Engine.threads(options)) { original in
                if !original.storage.isOwned { model.releasePayload(at: original.storage.base) }
            }
        }
        try self.init(model: model, folded: graph, inputs: model.inputs, options: options, trustInferredShapes: trust)
    }

    private init(model: ModelFile, folded graph: GraphIR, inputs: [ValueInfo], options: EngineOptions,
                 trustInferredShapes: Bool) throws(GoalError) {
        self.model = model
        self.inputs = inputs
        self.options = options
        self.trustInferredShapes = trustInferredShapes
        threads = Engine.threads(options)
        folded = graph.nodes
        let unfused = try Program(graph.nodes, graphInputs: graph.inputs)
        if options.fuse {
            Fusion.run(graph)
            program = try Program(graph.nodes, graphInputs: graph.inputs)
            plain = unfused
        } else {
            program = unfused
            plain = nil
        }
        self.graph = graph
    }

    /// The same graph run on the first `length` positions of a sequence axis that every input
    /// listed in `sequenceInputs` fixes at the same size (axis 1). Only a causal sequence model
    /// (a CLIP text tower) computes the same values that way, and only if that size means nothing
    /// else in the graph: see `SequenceShortening`. Callers compare the result with this engine
    /// before trusting it. Weights are shared, not copied.
    public func shortened(sequenceInputs: [String], to length: Int) throws(GoalError) -> Engine {
        var full: Int64?
        var declared = inputs
        for (i, input) in inputs.enumerated() where sequenceInputs.contains(input.name) {
            guard let shape = input.shape, shape.count >= 2, case .fixed(let n) = shape[1], full == nil || full == n else {
                throw GoalError(.invalidArgument, "input '\(input.name)' has no fixed sequence axis shared with the other inputs")
            }
            full = n
            var dims = shape
            dims[1] = .fixed(Int64(length))
            declared[i] = ValueInfo(name: input.name, elementType: input.elementType, shape: dims)
        }
        guard let full else { throw GoalError(.invalidArgument, "no input to shorten among \(sequenceInputs)") }
        guard length >= 1, length < full else {
            throw GoalError(.invalidArgument, "a shortened sequence needs 1 to \(full - 1) positions, not \(length)")
        }
        let copy = GraphIR(nodes: folded, constants: graph.constants, constantTypes: graph.constantTypes,
                           inputs: graph.inputs, outputs: graph.outputs, valueTypes: graph.valueTypes)
        copy.valueShapes = graph.valueShapes
        try SequenceShortening.run(copy, full: Int(full), length: length)
        try ConstantFolding.run(copy, trustInferredShapes: trustInferredShapes, maxElements: options.maxTensorElements)
        return try Engine(model: model, folded: copy, inputs: declared, options: options,
                          trustInferredShapes: trustInferredShapes)
    }

    /// Threads for one run: as the options say, or one per core.
    private static func threads(_ options: EngineOptions) -> Int {
        options.threads > 0 ? options.threads : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// The most elements one tensor of a run may have (see `EngineOptions.maxTensorElements`).
    public var maxTensorElements: Int { options.maxTensorElements }

    /// The ONNX type a value is reported as: as declared or inferred, else its storage's.
    public func elementType(of name: String, storage: DType) -> ElementType {
        let declared = graph.valueTypes[name] ?? graph.constantTypes[name]
        if let declared, DType(declared) == storage { return declared }
        return storage.elementType
    }

    /// The graph's declared outputs, in order.
    public var graphOutputs: [String] { graph.outputs }

    /// Whether `name` is a value of the graph: an input, a constant, or a node's output.
    public func hasValue(_ name: String) -> Bool {
        graph.constants[name] != nil || graph.inputs.contains(name) || program.producer[name] != nil
            || plain?.producer[name] != nil
    }

    /// Runs the graph. `outputs` names graph outputs or any intermediate value (nil: the graph's
    /// outputs); results come back in that order.
    /// Inputs a run needs only when the requested values depend on them: a file holding both
    /// CLIP towers runs its text half from text inputs alone.
    public func run(_ feeds: [String: Feed], outputs requested: [String]? = nil) throws(GoalError) -> [Tensor] {
        let names = requested ?? graph.outputs
        for name in names where !hasValue(name) {
            throw GoalError(.invalidArgument, "'\(name)' is not a value of this graph")
        }
        let chosen = self.program(for: names)
        try validate(feeds, required: chosen.plan(for: names, graph.constants).inputs)
        let pool = pools.withLock { $0.popLast() } ?? BufferPool()
        defer { pools.withLock { $0.append(pool) } }
        return try chosen.run(feeds, names, graph.constants, ExecutionContext(threads: threads, pool: pool, maxElements: options.maxTensorElements))
    }

    /// The graph inputs that computing `outputs` reads, in declaration order.
    public func requiredInputs(for outputs: [String]) -> [String] {
        let needed = program(for: outputs).plan(for: outputs, graph.constants).inputs
        return graph.inputs.filter { needed.contains($0) }
    }

    /// The nodes as they run (after folding and fusion), in order: for callers that look for a
    /// structure in the graph, such as where a CLIP tower pools its tokens.
    public var nodes: [Node] { program.nodes }

    /// The tensor of a constant (an initializer or a folded value), if `name` is one.
    public func constant(_ name: String) -> Tensor? { graph.constants[name] }

    /// The fused program, unless a requested value exists only in the plain one.
    private func program(for names: [String]) -> Program {
        let absorbed = names.contains { graph.constants[$0] == nil && !graph.inputs.contains($0) && program.producer[$0] == nil }
        return absorbed ? (plain ?? program) : program
    }

    /// Every given input declared, with the declared type, rank and fixed sizes; every required
    /// input given; symbolic sizes agree wherever the same symbol appears.
    private func validate(_ feeds: [String: Feed], required: Set<String>) throws(GoalError) {
        let declared = Dictionary(inputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in feeds.keys where declared[name] == nil {
            let known = inputs.map { "'\($0.name)'" }.joined(separator: ", ")
            throw GoalError(.invalidArgument, "'\(name)' is not an input of this graph (its inputs: \(known))")
        }
        var symbols: [String: (Int, String)] = [:]
        for input in inputs {
            guard let feed = feeds[input.name] else {
                if required.contains(input.name) {
                    throw GoalError(.invalidArgument, "input '\(input.name)' is missing")
                }
                continue
            }
            if input.elementType != .undefined && feed.type != input.elementType {
                throw GoalError(.invalidArgument, "input '\(input.name)' expects \(input.elementType), got \(feed.type)")
            }
            guard let shape = input.shape else { continue }
            let given = feed.tensor.shape
            let expected = "[" + shape.map(\.description).joined(separator: ", ") + "]"
            guard given.count == shape.count else {
                throw GoalError(.invalidArgument, "input '\(input.name)' expects rank \(shape.count) \(expected), got shape \(given)")
            }
            for (axis, (dim, size)) in zip(shape, given).enumerated() {
                switch dim {
                case .fixed(let n) where n != size:
                    throw GoalError(.invalidArgument, "input '\(input.name)' expects size \(n) on axis \(axis) \(expected), got shape \(given)")
                case .symbolic(let symbol):
                    if let (seen, owner) = symbols[symbol], seen != size {
                        throw GoalError(.invalidArgument, "input '\(input.name)' has \(symbol) = \(size) on axis \(axis), but '\(owner)' has \(symbol) = \(seen)")
                    }
                    symbols[symbol] = (size, input.name)
                default: break
                }
            }
        }
    }
}

/// Nodes with their kernels, and the plans that run subsets of them.
private final class Program: @unchecked Sendable {
    let nodes: [Node]
    let kernels: [any Kernel]
    let producer: [String: Int]
    let graphInputs: Set<String>
    private let plans = Mutex<[[String]: Plan]>([:])

    struct Plan {
        let steps: [Int]
        /// The graph inputs the steps read.
        let inputs: Set<String>
        /// Values no later step reads, to give back to the pool after each step.
        let release: [[String]]
    }

    init(_ nodes: [Node], graphInputs: [String]) throws(GoalError) {
        self.graphInputs = Set(graphInputs)
        var kernels: [any Kernel] = []
        var producer: [String: Int] = [:]
        for (i, node) in nodes.enumerated() {
            kernels.append(try Operators.kernel(for: node))
            for name in node.outputs where !name.isEmpty { producer[name] = i }
        }
        self.nodes = nodes
        self.kernels = kernels
        self.producer = producer
    }

    func run(_ feeds: [String: Feed], _ names: [String], _ constants: [String: Tensor],
             _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let plan = self.plan(for: names, constants)
        var values: [String: Tensor] = [:]
        for (name, feed) in feeds { values[name] = feed.tensor }
        let keep = Set(names)
        for (k, index) in plan.steps.enumerated() {
            let node = nodes[index]
            let inputs: [Tensor?] = node.inputs.map { $0.isEmpty ? nil : (values[$0] ?? constants[$0]) }
            for (slot, name) in node.inputs.enumerated() where !name.isEmpty && inputs[slot] == nil {
                throw GoalError(.internal, "\(node.label): input '\(name)' has no value")
            }
            let started = Profile.enabled ? Profile.now() : 0
            let results = try kernels[index].evaluate(inputs, context)
            if Profile.enabled { Profile.record(node, seconds: Profile.now() - started) }
            for (name, value) in zip(node.outputs, results) where !name.isEmpty { values[name] = value }
            for name in plan.release[k] where !keep.contains(name) {
                var dead = values.removeValue(forKey: name)
                context.pool.give(&dead)
            }
        }
        var results: [Tensor] = []
        for name in names {
            guard let value = values[name] ?? constants[name] else {
                throw GoalError(.internal, "no value was computed for '\(name)'")
            }
            results.append(try PackedMatrix.rowMajor(value))
        }
        return results
    }

    /// The steps that compute `names`, in graph order, with what can be freed after each.
    func plan(for names: [String], _ constants: [String: Tensor]) -> Plan {
        if let cached = plans.withLock({ $0[names] }) { return cached }
        var needed = Set<Int>()
        var stack = names.compactMap { producer[$0] }
        while let i = stack.popLast() {
            guard needed.insert(i).inserted else { continue }
            for name in nodes[i].inputs where !name.isEmpty {
                if let p = producer[name] { stack.append(p) }
            }
        }
        let steps = needed.sorted()
        var lastUse: [String: Int] = [:]
        for (k, i) in steps.enumerated() {
            for name in nodes[i].inputs where !name.isEmpty && constants[name] == nil {
                lastUse[name] = k
            }
            // An output nothing reads dies where it is made.
            for name in nodes[i].outputs where !name.isEmpty && lastUse[name] == nil {
                lastUse[name] = k
            }
        }
        var release = [[String]](repeating: [], count: steps.count)
        for (name, k) in lastUse { release[k].append(name) }
        var inputs = Set(names.filter { graphInputs.contains($0) })
        for i in steps {
            for name in nodes[i].inputs where graphInputs.contains(name) { inputs.insert(name) }
        }
        let plan = Plan(steps: steps, inputs: inputs, release: release)
        plans.withLock { $0[names] = plan }
        return plan
    }
}

/// A few of a graph's own nodes, rewired to run one after another on a tensor the caller gives:
/// how a CLIP tower's head (final LayerNorm, projection) is applied to every token instead of the
/// pooled one. Node `k` reads the output of node `k - 1` (the first reads the input) in the slot
/// named by `dataSlots[k]`; its other inputs are the engine's constants.
public final class NodeChain: @unchecked Sendable {
    private let program: Program
    private let constants: [String: Tensor]
    private let threads: Int
    private let maxElements: Int

    public init(_ nodes: [Node], dataSlots: [Int], engine: Engine) throws(GoalError) {
        guard nodes.count == dataSlots.count, !nodes.isEmpty else {
            throw GoalError(.internal, "a node chain needs one data slot per node and at least one node")
        }
        var rewired: [Node] = []
        for (k, (node, slot)) in zip(nodes, dataSlots).enumerated() {
            guard slot < node.inputs.count else { throw GoalError(.internal, "\(node.label) has no input \(slot)") }
            var copy = node
            copy.inputs[slot] = "chain:\(k)"
            copy.outputs = ["chain:\(k + 1)"] + node.outputs.dropFirst().map { _ in "" }
            for name in copy.inputs where !name.isEmpty && !name.hasPrefix("chain:") && engine.constant(name) == nil {
                throw GoalError(.unsupported, "\(node.label) reads '\(name)', which is not a constant")
            }
            rewired.append(copy)
        }
        program = try Program(rewired, graphInputs: ["chain:0"])
        constants = engine.graph.constants
        threads = engine.threads
        maxElements = engine.maxTensorElements
    }

    public func run(_ input: Tensor) throws(GoalError) -> Tensor {
        let last = "chain:\(program.nodes.count)"
        let context = ExecutionContext(threads: threads, pool: BufferPool(), maxElements: maxElements)
        return try program.run(["chain:0": Feed(tensor: input, type: input.dtype.elementType)], [last], constants, context)[0]
    }
}

/// Per-operator time, for finding where a run goes: set GOAL_PROFILE=1 and every run adds to
/// the totals, which are printed to stderr when the process exits. Off (one branch per node)
/// otherwise.
enum Profile {
    static let enabled: Bool = getenv("GOAL_PROFILE").map { String(cString: $0) == "1" } ?? false
    private static let totals = Mutex<[String: (count: Int, seconds: Double)]>([:])
    /// Set when the exit handler is installed. (A lazily initialised global would not do: the
    /// optimiser may drop a read of one whose value is unused, and its side effect with it.)
    private static let registered = Mutex(false)

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    static func record(_ node: Node, seconds: Double) {
        registered.withLock { done in
            if !done { atexit { Profile.dump() } }
            done = true
        }
        let key = node.domain.isEmpty ? node.opType : "\(node.domain).\(node.opType)"
        totals.withLock { $0[key, default: (0, 0)].count += 1; $0[key, default: (0, 0)].seconds += seconds }
    }

    static func dump() {
        let rows = totals.withLock { $0 }.sorted { $0.value.seconds > $1.value.seconds }
        let all = rows.reduce(0) { $0 + $1.value.seconds }
        var text = "goal profile: operator, calls, total ms, share\n"
        for (op, v) in rows {
            text += "  \(op) \(v.count) \(Int(v.seconds * 1000)) \(Int(100 * v.seconds / max(all, 1e-12)))%\n"
        }
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
}
