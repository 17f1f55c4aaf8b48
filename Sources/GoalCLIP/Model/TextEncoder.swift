/// The text tower with what feeds it: which inputs carry the ids and the mask, the context length,
/// and what pads a sequence.
final class TextEncoder: Sendable {
    let tower: Tower
    let tokenizer: CLIPTokenizer
    /// Positions the tower has (77, 248, ...): the longest sequence, start and end included.
    let contextLength: Int
    /// Whether every sequence must be padded to `contextLength` (a fixed sequence axis) or only
    /// to the longest in its batch (a symbolic one; the tower is causal, so nothing changes).
    let fixedLength: Bool
    /// HF pads with the end token (its tokenizer's pad token); open_clip pads with 0.
    let padID: Int64
    private let ids: ValueInfo
    private let mask: ValueInfo?
    private let positions: ValueInfo?

    init(tower: Tower, tokenizer: CLIPTokenizer, config: FolderConfig, convention: Convention,
         file: String) throws(GoalError) {
        self.tower = tower
        self.tokenizer = tokenizer
        var ids: ValueInfo?, mask: ValueInfo?, positions: ValueInfo?
        for input in tower.inputs {
            let name = input.name.lowercased()
            if name.contains("mask") {
                mask = input
            } else if name.contains("position") {
                positions = input
            } else if ids == nil {
                ids = input
            } else {
                throw GoalError(.unsupported, "\(file): the text tower has two token inputs, '\(ids!.name)' and '\(input.name)'")
            }
        }
        guard let ids else { throw GoalError(.invalidModel, "\(file): the text tower has no token id input") }
        for input in [ids, mask, positions].compactMap({ $0 }) where input.shape != nil && input.shape!.count != 2 {
            throw GoalError(.unsupported, "\(file): text input '\(input.name)' has rank \(input.shape!.count); [batch, sequence] was expected")
        }
        self.ids = ids
        self.mask = mask
        self.positions = positions
        if let shape = ids.shape, case .fixed(let n) = shape[1] {
            contextLength = Int(n)
            fixedLength = true
        } else if let n = positionTableRows(tower.engine, vocabularySize: tokenizer.vocabulary.count) ?? config.contextLength {
            contextLength = n
            fixedLength = false
        } else {
            throw GoalError(.notFound, "\(file): the text context length is not in the graph (the sequence axis is symbolic and no position table was found) nor in a config.json / open_clip_config.json")
        }
        guard contextLength >= 2 else {
            throw GoalError(.invalidModel, "\(file): a text context of \(contextLength) positions has no room for the start and end tokens")
        }
        padID = convention == .openAI ? 0 : Int64(tokenizer.endOfText)
    }

    /// Runs the tower on sequences (start and end tokens included, none longer than the context).
    func feeds(_ sequences: [[Int32]]) throws(GoalError) -> [String: Feed] {
        let width = fixedLength ? contextLength : sequences.map(\.count).max() ?? 1
        var idValues = [Int64](repeating: padID, count: sequences.count * width)
        var maskValues = [Int64](repeating: 0, count: sequences.count * width)
        for (row, seq) in sequences.enumerated() {
            for (i, id) in seq.enumerated() {
                idValues[row * width + i] = Int64(id)
                maskValues[row * width + i] = 1
            }
        }
        let shape = [sequences.count, width]
        var feeds = [ids.name: Feed(tensor: try Tensor(ints: idValues, shape: shape), type: ids.elementType)]
        if let mask {
            feeds[mask.name] = Feed(tensor: try Tensor(ints: maskValues, shape: shape), type: mask.elementType)
        }
        if let positions {
            let values = (0..<sequences.count).flatMap { _ in (0..<width).map(Int64.init) }
            feeds[positions.name] = Feed(tensor: try Tensor(ints: values, shape: shape), type: positions.elementType)
        }
        return feeds
    }
}

/// The rows of the position table: a float [rows, width] constant that a Gather reads and that
/// is not the token table (whose rows are the vocabulary).
private func positionTableRows(_ engine: Engine, vocabularySize: Int) -> Int? {
    var rows = Set<Int>()
    for node in engine.nodes where node.opType == "Gather" && node.domain.isEmpty {
        guard let table = engine.constant(node.inputs[0]), table.dtype == .float32, table.rank == 2,
              table.shape[0] != vocabularySize, table.shape[0] >= 2 else { continue }
        rows.insert(table.shape[0])
    }
    return rows.count == 1 ? rows.first : nil
}
