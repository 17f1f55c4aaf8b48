import CGoalSupport
import GoalEngine

/// What a goal_results handle points at.
final class ResultsObject {
    let names: [UnsafePointer<CChar>]
    let tensors: [Tensor]
    let types: [ElementType]
    private let strings = CStringTable()

    init(names: [String], tensors: [Tensor], types: [ElementType]) {
        let strings = self.strings
        self.names = names.map(strings.add)
        self.tensors = tensors
        self.types = types
    }
}

/// The caller's tensors, copied into engine storage (float16 and narrower integers widened).
private func feeds(_ count: Int, _ names: UnsafePointer<UnsafePointer<CChar>?>?, _ dtypes: UnsafePointer<goal_dtype>?,
                   _ ranks: UnsafePointer<Int32>?, _ shapes: UnsafePointer<UnsafePointer<Int64>?>?,
                   _ data: UnsafePointer<UnsafeRawPointer?>?) throws(GoalError) -> [String: Feed] {
    let f: StaticString = "goal_graph_run"
    guard count > 0 else { return [:] }
    let names = try required(names, f, "input_names"), dtypes = try required(dtypes, f, "input_dtypes")
    let ranks = try required(ranks, f, "input_ranks"), shapes = try required(shapes, f, "input_shapes")
    let data = try required(data, f, "input_data")
    var result: [String: Feed] = [:]
    for i in 0..<count {
        guard let cName = names[i], let name = String(validatingCString: cName) else {
            throw GoalError(.invalidArgument, "\(f): input name \(i) is NULL or not UTF-8")
        }
        let type = ElementType(rawValue: dtypes[i])
        let width = ElementType.byteWidth(type)
        guard width > 0, DType(type) != nil else {
            throw GoalError(.invalidArgument, "\(f): input '\(name)' has element type \(type), which libgoal does not take")
        }
        let rank = Int(ranks[i])
        guard (0...32).contains(rank) else {
            throw GoalError(.invalidArgument, "\(f): input '\(name)' has rank \(rank)")
        }
        var shape: [Int] = []
        if rank > 0 {
            guard let dims = shapes[i] else { throw GoalError(.invalidArgument, "\(f): input '\(name)' has a NULL shape") }
            for axis in 0..<rank {
                guard dims[axis] >= 0 else {
                    throw GoalError(.invalidArgument, "\(f): input '\(name)' has size \(dims[axis]) on axis \(axis)")
                }
                shape.append(Int(dims[axis]))
            }
        }
        var elements = 1
        for d in shape {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow, p <= 1 << 34 else { throw GoalError(.invalidArgument, "\(f): input '\(name)' of shape \(shape) is too large") }
            elements = p
        }
        guard elements == 0 || data[i] != nil else {
            throw GoalError(.invalidArgument, "\(f): input '\(name)' has NULL data")
        }
        guard result[name] == nil else { throw GoalError(.invalidArgument, "\(f): input '\(name)' is given twice") }
        let bytes = UnsafeRawBufferPointer(start: data[i], count: elements * width)
        result[name] = Feed(tensor: try Tensor.from(bytes: bytes, type: type, shape: shape, owner: nil), type: type)
    }
    return result
}

@_cdecl("goal_graph_run")
public func goalGraphRun(_ handle: OpaquePointer?, _ inputCount: Int, _ inputNames: UnsafePointer<UnsafePointer<CChar>?>?,
                         _ inputDTypes: UnsafePointer<goal_dtype>?, _ inputRanks: UnsafePointer<Int32>?,
                         _ inputShapes: UnsafePointer<UnsafePointer<Int64>?>?, _ inputData: UnsafePointer<UnsafeRawPointer?>?,
                         _ outputCount: Int, _ outputNames: UnsafePointer<UnsafePointer<CChar>?>?,
                         _ outResults: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outResults?.pointee = nil
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_graph_run"
        let g = try graph(handle, f)
        let out = try required(outResults, f, "out_results")
        let given = try feeds(inputCount, inputNames, inputDTypes, inputRanks, inputShapes, inputData)
        var wanted: [String]? = nil
        if outputCount > 0 {
            let names = try required(outputNames, f, "output_names")
            wanted = []
            for i in 0..<outputCount {
                guard let c = names[i], let name = String(validatingCString: c) else {
                    throw GoalError(.invalidArgument, "\(f): output name \(i) is NULL or not UTF-8")
                }
                wanted!.append(name)
            }
        }
        let names = wanted ?? g.engine.graphOutputs
        let tensors = try g.engine.run(given, outputs: names)
        let types = zip(names, tensors).map { g.engine.elementType(of: $0, storage: $1.dtype) }
        out.pointee = retainedHandle(ResultsObject(names: names, tensors: tensors, types: types))
    }
}

@_cdecl("goal_results_free")
public func goalResultsFree(_ results: OpaquePointer?) {
    releaseHandle(results, as: ResultsObject.self)
}

private func results(_ handle: OpaquePointer?, _ function: StaticString) throws(GoalError) -> ResultsObject {
    try object(handle, function, "results", as: ResultsObject.self)
}

@_cdecl("goal_results_count")
public func goalResultsCount(_ handle: OpaquePointer?, _ outCount: UnsafeMutablePointer<Int>?) -> goal_status {
    outCount?.pointee = 0
    return abiCall { () throws(GoalError) in
        let r = try results(handle, "goal_results_count")
        try required(outCount, "goal_results_count", "out_count").pointee = r.tensors.count
    }
}

@_cdecl("goal_results_info")
public func goalResultsInfo(_ handle: OpaquePointer?, _ index: Int, _ outName: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                            _ outDType: UnsafeMutablePointer<goal_dtype>?, _ outRank: UnsafeMutablePointer<Int32>?) -> goal_status {
    outName?.pointee = nil
    outDType?.pointee = 0
    outRank?.pointee = 0
    return abiCall { () throws(GoalError) in
        let r = try results(handle, "goal_results_info")
        let i = try checkedIndex(index, count: r.tensors.count, "goal_results_info", "result")
        store(outName, r.names[i])
        store(outDType, r.types[i].rawValue)
        store(outRank, Int32(r.tensors[i].rank))
    }
}

@_cdecl("goal_results_dim")
public func goalResultsDim(_ handle: OpaquePointer?, _ index: Int, _ axis: Int, _ outSize: UnsafeMutablePointer<Int64>?) -> goal_status {
    outSize?.pointee = 0
    return abiCall { () throws(GoalError) in
        let r = try results(handle, "goal_results_dim")
        let i = try checkedIndex(index, count: r.tensors.count, "goal_results_dim", "result")
        let a = try checkedIndex(axis, count: r.tensors[i].rank, "goal_results_dim", "axis")
        try required(outSize, "goal_results_dim", "out_size").pointee = Int64(r.tensors[i].shape[a])
    }
}

@_cdecl("goal_results_copy")
public func goalResultsCopy(_ handle: OpaquePointer?, _ index: Int, _ buffer: UnsafeMutableRawPointer?, _ capacity: Int,
                            _ outSize: UnsafeMutablePointer<Int>?) -> goal_status {
    outSize?.pointee = 0
    return abiCall { () throws(GoalError) in
        let r = try results(handle, "goal_results_copy")
        let i = try checkedIndex(index, count: r.tensors.count, "goal_results_copy", "result")
        let needed = r.tensors[i].count * ElementType.byteWidth(r.types[i])
        store(outSize, needed)
        guard needed == 0 || (buffer != nil && capacity >= needed) else {
            throw GoalError(.bufferTooSmall, "goal_results_copy: result '\(String(cString: r.names[i]))' needs \(needed) bytes, the buffer has \(buffer == nil ? 0 : capacity)")
        }
        try r.tensors[i].write(as: r.types[i], into: UnsafeMutableRawBufferPointer(start: buffer, count: needed))
    }
}
