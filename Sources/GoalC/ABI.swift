import CGoalSupport
import GoalEngine
import Synchronization

// The machinery every exported function shares: turning thrown errors into statuses, checking
// pointers, clearing out-parameters, and passing Swift objects across the ABI as opaque handles.

/// Runs the body of an exported function. A thrown GoalError becomes its status and the calling
/// thread's error text; nothing else can escape, and nothing in the body may trap.
@inline(__always)
func abiCall(_ body: () throws(GoalError) -> Void) -> goal_status {
    do {
        try body()
        return goal_status(GOAL_OK)
    } catch {
        goal_support_set_error(error.message)
        return status(of: error.kind)
    }
}

func status(of kind: GoalError.Kind) -> goal_status {
    let code: Int
    switch kind {
    case .invalidArgument: code = GOAL_ERR_INVALID_ARGUMENT
    case .outOfMemory: code = GOAL_ERR_OUT_OF_MEMORY
    case .indexOutOfRange: code = GOAL_ERR_INDEX_OUT_OF_RANGE
    case .notFound: code = GOAL_ERR_NOT_FOUND
    case .io: code = GOAL_ERR_IO
    case .notONNX: code = GOAL_ERR_NOT_ONNX
    case .truncated: code = GOAL_ERR_TRUNCATED
    case .invalidModel: code = GOAL_ERR_INVALID_MODEL
    case .externalData: code = GOAL_ERR_EXTERNAL_DATA
    case .pathEscape: code = GOAL_ERR_PATH_ESCAPE
    case .unsupported: code = GOAL_ERR_UNSUPPORTED
    case .internal: code = GOAL_ERR_INTERNAL
    case .bufferTooSmall: code = GOAL_ERR_BUFFER_TOO_SMALL
    case .corrupt: code = GOAL_ERR_CORRUPT
    }
    return goal_status(code)
}

/// The pointer, or an invalidArgument error naming the function and parameter.
func required<T>(_ pointer: T?, _ function: StaticString, _ parameter: StaticString) throws(GoalError) -> T {
    guard let pointer else { throw GoalError(.invalidArgument, "\(function): \(parameter) is NULL") }
    return pointer
}

/// Sets an optional out-parameter; a NULL pointer means the caller does not want that value.
@inline(__always)
func store<T>(_ pointer: UnsafeMutablePointer<T>?, _ value: T) {
    pointer?.pointee = value
}

func checkedIndex(_ index: Int, count: Int, _ function: StaticString, _ what: String) throws(GoalError) -> Int {
    guard index >= 0, index < count else {
        throw GoalError(.indexOutOfRange, "\(function): \(what) index \(index) is out of range (there are \(count))")
    }
    return index
}

/// Swift objects handed to C as opaque pointers. The handle holds one strong reference, released
/// by the object's _free function, and is registered while it lives: a handle that was freed, or
/// that is not a handle of the expected kind, is reported instead of being dereferenced (unless
/// its address has since been reused for a new object of the same kind, which cannot be told).
private let liveHandles = Mutex<[UInt: ObjectIdentifier]>([:])

func retainedHandle<T: AnyObject>(_ object: T) -> OpaquePointer {
    let pointer = Unmanaged.passRetained(object).toOpaque()
    let key = UInt(bitPattern: pointer), kind = ObjectIdentifier(T.self)
    liveHandles.withLock { $0[key] = kind }
    return OpaquePointer(pointer)
}

/// The object behind a handle argument: an error naming the function and parameter when the
/// handle is NULL, freed, or of another kind. The returned reference keeps the object alive for
/// the call even if another thread frees the handle meanwhile.
func object<T: AnyObject>(_ handle: OpaquePointer?, _ function: StaticString, _ parameter: StaticString,
                          as: T.Type) throws(GoalError) -> T {
    let pointer = UnsafeRawPointer(try required(handle, function, parameter))
    let key = UInt(bitPattern: pointer), kind = ObjectIdentifier(T.self)
    // Retained under the lock, so a concurrent _free cannot release it in between.
    let live = liveHandles.withLock { live in
        guard live[key] == kind else { return false }
        _ = Unmanaged<T>.fromOpaque(UnsafeRawPointer(bitPattern: key)!).retain()
        return true
    }
    guard live else {
        throw GoalError(.invalidArgument, "\(function): \(parameter) is not a live \(handleName(T.self)) (freed already, or another kind of handle)")
    }
    return Unmanaged<T>.fromOpaque(pointer).takeRetainedValue()
}

/// Releases a handle's reference. NULL, an already freed handle and a handle of another kind
/// are ignored: a _free function has no status to report them with, and must not crash.
func releaseHandle<T: AnyObject>(_ handle: OpaquePointer?, as: T.Type) {
    guard let handle else { return }
    let key = UInt(bitPattern: UnsafeRawPointer(handle)), kind = ObjectIdentifier(T.self)
    let owned = liveHandles.withLock { live in
        guard live[key] == kind else { return false }
        live[key] = nil
        return true
    }
    if owned { Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).release() }
}

/// How messages name a handle type: ModelObject → "model handle".
private func handleName<T>(_ type: T.Type) -> String {
    var name = String(describing: type)
    if name.hasSuffix("Object") { name.removeLast("Object".count) }
    return name.prefix(1).lowercased() + name.dropFirst() + " handle"
}

/// NUL-terminated copies of strings that the ABI hands out, owned by the object that holds the
/// table and freed with it.
final class CStringTable {
    private var storage: [UnsafeMutablePointer<CChar>] = []

    func add(_ text: String) -> UnsafePointer<CChar> {
        let copy = Self.immortal(text)
        storage.append(UnsafeMutablePointer(mutating: copy))
        return copy
    }

    deinit {
        for pointer in storage { pointer.deallocate() }
    }

    /// A copy that lives as long as the process, for library-wide strings.
    static func immortal(_ text: String) -> UnsafePointer<CChar> {
        let utf8 = Array(text.utf8CString)
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
        copy.initialize(from: utf8, count: utf8.count)
        return UnsafePointer(copy)
    }
}
