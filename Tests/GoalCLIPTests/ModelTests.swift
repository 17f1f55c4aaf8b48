import Foundation
import Testing
@testable import GoalCLIP

/// The Swift face of a model folder. Numerical parity with PyTorch and onnxruntime is tested in
/// bindings/python/tests/test_model.py, where the references can be read; these check the Swift
/// API's own promises.
@Suite struct ModelTests {
    static let folders = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/folders")
    static let images = folders.deletingLastPathComponent().appendingPathComponent("images")

    @Test(arguments: ["hf_ts", "hf_248_dynamo", "openclip_immich"])
    func opensAndEncodes(_ name: String) throws {
        let model = try CLIPModel(path: Self.folders.appendingPathComponent(name).path)
        #expect(model.info.dim == 16 && model.info.imageSize == 32 && model.info.patchSize == 8)
        #expect(model.info.contextLength == (name == "hf_248_dynamo" ? 248 : 77))
        #expect(model.info.convention == (name == "openclip_immich" ? .openAI : .huggingFace))
        let caption = Array("a photo of an astronaut riding a horse".utf8)
        let text = try model.encodeText([caption])
        #expect(text.count == 16)
        #expect(abs(text.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5)
        // The end token's projected state is the pooled embedding.
        let tokens = try model.textTokens(caption)
        #expect(tokens.ids.first == 49406 && tokens.ids.last == 49407)
        let last = Array(tokens.embeddings.suffix(16))
        #expect(zip(last, text).allSatisfy { abs($0 - $1) < 1e-5 })
        let image = try model.imageTokens(.file(Self.images.appendingPathComponent("astronaut_wide.jpg").path))
        #expect(image.rows == 4 && image.columns == 4 && image.embeddings.count == 16 * 16)
    }

    @Test func missingPiecesAreNamed() throws {
        #expect(throws: GoalError.self) { try CLIPModel(path: "/nonexistent/model") }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("goal-empty-\(UUID())")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        do {
            _ = try CLIPModel(path: empty.path)
            Issue.record("an empty folder opened")
        } catch {
            #expect(error.kind == .notFound && error.message.contains("text_model.onnx"))
        }
    }
}

@Suite struct SentenceTests {
    func split(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        return sentenceRanges(bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    @Test func splitsOnEndMarks() {
        #expect(split("A red circle. A blue star!  Is it green?") == ["A red circle.", "A blue star!", "Is it green?"])
        #expect(split("No end mark here") == ["No end mark here"])
        #expect(split("   ") == [])
    }

    @Test func keepsDecimalsAbbreviationsAndEllipses() {
        #expect(split("It is 3.5 m tall. Next.") == ["It is 3.5 m tall.", "Next."])
        #expect(split("Mr. Smith met Dr. Jones on St. Mark's square, e.g. at noon. Then left.")
                == ["Mr. Smith met Dr. Jones on St. Mark's square, e.g. at noon.", "Then left."])
        #expect(split("J. R. Tolkien wrote it. Yes.") == ["J. R. Tolkien wrote it.", "Yes."])
        #expect(split("Wait... then it moved. Done.") == ["Wait... then it moved.", "Done."])
        #expect(split("He said \"stop.\" Then ran.") == ["He said \"stop.\"", "Then ran."])
    }
}
