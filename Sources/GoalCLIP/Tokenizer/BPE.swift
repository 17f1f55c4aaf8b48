import Synchronization

/// Byte-pair encoding of one pre-token. The word's UTF-8 bytes start as byte-level symbols, the
/// last one carrying "</w>"; then the lowest-ranked adjacent pair present in the merge table is
/// merged everywhere, left to right, until no pair merges. (This is open_clip's loop; HF's
/// priority queue picks the same merges in the same order.)
struct BPEPiece: Sendable {
    let id: Int32
    /// How many bytes of the word this token spells.
    let byteCount: Int32
}

func bytePairEncode(_ word: [UInt8], _ vocab: CLIPVocabulary) -> [BPEPiece] {
    guard let lastByte = word.last else { return [] }
    var ids = word.map { vocab.byteIDs[Int($0)] }
    ids[ids.count - 1] = vocab.byteEndIDs[Int(lastByte)]
    var lengths = [Int32](repeating: 1, count: ids.count)
    while ids.count > 1 {
        var best: CLIPVocabulary.Merge? = nil
        var bestLeft: Int32 = 0, bestRight: Int32 = 0
        for j in 0..<(ids.count - 1) {
            if let m = vocab.merges[CLIPVocabulary.pairKey(ids[j], ids[j + 1])], m.rank < (best?.rank ?? .max) {
                best = m
                bestLeft = ids[j]
                bestRight = ids[j + 1]
            }
        }
        guard let merge = best else { break }
        var newIDs: [Int32] = []
        var newLengths: [Int32] = []
        newIDs.reserveCapacity(ids.count)
        newLengths.reserveCapacity(ids.count)
        var j = 0
        while j < ids.count {
            if j + 1 < ids.count, ids[j] == bestLeft, ids[j + 1] == bestRight {
                newIDs.append(merge.id)
                newLengths.append(lengths[j] + lengths[j + 1])
                j += 2
            } else {
                newIDs.append(ids[j])
                newLengths.append(lengths[j])
                j += 1
            }
        }
        ids = newIDs
        lengths = newLengths
    }
    return zip(ids, lengths).map { BPEPiece(id: $0, byteCount: $1) }
}

/// Results of `bytePairEncode` per word, shared by all threads using one tokenizer. Words repeat
/// heavily in captions, and a lookup is far cheaper than the merge loop. Bounded: when full it
/// is emptied, which keeps memory flat for adversarial input at the cost of some re-work.
final class BPECache: Sendable {
    private let table = Mutex<[[UInt8]: [BPEPiece]]>([:])
    private let limit: Int

    init(limit: Int = 100_000) { self.limit = limit }

    func pieces(for word: [UInt8], _ vocab: CLIPVocabulary) -> [BPEPiece] {
        if let hit = table.withLock({ $0[word] }) { return hit }
        let result = bytePairEncode(word, vocab)
        table.withLock { cache in
            if cache.count >= limit { cache.removeAll(keepingCapacity: true) }
            cache[word] = result
        }
        return result
    }
}
