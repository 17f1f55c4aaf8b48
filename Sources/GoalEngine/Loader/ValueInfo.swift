/// One axis of a declared shape.
public enum Dimension: Hashable, Sendable, CustomStringConvertible {
    case fixed(Int64)
    /// A named size such as "batch_size", the same wherever the name recurs.
    case symbolic(String)
    /// Neither a size nor a name.
    case unknown

    public var description: String {
        switch self {
        case .fixed(let n): "\(n)"
        case .symbolic(let name): name
        case .unknown: "?"
        }
    }
}

/// A graph input or output as the model file declares it.
public struct ValueInfo: Hashable, Sendable {
    public let name: String
    /// `.undefined` for values that are not tensors (sequences, maps).
    public let elementType: ElementType
    /// nil when the file declares no shape.
    public let shape: [Dimension]?
}

/// An operator set the model imports. The default domain is spelled "ai.onnx" here, whether the
/// file wrote it as "" or not.
public struct OpsetImport: Hashable, Sendable {
    public let domain: String
    public let version: Int64
}
