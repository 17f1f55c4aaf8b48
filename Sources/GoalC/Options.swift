import CGoalSupport
import GoalEngine

/// What a goal_options handle points at.
final class OptionsObject {
    var load = LoadOptions()
    var engine = EngineOptions()
}

@_cdecl("goal_options_new")
public func goalOptionsNew(_ outOptions: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outOptions?.pointee = nil
    return abiCall { () throws(GoalError) in
        let out = try required(outOptions, "goal_options_new", "out_options")
        out.pointee = retainedHandle(OptionsObject())
    }
}

@_cdecl("goal_options_free")
public func goalOptionsFree(_ options: OpaquePointer?) {
    releaseHandle(options, as: OptionsObject.self)
}

/// The boolean options: their key, and where each lives in the options object.
private func flag(_ key: goal_option, _ function: StaticString) throws(GoalError) -> WritableKeyPath<LoadOptions, Bool> {
    switch Int(key) {
    case GOAL_OPTION_CHECK_MODEL: return \.checkModel
    case GOAL_OPTION_INFER_SHAPES: return \.inferShapes
    case GOAL_OPTION_CONVERT_OPSET: return \.convertOpset
    default: throw GoalError(.invalidArgument, "\(function): unknown option key \(key)")
    }
}

@_cdecl("goal_options_set_int")
public func goalOptionsSetInt(_ options: OpaquePointer?, _ key: goal_option, _ value: Int64) -> goal_status {
    abiCall { () throws(GoalError) in
        let target = object(try required(options, "goal_options_set_int", "options"), as: OptionsObject.self)
        switch Int(key) {
        case GOAL_OPTION_THREADS:
            guard (0...1024).contains(value) else {
                throw GoalError(.invalidArgument, "goal_options_set_int: GOAL_OPTION_THREADS takes 0 (one per core) to 1024, not \(value)")
            }
            target.engine.threads = Int(value)
        case GOAL_OPTION_FUSE:
            guard value == 0 || value == 1 else {
                throw GoalError(.invalidArgument, "goal_options_set_int: option \(key) takes 0 or 1, not \(value)")
            }
            target.engine.fuse = value == 1
        default:
            let path = try flag(key, "goal_options_set_int")
            guard value == 0 || value == 1 else {
                throw GoalError(.invalidArgument, "goal_options_set_int: option \(key) takes 0 or 1, not \(value)")
            }
            target.load[keyPath: path] = value == 1
        }
    }
}

@_cdecl("goal_options_get_int")
public func goalOptionsGetInt(_ options: OpaquePointer?, _ key: goal_option,
                              _ outValue: UnsafeMutablePointer<Int64>?) -> goal_status {
    outValue?.pointee = 0
    return abiCall { () throws(GoalError) in
        let source = object(try required(options, "goal_options_get_int", "options"), as: OptionsObject.self)
        let out = try required(outValue, "goal_options_get_int", "out_value")
        switch Int(key) {
        case GOAL_OPTION_THREADS: out.pointee = Int64(source.engine.threads)
        case GOAL_OPTION_FUSE: out.pointee = source.engine.fuse ? 1 : 0
        default: out.pointee = source.load[keyPath: try flag(key, "goal_options_get_int")] ? 1 : 0
        }
    }
}
