import Glibc
import Testing
@testable import GoalMatch

/// A seeded generator (SplitMix64), so that failures can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A fresh temporary folder, removed with its files when the body returns.
func withTemporaryFolder(_ body: (String) throws -> Void) throws {
    var template = Array("/tmp/goal-index-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw GoalError(.io, "mkdtemp failed") }
    let folder = String(cString: made)
    defer {
        if let dir = opendir(folder) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name != "." && name != ".." { unlink(folder + "/" + name) }
            }
            closedir(dir)
        }
        rmdir(folder)
    }
    try body(folder)
}

func readBytes(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { return [] }
    defer { fclose(f) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n == 0 { break }
        out += chunk[0..<n]
    }
    return out
}

func writeBytes(_ bytes: [UInt8], to path: String) {
    let f = fopen(path, "wb")!
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    fclose(f)
}

/// The exact index against brute force in double precision, its files, and its refusals.
@Suite struct IndexTests {
    func randomVectors(_ count: Int, _ dim: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<count * dim).map { _ in Float.random(in: -1..<1, using: &g) }
    }

    /// Cosines in double precision, and per query the ids sorted by (score descending, id).
    func bruteForce(_ data: [Float], ids: [Int64], _ queries: [Float], dim: Int) -> [[(score: Double, id: Int64)]] {
        func unit(_ v: ArraySlice<Float>) -> [Double] {
            let norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            return v.map { Double($0) / norm }
        }
        let rows = (0..<ids.count).map { unit(data[$0 * dim ..< ($0 + 1) * dim]) }
        return (0..<queries.count / dim).map { q in
            let query = unit(queries[q * dim ..< (q + 1) * dim])
            return zip(rows, ids).map { row, id in (score: zip(row, query).reduce(0.0) { $0 + $1.0 * $1.1 }, id: id) }
                .sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
        }
    }

    /// Scores within 1e-6 of the double-precision cosines of the caller's vectors (the index
    /// normalises in float, then scores in double), and the same ids wherever the reference's
    /// neighbouring scores are more than 1e-6 apart (closer pairs may swap).
    func expectMatches(_ result: IndexSearchResult, _ reference: [[(score: Double, id: Int64)]], k: Int) {
        #expect(result.found == min(k, reference.first?.count ?? 0))
        for (q, expected) in reference.enumerated() {
            for i in 0..<result.found {
                let got = result.scores[q * result.found + i], id = result.ids[q * result.found + i]
                #expect(abs(Double(got) - expected[i].score) < 1e-6, "query \(q) rank \(i)")
                let separated = (i == 0 || expected[i - 1].score - expected[i].score > 1e-6)
                    && (i + 1 == expected.count || expected[i].score - expected[i + 1].score > 1e-6)
                if separated { #expect(id == expected[i].id, "query \(q) rank \(i)") }
                // Whatever the order among near-ties, the id's true score is the one reported.
                let truth = expected.first { $0.id == id }!.score
                #expect(abs(Double(got) - truth) < 1e-6)
            }
        }
    }

    @Test func searchMatchesBruteForce() throws {
        let dim = 37, n = 3000, nq = 17
        let index = try EmbeddingIndex(dim: dim)
        let data = randomVectors(n, dim, seed: 1)
        let ids = try index.add(data)
        #expect(ids == (0..<Int64(n)).map { $0 })
        let queries = randomVectors(nq, dim, seed: 2)
        let reference = bruteForce(data, ids: ids, queries, dim: dim)
        for k in [1, 10, 100] {
            expectMatches(try index.search(queries, k: k), reference, k: k)
        }
        // One query alone gives exactly its row of the batch, on any number of threads.
        let batch = try index.search(queries, k: 10)
        let single = try index.search(Array(queries[dim * 5 ..< dim * 6]), k: 10)
        #expect(single.ids == Array(batch.ids[50..<60]))
        #expect(single.scores == Array(batch.scores[50..<60]))
    }

    @Test func threadsDoNotChangeResults() throws {
        let dim = 24, n = 9000
        let index = try EmbeddingIndex(dim: dim)
        try index.add(randomVectors(n, dim, seed: 3))
        for nq in [1, 3, 300] {
            let queries = randomVectors(nq, dim, seed: 4)
            let one = try index.search(queries, k: 25, threads: 1)
            for threads in [2, 3, 8] {
                let many = try index.search(queries, k: 25, threads: threads)
                let differences = zip(many.scores, one.scores).filter { $0 != $1 }
                let largest = differences.map { abs($0 - $1) }.max() ?? 0
                #expect(differences.isEmpty, "\(nq) queries on \(threads) threads: \(differences.count) scores differ, by up to \(largest)")
                #expect(many.ids == one.ids, "\(nq) queries on \(threads) threads")
            }
        }
    }

    @Test func kBeyondCountAndEmptyCases() throws {
        let index = try EmbeddingIndex(dim: 4)
        #expect(try index.search([1, 0, 0, 0], k: 5).found == 0)
        try index.add([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0])
        let all = try index.search([1, 1, 0, 0, 0, 0, 0, 1], k: 10)
        #expect(all.found == 3 && all.scores.count == 6 && all.ids.count == 6)
        #expect(all.ids == [0, 1, 2, 0, 1, 2])  // the ties are ordered by id
        #expect(abs(all.scores[0] - Float(0.5).squareRoot()) < 1e-6 && all.scores[2] == 0)
        #expect(try index.search([1, 0, 0, 0], k: 0).found == 0)
        #expect(try index.search([], k: 3).queries == 0)
    }

    @Test func tiesAreOrderedByID() throws {
        let dim = 8, n = 6000
        let index = try EmbeddingIndex(dim: dim)
        var data = randomVectors(n, dim, seed: 5)
        var ids = (0..<Int64(n)).map { $0 * 3 + 100 }
        // The same direction under ids 7, 2, 9 and 40000, in rows far apart (other blocks and
        // shards), at scales that are powers of two (so normalising gives the same floats).
        let direction = randomVectors(1, dim, seed: 6)
        for (row, (id, scale)) in zip([5, 2100, 4500, 5999], [(Int64(7), Float(1)), (2, 4), (9, 0.5), (40000, 2)]) {
            for i in 0..<dim { data[row * dim + i] = direction[i] * scale }
            ids[row] = id
        }
        try index.add(data, ids: ids)
        for threads in [1, 4] {
            let r = try index.search(direction, k: 6, threads: threads)
            #expect(Array(r.ids.prefix(4)) == [2, 7, 9, 40000], "threads \(threads)")
            #expect(Set(r.scores.prefix(4)).count == 1, "equal directions give equal scores")
        }
    }

    @Test func manyEqualVectorsGiveTheLowestIDs() throws {
        let dim = 48, n = 7000
        var g = SeededGenerator(seed: 13)
        let direction = randomVectors(1, dim, seed: 14)
        var data = randomVectors(n, dim, seed: 15)
        // 3000 rows share one direction, under shuffled ids.
        let shared = Array((0..<n).shuffled(using: &g).prefix(3000))
        for row in shared { for i in 0..<dim { data[row * dim + i] = direction[i] } }
        let ids = (0..<Int64(n)).map { $0 * 7 }.shuffled(using: &g)
        let index = try EmbeddingIndex(dim: dim)
        try index.add(data, ids: ids)
        let expected = Array(shared.map { ids[$0] }.sorted().prefix(12))
        for threads in [1, 2, 5] {
            let r = try index.search(direction + direction, k: 12, threads: threads)
            #expect(Array(r.ids.prefix(12)) == expected && Array(r.ids.suffix(12)) == expected, "threads \(threads)")
            #expect(Set(r.scores).count == 1)
        }
    }

    @Test func removedIDsAreNeverReturned() throws {
        let dim = 16, n = 500
        let index = try EmbeddingIndex(dim: dim)
        let data = randomVectors(n, dim, seed: 7)
        try index.add(data)
        let queries = Array(data[0 ..< 20 * dim])  // each query is a stored vector
        let gone: [Int64] = Array(0..<10) + [250, 499, 3, 3]
        try index.remove(gone)
        #expect(index.count == n - 12)
        let r = try index.search(queries, k: n)
        #expect(r.found == n - 12)
        #expect(Set(r.ids).isDisjoint(with: gone))
        // Rows 10..19 still find themselves first.
        for q in 10..<20 { #expect(r.ids[q * r.found] == Int64(q)) }
        let keptIDs = (0..<Int64(n)).filter { !gone.contains($0) }
        let keptData = keptIDs.flatMap { id in data[Int(id) * dim ..< (Int(id) + 1) * dim] }
        expectMatches(r, bruteForce(keptData, ids: keptIDs, queries, dim: dim), k: n)
        // Removed ids are not given out again.
        #expect(try index.add(Array(data[0..<dim])) == [Int64(n)])
    }

    @Test func removingUnknownIDsRemovesNothing() throws {
        let index = try EmbeddingIndex(dim: 2)
        try index.add([1, 0, 0, 1, 1, 1])
        #expect(throws: GoalError(.invalidArgument, "2 ids are not in the index: 7, 9; nothing was removed")) {
            try index.remove([1, 7, 9, 7])
        }
        #expect(index.count == 3)
        #expect(index.contents().ids == [0, 1, 2])
        try index.remove([])
        try index.remove([1, 1])
        #expect(index.contents().ids == [0, 2])
    }

    @Test func addRefusesBadInputAndAddsNothing() throws {
        let index = try EmbeddingIndex(dim: 3)
        try index.add([1, 2, 3], ids: [10])
        let refusals: [([Float], [Int64]?, String)] = [
            ([1, .nan, 3], nil, "vector 0 has a NaN at position 1"),
            ([1, 2, 3, 1, .infinity, 3], nil, "vector 1 has an infinite value at position 1"),
            ([1, 2, 3, 0, 0, 0], nil, "vector 1 is all zeros"),
            ([1, 2, 3, 4], nil, "4 values are not whole vectors of 3"),
            ([1, 2, 3, 4, 5, 6], [20, 20], "id 20 is given twice"),
            ([1, 2, 3], [10], "id 10 is already in the index"),
            ([1, 2, 3], [-1], "id -1 (of vector 0) is out of range"),
            ([1, 2, 3], [Int64.max], "is out of range"),
            ([1, 2, 3], [1, 2], "2 ids for 1 vectors"),
        ]
        for (vectors, ids, message) in refusals {
            do {
                try index.add(vectors, ids: ids)
                Issue.record("accepted \(vectors) \(String(describing: ids))")
            } catch {
                #expect(error.kind == .invalidArgument)
                #expect(error.message.contains(message), "\(error.message)")
            }
        }
        #expect(index.contents().ids == [10])
        // Ids given by the caller move the next free id past them.
        #expect(index.nextID == 11)
        #expect(try index.add([1, 1, 1, 2, 2, 2]) == [11, 12])
        try index.add([3, 3, 3], ids: [Int64.max - 1])
        #expect(throws: GoalError.self) { try index.add([1, 1, 1]) }
        #expect(index.count == 4)
        // Stored vectors are normalised.
        let stored = index.contents().vectors
        #expect(abs(stored[0] - 1 / Float(14).squareRoot()) < 1e-7)
    }

    @Test func dimensionsAndQueries() throws {
        #expect(throws: GoalError.self) { try EmbeddingIndex(dim: 0) }
        #expect(throws: GoalError.self) { try EmbeddingIndex(dim: EmbeddingIndex.maximumDim + 1) }
        let index = try EmbeddingIndex(dim: 2)
        try index.add([1, 0])
        #expect(throws: GoalError(.invalidArgument, "query 1 has a NaN at position 0")) { try index.search([1, 0, .nan, 0], k: 1) }
        #expect(throws: GoalError(.invalidArgument, "query 0 is all zeros: it has no direction to compare by cosine")) {
            try index.search([0, 0], k: 1)
        }
        #expect(throws: GoalError.self) { try index.search([1, 0, 0], k: 1) }
        #expect(throws: GoalError.self) { try index.search([1, 0], k: -1) }
    }

    @Test func saveAndLoadRoundTrip() throws {
        try withTemporaryFolder { folder in
            let dim = 19, n = 777
            let index = try EmbeddingIndex(dim: dim)
            let data = randomVectors(n, dim, seed: 8)
            try index.add(data, ids: (0..<Int64(n)).map { 5 * $0 + 1 })
            try index.remove([6, 11])
            let path = folder + "/a.goalindex"
            try index.save(to: path)
            let loaded = try EmbeddingIndex.load(from: path)
            #expect(loaded.isMapped)
            #expect(loaded.dim == dim && loaded.count == n - 2 && loaded.nextID == index.nextID)
            #expect(loaded.contents().ids == index.contents().ids)
            #expect(loaded.contents().vectors == index.contents().vectors)
            let queries = randomVectors(5, dim, seed: 9)
            #expect(try loaded.search(queries, k: 30) == index.search(queries, k: 30))
            // The same bytes again, and the file is laid out as documented.
            try loaded.save(to: folder + "/b.goalindex")
            let bytes = readBytes(path)
            #expect(readBytes(folder + "/b.goalindex") == bytes)
            #expect(Array(bytes[0..<8]) == Array("GOALINDX".utf8))
            let vectorsOffset = (64 + 8 * (n - 2) + 63) / 64 * 64
            #expect(bytes.count == vectorsOffset + 4 * dim * (n - 2))
            // Saving over the file it was loaded from keeps the loaded index working.
            try loaded.add(Array(data[0..<dim]), ids: [6])
            #expect(!loaded.isMapped)
            try loaded.save(to: path)
            #expect(try EmbeddingIndex.load(from: path).count == n - 1)
            // An empty index round-trips too.
            let empty = try EmbeddingIndex(dim: 3)
            try empty.save(to: folder + "/empty.goalindex")
            let back = try EmbeddingIndex.load(from: folder + "/empty.goalindex")
            #expect(back.count == 0 && back.dim == 3 && back.nextID == 0)
            // No temporary files are left behind.
            var names: [String] = []
            if let dir = opendir(folder) {
                while let entry = readdir(dir) {
                    names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) })
                }
                closedir(dir)
            }
            #expect(Set(names) == [".", "..", "a.goalindex", "b.goalindex", "empty.goalindex"])
        }
    }

    func expectLoadFails(_ path: String, _ kind: GoalError.Kind, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try EmbeddingIndex.load(from: path)
            Issue.record("loaded \(path)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.kind == kind, "\(error.message)", sourceLocation: sourceLocation)
            #expect(error.message.contains(message), "\(error.message)", sourceLocation: sourceLocation)
        }
    }

    @Test func damagedFilesAreRefused() throws {
        try withTemporaryFolder { folder in
            let index = try EmbeddingIndex(dim: 5)
            try index.add(randomVectors(40, 5, seed: 10))
            let path = folder + "/good.goalindex"
            try index.save(to: path)
            let good = readBytes(path)
            let bad = folder + "/bad.goalindex"
            func variant(_ change: (inout [UInt8]) -> Void) -> String {
                var bytes = good
                change(&bytes)
                writeBytes(bytes, to: bad)
                return bad
            }
            /// Rewrites the checksum so that only the change itself is wrong.
            func resum(_ bytes: inout [UInt8]) {
                let crc = bytes.withUnsafeBytes { IndexFormat.checksum(of: $0) }
                withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { bytes[56 + i] = $0[i] } }
            }
            expectLoadFails(variant { $0[good.count - 7] ^= 0x10 }, .corrupt, "checksum")
            expectLoadFails(variant { $0[70] ^= 0x01 }, .corrupt, "checksum")
            expectLoadFails(variant { $0.removeLast(10) }, .truncated, "truncated")
            expectLoadFails(variant { $0.removeLast($0.count - 30) }, .truncated, "shorter than the 64-byte header")
            expectLoadFails(variant { $0 = [] }, .truncated, "truncated")
            expectLoadFails(variant { $0[0] = UInt8(ascii: "X") }, .corrupt, "not a goal index file")
            expectLoadFails(variant { $0 = Array("hello".utf8) }, .corrupt, "not a goal index file")
            expectLoadFails(variant { $0[8] = 2 }, .unsupported, "version 2")
            expectLoadFails(variant { $0[8] = 0; resum(&$0) }, .corrupt, "version 0")
            expectLoadFails(variant { $0[16] = 3 }, .unsupported, "flags")
            expectLoadFails(variant { $0 += [0, 0, 0, 0]; resum(&$0) }, .corrupt, "4 bytes too many")
            expectLoadFails(variant { $0[20] = 0; resum(&$0) }, .corrupt, "dimension of 0")
            expectLoadFails(variant { $0[48] = 0; resum(&$0) }, .corrupt, "puts the vectors at byte")
            expectLoadFails(variant { $0[64 + 8] = 0; resum(&$0) }, .corrupt, "id 0 appears twice")
            expectLoadFails(variant { $0[64 + 7] = 0x80; resum(&$0) }, .corrupt, "outside 0 to 39")
            expectLoadFails(variant { for i in 0..<4 { $0[448 + i] = [0, 0, 0xC0, 0x7F][i] }; resum(&$0) }, .corrupt, "vector 3 holds nan at position 1")
            expectLoadFails(variant { $0[451] ^= 0x01; resum(&$0) }, .corrupt, "vector 3 has length")
            expectLoadFails(folder + "/absent.goalindex", .notFound, "absent.goalindex")
            expectLoadFails(folder, .io, "folder")
            #expect(throws: GoalError.self) { try index.save(to: folder + "/missing/x.goalindex") }
            #expect(throws: GoalError.self) { try index.save(to: folder) }
            // The good file is still good.
            #expect(try EmbeddingIndex.load(from: path).count == 40)
        }
    }

    @Test func searchesRunAlongsideAddsAndRemoves() async throws {
        let dim = 32
        let index = try EmbeddingIndex(dim: dim)
        try index.add(randomVectors(2000, dim, seed: 11))
        let queries = randomVectors(4, dim, seed: 12)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for round in 0..<30 {
                    let ids = try index.add(self.randomVectors(50, dim, seed: 100 + UInt64(round)))
                    try index.remove(Array(ids.prefix(25)))
                }
            }
            for _ in 0..<3 {
                group.addTask {
                    for _ in 0..<30 {
                        let r = try index.search(queries, k: 10)
                        #expect(r.found == 10 && r.ids.count == 40)
                        for q in 0..<4 {
                            let row = Array(r.scores[q * 10 ..< q * 10 + 10])
                            #expect(row == row.sorted(by: >))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(index.count == 2000 + 30 * 25)
    }
}
