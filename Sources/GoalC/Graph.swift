import CGoalSupport
import GoalEngine

/// What a goal_graph handle points at: the opened file and the C strings handed out about it.
final class GraphObject {
    struct Value {
        let name: UnsafePointer<CChar>
        let dtype: goal_dtype
        let rank: Int32
        /// (size, symbol) per axis, as goal_graph_value_dim reports them.
        let dims: [(Int64, UnsafePointer<CChar>?)]
    }

    let file: ModelFile
    let engine: Engine
    private let strings = CStringTable()
    let producerName: UnsafePointer<CChar>
    let producerVersion: UnsafePointer<CChar>
    let opsets: [(UnsafePointer<CChar>, Int64)]
    let inputs: [Value]
    let outputs: [Value]
    let diagnostics: [UnsafePointer<CChar>]

    init(_ engine: Engine) {
        let file = engine.model
        self.file = file
        self.engine = engine
        let strings = self.strings
        producerName = strings.add(file.producerName)
        producerVersion = strings.add(file.producerVersion)
        opsets = file.opsets.map { (strings.add($0.domain), $0.version) }
        func value(_ info: ValueInfo) -> Value {
            let dims: [(Int64, UnsafePointer<CChar>?)] = (info.shape ?? []).map {
                switch $0 {
                case .fixed(let n): (n, nil)
                case .symbolic(let name): (-1, strings.add(name))
                case .unknown: (-1, nil)
                }
            }
            return Value(name: strings.add(info.name), dtype: info.elementType.rawValue,
                         rank: info.shape.map { Int32($0.count) } ?? -1, dims: dims)
        }
        inputs = file.inputs.map(value)
        outputs = file.outputs.map(value)
        diagnostics = file.diagnostics.map(strings.add)
    }

    func values(_ io: goal_io, _ function: StaticString) throws(GoalError) -> [Value] {
        switch Int(io) {
        case GOAL_IO_INPUT: return inputs
        case GOAL_IO_OUTPUT: return outputs
        default: throw GoalError(.invalidArgument, "\(function): io must be GOAL_IO_INPUT or GOAL_IO_OUTPUT, not \(io)")
        }
    }
}

func graph(_ handle: OpaquePointer?, _ function: StaticString) throws(GoalError) -> GraphObject {
    try object(handle, function, "graph", as: GraphObject.self)
}

@_cdecl("goal_supported_opsets")
public func goalSupportedOpsets(_ outMin: UnsafeMutablePointer<Int64>?, _ outMax: UnsafeMutablePointer<Int64>?) -> goal_status {
    outMin?.pointee = 0
    outMax?.pointee = 0
    return abiCall { () throws(GoalError) in
        try required(outMin, "goal_supported_opsets", "out_min").pointee = supportedOpsets.lowerBound
        try required(outMax, "goal_supported_opsets", "out_max").pointee = supportedOpsets.upperBound
    }
}

@_cdecl("goal_graph_open")
public func goalGraphOpen(_ path: UnsafePointer<CChar>?, _ options: OpaquePointer?,
                          _ outGraph: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outGraph?.pointee = nil
    return abiCall { () throws(GoalError) in
        let out = try required(outGraph, "goal_graph_open", "out_graph")
        let cPath = try required(path, "goal_graph_open", "path")
        guard let path = String(validatingCString: cPath) else {
            throw GoalError(.invalidArgument, "goal_graph_open: path is not valid UTF-8")
        }
        let settings = options == nil ? OptionsObject() : try object(options, "goal_graph_open", "options", as: OptionsObject.self)
        let file = try ModelFile(path: path, options: settings.load)
        out.pointee = retainedHandle(GraphObject(try Engine(model: file, options: settings.engine)))
    }
}

@_cdecl("goal_graph_free")
public func goalGraphFree(_ graph: OpaquePointer?) {
    releaseHandle(graph, as: GraphObject.self)
}

@_cdecl("goal_graph_ir_version")
public func goalGraphIRVersion(_ handle: OpaquePointer?, _ outIRVersion: UnsafeMutablePointer<Int64>?) -> goal_status {
    outIRVersion?.pointee = 0
    return abiCall { () throws(GoalError) in
        let g = try graph(handle, "goal_graph_ir_version")
        try required(outIRVersion, "goal_graph_ir_version", "out_ir_version").pointee = g.file.irVersion
    }
}

@_cdecl("goal_graph_producer")
public func goalGraphProducer(_ handle: OpaquePointer?, _ outName: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                              _ outVersion: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> goal_status {
    outName?.pointee = nil
    outVersion?.pointee = nil
    return abiCall { () throws(GoalError) in
        let g = try graph(handle, "goal_graph_producer")
        store(outName, g.producerName)
        store(outVersion, g.producerVersion)
    }
}

@_cdecl("goal_graph_opset_count")
public func goalGraphOpsetCount(_ handle: OpaquePointer?, _ outCount: UnsafeMutablePointer<Int>?) -> goal_status {
    outCount?.pointee = 0
    return abiCall { () throws(GoalError) in
        let g = try graph(handle, "goal_graph_opset_count")
        try required(outCount, "goal_graph_opset_count", "out_count").pointee = g.opsets.count
    }
}

@_cdecl("goal_graph_opset")
public func goalGraphOpset(_ handle: OpaquePointer?, _ index: Int, _ outDomain: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                           _ outVersion: UnsafeMutablePointer<Int64>?) -> goal_status {
    outDomain?.pointee = nil
    outVersion?.pointee = 0
    return abiCall { () throws(GoalError) in
        let g = try graph(handle, "goal_graph_opset")
        let (domain, version) = g.opsets[try checkedIndex(index, count: g.opsets.count, "goal_graph_opset", "opset")]
        store(outDomain, domain)
        store(outVersion, version)
    }
}

@_cdecl("goal_graph_value_count")
public func goalGraphValueCount(_ handle: OpaquePointer?, _ io: goal_io, _ outCount: UnsafeMutablePointer<Int>?) -> goal_status {
    outCount?.pointee = 0
    return abiCall { () throws(GoalError) in
        let values = try graph(handle, "goal_graph_value_count").values(io, "goal_graph_value_count")
        try required(outCount, "goal_graph_value_count", "out_count").pointee = values.count
    }
}

@_cdecl("goal_graph_value_info")
public func goalGraphValueInfo(_ handle: OpaquePointer?, _ io: goal_io, _ index: Int,
                               _ outName: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                               _ outDType: UnsafeMutablePointer<goal_dtype>?,
                               _ outRank: UnsafeMutablePointer<Int32>?) -> goal_status {
    outName?.pointee = nil
    outDType?.pointee = 0
    outRank?.pointee = 0
    return abiCall { () throws(GoalError) in
        let values = try graph(handle, "goal_graph_value_info").values(io, "goal_graph_value_info")
        let value = values[try checkedIndex(index, count: values.count, "goal_graph_value_info", "value")]
        store(outName, value.name)
        store(outDType, value.dtype)
        store(outRank, value.rank)
    }
}

@_cdecl("goal_graph_value_dim")
public func goalGraphValueDim(_ handle: OpaquePointer?, _ io: goal_io, _ index: Int, _ axis: Int,
                              _ outSize: UnsafeMutablePointer<Int64>?,
                              _ outSymbol: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> goal_status {
    outSize?.pointee = 0
    outSymbol?.pointee = nil
    return abiCall { () throws(GoalError) in
        let values = try graph(handle, "goal_graph_value_dim").values(io, "goal_graph_value_dim")
        let value = values[try checkedIndex(index, count: values.count, "goal_graph_value_dim", "value")]
        let (size, symbol) = value.dims[try checkedIndex(axis, count: value.dims.count, "goal_graph_value_dim", "axis")]
        store(outSize, size)
        store(outSymbol, symbol)
    }
}

@_cdecl("goal_graph_node_count")
public func goalGraphNodeCount(_ handle: OpaquePointer?, _ outCount: UnsafeMutablePointer<Int>?) -> goal_status {
    outCount?.pointee = 0
    return abiCall { () throws(GoalError) in
        let g = try graph(handle, "goal_graph_node_count")
        try required(outCount, "goal_graph_node_count", "out_count").pointee = g.file.nodeCount
    }
}

@_cdecl("goal_graph_initializer_count")
public func goalGraphInitializerCount(_ handle: OpaquePointer?, _ outCount: UnsafeMutablePointer<Int>?) -> goal_status {
    outCount?.pointee = 0
    return abiCall { () throws(GoalError) in
        let g = try graph(handle, "goal_graph_initializer_count")
        try required(outCount, "goal_graph_initializer_count", "out_count").pointee = g.file.initializers.count
    }
}

@_cdecl("goal_graph_diagnostic_count")
public func goalGraphDiagnosticCount(_ handle: OpaquePointer?, _ outCount: UnsafeMutablePointer<Int>?) -> goal_status {
    outCount?.pointee = 0
    return abiCall { () throws(GoalError) in
        let g = try graph(handle, "goal_graph_diagnostic_count")
        try required(outCount, "goal_graph_diagnostic_count", "out_count").pointee = g.diagnostics.count
    }
}

@_cdecl("goal_graph_diagnostic")
public func goalGraphDiagnostic(_ handle: OpaquePointer?, _ index: Int,
                                _ outText: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> goal_status {
    outText?.pointee = nil
    return abiCall { () throws(GoalError) in
        let g = try graph(handle, "goal_graph_diagnostic")
        let out = try required(outText, "goal_graph_diagnostic", "out_text")
        out.pointee = g.diagnostics[try checkedIndex(index, count: g.diagnostics.count, "goal_graph_diagnostic", "diagnostic")]
    }
}
