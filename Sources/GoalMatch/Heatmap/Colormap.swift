/// The heatmap's colours: dark blue (low similarity) through purple, red and orange to pale
/// yellow (high), linear in sRGB between five stops of our own choosing. Each stop is brighter
/// than the one before (relative luminance 0.018, 0.064, 0.169, 0.398, 0.843), so brightness
/// alone orders the values, in greyscale print and for colour-blind readers too.
public enum HeatmapColormap {
    /// (position in [0, 1], sRGB 0–255).
    public static let stops: [(position: Double, rgb: (Double, Double, Double))] = [
        (0.00, (25, 25, 100)),
        (0.25, (100, 40, 150)),
        (0.50, (205, 60, 90)),
        (0.75, (245, 145, 40)),
        (1.00, (250, 240, 130)),
    ]

    /// The colour at `t`, clamped to [0, 1] (NaN counts as 0), as unrounded sRGB 0–255: the
    /// blend rounds once, at the end.
    public static func color(at t: Double) -> (r: Double, g: Double, b: Double) {
        let t = t.isNaN ? 0 : min(max(t, 0), 1)
        var i = 1
        while i < stops.count - 1 && t > stops[i].position { i += 1 }
        let (p0, c0) = stops[i - 1], (p1, c1) = stops[i]
        let s = (t - p0) / (p1 - p0)
        return (c0.0 + (c1.0 - c0.0) * s, c0.1 + (c1.1 - c0.1) * s, c0.2 + (c1.2 - c0.2) * s)
    }
}
