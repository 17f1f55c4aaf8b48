import Synchronization

/// One tower of a CLIP model: a prepared graph, the output holding its pooled embedding, and its
/// token head, found on first use. Immutable once made apart from that cache; runs may overlap.
final class Tower: @unchecked Sendable {
    enum Kind: String { case text, image }

    let kind: Kind
    let engine: Engine
    /// The graph output holding the pooled embedding.
    let output: String
    /// The graph inputs `output` depends on.
    let inputs: [ValueInfo]
    /// The embedding width, when the graph tells it without running.
    let staticDim: Int?
    private let path: HeadPath
    private let head = Mutex<TokenHead?>(nil)

    init(_ kind: Kind, engine: Engine, file: String) throws(GoalError) {
        self.kind = kind
        self.engine = engine
        let declared = Dictionary(engine.model.inputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func belongs(_ input: ValueInfo) -> Bool {
            switch kind {
            case .text: [.int64, .int32].contains(input.elementType)
            case .image: [.float32, .float16].contains(input.elementType) && input.shape?.count == 4
            }
        }
        // Outputs of this tower read only this tower's inputs (a combined file has both).
        let own = engine.graphOutputs.filter { name in
            let needed = engine.requiredInputs(for: [name])
            return !needed.isEmpty && needed.allSatisfy { declared[$0].map(belongs) ?? false }
        }
        let preferred = kind == .text
            ? ["text_embeds", "embedding", "text_embedding", "text_features", "pooler_output"]
            : ["image_embeds", "embedding", "image_embedding", "image_features", "pooler_output"]
        let ranks = Dictionary(engine.model.outputs.map { ($0.name, $0.shape?.count) }, uniquingKeysWith: { a, _ in a })
        guard let output = preferred.first(where: own.contains)
                ?? own.first(where: { ranks[$0] == 2 }) ?? own.first(where: { ranks[$0] == nil }) else {
            let outs = engine.graphOutputs.map { "'\($0)'" }.joined(separator: ", ")
            throw GoalError(.notFound, "\(file): no \(kind.rawValue) embedding output among \(outs) (looked for one of \(preferred.joined(separator: ", ")), or a [batch, dim] output computed from \(kind == .text ? "integer token inputs" : "a [batch, 3, height, width] float input") alone)")
        }
        self.output = output
        inputs = engine.requiredInputs(for: [output]).compactMap { declared[$0] }
        path = HeadPath(engine: engine, output: output)
        let declaredOut = engine.model.outputs.first { $0.name == output }?.shape
        if let dims = declaredOut, dims.count == 2, case .fixed(let d) = dims[1] {
            staticDim = Int(d)
        } else {
            staticDim = path.projectionWidth(engine)
        }
    }

    /// The pooled embeddings, `batch` rows of `dim`, L2-normalised per row. `runner` is this
    /// tower's engine or a shortened copy of it (see `Engine.shortened`).
    func embed(_ feeds: [String: Feed], batch: Int, runner: Engine? = nil) throws(GoalError) -> (dim: Int, values: [Float]) {
        let out = try (runner ?? engine).run(feeds, outputs: [output])[0]
        guard out.rank == 2, out.shape[0] == batch, out.dtype == .float32 else {
            throw GoalError(.unsupported, "the \(kind.rawValue) output '\(output)' has shape \(out.shape); [\(batch), dim] floats were expected")
        }
        return (out.shape[1], normalizedRows(out.floats, width: out.shape[1]))
    }

    /// Token states [batch, tokens, width] (before the head) and the head that projects them.
    func tokenStates(_ feeds: [String: Feed], batch: Int, runner: Engine? = nil) throws(GoalError) -> (head: TokenHead, states: Tensor) {
        let runner = runner ?? engine
        let states: Tensor
        let found: TokenHead
        if let known = head.withLock({ $0 }) {
            found = known
            states = try runner.run(feeds, outputs: [known.states])[0]
        } else {
            let probed = try runner.run(feeds, outputs: path.values)
            found = try path.head(probed, batch: batch, engine: engine, tower: kind.rawValue)
            head.withLock { $0 = found }
            states = probed[path.values.firstIndex(of: found.states)!]
        }
        guard states.rank == 3, states.shape[0] == batch, states.dtype == .float32 else {
            throw GoalError(.internal, "token states '\(found.states)' have shape \(states.shape)")
        }
        return (found, states)
    }

    /// Token embeddings [batch, tokens, dim] (all tokens the states have, unnormalised).
    func tokens(_ feeds: [String: Feed], batch: Int, runner: Engine? = nil) throws(GoalError) -> Tensor {
        let (head, states) = try tokenStates(feeds, batch: batch, runner: runner)
        return try head.project(states)
    }

    /// The head applied to `rows` state vectors of the tower's width: [rows, dim], unnormalised.
    func project(_ states: [Float], rows: Int) throws(GoalError) -> Tensor {
        guard let found = head.withLock({ $0 }) else {
            throw GoalError(.internal, "the \(kind.rawValue) tower's head is not known before its states were read")
        }
        let width = rows > 0 ? states.count / rows : 0
        let out = try found.project(try Tensor(floats: states, shape: [1, rows, width]))
        return out.reshaped([rows, out.shape[2]])
    }
}

/// A copy of rows of `width` floats, each scaled to unit length; an all-zero row stays zero.
package func normalizedRows(_ p: some Collection<Float>, width: Int) -> [Float] {
    var out = Array(p)
    guard width > 0 else { return out }
    for r in 0..<(out.count / width) {
        var sum: Double = 0
        for i in 0..<width { sum += Double(out[r * width + i]) * Double(out[r * width + i]) }
        guard sum > 0 else { continue }
        let inv = 1 / sum.squareRoot()
        for i in 0..<width { out[r * width + i] = Float(Double(out[r * width + i]) * inv) }
    }
    return out
}
