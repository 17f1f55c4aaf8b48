import CGoalSupport

// The runtime twins of the header's version macros, so a caller can tell which library it loaded.
// Both are computed from the macros of include/goal.h, the one place the version is written.

nonisolated(unsafe) private let versionCString: UnsafePointer<CChar> =
    CStringTable.immortal("\(GOAL_VERSION_MAJOR).\(GOAL_VERSION_MINOR).\(GOAL_VERSION_PATCH)")

@_cdecl("goal_version")
public func goalVersion() -> UnsafePointer<CChar> {
    versionCString
}

@_cdecl("goal_version_number")
public func goalVersionNumber() -> UInt32 {
    UInt32(GOAL_VERSION_MAJOR * 10000 + GOAL_VERSION_MINOR * 100 + GOAL_VERSION_PATCH)
}
