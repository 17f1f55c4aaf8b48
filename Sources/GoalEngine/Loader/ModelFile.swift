import CONNXLoader

/// How a model file is opened.
public struct LoadOptions: Sendable, Equatable {
    /// Run libonnx's checker. Models newer than libonnx are checked as far as it can and what it
    /// reports becomes a diagnostic; models it fully understands are refused if it objects.
    public var checkModel = true
    /// Run libonnx's shape inference, which types the graph's intermediate values.
    public var inferShapes = true
    /// Convert models below the supported opset range with libonnx's version converter.
    public var convertOpset = true

    public init() {}
}

/// The opsets of the default ai.onnx domain that the engine implements.
public let supportedOpsets: ClosedRange<Int64> = 13...21

/// An initializer's payload, borrowed from the `ModelFile` it came from.
public struct InitializerView: @unchecked Sendable {
    public let name: String
    public let elementType: ElementType
    public let shape: [Int64]
    /// Packed little-endian elements; valid while the owning `ModelFile` lives.
    public let bytes: UnsafeRawBufferPointer
    /// True when the bytes live in a memory-mapped external-data file.
    public let isExternal: Bool
}

/// One ONNX file, parsed, converted into the supported opset range, checked, with its weights
/// resolved (external data memory-mapped). Immutable once opened, so it may be read from any
/// number of threads.
public final class ModelFile: @unchecked Sendable {
    public let path: String
    public let irVersion: Int64
    public let producerName: String
    public let producerVersion: String
    /// The opsets as the file declares them, before any conversion.
    public let opsets: [OpsetImport]
    public let inputs: [ValueInfo]
    public let outputs: [ValueInfo]
    public let nodeCount: Int
    public let initializers: [InitializerView]
    /// What is worth knowing but did not stop the load, one sentence each.
    public let diagnostics: [String]

    private let handle: OpaquePointer

    public init(path: String, options: LoadOptions = LoadOptions()) throws(GoalError) {
        var raw = ox_options(
            check_model: options.checkModel ? 1 : 0,
            infer_shapes: options.inferShapes ? 1 : 0,
            convert_opset: options.convertOpset ? 1 : 0,
            opset_min: supportedOpsets.lowerBound,
            opset_max: supportedOpsets.upperBound)
        var model: OpaquePointer?
        var message: UnsafeMutablePointer<CChar>?
        let code = ox_model_open(path, &raw, &model, &message)
        guard code == OX_OK, let model else {
            let text = message.map { String(cString: $0) } ?? "cannot load \(path)"
            ox_message_free(message)
            throw GoalError(Self.kind(of: code), text)
        }
        handle = model
        self.path = path
        irVersion = ox_model_ir_version(model)
        producerName = String(cString: ox_model_producer_name(model))
        producerVersion = String(cString: ox_model_producer_version(model))
        opsets = Self.buffer(ox_model_opsets(model), ox_model_opset_count(model)).map {
            let domain = String(cString: $0.domain)
            return OpsetImport(domain: domain.isEmpty ? "ai.onnx" : domain, version: $0.version)
        }
        inputs = Self.buffer(ox_model_inputs(model), ox_model_input_count(model)).map(Self.valueInfo)
        outputs = Self.buffer(ox_model_outputs(model), ox_model_output_count(model)).map(Self.valueInfo)
        nodeCount = ox_model_node_count(model)
        initializers = Self.buffer(ox_model_initializers(model), ox_model_initializer_count(model)).map {
            InitializerView(
                name: String(cString: $0.name),
                elementType: ElementType(rawValue: $0.elem_type),
                shape: Array(Self.buffer($0.dims, Int($0.rank))),
                bytes: UnsafeRawBufferPointer(start: $0.data, count: Int($0.byte_size)),
                isExternal: $0.is_external != 0)
        }
        diagnostics = (0..<ox_model_diagnostic_count(model)).map { String(cString: ox_model_diagnostic(model, $0)) }
    }

    deinit { ox_model_free(handle) }

    /// Gives back the memory of the initializer whose payload starts at `data`, which no one
    /// will read again (its values now live elsewhere, such as a packed copy); see
    /// `ox_model_release_data`. Returns whether memory was given back.
    @discardableResult
    func releasePayload(at data: UnsafeRawPointer) -> Bool {
        ox_model_release_data(handle, data) == 1
    }

    /// The loader's view of the graph to execute; valid while this object lives.
    var graphView: UnsafePointer<ox_graph> { ox_model_graph(handle) }

    /// The newest IR version libonnx's checker knows, and the newest ai.onnx opset of its schemas.
    public static var libonnxLimits: (irVersion: Int64, opset: Int64) {
        (ox_checker_ir_version(), ox_registry_opset_max())
    }

    private static func buffer<T>(_ start: UnsafePointer<T>?, _ count: Int) -> UnsafeBufferPointer<T> {
        UnsafeBufferPointer(start: count > 0 ? start : nil, count: count)
    }

    private static func valueInfo(_ v: ox_value) -> ValueInfo {
        let shape: [Dimension]? = v.rank < 0 ? nil : buffer(v.dims, Int(v.rank)).map { d in
            if d.value >= 0 { return .fixed(d.value) }
            if let symbol = d.symbol { return .symbolic(String(cString: symbol)) }
            return .unknown
        }
        return ValueInfo(name: String(cString: v.name), elementType: ElementType(rawValue: v.elem_type), shape: shape)
    }

    private static func kind(of code: ox_code) -> GoalError.Kind {
        switch code {
        case OX_NOT_FOUND: .notFound
        case OX_IO: .io
        case OX_NOT_ONNX: .notONNX
        case OX_TRUNCATED: .truncated
        case OX_INVALID_MODEL: .invalidModel
        case OX_EXTERNAL_DATA: .externalData
        case OX_PATH_ESCAPE: .pathEscape
        case OX_UNSUPPORTED: .unsupported
        case OX_OUT_OF_MEMORY: .outOfMemory
        default: .internal
        }
    }
}
