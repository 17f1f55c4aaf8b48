import CGoalSupport
import GoalEngine

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

/// Swift objects handed to C as opaque pointers: the handle holds one strong reference,
/// released by the object's _free function.
func retainedHandle<T: AnyObject>(_ object: T) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(object).toOpaque())
}

func object<T: AnyObject>(_ handle: OpaquePointer, as: T.Type) -> T {
    Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

func releaseHandle<T: AnyObject>(_ handle: OpaquePointer?, as: T.Type) {
    guard let handle else { return }
    Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).release()
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
