import Glibc

/// Memory that holds tensor elements: either allocated here (64-byte aligned, freed with the
/// object) or borrowed from something that outlives it, such as a model file's weights, which
/// `owner` keeps alive.
public final class Storage: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int
    private let owner: AnyObject?

    /// Fresh, uninitialized memory; an allocation that fails is an error, not a crash.
    public init(byteCount: Int) throws(GoalError) {
        self.byteCount = byteCount
        base = try Self.allocate(byteCount, alignment: 64)
        owner = nil
    }

    /// Fresh memory for data that lives as long as a model, such as its packed weights: aligned
    /// to 2 MiB and offered to the kernel as transparent huge pages, so that it costs fewer page
    /// faults to fill and fewer TLB misses to stream through.
    public init(longLivedByteCount byteCount: Int) throws(GoalError) {
        let hugePage = 2 << 20
        self.byteCount = byteCount
        base = try Self.allocate(byteCount, alignment: hugePage)
        owner = nil
        if byteCount >= hugePage { _ = madvise(base, byteCount, MADV_HUGEPAGE) }
    }

    private static func allocate(_ byteCount: Int, alignment: Int) throws(GoalError) -> UnsafeMutableRawPointer {
        var pointer: UnsafeMutableRawPointer? = nil
        guard byteCount >= 0, posix_memalign(&pointer, alignment, max(byteCount, 1)) == 0, let pointer else {
            throw GoalError(.outOfMemory, "cannot allocate \(byteCount) bytes")
        }
        return pointer
    }

    /// Memory owned by `owner`; never written through by the engine.
    public init(borrowing pointer: UnsafeRawPointer, byteCount: Int, owner: AnyObject) {
        base = UnsafeMutableRawPointer(mutating: pointer)
        self.byteCount = byteCount
        self.owner = owner
    }

    /// True when this memory was allocated here and may be handed to another tensor once free.
    var isOwned: Bool { owner == nil }

    deinit {
        if owner == nil { free(base) }
    }
}
