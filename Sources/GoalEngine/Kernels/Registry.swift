/// Every operator the engine runs, by ONNX op type (default domain only). A model using anything
/// else is refused when it is opened, never halfway through a run.
enum Operators {
    static let factories: [String: KernelFactory] = [
        "Add": { n throws(GoalError) in try BinaryKernel(.add, n) },
        "Sub": { n throws(GoalError) in try BinaryKernel(.sub, n) },
        "Mul": { n throws(GoalError) in try BinaryKernel(.mul, n) },
        "Div": { n throws(GoalError) in try BinaryKernel(.div, n) },
        "Pow": { n throws(GoalError) in try BinaryKernel(.pow, n) },
        "Mod": { n throws(GoalError) in try BinaryKernel(.mod, n) },
        "Min": { n throws(GoalError) in try BinaryKernel(.min, n) },
        "Max": { n throws(GoalError) in try BinaryKernel(.max, n) },
        "Sqrt": { n throws(GoalError) in try UnaryKernel(.sqrt, n) },
        "Exp": { n throws(GoalError) in try UnaryKernel(.exp, n) },
        "Log": { n throws(GoalError) in try UnaryKernel(.log, n) },
        "Neg": { n throws(GoalError) in try UnaryKernel(.neg, n) },
        "Abs": { n throws(GoalError) in try UnaryKernel(.abs, n) },
        "Erf": { n throws(GoalError) in try UnaryKernel(.erf, n) },
        "Tanh": { n throws(GoalError) in try UnaryKernel(.tanh, n) },
        "Sigmoid": { n throws(GoalError) in try UnaryKernel(.sigmoid, n) },
        "Relu": { n throws(GoalError) in try UnaryKernel(.relu, n) },
        "Gelu": { n throws(GoalError) in try UnaryKernel(.gelu, n) },
        "IsNaN": { n throws(GoalError) in try UnaryKernel(.isNaN, n) },
        "Not": { n throws(GoalError) in try UnaryKernel(.not, n) },
        "Identity": { n throws(GoalError) in try UnaryKernel(.identity, n) },
        "Clip": { n in ClipKernel(n) },
        "Cast": { n throws(GoalError) in try CastKernel(n) },
        "Equal": { n in CompareKernel(.equal, n) },
        "Less": { n in CompareKernel(.less, n) },
        "LessOrEqual": { n in CompareKernel(.lessOrEqual, n) },
        "Greater": { n in CompareKernel(.greater, n) },
        "GreaterOrEqual": { n in CompareKernel(.greaterOrEqual, n) },
        "And": { n in CompareKernel(.and, n) },
        "Or": { n in CompareKernel(.or, n) },
        "Where": { n in WhereKernel(n) },
        "MatMul": { n in MatMulKernel(n) },
        "Gemm": { n throws(GoalError) in try GemmKernel(n) },
        "Conv": { n throws(GoalError) in try ConvKernel(n) },
        "MaxPool": { n throws(GoalError) in try MaxPoolKernel(n) },
        "AveragePool": { n throws(GoalError) in try AveragePoolKernel(n) },
        "GlobalAveragePool": { n throws(GoalError) in try GlobalAveragePoolKernel(n) },
        "BatchNormalization": { n throws(GoalError) in try BatchNormalizationKernel(n) },
        "LayerNormalization": { n throws(GoalError) in try LayerNormalizationKernel(n) },
        "Softmax": { n throws(GoalError) in try SoftmaxKernel(n) },
        "ReduceMean": { n throws(GoalError) in try ReduceKernel(.mean, n) },
        "ReduceSum": { n throws(GoalError) in try ReduceKernel(.sum, n) },
        "ReduceMax": { n throws(GoalError) in try ReduceKernel(.max, n) },
        "ReduceMin": { n throws(GoalError) in try ReduceKernel(.min, n) },
        "ReduceL2": { n throws(GoalError) in try ReduceKernel(.l2, n) },
        "ArgMax": { n throws(GoalError) in try ArgExtremumKernel(n, maximum: true) },
        "CumSum": { n throws(GoalError) in try CumSumKernel(n) },
        "Transpose": { n throws(GoalError) in try TransposeKernel(n) },
        "Reshape": { n throws(GoalError) in try ReshapeKernel(n) },
        "Flatten": { n throws(GoalError) in try FlattenKernel(n) },
        "Squeeze": { n throws(GoalError) in try SqueezeKernel(n) },
        "Unsqueeze": { n throws(GoalError) in try UnsqueezeKernel(n) },
        "Concat": { n throws(GoalError) in try ConcatKernel(n) },
        "Split": { n throws(GoalError) in try SplitKernel(n) },
        "Slice": { n in SliceKernel(n) },
        "Gather": { n throws(GoalError) in try GatherKernel(n) },
        "GatherND": { n throws(GoalError) in try GatherNDKernel(n) },
        "Expand": { n in ExpandKernel(n) },
        "Tile": { n in TileKernel(n) },
        "Trilu": { n throws(GoalError) in try TriluKernel(n) },
        "Shape": { n throws(GoalError) in try ShapeKernel(n) },
        "Constant": { n throws(GoalError) in try ConstantKernel(n) },
        "ConstantOfShape": { n throws(GoalError) in try ConstantOfShapeKernel(n) },
        "Range": { n in RangeKernel(n) },
    ]

    /// Kernels of the patterns Fusion makes; they never appear in a model file.
    static let fused: [String: KernelFactory] = [
        "Linear": { n in LinearKernel(n) },
        "QuickGelu": { n throws(GoalError) in try UnaryKernel(.quickGelu, n) },
        "Gelu": { n throws(GoalError) in try UnaryKernel(.gelu, n) },
    ]

    /// `If` has no kernel: it is replaced by one of its branches when its condition folds.
    static let structural: Set<String> = ["If"]

    static func isSupported(domain: String, opType: String) -> Bool {
        (domain.isEmpty || domain == "ai.onnx") && (factories[opType] != nil || structural.contains(opType))
    }

    static func kernel(for node: Node) throws(GoalError) -> any Kernel {
        if node.domain == "goal", let make = fused[node.opType] { return try make(node) }
        guard let make = factories[node.opType], node.domain.isEmpty || node.domain == "ai.onnx" else {
            throw GoalError(.unsupported, "\(node.label): operator \(node.domain.isEmpty ? "" : node.domain + ".")\(node.opType) is not supported")
        }
        return try make(node)
    }

    /// Throws if any node, subgraphs included, uses an operator outside the set, listing them all.
    static func checkSupported(_ graph: GraphIR) throws(GoalError) {
        var missing: [String: [String]] = [:]
        for (domain, op, label) in graph.opTypes() where !isSupported(domain: domain, opType: op) {
            missing[domain.isEmpty ? op : "\(domain).\(op)", default: []].append(label)
        }
        guard !missing.isEmpty else { return }
        let list = missing.keys.sorted().map { op in
            let nodes = missing[op]!
            let shown = nodes.prefix(3).joined(separator: ", ") + (nodes.count > 3 ? ", and \(nodes.count - 3) more" : "")
            return "\(op) (\(shown))"
        }
        throw GoalError(.unsupported, "the model uses operators libgoal does not run: " + list.joined(separator: "; "))
    }
}
