/// An n-dimensional array of one storage type, in row-major order. A value type over shared
/// storage: reshaping makes a new Tensor over the same memory, and kernels never write into
/// their inputs.
public struct Tensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    public let storage: Storage
    /// How the elements lie in `storage`. Only weight matrices are ever packed, and only kernels
    /// that say they read packed weights see them so (see `Kernel.evaluate`).
    public let layout: Layout

    /// Row-major order, or the panels of a constant matrix packed for products (`PackedMatrix`).
    public enum Layout: Sendable, Equatable {
        case rowMajor
        /// The float32 matrix op(W) in panels, where W is the tensor as `shape` gives it and op
        /// transposes it when `transposed` (a Gemm with transB reads W that way).
        case panels(transposed: Bool)
    }

    public init(dtype: DType, shape: [Int], storage: Storage, layout: Layout = .rowMajor) {
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
        self.layout = layout
    }

    /// A tensor over fresh, uninitialized memory.
    public init(dtype: DType, shape: [Int]) throws(GoalError) {
        self.init(dtype: dtype, shape: shape, storage: try Storage(byteCount: try byteCount(of: shape, dtype)))
    }

    public init(floats: [Float], shape: [Int]) throws(GoalError) {
        try self.init(dtype: .float32, shape: shape)
        _ = self.floats.initialize(from: floats)
    }

    public init(ints: [Int64], shape: [Int]) throws(GoalError) {
        try self.init(dtype: .int64, shape: shape)
        _ = self.ints.initialize(from: ints)
    }

    public init(bools: [Bool], shape: [Int]) throws(GoalError) {
        try self.init(dtype: .bool, shape: shape)
        _ = self.bools.initialize(from: bools.map { $0 ? 1 : 0 })
    }

    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }

    public var floats: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: storage.base.assumingMemoryBound(to: Float.self), count: count)
    }

    public var ints: UnsafeMutableBufferPointer<Int64> {
        UnsafeMutableBufferPointer(start: storage.base.assumingMemoryBound(to: Int64.self), count: count)
    }

    public var bools: UnsafeMutableBufferPointer<UInt8> {
        UnsafeMutableBufferPointer(start: storage.base.assumingMemoryBound(to: UInt8.self), count: count)
    }

    /// The same elements under another shape with the same element count (row-major tensors).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(dtype: dtype, shape: newShape, storage: storage, layout: layout)
    }

    /// The elements as integers, for the small index and shape tensors that steer other ops.
    public func intValues() -> [Int64] {
        switch dtype {
        case .int64: Array(ints)
        case .float32: floats.map { Int64($0) }
        case .bool: bools.map { Int64($0) }
        }
    }

    public func floatValues() -> [Float] {
        switch dtype {
        case .float32: Array(floats)
        case .int64: ints.map { Float($0) }
        case .bool: bools.map { Float($0) }
        }
    }
}

/// Bytes for a tensor of `shape`, or an error when the sizes are negative or their product
/// overflows: shapes computed from inputs must never trap.
func byteCount(of shape: [Int], _ dtype: DType) throws(GoalError) -> Int {
    var total = dtype.byteWidth
    for d in shape {
        let (p, overflow) = total.multipliedReportingOverflow(by: d)
        guard d >= 0, !overflow else { throw GoalError(.outOfMemory, "a tensor of shape \(shape) is too large") }
        total = p
    }
    return total
}

/// Whether a shape computed from inputs is one a kernel may go on to multiply out: no negative
/// size, no overflow, and at most 2^40 elements.
func sizeFits(_ shape: [Int]) -> Bool {
    guard let bytes = try? byteCount(of: shape, .bool) else { return false }
    return bytes <= 1 << 40
}
