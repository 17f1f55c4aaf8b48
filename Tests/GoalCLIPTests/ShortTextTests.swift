import Foundation
import Testing
@testable import GoalCLIP

/// Text towers whose export fixes the sequence at the whole context run only as far as the
/// batch's longest text. These check that the shortened runs happen and change nothing: against
/// the same model run on every position (`shortenText = false`); parity of the full runs with
/// PyTorch is tested in bindings/python/tests/test_model.py.
@Suite struct ShortTextTests {
    static let captions = [
        "a cat.",
        "A large red circle is in the top left. To its right, a small blue star. The background is light gray.",
        String(repeating: "a small green square is below the yellow triangle, near the centre. ", count: 4),
        "",
    ].map { Array($0.utf8) }

    static func open(_ name: String, shorten: Bool) throws -> CLIPModel {
        var options = CLIPModel.Options()
        options.shortenText = shorten
        return try CLIPModel(path: ModelTests.folders.appendingPathComponent(name).path, options: options)
    }

    /// The fixed-context fixtures: open_clip's TorchScript export with a baked 77x77 mask, and the
    /// dynamo export whose 248 positions appear in folded reshape targets and a [1, 248, w] table.
    @Test(arguments: ["openclip_immich", "hf_248_dynamo"])
    func shortenedRunsMatchFullRuns(_ name: String) throws {
        let short = try Self.open(name, shorten: true), full = try Self.open(name, shorten: false)
        let encoder = try #require(short.text)
        #expect(encoder.fixedLength)
        #expect(encoder.runWidth(longest: 6) == 8)
        #expect(encoder.runWidth(longest: 17) == 24)
        #expect(encoder.runWidth(longest: encoder.contextLength) == encoder.contextLength)
        #expect(try full.text!.runWidth(longest: 6) == full.info.contextLength)

        // Each alone (widths 8, 24, 72, 8) and all in one batch (the longest sets the width).
        for caption in Self.captions {
            let a = try short.encodeText([caption]), b = try full.encodeText([caption])
            #expect(maxDifference(a, b) < 1e-5, "\(name): '\(String(decoding: caption, as: UTF8.self))'")
            let ta = try short.textTokens(caption), tb = try full.textTokens(caption)
            #expect(ta.ids == tb.ids)
            #expect(maxDifference(ta.embeddings, tb.embeddings) < 1e-5)
        }
        let a = try short.encodeText(Self.captions), b = try full.encodeText(Self.captions)
        #expect(maxDifference(a, b) < 1e-5)
    }

    /// A symbolic sequence axis is simply fed as wide as the longest sequence; nothing is shortened.
    @Test func symbolicAxesAreFedToTheLongest() throws {
        let model = try Self.open("hf_ts", shorten: true)
        let encoder = try #require(model.text)
        #expect(!encoder.fixedLength)
        #expect(encoder.runWidth(longest: 6) == 6)
    }
}

func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
