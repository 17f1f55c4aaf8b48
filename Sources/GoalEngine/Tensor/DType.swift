/// How the engine stores elements. Every ONNX element type it runs maps onto one of three:
/// floating types (float16, bfloat16, float32, float64) compute as float32, integer types as
/// int64, and bool as one byte. The ONNX type a value was declared with is kept by the graph and
/// restored at the boundary, so callers see the types their model declares.
public enum DType: Sendable, Equatable, CustomStringConvertible {
    case float32
    case int64
    case bool

    public var byteWidth: Int {
        switch self {
        case .float32: 4
        case .int64: 8
        case .bool: 1
        }
    }

    /// The storage of an ONNX element type, or nil for types the engine does not compute with
    /// (strings, complex numbers, 8- and 4-bit floats).
    public init?(_ type: ElementType) {
        switch type {
        case .float32, .float16, .bfloat16, .float64: self = .float32
        case .int64, .int32, .int16, .int8, .uint8, .uint16, .uint32, .uint64: self = .int64
        case .bool: self = .bool
        default: return nil
        }
    }

    /// The ONNX type this storage is reported as when nothing else is known.
    public var elementType: ElementType {
        switch self {
        case .float32: .float32
        case .int64: .int64
        case .bool: .bool
        }
    }

    public var description: String { elementType.description }
}
