import CGoalSupport

@_cdecl("goal_status_string")
public func goalStatusString(_ status: goal_status) -> UnsafePointer<CChar> {
    let text: StaticString
    switch Int(status) {
    case GOAL_OK: text = "ok"
    case GOAL_ERR_INVALID_ARGUMENT: text = "invalid argument"
    case GOAL_ERR_OUT_OF_MEMORY: text = "out of memory"
    case GOAL_ERR_INDEX_OUT_OF_RANGE: text = "index out of range"
    case GOAL_ERR_NOT_FOUND: text = "file not found"
    case GOAL_ERR_IO: text = "cannot read file"
    case GOAL_ERR_NOT_ONNX: text = "not an ONNX model"
    case GOAL_ERR_TRUNCATED: text = "truncated file"
    case GOAL_ERR_INVALID_MODEL: text = "invalid ONNX model"
    case GOAL_ERR_EXTERNAL_DATA: text = "external data missing or short"
    case GOAL_ERR_PATH_ESCAPE: text = "external data outside the model folder"
    case GOAL_ERR_UNSUPPORTED: text = "unsupported"
    case GOAL_ERR_INTERNAL: text = "internal error"
    case GOAL_ERR_BUFFER_TOO_SMALL: text = "buffer too small"
    case GOAL_ERR_CORRUPT: text = "corrupt file"
    default: text = "unknown status"
    }
    return UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("goal_last_error")
public func goalLastError() -> UnsafePointer<CChar> {
    goal_support_last_error()
}
