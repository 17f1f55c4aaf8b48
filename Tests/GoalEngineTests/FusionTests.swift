import Testing

@testable import GoalEngine

private let fixtures: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/") + "/fixtures/models"
}()

/// A fixture's graph after constant folding and, if asked, fusion.
private func prepared(_ name: String, fuse: Bool, trustInferredShapes: Bool = false) throws -> GraphIR {
    let path = name.hasSuffix(".onnx") ? "\(fixtures)/../\(name)" : "\(fixtures)/\(name)/model.onnx"
    let graph = try GraphIR(model: try ModelFile(path: path))
    try ConstantFolding.run(graph, trustInferredShapes: trustInferredShapes)
    if fuse { Fusion.run(graph) }
    return graph
}

/// Op types of a fixture's graph after constant folding and, if asked, fusion.
private func opTypes(_ name: String, fuse: Bool, trustInferredShapes: Bool = false) throws -> [String: Int] {
    try prepared(name, fuse: fuse, trustInferredShapes: trustInferredShapes).nodes
        .reduce(into: [:]) { $0[$1.opType, default: 0] += 1 }
}

@Suite struct FusionTests {
    // The fused-versus-unfused parity tests (Python) only mean something if fusions happen.
    @Test func hfTextFusesLinearAndQuickGelu() throws {
        let plain = try opTypes("hf_text_ts", fuse: false), fused = try opTypes("hf_text_ts", fuse: true)
        #expect(fused["QuickGelu"] == plain["Sigmoid"])
        #expect((fused["Linear"] ?? 0) >= 2 * 6)  // q, k, v, out, fc1, fc2 in each of 2 layers
        #expect((fused["MatMul"] ?? 0) < (plain["MatMul"] ?? 0))
    }

    @Test func residualAddsJoinTheProductsBeforeThem() throws {
        for name in ["hf_text_ts", "hf_vision_ts"] {
            let plain = try opTypes(name, fuse: false), graph = try prepared(name, fuse: true)
            let withResidual = graph.nodes.filter { $0.opType == "Linear" && $0.inputs.count == 4 }.count
            let adds = graph.nodes.filter { $0.opType == "Add" }.count
            // The attention output and the second MLP product of each of the 2 layers.
            #expect(withResidual == 2 * 2, "\(name)")
            #expect(adds <= (plain["Add"] ?? 0) - withResidual, "\(name)")
        }
    }

    @Test func openClipFusesErfGelu() throws {
        let plain = try opTypes("openclip_text_ts", fuse: false), fused = try opTypes("openclip_text_ts", fuse: true)
        #expect(fused["Gelu"] == plain["Erf"])
        #expect(fused["Erf"] == nil)
    }

    @Test func shapeArithmeticFoldsWhenOnlyTheBatchIsSymbolic() throws {
        // TorchScript's vision export computes reshape targets from Shape at run time; where the
        // shapes are known but for the batch, those Shape nodes become constants.
        let plain = try opTypes("hf_vision_ts", fuse: false)
        let folded = try opTypes("hf_vision_ts", fuse: false, trustInferredShapes: true)
        #expect((folded["Shape"] ?? 0) < (plain["Shape"] ?? 0))
    }

    @Test func decomposedLayerNormBecomesOneNode() throws {
        let fused = try opTypes("patterns/layernorm_decomposed.onnx", fuse: true)
        #expect(fused == ["LayerNormalization": 1, "Linear": 1])
    }

    @Test func constantFoldingRemovesConstantNodes() throws {
        let folded = try opTypes("hf_text_ts", fuse: false)
        #expect(folded["Constant"] == nil)
    }

    @Test func productWeightsArePackedAndReadBackExactly() throws {
        let path = "\(fixtures)/hf_text_ts/model.onnx"
        var plainOptions = EngineOptions()
        plainOptions.fuse = false
        let engine = try Engine(model: try ModelFile(path: path))
        let plain = try Engine(model: try ModelFile(path: path), options: plainOptions)
        let packed = engine.graph.constants.filter { $0.value.layout != .rowMajor }.keys.sorted()
        #expect(packed.count >= 2 * 6)  // q, k, v, out, fc1, fc2 in each of 2 layers
        for name in packed {
            // Asked for as a value, a packed weight comes back as the file has it.
            let value = try engine.run([:], outputs: [name])[0]
            let original = try #require(plain.constant(name))
            #expect(value.layout == .rowMajor && value.shape == original.shape)
            #expect(Array(value.floats) == Array(original.floats), "\(name)")
        }
    }
}
