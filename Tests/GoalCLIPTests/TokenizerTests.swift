import Foundation
import Testing
@testable import GoalCLIP

/// The CLIP tokenizer against fixtures written by tools/make_tokenizer_fixtures.py from HF
/// tokenizers and open_clip.
@Suite struct TokenizerTests {
    static let dir = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/tokenizer")
    static let gzPath = dir.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz").path
    static let jsonPath = dir.appendingPathComponent("tokenizer.json").path

    static func jsonLines(_ name: String) throws -> [Any] {
        let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
        return try text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map {
            try JSONSerialization.jsonObject(with: Data($0.utf8), options: [.fragmentsAllowed])
        }
    }

    static let corpus: [String] = (try? jsonLines("corpus.jsonl").compactMap { $0 as? String }) ?? []

    static func expected(_ name: String) throws -> [[Int32]] {
        try jsonLines(name).map { ($0 as? [NSNumber] ?? []).map { $0.int32Value } }
    }

    /// Compares every corpus line; reports the first few differences.
    func check(_ tokenizer: CLIPTokenizer, against name: String) throws {
        let expected = try Self.expected(name)
        #expect(expected.count == Self.corpus.count)
        #expect(Self.corpus.count > 3000)
        var mismatches = 0
        for (line, want) in zip(Self.corpus, expected) {
            let got = try tokenizer.encode(Array(line.utf8), contextLength: 1 << 30)
            if got != want {
                mismatches += 1
                if mismatches <= 5 {
                    Issue.record("\(name): \(line.debugDescription.prefix(200))\n got  \(got.prefix(40))\n want \(want.prefix(40))")
                }
            }
        }
        print("\(name): \(Self.corpus.count) lines, \(mismatches) mismatches")
        #expect(mismatches == 0)
    }

    @Test func huggingFaceCorpus() throws {
        try check(try CLIPTokenizer.load(tokenizerJSON: Self.jsonPath), against: "expected_hf.jsonl")
    }

    @Test func openAICorpus() throws {
        try check(try CLIPTokenizer.load(openAIBPE: Self.gzPath), against: "expected_openai.jsonl")
    }

    /// tokenizer.json (pair merges), tokenizer.json (string merges), vocab.json + merges.txt and
    /// the OpenAI .gz all give the same vocabulary and the same ids.
    @Test func vocabularyFormatsAgree() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("goal-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }

        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.jsonPath))) as! [String: Any]
        var model = root["model"] as! [String: Any]
        let pairs = model["merges"] as! [[String]]
        let vocab = model["vocab"] as! [String: Int]
        var stringForm = root
        model["merges"] = pairs.map { "\($0[0]) \($0[1])" }
        stringForm["model"] = model
        let stringJSON = tmp.appendingPathComponent("tokenizer-strings.json")
        try JSONSerialization.data(withJSONObject: stringForm).write(to: stringJSON)
        var vocabWithSpecials = vocab
        for added in root["added_tokens"] as! [[String: Any]] {
            vocabWithSpecials[added["content"] as! String] = added["id"] as? Int
        }
        let vocabURL = tmp.appendingPathComponent("vocab.json")
        try JSONSerialization.data(withJSONObject: vocabWithSpecials).write(to: vocabURL)
        let mergesURL = tmp.appendingPathComponent("merges.txt")
        try ("#version: 0.2\n" + pairs.map { "\($0[0]) \($0[1])\n" }.joined()).write(to: mergesURL, atomically: true, encoding: .utf8)

        let tokenizers = [
            try CLIPTokenizer.load(tokenizerJSON: Self.jsonPath),
            try CLIPTokenizer.load(tokenizerJSON: stringJSON.path),
            try CLIPTokenizer.load(vocabJSON: vocabURL.path, mergesTXT: mergesURL.path),
            try CLIPTokenizer.load(openAIBPE: Self.gzPath, mode: .huggingFace),
        ]
        for t in tokenizers {
            #expect(t.vocabulary.count == 49408)
            #expect(t.vocabulary.merges.count == tokenizers[0].vocabulary.merges.count)
            #expect(t.startOfText == 49406 && t.endOfText == 49407)
        }
        for line in Self.corpus.prefix(1500) {
            let ids = try tokenizers.map { try $0.encode(Array(line.utf8), contextLength: 1 << 30) }
            #expect(ids.allSatisfy { $0 == ids[0] }, "\(line.debugDescription)")
        }
        for id in [Int32(0), 255, 256, 511, 512, 1000, 49405] {
            #expect(tokenizers[0].vocabulary.spelling(of: id) == tokenizers[3].vocabulary.spelling(of: id))
        }
    }

    @Test(arguments: [77, 248]) func truncationKeepsEndLast(context: Int) throws {
        let longest = try #require(Self.corpus.max(by: { $0.utf8.count < $1.utf8.count }))
        for tokenizer in [try CLIPTokenizer.load(tokenizerJSON: Self.jsonPath), try CLIPTokenizer.load(openAIBPE: Self.gzPath)] {
            let full = try tokenizer.encode(Array(longest.utf8), contextLength: 1 << 30)
            #expect(full.count > context)
            let cut = try tokenizer.encode(Array(longest.utf8), contextLength: context)
            #expect(cut.count == context)
            #expect(cut.first == 49406 && cut.last == 49407)
            #expect(Array(cut.dropLast()) == Array(full.prefix(context - 1)))
            #expect(throws: GoalError.self) { try tokenizer.encode(Array(longest.utf8), contextLength: context, truncate: false) }
            let short = try tokenizer.encode(Array("a dog".utf8), contextLength: context, truncate: false)
            #expect(short == [49406, 320, 1929, 49407])
        }
        let t = try CLIPTokenizer.load(tokenizerJSON: Self.jsonPath)
        #expect(try t.encode(Array("a dog".utf8), contextLength: 2) == [49406, 49407])
        #expect(throws: GoalError.self) { try t.encode(Array("a".utf8), contextLength: 1) }
    }

    @Test func invalidUTF8Throws() throws {
        let t = try CLIPTokenizer.load(tokenizerJSON: Self.jsonPath)
        for bad: [UInt8] in [[0xFF], [0x61, 0xC3], [0xED, 0xA0, 0x80], [0xC0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80]] {
            do {
                _ = try t.tokens(bad)
                Issue.record("\(bad) did not throw")
            } catch {
                #expect(error.kind == .invalidArgument)
            }
        }
        #expect(try t.tokens([UInt8]()).isEmpty)
    }

    /// On ASCII lines, each token's span is the input text it spells (lower-cased), spans are
    /// ordered and inside the input; on all lines spans are ordered and inside the input.
    @Test(arguments: [CLIPTokenizer.Mode.huggingFace, .openAI]) func spansPointAtTheirBytes(mode: CLIPTokenizer.Mode) throws {
        let t = mode == .huggingFace
            ? try CLIPTokenizer.load(tokenizerJSON: Self.jsonPath)
            : try CLIPTokenizer.load(openAIBPE: Self.gzPath)
        var unicodeDecoder: [Character: UInt8] = [:]
        for (byte, scalar) in byteLevelSymbols.enumerated() { unicodeDecoder[Character(scalar)] = UInt8(byte) }
        var checked = 0
        for line in Self.corpus {
            let bytes = Array(line.utf8)
            let tokens = try t.tokens(bytes)
            var previous = 0
            for token in tokens {
                #expect(token.span.lowerBound >= previous && token.span.upperBound <= bytes.count)
                previous = token.span.lowerBound
            }
            // Plain ASCII (no entities, control characters or escapes that the OpenAI cleaning rewrites).
            guard line.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F || $0 == 0x09 || $0 == 0x0A }),
                  mode == .huggingFace || !line.contains("&") else { continue }
            for token in tokens {
                let spelling = try #require(t.vocabulary.spelling(of: token.id))
                let symbols = spelling.hasSuffix("</w>") ? String(spelling.dropLast(4)) : spelling
                let word = String(decoding: symbols.compactMap { unicodeDecoder[$0] }, as: UTF8.self)
                let source = String(decoding: bytes[token.span], as: UTF8.self).lowercased()
                #expect(source == word, "\(line.debugDescription.prefix(80)): \(token)")
            }
            checked += 1
        }
        #expect(checked > 1000)
        // A decoded entity points at the whole entity; a composed character at its cluster.
        let o = try CLIPTokenizer.load(openAIBPE: Self.gzPath)
        let amp = try o.tokens(Array("a &amp; b".utf8))
        #expect(amp.map(\.span) == [0..<1, 2..<7, 8..<9])
        let h = try CLIPTokenizer.load(tokenizerJSON: Self.jsonPath)
        let composed = try h.tokens(Array("e\u{301}".utf8))
        #expect(!composed.isEmpty && composed.allSatisfy { $0.span == 0..<3 })
        let cjk = try h.tokens(Array("a 東京".utf8))
        #expect(cjk.first?.span == 0..<1 && cjk.dropFirst().allSatisfy { (2..<8).contains($0.span.lowerBound) && $0.span.count == 3 })
    }

    @Test func malformedFilesNameTheProblem() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("goal-tok-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let cases: [(String, String)] = [
            ("{\"model\": {\"vocab\": {", "not valid JSON"),
            ("[1, 2]", "not an object"),
            ("{\"model\": {\"type\": \"BPE\", \"merges\": []}}", "model.vocab"),
            ("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}", "byte-level symbol"),
            ("{\"model\": {\"vocab\": {\"a\": -1}, \"merges\": []}}", "non-negative"),
            ("{\"model\": {\"vocab\": {}, \"merges\": 3}}", "model.merges"),
            ("{\"model\": {\"vocab\": {}, \"merges\": [\"a b c\"]}}", "model.merges[0]"),
            ("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", "only BPE"),
            ("{\"model\": {\"vocab\": {\"\\ud800\": 1}}}", "surrogate"),
            (String(repeating: "[", count: 10_000), "nested deeper"),
        ]
        for (i, (content, problem)) in cases.enumerated() {
            let url = tmp.appendingPathComponent("bad\(i).json")
            try content.write(to: url, atomically: true, encoding: .utf8)
            do {
                _ = try CLIPTokenizer.load(tokenizerJSON: url.path)
                Issue.record("case \(i) did not throw")
            } catch {
                #expect(error.message.contains(url.path), "\(error.message)")
                #expect(error.message.contains(problem), "\(error.message)")
            }
        }
        // A merge naming an unknown token, in an otherwise complete vocabulary.
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.jsonPath))) as! [String: Any]
        var broken = root
        var model = root["model"] as! [String: Any]
        var merges = model["merges"] as! [[String]]
        merges[10] = ["nosuch", "token"]
        model["merges"] = merges
        broken["model"] = model
        let url = tmp.appendingPathComponent("unknown-merge.json")
        try JSONSerialization.data(withJSONObject: broken).write(to: url)
        #expect { try CLIPTokenizer.load(tokenizerJSON: url.path) } throws: { error in
            (error as? GoalError)?.message.contains("merge 11") ?? false
        }
        // Missing files and damaged gzip.
        #expect(throws: GoalError.self) { try CLIPTokenizer.load(openAIBPE: tmp.appendingPathComponent("none.gz").path) }
        let gz = try Data(contentsOf: URL(fileURLWithPath: Self.gzPath))
        let cutURL = tmp.appendingPathComponent("cut.txt.gz")
        try gz.prefix(gz.count / 2).write(to: cutURL)
        #expect(throws: GoalError.self) { try CLIPTokenizer.load(openAIBPE: cutURL.path) }
    }

    /// Special-token spellings in text are text.
    @Test func specialSpellingsAreText() throws {
        for t in [try CLIPTokenizer.load(tokenizerJSON: Self.jsonPath), try CLIPTokenizer.load(openAIBPE: Self.gzPath)] {
            for text in ["<|endoftext|>", "<|startoftext|>", "<end_of_text>", "<start_of_text>"] {
                let ids = try t.encode(Array("a \(text) b".utf8), contextLength: 77)
                #expect(ids.first == 49406 && ids.last == 49407)
                #expect(!ids.dropFirst().dropLast().contains(49406) && !ids.dropFirst().dropLast().contains(49407))
            }
        }
    }

    @Test func speed() throws {
        let t = try CLIPTokenizer.load(tokenizerJSON: Self.jsonPath)
        let lines = Self.corpus.map { Array($0.utf8) }
        for mode in [CLIPTokenizer.Mode.huggingFace, .openAI] {
            let tok = CLIPTokenizer(vocabulary: t.vocabulary, mode: mode)
            var count = 0
            let start = Date()
            for _ in 0..<3 { for line in lines { count += try tok.tokens(line).count } }
            let seconds = Date().timeIntervalSince(start)
            print("tokenizer speed (\(mode)): \(Int(Double(count) / seconds)) tokens/s (\(count) tokens)")
        }
    }
}
