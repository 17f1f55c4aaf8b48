import GoalEngine
import Synchronization

/// The text tower with what feeds it: which inputs carry the ids and the mask, the context length,
/// and what pads a sequence.
///
/// The tower is causal: positions after a sequence's end token never change its embedding. A
/// symbolic sequence axis is therefore fed only as wide as the batch's longest sequence; a fixed
/// one (an export whose causal mask and position ids are baked for the whole context) runs on a
/// shortened copy of the graph, as wide as the longest sequence rounded up to `widthStep`, once
/// that copy has been seen to give the full graph's embeddings on a probe.
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
    /// Whether a fixed context may run shortened.
    private let shortens: Bool
    /// Shortened engines by width; nil where the shortened graph disagreed with the full one.
    private let shortened = Mutex<[Int: Engine?]>([:])

    /// Widths a fixed context is shortened to are multiples of this, so few copies are made.
    static let widthStep = 8
    /// Largest difference allowed between a shortened and the full graph's normalised probe
    /// embeddings: float32 rounding differs between widths (the GEMM blocking does), by ~1e-6.
    static let probeTolerance: Float = 1e-4

    init(tower: Tower, tokenizer: CLIPTokenizer, config: FolderConfig, convention: Convention,
         shortens: Bool, file: String) throws(GoalError) {
        self.shortens = shortens
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

    /// The pooled embeddings of sequences (start and end tokens included, none longer than the
    /// context), L2-normalised.
    func embed(_ sequences: [[Int32]]) throws(GoalError) -> (dim: Int, values: [Float]) {
        let (feeds, runner) = try prepared(sequences)
        return try tower.embed(feeds, batch: sequences.count, runner: runner)
    }

    /// The sequences' token states before the head, `[batch, width, states]` with `width` at least
    /// the longest sequence, and the head.
    func tokenStates(_ sequences: [[Int32]]) throws(GoalError) -> (head: TokenHead, states: Tensor) {
        let (feeds, runner) = try prepared(sequences)
        return try tower.tokenStates(feeds, batch: sequences.count, runner: runner)
    }

    /// The sequences' token embeddings `[batch, width, dim]`, unnormalised.
    func tokens(_ sequences: [[Int32]]) throws(GoalError) -> Tensor {
        let (feeds, runner) = try prepared(sequences)
        return try tower.tokens(feeds, batch: sequences.count, runner: runner)
    }

    /// How many positions a batch whose longest sequence has `longest` tokens is run on.
    func runWidth(longest: Int) -> Int { runner(longest: longest).width }

    /// The width a batch runs at, and the shortened engine that runs it (nil: the tower's own).
    private func runner(longest: Int) -> (width: Int, engine: Engine?) {
        guard fixedLength else { return (max(1, longest), nil) }
        let width = (max(1, longest) + Self.widthStep - 1) / Self.widthStep * Self.widthStep
        guard shortens, width < contextLength, let engine = shortenedEngine(width: width) else { return (contextLength, nil) }
        return (width, engine)
    }

    private func prepared(_ sequences: [[Int32]]) throws(GoalError) -> ([String: Feed], Engine?) {
        let (width, engine) = runner(longest: sequences.map(\.count).max() ?? 1)
        return (try feeds(sequences, width: width), engine)
    }

    /// The shortened engine for `width`, made and checked on first use.
    private func shortenedEngine(width: Int) -> Engine? {
        if let known = shortened.withLock({ $0[width] }) { return known }
        let made = try? checkedShortening(width: width)
        return shortened.withLock { cache in
            if let raced = cache[width] { return raced }
            cache[width] = made
            return made
        }
    }

    /// The graph shortened to `width` positions, if it embeds a probe batch as the full graph
    /// does: one sequence filling the width, one holding only the start and end tokens.
    private func checkedShortening(width: Int) throws(GoalError) -> Engine? {
        let inputs = [ids, mask, positions].compactMap { $0?.name }
        let candidate = try tower.engine.shortened(sequenceInputs: inputs, to: width)
        let start = tokenizer.startOfText, end = tokenizer.endOfText
        let body = (0 ..< width - 2).map { i in Int32(256 + (i * 7919) % Int(min(start, end) - 256)) }
        let probe = [[start] + body + [end], [start, end]]
        let full = try tower.embed(try feeds(probe, width: contextLength), batch: probe.count).values
        let short = try tower.embed(try feeds(probe, width: width), batch: probe.count, runner: candidate).values
        guard full.count == short.count else { return nil }
        let worst = zip(full, short).map { abs($0 - $1) }.max() ?? .infinity
        return worst <= Self.probeTolerance ? candidate : nil
    }

    /// The feeds for sequences padded to `width` positions.
    func feeds(_ sequences: [[Int32]], width: Int) throws(GoalError) -> [String: Feed] {
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
