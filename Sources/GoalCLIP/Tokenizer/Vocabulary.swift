/// A CLIP BPE vocabulary: token ids, the merge table, and the ids BPE starts from.
///
/// Symbols are handled as ids throughout: every merge's two halves and its result must be
/// tokens of the vocabulary (both HF and OpenAI require it), so BPE never needs strings.
public struct CLIPVocabulary: Sendable {
    /// One merge rule: its priority (lower merges first) and the id it produces.
    struct Merge: Sendable {
        let rank: Int32
        let id: Int32
    }

    /// Number of tokens (the largest id + 1).
    public let count: Int
    public let startOfText: Int32
    public let endOfText: Int32
    /// Id of each byte's byte-level symbol, alone and with the end-of-word suffix "</w>".
    let byteIDs: [Int32]
    let byteEndIDs: [Int32]
    /// Merge rules keyed by `pairKey(left, right)`.
    let merges: [UInt64: Merge]
    /// Spelling of every id (byte-level symbols), for diagnostics and tests.
    let spellings: [Int32: String]

    @inline(__always)
    static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Checks and indexes a vocabulary. `source` names the file(s) in error messages.
    init(tokens: [String: Int32], merges pairs: [(String, String)], source: String) throws(GoalError) {
        func bad(_ what: String) -> GoalError { GoalError(.invalidModel, "\(source): \(what)") }
        var byteIDs = [Int32](repeating: 0, count: 256)
        var byteEndIDs = [Int32](repeating: 0, count: 256)
        for byte in 0..<256 {
            let symbol = String(Character(byteLevelSymbols[byte]))
            guard let plain = tokens[symbol], let end = tokens[symbol + "</w>"] else {
                throw bad("the vocabulary lacks the byte-level symbol for byte \(byte) (\"\(symbol)\" or \"\(symbol)</w>\")")
            }
            byteIDs[byte] = plain
            byteEndIDs[byte] = end
        }
        var table: [UInt64: Merge] = [:]
        table.reserveCapacity(pairs.count)
        for (rank, (left, right)) in pairs.enumerated() {
            guard let l = tokens[left], let r = tokens[right], let m = tokens[left + right] else {
                throw bad("merge \(rank + 1) (\"\(left) \(right)\") uses a token that is not in the vocabulary")
            }
            guard rank < Int(Int32.max) else { throw bad("too many merges") }
            // A repeated pair keeps its last rank, as both reference tokenizers do.
            table[Self.pairKey(l, r)] = Merge(rank: Int32(rank), id: m)
        }
        guard let start = tokens["<|startoftext|>"] else { throw bad("the vocabulary has no <|startoftext|> token") }
        guard let end = tokens["<|endoftext|>"] else { throw bad("the vocabulary has no <|endoftext|> token") }
        var spellings: [Int32: String] = [:]
        spellings.reserveCapacity(tokens.count)
        var largest: Int32 = 0
        for (text, id) in tokens {
            spellings[id] = text
            largest = max(largest, id)
        }
        self.count = Int(largest) + 1
        self.startOfText = start
        self.endOfText = end
        self.byteIDs = byteIDs
        self.byteEndIDs = byteEndIDs
        self.merges = table
        self.spellings = spellings
    }

    /// The byte-level spelling of a token id ("a</w>", "Ġ"...), or nil for an unknown id.
    public func spelling(of id: Int32) -> String? { spellings[id] }
}

// MARK: - Loading

extension CLIPVocabulary {
    /// Reads a Hugging Face `tokenizer.json`: `model.vocab`, `model.merges` (either "a b" strings
    /// or ["a", "b"] pairs) and `added_tokens`.
    public static func load(tokenizerJSON path: String) throws(GoalError) -> CLIPVocabulary {
        let root = try parseJSON(path)
        func bad(_ what: String) -> GoalError { GoalError(.invalidModel, "\(path): \(what)") }
        guard case .object = root else { throw bad("the top level is \(root.typeName), not an object") }
        guard let model = root["model"] else { throw bad("there is no \"model\"") }
        guard case .object = model else { throw bad("\"model\" is \(model.typeName), not an object") }
        if let type = model["type"] {
            guard case .string(let name) = type else { throw bad("model.type is \(type.typeName), not a string") }
            guard name == "BPE" else { throw GoalError(.unsupported, "\(path): model.type is \"\(name)\"; only BPE is supported") }
        }
        if let suffix = model["end_of_word_suffix"], case .string(let s) = suffix, s != "</w>" {
            throw GoalError(.unsupported, "\(path): model.end_of_word_suffix is \"\(s)\"; CLIP uses \"</w>\"")
        }
        guard let vocab = model["vocab"] else { throw bad("there is no model.vocab") }
        var tokens = try tokenMap(vocab, what: "model.vocab", path: path)
        if let added = root["added_tokens"] {
            guard case .array(let items) = added else { throw bad("added_tokens is \(added.typeName), not an array") }
            for (i, item) in items.enumerated() {
                guard case .string(let content)? = item["content"], let idValue = item["id"] else {
                    throw bad("added_tokens[\(i)] lacks a string \"content\" or an \"id\"")
                }
                tokens[content] = try tokenID(idValue, what: "added_tokens[\(i)].id", path: path)
            }
        }
        guard let mergesValue = model["merges"] else { throw bad("there is no model.merges") }
        guard case .array(let items) = mergesValue else { throw bad("model.merges is \(mergesValue.typeName), not an array") }
        var merges: [(String, String)] = []
        merges.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            switch item {
            case .string(let line):
                guard let pair = splitMerge(line) else {
                    throw bad("model.merges[\(i)] \"\(line)\" is not two tokens separated by one space")
                }
                merges.append(pair)
            case .array(let parts):
                guard parts.count == 2, case .string(let a) = parts[0], case .string(let b) = parts[1] else {
                    throw bad("model.merges[\(i)] is not a pair of strings")
                }
                merges.append((a, b))
            default:
                throw bad("model.merges[\(i)] is \(item.typeName), not a string or a pair")
            }
        }
        return try CLIPVocabulary(tokens: tokens, merges: merges, source: path)
    }

    /// Reads a Hugging Face `vocab.json` and `merges.txt` pair.
    public static func load(vocabJSON vocabPath: String, mergesTXT mergesPath: String) throws(GoalError) -> CLIPVocabulary {
        let tokens = try tokenMap(try parseJSON(vocabPath), what: "the vocabulary", path: vocabPath)
        let text = try readVocabularyFile(mergesPath)
        guard let content = String(validating: text, as: UTF8.self) else {
            throw GoalError(.invalidModel, "\(mergesPath): the file is not valid UTF-8")
        }
        var merges: [(String, String)] = []
        for (i, line) in content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = line.hasSuffix("\r") ? line.dropLast() : line
            if line.isEmpty || (i == 0 && line.hasPrefix("#version")) { continue }
            guard let pair = splitMerge(String(line)) else {
                throw GoalError(.invalidModel, "\(mergesPath): line \(i + 1) \"\(line)\" is not two tokens separated by one space")
            }
            merges.append(pair)
        }
        return try CLIPVocabulary(tokens: tokens, merges: merges, source: "\(vocabPath) + \(mergesPath)")
    }

    /// Reads OpenAI's `bpe_simple_vocab_16e6.txt.gz` and builds the vocabulary the way CLIP's
    /// simple tokenizer does: the 256 byte symbols, the same with "</w>", one token per merge
    /// (the first 48,894 merge lines), then <|startoftext|> and <|endoftext|>.
    public static func load(openAIBPE path: String) throws(GoalError) -> CLIPVocabulary {
        let bytes = try readVocabularyFile(path)
        guard let content = String(validating: bytes, as: UTF8.self) else {
            throw GoalError(.invalidModel, "\(path): the merge list is not valid UTF-8")
        }
        let lines = content.split(separator: "\n", omittingEmptySubsequences: false)
        let wanted = 49152 - 256 - 2   // CLIP's vocabulary is 49,408 tokens
        guard lines.count > wanted else {
            throw GoalError(.invalidModel, "\(path): \(lines.count) lines; CLIP's merge list needs a header and \(wanted) merges")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(wanted)
        for i in 1...wanted {
            let fields = lines[i].split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard fields.count == 2 else {
                throw GoalError(.invalidModel, "\(path): line \(i + 1) \"\(lines[i])\" is not two tokens")
            }
            merges.append((String(fields[0]), String(fields[1])))
        }
        var tokens: [String: Int32] = [:]
        tokens.reserveCapacity(wanted + 514)
        var next: Int32 = 0
        func add(_ token: String) {
            tokens[token] = next   // a repeated token keeps its last id, as Python's dict(zip(...)) does
            next += 1
        }
        // The byte symbols in the order of GPT-2's table: the printable bytes first (they stand
        // for themselves), then the symbols U+0100... of the rest, i.e. by code point.
        let symbols = byteLevelSymbols.sorted { $0.value < $1.value }
        for scalar in symbols { add(String(Character(scalar))) }
        for scalar in symbols { add(String(Character(scalar)) + "</w>") }
        for (a, b) in merges { add(a + b) }
        add("<|startoftext|>")
        add("<|endoftext|>")
        return try CLIPVocabulary(tokens: tokens, merges: merges, source: path)
    }
}

func parseJSON(_ path: String) throws(GoalError) -> JSONValue {
    let bytes = try readVocabularyFile(path)
    do {
        return try JSONParser.parse(bytes)
    } catch {
        throw GoalError(.invalidModel, "\(path): not valid JSON at byte \(error.offset): \(error.reason)")
    }
}

private func tokenID(_ value: JSONValue, what: String, path: String) throws(GoalError) -> Int32 {
    guard case .number(let n) = value, n >= 0, n <= Double(Int32.max), n == n.rounded(.towardZero) else {
        throw GoalError(.invalidModel, "\(path): \(what) is not a non-negative whole number below 2^31")
    }
    return Int32(n)
}

private func tokenMap(_ value: JSONValue, what: String, path: String) throws(GoalError) -> [String: Int32] {
    guard case .object(let members) = value else {
        throw GoalError(.invalidModel, "\(path): \(what) is \(value.typeName), not an object of token ids")
    }
    var tokens: [String: Int32] = [:]
    tokens.reserveCapacity(members.count)
    for (key, id) in members {
        tokens[key] = try tokenID(id, what: "\(what)[\"\(key)\"]", path: path)
    }
    return tokens
}

/// "a b" -> ("a", "b"); HF requires exactly one separating space.
private func splitMerge(_ line: String) -> (String, String)? {
    let parts = line.split(separator: " ", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
    return (String(parts[0]), String(parts[1]))
}
