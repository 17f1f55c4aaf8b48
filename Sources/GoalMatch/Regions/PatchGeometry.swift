/// Where an image's patches lie in its original pixels, following the real preprocessing: the
/// short side resized to `size` (the long side truncated to an integer), then a centre crop of
/// `cropSize` starting at the convention's rounded offset, cut into `patchSize` squares.
public struct PatchGeometry: Sendable, Equatable {
    public let imageWidth: Int
    public let imageHeight: Int
    public let resizedWidth: Int
    public let resizedHeight: Int
    public let cropX: Int
    public let cropY: Int
    public let cropSize: Int
    public let patchSize: Int

    public init(imageWidth: Int, imageHeight: Int, preprocessing: Preprocessing, patchSize: Int) {
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        let resized = preprocessing.resizedSize(width: imageWidth, height: imageHeight)
        resizedWidth = resized.width
        resizedHeight = resized.height
        let origin = preprocessing.cropOrigin(width: resized.width, height: resized.height)
        cropX = origin.x
        cropY = origin.y
        cropSize = preprocessing.cropSize
        self.patchSize = patchSize
    }

    public var rows: Int { cropSize / patchSize }
    public var columns: Int { cropSize / patchSize }

    /// A box in original pixels as crop-window coordinates, clipped to the window; nil when it
    /// lies wholly outside (in the margin the crop cut away).
    public func cropWindow(of box: Box) -> Box? {
        let sx = Double(resizedWidth) / Double(imageWidth), sy = Double(resizedHeight) / Double(imageHeight)
        let mapped = Box(x0: box.x0 * sx - Double(cropX), y0: box.y0 * sy - Double(cropY),
                         x1: box.x1 * sx - Double(cropX), y1: box.y1 * sy - Double(cropY))
        return mapped.clipped(width: cropSize, height: cropSize)
    }

    /// The patches a box touches: rows and columns of the grid, or nil when none is left.
    public func patches(of box: Box) -> (rows: Range<Int>, columns: Range<Int>)? {
        guard let w = cropWindow(of: box) else { return nil }
        let p = Double(patchSize)
        let c0 = Int((w.x0 / p).rounded(.down)), c1 = min(columns, Int((w.x1 / p).rounded(.up)))
        let r0 = Int((w.y0 / p).rounded(.down)), r1 = min(rows, Int((w.y1 / p).rounded(.up)))
        guard c0 < c1, r0 < r1 else { return nil }
        return (r0..<r1, c0..<c1)
    }

    /// The box in original pixels that one patch covers (for heatmaps and for showing patches).
    public func box(ofPatchRow r: Int, column c: Int) -> Box {
        let sx = Double(resizedWidth) / Double(imageWidth), sy = Double(resizedHeight) / Double(imageHeight)
        let p = Double(patchSize)
        return Box(x0: (Double(c) * p + Double(cropX)) / sx, y0: (Double(r) * p + Double(cropY)) / sy,
                   x1: (Double(c + 1) * p + Double(cropX)) / sx, y1: (Double(r + 1) * p + Double(cropY)) / sy)
    }
}
