/// A failure anywhere in the library: what kind it is, and a message for a person.
///
/// Every layer throws this one type so that the C ABI can turn any failure into a status and a
/// message without knowing where it came from.
public struct GoalError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable, CaseIterable {
        case invalidArgument
        case outOfMemory
        case indexOutOfRange
        case notFound
        case io
        case notONNX
        case truncated
        case invalidModel
        case externalData
        case pathEscape
        case unsupported
        case `internal`
        case bufferTooSmall
        /// A damaged file, or one that is not the kind it should be (an index file's magic,
        /// checksum or sizes).
        case corrupt
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
