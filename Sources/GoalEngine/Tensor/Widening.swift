/// Conversions between the ONNX element types a file or caller uses and the engine's storage.

/// IEEE half → float, exact.
@inline(__always)
func floatFromHalf(_ bits: UInt16) -> Float {
    Float(Float16(bitPattern: bits))
}

/// bfloat16 → float, exact: bfloat16 is the top half of a float32.
@inline(__always)
func floatFromBFloat16(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

/// float → bfloat16 with round-to-nearest-even, NaN kept a NaN.
@inline(__always)
func bfloat16FromFloat(_ value: Float) -> UInt16 {
    if value.isNaN { return 0x7FC0 }
    let bits = value.bitPattern
    let rounding = 0x7FFF + ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
}

extension Tensor {
    /// A tensor in engine storage holding `bytes` of ONNX type `type`, converted where the
    /// storage differs. Float32, int64 and bool bytes are borrowed without a copy when `owner`
    /// is given and the memory is aligned; everything else is widened into fresh memory.
    public static func from(bytes: UnsafeRawBufferPointer, type: ElementType, shape: [Int], owner: AnyObject?) throws(GoalError) -> Tensor {
        guard let dtype = DType(type) else {
            throw GoalError(.unsupported, "element type \(type) is not supported")
        }
        let count = shape.reduce(1, *)
        let width = ElementType.byteWidth(type)
        guard bytes.count == count * width else {
            throw GoalError(.invalidModel, "\(bytes.count) bytes do not hold \(count) elements of \(type)")
        }
        if let owner, let base = bytes.baseAddress, type == dtype.elementType,
           Int(bitPattern: base) % width == 0 {
            return Tensor(dtype: dtype, shape: shape, storage: Storage(borrowing: base, byteCount: bytes.count, owner: owner))
        }
        let out = try Tensor(dtype: dtype, shape: shape)
        if count == 0 { return out }
        let src = bytes.baseAddress!
        switch type {
        case .float32: out.floats.baseAddress!.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .float16: for i in 0..<count { out.floats[i] = floatFromHalf(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bfloat16: for i in 0..<count { out.floats[i] = floatFromBFloat16(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .float64: for i in 0..<count { out.floats[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        case .int64: for i in 0..<count { out.ints[i] = src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self) }
        case .int32: for i in 0..<count { out.ints[i] = Int64(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
        case .int16: for i in 0..<count { out.ints[i] = Int64(src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
        case .uint16: for i in 0..<count { out.ints[i] = Int64(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .int8: for i in 0..<count { out.ints[i] = Int64(src.load(fromByteOffset: i, as: Int8.self)) }
        case .uint8: for i in 0..<count { out.ints[i] = Int64(src.load(fromByteOffset: i, as: UInt8.self)) }
        case .uint32: for i in 0..<count { out.ints[i] = Int64(src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        case .uint64: for i in 0..<count { out.ints[i] = Int64(bitPattern: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
        case .bool: for i in 0..<count { out.bools[i] = src.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
        default: throw GoalError(.unsupported, "element type \(type) is not supported")
        }
        return out
    }

    /// Writes the elements as ONNX type `type` into `destination`, which holds exactly
    /// count × byteWidth(type) bytes. Narrowing follows C casts (floats truncate toward zero).
    public func write(as type: ElementType, into destination: UnsafeMutableRawBufferPointer) throws(GoalError) {
        let n = count
        guard destination.count == n * ElementType.byteWidth(type), let dst = destination.baseAddress else {
            if n == 0 { return }
            throw GoalError(.internal, "output buffer has the wrong size")
        }
        func element(_ i: Int) -> Double {
            switch dtype {
            case .float32: Double(floats[i])
            case .int64: Double(ints[i])
            case .bool: Double(bools[i])
            }
        }
        switch (dtype, type) {
        case (.float32, .float32): dst.copyMemory(from: storage.base, byteCount: n * 4)
        case (.int64, .int64): dst.copyMemory(from: storage.base, byteCount: n * 8)
        case (.bool, .bool): dst.copyMemory(from: storage.base, byteCount: n)
        case (.float32, .float16): for i in 0..<n { dst.storeBytes(of: Float16(floats[i]).bitPattern, toByteOffset: 2 * i, as: UInt16.self) }
        case (.float32, .bfloat16): for i in 0..<n { dst.storeBytes(of: bfloat16FromFloat(floats[i]), toByteOffset: 2 * i, as: UInt16.self) }
        case (_, .float32): for i in 0..<n { dst.storeBytes(of: Float(element(i)), toByteOffset: 4 * i, as: Float.self) }
        case (_, .float64): for i in 0..<n { dst.storeBytes(of: element(i), toByteOffset: 8 * i, as: Double.self) }
        case (_, .float16): for i in 0..<n { dst.storeBytes(of: Float16(element(i)).bitPattern, toByteOffset: 2 * i, as: UInt16.self) }
        case (.int64, .int32): for i in 0..<n { dst.storeBytes(of: Int32(truncatingIfNeeded: ints[i]), toByteOffset: 4 * i, as: Int32.self) }
        case (_, .int64): for i in 0..<n { dst.storeBytes(of: Int64(clamping: element(i)), toByteOffset: 8 * i, as: Int64.self) }
        case (_, .int32): for i in 0..<n { dst.storeBytes(of: Int32(truncatingIfNeeded: Int64(clamping: element(i))), toByteOffset: 4 * i, as: Int32.self) }
        case (_, .bool): for i in 0..<n { dst.storeBytes(of: element(i) != 0 ? 1 : 0, toByteOffset: i, as: UInt8.self) }
        case (_, .uint8): for i in 0..<n { dst.storeBytes(of: UInt8(truncatingIfNeeded: Int64(clamping: element(i))), toByteOffset: i, as: UInt8.self) }
        case (_, .int8): for i in 0..<n { dst.storeBytes(of: Int8(truncatingIfNeeded: Int64(clamping: element(i))), toByteOffset: i, as: Int8.self) }
        default: throw GoalError(.unsupported, "cannot return \(dtype) values as \(type)")
        }
    }
}

extension Int64 {
    /// A C-style conversion that saturates instead of trapping on NaN and out-of-range values.
    init(clamping value: Double) {
        if value.isNaN { self = 0 }
        else if value >= 9.2233720368547758e18 { self = .max }
        else if value <= -9.2233720368547758e18 { self = .min }
        else { self = Int64(value) }
    }
}

extension ElementType {
    /// Bytes per element as stored in files and caller buffers; 0 for types without a fixed width.
    public static func byteWidth(_ type: ElementType) -> Int {
        switch type {
        case .float32, .int32, .uint32: 4
        case .float64, .int64, .uint64, .complex64: 8
        case .float16, .bfloat16, .int16, .uint16: 2
        case .int8, .uint8, .bool: 1
        case .complex128: 16
        default: 0
        }
    }
}
