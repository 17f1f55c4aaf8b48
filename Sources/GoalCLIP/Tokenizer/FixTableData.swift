/// The text-fixing tables (TextFixTables.swift, generated from Python's html module and ftfy),
/// parsed once on first use.
struct FixTables: Sendable {
    let html5: [String: [Unicode.Scalar]]
    let invalidCharrefs: [UInt32: [Unicode.Scalar]]
    let invalidCodepoints: Set<UInt32>
    let ftfyEntities: [String: [Unicode.Scalar]]
    let ligatures: [UInt32: [Unicode.Scalar]]
    let width: [UInt32: [Unicode.Scalar]]
    let controls: Set<UInt32>
    let c1: [UInt32: [Unicode.Scalar]]
    /// Longest html5 entity name, in scalars.
    let longestName: Int

    init() {
        html5 = Self.named(html5EntityTable)
        ftfyEntities = Self.named(ftfyEntityTable)
        invalidCharrefs = Self.numbered(invalidCharrefTable)
        ligatures = Self.numbered(ftfyLigatureTable)
        width = Self.numbered(ftfyWidthTable)
        c1 = Self.numbered(ftfyC1Table)
        invalidCodepoints = Set(Self.rows(invalidCodepointTable).compactMap { UInt32($0.key, radix: 16) })
        controls = Set(Self.rows(ftfyControlTable).compactMap { UInt32($0.key, radix: 16) })
        longestName = html5.keys.map { $0.unicodeScalars.count }.max() ?? 0
    }

    private static func rows(_ table: String) -> [(key: Substring, value: [Unicode.Scalar])] {
        table.split(separator: "\n").map { line in
            let fields = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            let value = fields.count > 1
                ? fields[1].split(separator: " ").compactMap { UInt32($0, radix: 16).flatMap(Unicode.Scalar.init) }
                : []
            return (fields[0], value)
        }
    }

    private static func named(_ table: String) -> [String: [Unicode.Scalar]] {
        var out: [String: [Unicode.Scalar]] = [:]
        for row in rows(table) { out[String(row.key)] = row.value }
        return out
    }

    private static func numbered(_ table: String) -> [UInt32: [Unicode.Scalar]] {
        var out: [UInt32: [Unicode.Scalar]] = [:]
        for row in rows(table) { if let k = UInt32(row.key, radix: 16) { out[k] = row.value } }
        return out
    }
}

let fixTables = FixTables()
