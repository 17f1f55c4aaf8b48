import Foundation
import Testing

@testable import GoalEngine

/// The repository's fixtures folder, found from this file's place in the tree.
private let fixtures: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // Tests/GoalEngineTests/ModelFileTests.swift
    return parts.joined(separator: "/") + "/fixtures"
}()

private func open(_ relative: String, _ options: LoadOptions = LoadOptions()) throws(GoalError) -> ModelFile {
    try ModelFile(path: "\(fixtures)/\(relative)", options: options)
}

private func kind(of relative: String) -> GoalError.Kind? {
    do {
        _ = try open(relative)
        return nil
    } catch {
        return error.kind
    }
}

@Suite struct ModelFileTests {
    @Test func eachFailureHasItsKind() {
        #expect(kind(of: "bad/nothing_here.onnx") == .notFound)
        #expect(kind(of: "bad") == .io)
        #expect(kind(of: "bad/corrupt.onnx") == .notONNX)
        #expect(kind(of: "bad/truncated.onnx") == .truncated)
        #expect(kind(of: "bad/missing_data/model.onnx") == .externalData)
        #expect(kind(of: "bad/short_data/model.onnx") == .externalData)
        #expect(kind(of: "bad/escape/model.onnx") == .pathEscape)
        #expect(kind(of: "bad/absolute/model.onnx") == .pathEscape)
    }

    @Test func externalDataIsMappedAndEqualsTheEmbeddedWeights() throws {
        // The same dynamo export saved twice: weights inside the .onnx, and in model.onnx.data.
        let embedded = try open("models/hf_vision_dynamo/model.onnx")
        let external = try open("models/hf_vision_external/model.onnx")
        #expect(external.initializers.filter { $0.isExternal }.count >= external.initializers.count / 2)
        #expect(embedded.initializers.allSatisfy { !$0.isExternal })
        let byName = Dictionary(uniqueKeysWithValues: embedded.initializers.map { ($0.name, $0) })
        #expect(byName.count == external.initializers.count)
        for tensor in external.initializers {
            let twin = try #require(byName[tensor.name])
            #expect(tensor.shape == twin.shape)
            #expect(tensor.elementType == twin.elementType)
            #expect(Array(tensor.bytes) == Array(twin.bytes), "\(tensor.name)")
        }
    }

    @Test func payloadSizesFollowTypeAndShape() throws {
        let widths: [ElementType: Int] = [.float32: 4, .float16: 2, .int64: 8, .int32: 4, .uint8: 1, .int8: 1, .bool: 1]
        for name in ["hf_text_ts", "hf_vision_fp16", "openclip_text_ts"] {
            let model = try open("models/\(name)/model.onnx")
            for tensor in model.initializers {
                let count = tensor.shape.reduce(1) { $0 * Int($1) }
                let width = try #require(widths[tensor.elementType], "\(tensor.elementType)")
                #expect(tensor.bytes.count == count * width, "\(name)/\(tensor.name)")
            }
        }
        let fp16 = try open("models/hf_vision_fp16/model.onnx")
        #expect(fp16.initializers.contains { $0.elementType == .float16 })
    }

    @Test func newerThanLibonnxLoadsWithDiagnostics() throws {
        let model = try open("models/hf_text_dynamo/model.onnx")
        #expect(model.irVersion > ModelFile.libonnxLimits.irVersion)
        #expect(model.diagnostics.contains { $0.contains("IR version \(model.irVersion)") })
    }

    @Test func declaredSignatureIsReported() throws {
        let model = try open("models/hf_vision_ts/model.onnx")
        #expect(model.inputs.map(\.name) == ["pixel_values"])
        #expect(model.inputs[0].elementType == .float32)
        let shape = try #require(model.inputs[0].shape)
        #expect(shape.count == 4)
        #expect(Array(shape[1...]) == [.fixed(3), .fixed(32), .fixed(32)])
        if case .symbolic = shape[0] {} else { Issue.record("batch axis should be symbolic, got \(shape[0])") }
        #expect(model.opsets.contains(OpsetImport(domain: "ai.onnx", version: 17)))
    }

    /// Large payloads inside a model file are read from a mapping of the file, not parsed into
    /// protobuf's own copy (mapped_payloads.cpp). Against the ordinary parse, which a file name
    /// that could not be an external-data location (a drive-letter colon) still takes: the same
    /// bytes, shapes and types, none of them shown as external data.
    @Test func payloadsLeftInTheFileEqualTheParsedOnes() throws {
        let source = "\(fixtures)/models/hf_vision_dynamo/model.onnx"
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("goal-mapped-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let parsedPath = folder.appendingPathComponent("c:model.onnx").path
        try FileManager.default.copyItem(atPath: source, toPath: parsedPath)

        let mapped = try ModelFile(path: source)
        let parsed = try ModelFile(path: parsedPath)
        let large = mapped.initializers.filter { $0.bytes.count >= 4096 }
        #expect(large.count >= 10, "the fixture has weights large enough to stay in the file")
        #expect(mapped.initializers.allSatisfy { !$0.isExternal })
        #expect(mapped.initializers.count == parsed.initializers.count)
        for (a, b) in zip(mapped.initializers, parsed.initializers) {
            #expect(a.name == b.name && a.shape == b.shape && a.elementType == b.elementType)
            #expect(Array(a.bytes) == Array(b.bytes), "\(a.name)")
        }
        // Each can be given back, whether read in place or copied to an aligned address (one
        // read in place needs a whole page inside it: two pages' bytes make sure).
        for tensor in large where tensor.bytes.count >= 8192 {
            #expect(mapped.releasePayload(at: tensor.bytes.baseAddress!), "\(tensor.name)")
        }
    }
}
