/// Where a candidate region came from.
public enum RegionSource: Sendable, Equatable {
    /// Region 0, always: the whole image.
    case wholeImage
    /// FAST-GOAL's spatial division: quadrants 0–3 (top left, top right, bottom left, bottom
    /// right), then the centre box [W/4, H/4, 3W/4, 3H/4].
    case quadrant(Int)
    case centre
    /// A cell of an n x n grid, row and column from the top left.
    case grid(n: Int, row: Int, column: Int)
    /// The caller's box with this index.
    case box(Int)
    /// The tight box of the caller's mask with this index.
    case mask(Int)
}

public struct Region: Sendable, Equatable {
    public let box: Box
    public let source: RegionSource
}

/// A binary mask over an image: `width * height` bytes, row by row, nonzero inside.
public struct Mask: Sendable {
    public let width: Int
    public let height: Int
    public let bits: [UInt8]

    public init(width: Int, height: Int, bits: [UInt8]) {
        self.width = width
        self.height = height
        self.bits = bits
    }
}

/// The candidate regions of an image: the whole image, then the spatial division, the grids,
/// the caller's boxes and the tight boxes of the caller's masks whose area (in mask pixels) is
/// within `maskArea` of the image's.
func proposals(width: Int, height: Int, spatialDivision: Bool, grids: [Int], boxes: [Box], masks: [Mask],
               maskArea: ClosedRange<Double>) throws(GoalError) -> [Region] {
    let w = Double(width), h = Double(height)
    var regions = [Region(box: Box(x0: 0, y0: 0, x1: w, y1: h), source: .wholeImage)]
    if spatialDivision {
        let quadrants = [Box(x0: 0, y0: 0, x1: w / 2, y1: h / 2), Box(x0: w / 2, y0: 0, x1: w, y1: h / 2),
                         Box(x0: 0, y0: h / 2, x1: w / 2, y1: h), Box(x0: w / 2, y0: h / 2, x1: w, y1: h)]
        for (i, q) in quadrants.enumerated() { regions.append(Region(box: q, source: .quadrant(i))) }
        regions.append(Region(box: Box(x0: w / 4, y0: h / 4, x1: 3 * w / 4, y1: 3 * h / 4), source: .centre))
    }
    for n in grids {
        guard (1...16).contains(n) else { throw GoalError(.invalidArgument, "a grid of \(n) x \(n) cells (1 to 16 per side)") }
        for r in 0..<n {
            for c in 0..<n {
                let box = Box(x0: w * Double(c) / Double(n), y0: h * Double(r) / Double(n),
                              x1: w * Double(c + 1) / Double(n), y1: h * Double(r + 1) / Double(n))
                regions.append(Region(box: box, source: .grid(n: n, row: r, column: c)))
            }
        }
    }
    for (i, box) in boxes.enumerated() {
        let valid = try box.validated("box \(i)")
        guard valid.clipped(width: width, height: height) != nil else {
            throw GoalError(.invalidArgument, "box \(i) \(box) lies outside the \(width)x\(height) image")
        }
        regions.append(Region(box: valid, source: .box(i)))
    }
    for (i, mask) in masks.enumerated() {
        guard mask.width == width, mask.height == height, mask.bits.count == width * height else {
            throw GoalError(.invalidArgument, "mask \(i) is \(mask.width)x\(mask.height) with \(mask.bits.count) values; the image is \(width)x\(height)")
        }
        var x0 = Int.max, y0 = Int.max, x1 = -1, y1 = -1, count = 0
        for y in 0..<height {
            for x in 0..<width where mask.bits[y * width + x] != 0 {
                x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
                count += 1
            }
        }
        let fraction = Double(count) / (w * h)
        guard count > 0, maskArea.contains(fraction) else { continue }
        regions.append(Region(box: Box(x0: Double(x0), y0: Double(y0), x1: Double(x1 + 1), y1: Double(y1 + 1)),
                              source: .mask(i)))
    }
    return regions
}
