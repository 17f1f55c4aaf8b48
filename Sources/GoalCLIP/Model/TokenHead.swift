/// Where a tower's token states are and what turns one of them into the joint space.
///
/// A CLIP tower ends: token states [batch, tokens, width] → (LayerNorm over every token) → pick
/// one token or average them → (LayerNorm of the pooled vector) → projection → (L2 norm). Exports
/// differ in where the LayerNorm sits (HF vision pools before its post-LN, HF text and open_clip
/// after) and in how they spell the pooling, so the head is found in the graph: walk from the
/// pooled output up the chain of its data inputs, run once to learn each value's shape, and take
/// the nearest [batch, tokens, width] value as the token states. The LayerNorms and projection
/// passed on the way, applied to every token, give the token embeddings.
struct TokenHead: Sendable {
    /// The value holding the token states: the last layer's, before any LayerNorm applied to
    /// every token.
    let states: String
    /// The graph's own head nodes, in data-flow order; nil when the states are already the
    /// embeddings.
    let chain: NodeChain?

    /// Projects token states [batch, tokens, width] to [batch, tokens, dim].
    func project(_ states: Tensor) throws(GoalError) -> Tensor {
        guard let chain else { return states }
        let (b, n, w) = (states.shape[0], states.shape[1], states.shape[2])
        let out = try chain.run(states.reshaped([b * n, w]))
        guard out.rank == 2, out.shape[0] == b * n, out.dtype == .float32 else {
            throw GoalError(.internal, "the tower's head gave shape \(out.shape) for \(b * n) tokens")
        }
        return out.reshaped([b, n, out.shape[1]])
    }
}

/// One step of the walk: a node and the input slot the walk left it by.
private struct Step {
    let node: Node
    let slot: Int
    var input: String { node.inputs[slot] }
}

/// The walk from a tower output up through its data inputs, nearest node first.
struct HeadPath: Sendable {
    private let steps: [Step]

    init(engine: Engine, output: String) {
        var producer: [String: Node] = [:]
        for node in engine.nodes {
            for name in node.outputs where !name.isEmpty { producer[name] = node }
        }
        var steps: [Step] = []
        var value = output
        // Heads are a handful of nodes and pooling a dozen at most; the cap keeps a walk into an
        // encoder short.
        while steps.count < 48, let node = producer[value], let slot = dataSlot(node, engine) {
            steps.append(Step(node: node, slot: slot))
            value = node.inputs[slot]
        }
        self.steps = steps
    }

    /// The values the walk passes, nearest first: what a probe run asks for.
    var values: [String] { steps.map(\.input) }

    /// The output width of the first projection on the path, if its weight is a constant.
    func projectionWidth(_ engine: Engine) -> Int? {
        for step in steps {
            let n = step.node
            switch (n.domain, n.opType) {
            case ("", "MatMul"):
                if let w = engine.constant(n.inputs[1 - step.slot]), w.rank == 2 { return w.shape[1] }
            case ("", "Gemm"):
                if let b = n.input(1), let w = engine.constant(b), w.rank == 2 {
                    return (try? n.int("transB", default: 0)) == 1 ? w.shape[0] : w.shape[1]
                }
            case ("goal", "Linear"):
                if let w = engine.constant(n.inputs[1]), w.rank == 2 { return w.shape[1] }
            default: continue
            }
        }
        return nil
    }

    /// The head, given the probe's results for `values` (same order) at batch size `batch`.
    /// `tower` names the tower in messages.
    func head(_ probed: [Tensor], batch: Int, engine: Engine, tower: String) throws(GoalError) -> TokenHead {
        guard let k = probed.indices.first(where: { probed[$0].rank == 3 && probed[$0].shape[0] == batch }) else {
            throw GoalError(.unsupported,
                            "the \(tower) tower's output does not come from a [batch, tokens, width] tensor through a pooling step, so it has no token-level embeddings")
        }
        // Take the states from before a LayerNorm the tower applies to every token (open_clip's
        // ln_post, HF text's final LN), so that averaging them over a region or a sentence (TSL)
        // happens where the tower's own head begins; that LN then joins the head.
        var top = k
        var j = k + 1
        while j < steps.count, probed[j].rank == 3, probed[j].shape[0] == batch {
            let op = steps[j].node.opType
            if op == "LayerNormalization" && steps[j].node.domain.isEmpty {
                top = j
            } else if op != "Cast" && op != "Identity" {
                break
            }
            j += 1
        }
        var nodes: [Node] = [], slots: [Int] = []
        var projected = false
        for step in steps[0...top].reversed() {
            let n = step.node
            let constOther = n.inputs.indices.contains { $0 != step.slot && engine.constant(n.inputs[$0]) != nil }
            switch (n.domain, n.opType) {
            case ("", "LayerNormalization"):
                guard !projected else { throw refuse(n, tower, "a LayerNorm after the projection") }
            case ("", "MatMul") where step.slot == 0 && constOther,
                 ("", "Gemm") where step.slot == 0 && (try? n.int("transA", default: 0)) == 0,
                 ("goal", "Linear") where step.slot == 0 && n.inputs.count == 3:  // not with a residual
                projected = true
            case ("", "Add"), ("", "Sub"), ("", "Mul"), ("", "Div"):
                // With a constant: a bias or a scale, applied per token. Without one: the L2
                // normalisation after the projection, which the caller redoes per token.
                if !constOther {
                    guard projected, n.opType == "Div" || n.opType == "Mul" else {
                        throw refuse(n, tower, "an operation on the pooled vector that is not a LayerNorm or a projection")
                    }
                    continue
                }
            case ("", "Gather"), ("", "GatherND"), ("", "GatherElements"), ("", "Reshape"), ("", "Flatten"),
                 ("", "Squeeze"), ("", "Unsqueeze"), ("", "Slice"), ("", "Identity"), ("", "Cast"),
                 ("", "ReduceMean"):
                // The pooling itself, or reshapes around it: not applied per token.
                continue
            default:
                throw refuse(n, tower, "a pooling step libgoal does not recognise")
            }
            nodes.append(n)
            slots.append(step.slot)
        }
        let chain = nodes.isEmpty ? nil : try NodeChain(nodes, dataSlots: slots, engine: engine)
        return TokenHead(states: steps[top].input, chain: chain)
    }

    private func refuse(_ node: Node, _ tower: String, _ what: String) -> GoalError {
        GoalError(.unsupported, "the \(tower) tower's head has \(what) (\(node.label)); token-level embeddings need a head of LayerNorms and a projection")
    }
}

/// The input slot that carries the data: input 0 unless it is a constant (as in HF's
/// `Add(bias, x)`), then the first input that is not.
private func dataSlot(_ node: Node, _ engine: Engine) -> Int? {
    let live = node.inputs.indices.filter { !node.inputs[$0].isEmpty && engine.constant(node.inputs[$0]) == nil }
    if live.contains(0) { return 0 }
    return live.first
}
