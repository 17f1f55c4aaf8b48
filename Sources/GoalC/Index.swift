import CGoalSupport
import GoalMatch

// The embedding index. EmbeddingIndex does its own locking (searches and saves share the index;
// adds and removes take it alone).

/// What a goal_index handle points at.
final class IndexObject {
    let index: EmbeddingIndex
    init(_ index: EmbeddingIndex) { self.index = index }
}

/// Runs `body`, putting the function's name before the message of anything it throws.
private func named<R>(_ function: StaticString, _ body: () throws(GoalError) -> R) throws(GoalError) -> R {
    do {
        return try body()
    } catch {
        throw GoalError(error.kind, "\(function): \(error.message)")
    }
}

private func index(_ handle: OpaquePointer?, _ function: StaticString) throws(GoalError) -> EmbeddingIndex {
    try object(handle, function, "index", as: IndexObject.self).index
}

/// A caller's count of rows, which arrives as a negative Int when it is above INT64_MAX.
private func rowCount(_ count: Int, _ what: String, _ function: StaticString) throws(GoalError) -> Int {
    guard count >= 0 else { throw GoalError(.invalidArgument, "\(function): a count of \(UInt(bitPattern: count)) \(what)") }
    return count
}

/// The caller's `dim` must be the index's.
private func checkDim(_ dim: Int, _ index: EmbeddingIndex, _ what: String, _ function: StaticString) throws(GoalError) {
    guard dim == index.dim else {
        throw GoalError(.invalidArgument, "\(function): \(what) of \(UInt(bitPattern: dim)) floats, but the index holds vectors of \(index.dim)")
    }
}

private func path(_ text: UnsafePointer<CChar>?, _ function: StaticString) throws(GoalError) -> String {
    guard let file = String(validatingCString: try required(text, function, "path")) else {
        throw GoalError(.invalidArgument, "\(function): the path is not valid UTF-8")
    }
    guard !file.isEmpty else { throw GoalError(.invalidArgument, "\(function): the path is empty") }
    return file
}

@_cdecl("goal_index_new")
public func goalIndexNew(_ dim: Int, _ outIndex: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outIndex?.pointee = nil
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_index_new"
        let out = try required(outIndex, f, "out_index")
        guard dim >= 1, dim <= EmbeddingIndex.maximumDim else {
            throw GoalError(.invalidArgument, "\(f): a dimension of \(UInt(bitPattern: dim)) (it must be 1 to \(EmbeddingIndex.maximumDim))")
        }
        out.pointee = retainedHandle(IndexObject(try named(f) { () throws(GoalError) in try EmbeddingIndex(dim: dim) }))
    }
}

@_cdecl("goal_index_free")
public func goalIndexFree(_ index: OpaquePointer?) {
    releaseHandle(index, as: IndexObject.self)
}

@_cdecl("goal_index_add")
public func goalIndexAdd(_ handle: OpaquePointer?, _ vectors: UnsafePointer<Float>?, _ count: Int, _ dim: Int,
                         _ ids: UnsafePointer<Int64>?, _ outFirstID: UnsafeMutablePointer<Int64>?) -> goal_status {
    store(outFirstID, 0)
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_index_add"
        let index = try index(handle, f)
        let n = try rowCount(count, "vectors", f)
        try checkDim(dim, index, "vectors", f)
        if n > 0 { _ = try required(vectors, f, "vectors") }
        let first = try named(f) { () throws(GoalError) in try index.add(vectors, count: n, ids: ids) }
        store(outFirstID, first)
    }
}

@_cdecl("goal_index_remove")
public func goalIndexRemove(_ handle: OpaquePointer?, _ ids: UnsafePointer<Int64>?, _ count: Int) -> goal_status {
    abiCall { () throws(GoalError) in
        let f: StaticString = "goal_index_remove"
        let index = try index(handle, f)
        let n = try rowCount(count, "ids", f)
        if n > 0 { _ = try required(ids, f, "ids") }
        try named(f) { () throws(GoalError) in try index.remove(ids, count: n) }
    }
}

@_cdecl("goal_index_count")
public func goalIndexCount(_ handle: OpaquePointer?, _ outCount: UnsafeMutablePointer<Int>?) -> goal_status {
    store(outCount, 0)
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_index_count"
        let index = try index(handle, f)
        try required(outCount, f, "out_count").pointee = index.count
    }
}

@_cdecl("goal_index_dim")
public func goalIndexDim(_ handle: OpaquePointer?, _ outDim: UnsafeMutablePointer<Int>?) -> goal_status {
    store(outDim, 0)
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_index_dim"
        let index = try index(handle, f)
        try required(outDim, f, "out_dim").pointee = index.dim
    }
}

@_cdecl("goal_index_search")
public func goalIndexSearch(_ handle: OpaquePointer?, _ queries: UnsafePointer<Float>?, _ count: Int, _ dim: Int,
                            _ k: Int, _ outScores: UnsafeMutablePointer<Float>?, _ outIDs: UnsafeMutablePointer<Int64>?,
                            _ capacity: Int, _ outFound: UnsafeMutablePointer<Int>?) -> goal_status {
    store(outFound, 0)
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_index_search"
        let index = try index(handle, f)
        let n = try rowCount(count, "queries", f)
        try checkDim(dim, index, "queries", f)
        guard k >= 0 else { throw GoalError(.invalidArgument, "\(f): k is \(UInt(bitPattern: k)), more than INT64_MAX") }
        let (needed, overflow) = n.multipliedReportingOverflow(by: k)
        guard !overflow else { throw GoalError(.invalidArgument, "\(f): \(n) queries x k = \(k) results do not fit in a size") }
        guard sizeT(capacity) >= needed else {
            throw GoalError(.bufferTooSmall, "\(f): \(n) queries x k = \(k) need \(needed) entries in each output; the buffers hold \(capacity)")
        }
        if n > 0 { _ = try required(queries, f, "queries") }
        let result = try named(f) { () throws(GoalError) in try index.search(queries, count: n, k: k) }
        // Each query's k places: its results, then padding.
        for q in 0..<n where needed > 0 {
            for i in 0..<k {
                let real = i < result.found
                outScores?[q * k + i] = real ? result.scores[q * result.found + i] : -.infinity
                outIDs?[q * k + i] = real ? result.ids[q * result.found + i] : -1
            }
        }
        store(outFound, result.found)
    }
}

@_cdecl("goal_index_save")
public func goalIndexSave(_ handle: OpaquePointer?, _ pathText: UnsafePointer<CChar>?) -> goal_status {
    abiCall { () throws(GoalError) in
        let f: StaticString = "goal_index_save"
        let index = try index(handle, f)
        let file = try path(pathText, f)
        try named(f) { () throws(GoalError) in try index.save(to: file) }
    }
}

@_cdecl("goal_index_load")
public func goalIndexLoad(_ pathText: UnsafePointer<CChar>?, _ outIndex: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outIndex?.pointee = nil
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_index_load"
        let out = try required(outIndex, f, "out_index")
        let file = try path(pathText, f)
        out.pointee = retainedHandle(IndexObject(try named(f) { () throws(GoalError) in try EmbeddingIndex.load(from: file) }))
    }
}
