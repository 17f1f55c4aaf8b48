/// A tensor element type, numbered as ONNX's `TensorProto.DataType` so that files, the C ABI and
/// the engine all use one set of numbers. Unknown numbers are kept, never trapped on.
public struct ElementType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let undefined = ElementType(rawValue: 0)
    public static let float32 = ElementType(rawValue: 1)
    public static let uint8 = ElementType(rawValue: 2)
    public static let int8 = ElementType(rawValue: 3)
    public static let uint16 = ElementType(rawValue: 4)
    public static let int16 = ElementType(rawValue: 5)
    public static let int32 = ElementType(rawValue: 6)
    public static let int64 = ElementType(rawValue: 7)
    public static let string = ElementType(rawValue: 8)
    public static let bool = ElementType(rawValue: 9)
    public static let float16 = ElementType(rawValue: 10)
    public static let float64 = ElementType(rawValue: 11)
    public static let uint32 = ElementType(rawValue: 12)
    public static let uint64 = ElementType(rawValue: 13)
    public static let complex64 = ElementType(rawValue: 14)
    public static let complex128 = ElementType(rawValue: 15)
    public static let bfloat16 = ElementType(rawValue: 16)

    /// NumPy's name for the type where NumPy has one ("float32", "int64", ...).
    public var description: String {
        switch self {
        case .float32: "float32"
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .string: "string"
        case .bool: "bool"
        case .float16: "float16"
        case .float64: "float64"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .complex64: "complex64"
        case .complex128: "complex128"
        case .bfloat16: "bfloat16"
        case .undefined: "undefined"
        default: "onnx type \(rawValue)"
        }
    }
}
