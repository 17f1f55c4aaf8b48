@_exported import GoalCLIP

/// An axis-aligned box in an image's original pixels: x from `x0` to `x1`, y from `y0` to `y1`,
/// as continuous coordinates (a box over pixel columns 10...19 is x0 = 10, x1 = 20).
public struct Box: Sendable, Equatable, CustomStringConvertible {
    public var x0: Double
    public var y0: Double
    public var x1: Double
    public var y1: Double

    public init(x0: Double, y0: Double, x1: Double, y1: Double) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
    }

    public var width: Double { x1 - x0 }
    public var height: Double { y1 - y0 }
    public var area: Double { max(0, width) * max(0, height) }

    public var description: String { "[\(fmt(x0)), \(fmt(y0)), \(fmt(x1)), \(fmt(y1))]" }

    /// Finite coordinates with x0 < x1 and y0 < y1; else `.invalidArgument` naming the box.
    func validated(_ what: String) throws(GoalError) -> Box {
        guard x0.isFinite, y0.isFinite, x1.isFinite, y1.isFinite else {
            throw GoalError(.invalidArgument, "\(what) \(self) has a coordinate that is not finite")
        }
        guard x0 < x1, y0 < y1 else {
            throw GoalError(.invalidArgument, "\(what) \(self) is empty (it needs x0 < x1 and y0 < y1)")
        }
        return self
    }

    /// The part inside a width x height image, or nil when nothing is.
    func clipped(width: Int, height: Int) -> Box? {
        let b = Box(x0: max(0, x0), y0: max(0, y0), x1: min(Double(width), x1), y1: min(Double(height), y1))
        return b.x0 < b.x1 && b.y0 < b.y1 ? b : nil
    }
}

private func fmt(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
}
