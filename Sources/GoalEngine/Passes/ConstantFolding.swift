/// Evaluates at load every node whose inputs are all constants (weights, Constant nodes, results
/// of earlier folds) and keeps its outputs as constants; replaces each `If` whose condition is
/// then known by the nodes of the branch it takes. What is left depends on the graph's inputs.
///
/// This pre-computes, once, what exporters leave for run time: transposed and cast weights,
/// causal masks, shape arithmetic on constant shapes.
enum ConstantFolding {
    /// Outputs larger than this stay computed at run time rather than held in memory.
    static let maximumFoldedElements = 1 << 24

    static func run(_ graph: GraphIR, trustInferredShapes: Bool = false,
                    maxElements: Int = EngineOptions.defaultMaxTensorElements) throws(GoalError) {
        let context = ExecutionContext(threads: 1, pool: BufferPool(), maxElements: maxElements)
        var shapes = ShapeFolding(graph, trustInferredShapes: trustInferredShapes)
        var work = graph.nodes[...]
        var kept: [Node] = []
        kept.reserveCapacity(graph.nodes.count)
        while let node = work.popFirst() {
            if node.opType == "If" {
                work = try inline(node, graph) + work
                continue
            }
            let inputs = node.inputs.filter { !$0.isEmpty }
            guard inputs.allSatisfy({ graph.constants[$0] != nil }) else {
                if let known = shapes.fold(node, graph.constants) {
                    graph.constants[node.outputs[0]] = known[0]
                } else {
                    kept.append(node)
                }
                continue
            }
            let kernel = try Operators.kernel(for: node)
            let values: [Tensor?] = node.inputs.map { $0.isEmpty ? nil : graph.constants[$0] }
            let results = try kernel.evaluate(values, context)
            if results.contains(where: { $0.count > maximumFoldedElements }) {
                kept.append(node)
                continue
            }
            for (name, value) in zip(node.outputs, results) where !name.isEmpty {
                graph.constants[name] = value
            }
        }
        graph.nodes = kept
    }

    /// The nodes that replace an If whose condition is a constant: the taken branch's nodes, then
    /// an Identity per If output. Its constants join the graph's.
    private static func inline(_ node: Node, _ graph: GraphIR) throws(GoalError) -> [Node] {
        guard let name = node.input(0), let condition = graph.constants[name], condition.count == 1 else {
            throw GoalError(.unsupported, "\(node.label): its condition is only known at run time; libgoal runs If only when the condition is constant")
        }
        let taken = condition.intValues()[0] != 0 ? "then_branch" : "else_branch"
        guard case .graph(let branch)? = node.attributes[taken] else {
            throw GoalError(.invalidModel, "\(node.label): attribute '\(taken)' is missing")
        }
        guard branch.outputs.count == node.outputs.count else {
            throw GoalError(.invalidModel, "\(node.label): its \(taken) has \(branch.outputs.count) outputs for \(node.outputs.count)")
        }
        for (key, value) in branch.constants { graph.constants[key] = value }
        for (key, value) in branch.valueTypes where graph.valueTypes[key] == nil { graph.valueTypes[key] = value }
        var nodes = branch.nodes
        for (inner, outer) in zip(branch.outputs, node.outputs) where !outer.isEmpty {
            nodes.append(Node(name: "\(node.name)/\(taken)/\(outer)", opType: "Identity", inputs: [inner], outputs: [outer]))
        }
        return nodes
    }
}
