/// An 8-bit RGB picture, rows top to bottom, pixels interleaved R, G, B with no padding: the one
/// form every decoder produces and every later step (resize, crop, normalise) reads.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes.
    public let pixels: [UInt8]

    /// PIL refuses images above twice `Image.MAX_IMAGE_PIXELS` (89,478,485) with
    /// `DecompressionBombError`; the same threshold is the default here.
    public static let defaultPixelLimit = 178_956_970

    /// Wraps pixels that are already packed RGB. Sizes must agree.
    public init(width: Int, height: Int, pixels: [UInt8]) throws(GoalError) {
        let count = try imageByteCount(width: width, height: height, channels: 3)
        guard pixels.count == count else {
            throw GoalError(.invalidArgument,
                            "an RGB image of \(width)x\(height) needs \(count) bytes, not \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Internal: the caller guarantees `pixels.count == width * height * 3`.
    init(checkedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// `width * height * channels`, refusing empty or overflowing sizes rather than trapping.
func imageByteCount(width: Int, height: Int, channels: Int) throws(GoalError) -> Int {
    guard width > 0, height > 0 else {
        throw GoalError(.invalidArgument, "an image must be at least 1x1, not \(width)x\(height)")
    }
    let (area, o1) = width.multipliedReportingOverflow(by: height)
    let (bytes, o2) = area.multipliedReportingOverflow(by: channels)
    guard !o1, !o2 else {
        throw GoalError(.invalidArgument, "an image of \(width)x\(height) is too large to address")
    }
    return bytes
}

/// The decompression-bomb guard, applied before any pixel memory is allocated.
func checkPixelLimit(width: Int, height: Int, limit: Int) throws(GoalError) {
    let (area, overflow) = width.multipliedReportingOverflow(by: height)
    // PIL raises only when the count is strictly above the threshold.
    if overflow || area > limit {
        throw GoalError(.invalidArgument,
                        "the image is \(width)x\(height) pixels, above the limit of \(limit) pixels (a possible decompression bomb)")
    }
}
