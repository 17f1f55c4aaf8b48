/// A node attribute, typed as ONNX types it.
public enum Attribute: @unchecked Sendable {
    case float(Float)
    case int(Int64)
    case string(String)
    case tensor(Tensor, ElementType)
    case graph(GraphIR)
    case floats([Float])
    case ints([Int64])
    case strings([String])
}

/// One operator application. Inputs and outputs are value names; "" marks an omitted optional input.
public struct Node: @unchecked Sendable {
    public var name: String
    public var opType: String
    public var domain: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [String: Attribute]

    public init(name: String, opType: String, domain: String = "", inputs: [String], outputs: [String],
                attributes: [String: Attribute] = [:]) {
        self.name = name
        self.opType = opType
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }

    /// How messages name this node: its name if it has one, else its op type and first output.
    public var label: String {
        name.isEmpty ? "\(opType) node producing '\(outputs.first ?? "")'" : "node '\(name)' (\(opType))"
    }

    // Typed attribute access; a wrong type or a missing required attribute is a model error.

    public func int(_ key: String, default value: Int64? = nil) throws(GoalError) -> Int64 {
        switch attributes[key] {
        case .int(let v): return v
        case nil: if let value { return value }
        default: break
        }
        throw GoalError(.invalidModel, "\(label): attribute '\(key)' must be an int")
    }

    public func float(_ key: String, default value: Float? = nil) throws(GoalError) -> Float {
        switch attributes[key] {
        case .float(let v): return v
        case .int(let v): return Float(v)
        case nil: if let value { return value }
        default: break
        }
        throw GoalError(.invalidModel, "\(label): attribute '\(key)' must be a float")
    }

    public func string(_ key: String, default value: String? = nil) throws(GoalError) -> String {
        switch attributes[key] {
        case .string(let v): return v
        case nil: if let value { return value }
        default: break
        }
        throw GoalError(.invalidModel, "\(label): attribute '\(key)' must be a string")
    }

    public func ints(_ key: String) throws(GoalError) -> [Int64]? {
        switch attributes[key] {
        case .ints(let v): return v
        case .int(let v): return [v]
        case nil: return nil
        default: throw GoalError(.invalidModel, "\(label): attribute '\(key)' must be a list of ints")
        }
    }

    public func floats(_ key: String) throws(GoalError) -> [Float]? {
        switch attributes[key] {
        case .floats(let v): return v
        case nil: return nil
        default: throw GoalError(.invalidModel, "\(label): attribute '\(key)' must be a list of floats")
        }
    }

    /// The name of input `i`, or nil when it is absent or omitted.
    public func input(_ i: Int) -> String? {
        i < inputs.count && !inputs[i].isEmpty ? inputs[i] : nil
    }
}
