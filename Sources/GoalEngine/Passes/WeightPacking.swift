/// Packs, once, each constant matrix that only products read (the B of MatMul and of Gemm, which
/// Fusion later turns into the W of Linear), so that no run repacks it (see `PackedMatrix`). The
/// packed tensor replaces the row-major one under the same name, and `replaced` is handed the
/// row-major one at once, so that memory the model file holds for it can be given back before
/// the next weight is packed. Weights are packed on several threads, so `replaced` may be called
/// from several at once (ox_model_release_data locks for itself).
///
/// A matrix is left alone when anything else reads it (a Gather, a subgraph, a graph output),
/// when its readers disagree on transposing it, or when a Gemm scales or transposes its other
/// operand. Small matrices are packed too: it costs nothing worth keeping a second path for.
enum WeightPacking {
    static func run(_ graph: GraphIR, threads: Int, replaced: @Sendable (Tensor) -> Void) throws(GoalError) {
        // How products read each constant (transposed or not), and the constants anything else reads.
        var reads: [String: Set<Bool>] = [:]
        var excluded: Set<String> = []
        func visit(_ nodes: [Node], outer: Bool) {
            for node in nodes {
                for (slot, name) in node.inputs.enumerated() where graph.constants[name] != nil {
                    if outer, slot == 1, let transposed = productRead(node) {
                        reads[name, default: []].insert(transposed)
                    } else {
                        excluded.insert(name)
                    }
                }
                for case .graph(let sub) in node.attributes.values { visit(sub.nodes, outer: false) }
            }
        }
        visit(graph.nodes, outer: true)
        excluded.formUnion(graph.outputs)

        var chosen: [(name: String, weight: Tensor, transposed: Bool, offset: Int)] = []
        var bytes = 0
        for (name, ways) in reads.sorted(by: { $0.key < $1.key }) {
            guard !excluded.contains(name), ways.count == 1, let transposed = ways.first,
                  let w = graph.constants[name], w.dtype == .float32, w.rank == 2, w.layout == .rowMajor else { continue }
            chosen.append((name, w, transposed, bytes))
            bytes += (PackedMatrix.byteCount(w, transposed: transposed) + 63) / 64 * 64
        }
        guard !chosen.isEmpty else { return }
        // One block for all of them: few page faults to fill, and no huge page half used per weight.
        let arena = try Storage(longLivedByteCount: bytes)
        let packed = chosen.map { PackedMatrix.slot(for: $0.weight, transposed: $0.transposed, in: arena, at: $0.offset) }
        parallelChunks(chosen.count, threads: threads) { range in
            for i in range {
                PackedMatrix.fill(packed[i], from: chosen[i].weight)
                replaced(chosen[i].weight)
            }
        }
        for (item, tensor) in zip(chosen, packed) { graph.constants[item.name] = tensor }
    }

    /// For a node reading a constant as its second input: whether a product reads it transposed
    /// (false for MatMul, transB for a plain Gemm), or nil for anything else.
    private static func productRead(_ node: Node) -> Bool? {
        guard node.domain.isEmpty || node.domain == "ai.onnx" else { return nil }
        switch node.opType {
        case "MatMul":
            return false
        case "Gemm":
            guard (try? node.int("transA", default: 0)) == 0, (try? node.float("alpha", default: 1)) == 1,
                  let transB = try? node.int("transB", default: 0) else { return nil }
            return transB != 0
        default:
            return nil
        }
    }
}
