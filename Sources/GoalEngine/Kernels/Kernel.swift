/// One operator, its attributes parsed and checked when the graph is opened, ready to run on
/// tensors. Kernels never write into their inputs.
protocol Kernel: Sendable {
    /// inputs[i] is nil for an omitted optional input.
    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor]
    /// Whether `run` takes packed weight matrices (`Tensor.Layout.panels`) as they are.
    var readsPackedWeights: Bool { get }
}

extension Kernel {
    var readsPackedWeights: Bool { false }

    /// Runs the kernel; a packed weight reaches it in row-major order unless it reads packed
    /// weights itself. (Packing picks weights read only by products, so the copy is for values a
    /// caller asks for, such as the weight itself, and for graphs changed after packing.)
    func evaluate(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        guard !readsPackedWeights, inputs.contains(where: { $0.map { $0.layout != .rowMajor } ?? false }) else {
            return try run(inputs, context)
        }
        var plain: [Tensor?] = []
        for input in inputs { plain.append(try input.map { t throws(GoalError) in try PackedMatrix.rowMajor(t) }) }
        return try run(plain, context)
    }
}

/// Makes a kernel for a node, or throws if its attributes are unusable.
typealias KernelFactory = @Sendable (Node) throws(GoalError) -> any Kernel

/// What a kernel may use besides its inputs: the thread budget, and memory for its outputs.
public final class ExecutionContext: @unchecked Sendable {
    public let threads: Int
    let pool: BufferPool
    /// Outputs with more elements are refused before memory is asked for: a shape computed from
    /// a hostile model or input must fail, not reach an allocation the kernel may overcommit.
    let maxElements: Int

    init(threads: Int, pool: BufferPool, maxElements: Int = EngineOptions.defaultMaxTensorElements) {
        self.threads = max(1, threads)
        self.pool = pool
        self.maxElements = maxElements
    }

    /// An output tensor over memory from the pool, uninitialized.
    func tensor(_ dtype: DType, _ shape: [Int]) throws(GoalError) -> Tensor {
        let bytes = try byteCount(of: shape, dtype)
        guard bytes / dtype.byteWidth <= maxElements else {
            throw GoalError(.outOfMemory, "a tensor of shape \(shape) (\(bytes / dtype.byteWidth) elements) is above the limit of \(maxElements) elements per tensor")
        }
        return Tensor(dtype: dtype, shape: shape, storage: try pool.take(byteCount: bytes))
    }
}

/// Memory of dead intermediate values, handed to later outputs of the same size.
final class BufferPool: @unchecked Sendable {
    private var free: [Int: [Storage]] = [:]

    func take(byteCount: Int) throws(GoalError) -> Storage {
        if var list = free[byteCount], let storage = list.popLast() {
            free[byteCount] = list
            return storage
        }
        return try Storage(byteCount: byteCount)
    }

    /// Offers a tensor's memory back. Taken only if the engine allocated it and nothing else
    /// (a reshaped view, a caller's result) still refers to it.
    func give(_ tensor: inout Tensor?) {
        guard let t = tensor else { return }
        tensor = nil
        var storage = t.storage
        _ = consume t
        guard storage.isOwned, isKnownUniquelyReferenced(&storage) else { return }
        free[storage.byteCount, default: []].append(storage)
    }
}

// MARK: - Helpers shared by kernels

extension Array where Element == Tensor? {
    /// Input `i`, which the operator requires.
    func required(_ i: Int, _ label: String) throws(GoalError) -> Tensor {
        guard i < count, let t = self[i] else {
            throw GoalError(.invalidModel, "\(label): input \(i) is required")
        }
        return t
    }

    func optional(_ i: Int) -> Tensor? {
        i < count ? self[i] : nil
    }
}

/// A possibly negative axis made non-negative for a tensor of rank `rank`.
func normalizedAxis(_ axis: Int64, rank: Int, _ label: String) throws(GoalError) -> Int {
    let a = axis < 0 ? Int(axis) + rank : Int(axis)
    guard a >= 0, a < max(rank, 1) else {
        throw GoalError(.invalidArgument, "\(label): axis \(axis) is out of range for rank \(rank)")
    }
    return a
}

func requireDType(_ t: Tensor, _ allowed: [DType], _ label: String, _ what: String) throws(GoalError) {
    guard allowed.contains(t.dtype) else {
        throw GoalError(.invalidArgument, "\(label): \(what) has type \(t.dtype), expected \(allowed.map(\.description).joined(separator: " or "))")
    }
}

/// Row-major strides of a shape, in elements.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var s = 1
    for d in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[d] = s
        s *= shape[d]
    }
    return strides
}
