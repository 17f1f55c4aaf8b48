/// Replaces op patterns by fused kernels (domain "goal"). Every fused pattern also runs unfused
/// (EngineOptions.fuse = false), and the tests compare the two. A pattern is fused only when its
/// inner values have no other reader, so the rewrite is invisible except through speed.
///
/// - MatMul(x, W) + b, W a constant matrix and b a constant row → Linear: GEMM with a bias epilogue.
/// - Linear(x, W, b) + r, r not a constant (a residual connection) → Linear(x, W, b, r): r is
///   added as the product stores its tiles, instead of in a pass of its own.
/// - x · sigmoid(1.702 · x) → QuickGelu (OpenAI CLIP's activation, in HF exports).
/// - 0.5 · x · (1 + erf(x / √2)) → Gelu (open_clip's and torch's exact GELU).
/// - LayerNorm spelled out in nine ops (exports below opset 17) → LayerNormalization.
enum Fusion {
    static func run(_ graph: GraphIR) {
        var rewriter = Rewriter(graph)
        rewriter.fuseLayerNorm()
        rewriter.fuseActivations()
        rewriter.fuseLinear()
        rewriter.fuseResidual()
        graph.nodes = rewriter.result()
    }

    private struct Rewriter {
        let graph: GraphIR
        var nodes: [Node?]
        var producer: [String: Int] = [:]
        var readers: [String: Int] = [:]

        init(_ graph: GraphIR) {
            self.graph = graph
            nodes = graph.nodes
            for (i, node) in graph.nodes.enumerated() {
                for name in node.outputs where !name.isEmpty { producer[name] = i }
                for name in node.inputs where !name.isEmpty { readers[name, default: 0] += 1 }
            }
            for name in graph.outputs { readers[name, default: 0] += 1 }
        }

        func result() -> [Node] { nodes.compactMap { $0 } }

        /// The node producing `value` if it has op type `op` and `value` has exactly one reader.
        func sole(_ value: String, _ op: String) -> (Int, Node)? {
            guard readers[value] == 1, let i = producer[value], let node = nodes[i], node.opType == op,
                  node.domain.isEmpty else { return nil }
            return (i, node)
        }

        func scalar(_ name: String) -> Float? {
            guard let t = graph.constants[name], t.count == 1, t.dtype == .float32 else { return nil }
            return t.floats[0]
        }

        /// For a two-input node, the input other than `name`.
        func other(_ node: Node, than name: String) -> String? {
            guard node.inputs.count == 2 else { return nil }
            return node.inputs[0] == name ? node.inputs[1] : (node.inputs[1] == name ? node.inputs[0] : nil)
        }

        mutating func replace(_ removed: [Int], last: Int, with node: Node) {
            for i in removed { nodes[i] = nil }
            nodes[last] = node
        }

        mutating func fuseActivations() {
            for last in nodes.indices {
                guard let mul = nodes[last], mul.opType == "Mul", mul.domain.isEmpty, mul.inputs.count == 2 else { continue }
                // QuickGelu: Mul(x, Sigmoid(Mul(x, 1.702)))
                for (k, gate) in mul.inputs.enumerated() {
                    guard let (si, sig) = sole(gate, "Sigmoid"), let (pi, pre) = sole(sig.inputs[0], "Mul") else { continue }
                    let x = mul.inputs[1 - k]
                    guard let c = other(pre, than: x).flatMap(scalar), abs(c - 1.702) < 1e-4 else { continue }
                    replace([si, pi], last: last, with: Node(name: mul.name, opType: "QuickGelu", domain: "goal",
                                                             inputs: [x], outputs: mul.outputs))
                    break
                }
                guard nodes[last]?.opType == "Mul" else { continue }
                // Gelu: Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5)
                guard let half = mul.inputs.first(where: { scalar($0) == 0.5 }),
                      let inner = other(mul, than: half), let (mi, product) = sole(inner, "Mul") else { continue }
                for (k, bracket) in product.inputs.enumerated() {
                    let x = product.inputs[1 - k]
                    guard let (ai, add) = sole(bracket, "Add"),
                          let erfName = add.inputs.first(where: { scalar($0) == nil }),
                          other(add, than: erfName).flatMap(scalar) == 1,
                          let (ei, erf) = sole(erfName, "Erf"), let (di, div) = sole(erf.inputs[0], "Div"),
                          div.inputs.count == 2, div.inputs[0] == x,
                          let root = scalar(div.inputs[1]), abs(root - 1.41421356) < 1e-4 else { continue }
                    replace([mi, ai, ei, di], last: last, with: Node(name: mul.name, opType: "Gelu", domain: "goal",
                                                                     inputs: [x], outputs: mul.outputs))
                    break
                }
            }
        }

        /// Axes of a ReduceMean that averages only the last axis and keeps it.
        func meansLastAxis(_ node: Node) -> Bool {
            let axes = node.input(1).flatMap { graph.constants[$0]?.intValues() } ?? ((try? node.ints("axes")) ?? nil)
            return axes == [-1] && (try? node.int("keepdims", default: 1)) == 1
        }

        // y = (x − mean(x)) / sqrt(mean((x − mean(x))²) + ε) · γ + β, as torch.onnx writes it.
        mutating func fuseLayerNorm() {
            for last in nodes.indices {
                guard let addBeta = nodes[last], addBeta.opType == "Add", addBeta.domain.isEmpty, addBeta.inputs.count == 2 else { continue }
                for (k, scaled) in addBeta.inputs.enumerated() {
                    let beta = addBeta.inputs[1 - k]
                    guard graph.constants[beta] != nil, let (mi, mulGamma) = sole(scaled, "Mul"),
                          let normalized = mulGamma.inputs.first(where: { graph.constants[$0] == nil }),
                          let gamma = other(mulGamma, than: normalized), graph.constants[gamma] != nil,
                          let (vi, div) = sole(normalized, "Div"), div.inputs.count == 2,
                          let (si, sqrt) = sole(div.inputs[1], "Sqrt"),
                          let (ai, addEps) = sole(sqrt.inputs[0], "Add"),
                          let varName = addEps.inputs.first(where: { scalar($0) == nil }),
                          let epsilon = other(addEps, than: varName).flatMap(scalar),
                          let (ri, variance) = sole(varName, "ReduceMean"), meansLastAxis(variance),
                          let (pi, square) = sole(variance.inputs[0], "Pow"), square.inputs.count == 2,
                          scalar(square.inputs[1]) == 2, square.inputs[0] == div.inputs[0],
                          readers[div.inputs[0]] == 2, let di = producer[div.inputs[0]], let sub = nodes[di],
                          sub.opType == "Sub", sub.domain.isEmpty, sub.inputs.count == 2,
                          let (ei, mean) = sole(sub.inputs[1], "ReduceMean"), meansLastAxis(mean),
                          mean.inputs[0] == sub.inputs[0] else { continue }
                    let x = sub.inputs[0]
                    replace([mi, vi, si, ai, ri, pi, di, ei], last: last,
                            with: Node(name: addBeta.name, opType: "LayerNormalization", inputs: [x, gamma, beta],
                                       outputs: addBeta.outputs,
                                       attributes: ["axis": .int(-1), "epsilon": .float(epsilon)]))
                    break
                }
            }
        }

        mutating func fuseResidual() {
            for last in nodes.indices {
                guard let add = nodes[last], add.opType == "Add", add.domain.isEmpty, add.inputs.count == 2 else { continue }
                for (k, product) in add.inputs.enumerated() {
                    let residual = add.inputs[1 - k]
                    guard residual != product, graph.constants[residual] == nil, let i = producer[product],
                          readers[product] == 1, let linear = nodes[i], linear.opType == "Linear",
                          linear.domain == "goal", linear.inputs.count == 3 else { continue }
                    replace([i], last: last, with: Node(name: add.name, opType: "Linear", domain: "goal",
                                                        inputs: linear.inputs + [residual], outputs: add.outputs))
                    break
                }
            }
        }

        mutating func fuseLinear() {
            for last in nodes.indices {
                guard let add = nodes[last], add.opType == "Add", add.domain.isEmpty, add.inputs.count == 2 else { continue }
                for (k, product) in add.inputs.enumerated() {
                    let bias = add.inputs[1 - k]
                    guard let (mi, matmul) = sole(product, "MatMul"), matmul.inputs.count == 2,
                          let w = graph.constants[matmul.inputs[1]], w.rank == 2, w.dtype == .float32,
                          let b = graph.constants[bias], b.dtype == .float32, b.count == w.shape[1],
                          b.shape.dropLast().allSatisfy({ $0 == 1 }) else { continue }
                    replace([mi], last: last, with: Node(name: add.name, opType: "Linear", domain: "goal",
                                                         inputs: [matmul.inputs[0], matmul.inputs[1], bias],
                                                         outputs: add.outputs))
                    break
                }
            }
        }
    }
}
