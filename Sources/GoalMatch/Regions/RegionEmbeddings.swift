/// How a region of an image becomes an embedding.
public enum RegionMode: Sendable, Equatable {
    /// Cut the box out of the original image (background kept, no padding) and encode the crop,
    /// as LISM does: one vision pass per region.
    case crop
    /// Average the last-layer patch states inside the box (before the tower's final LayerNorm),
    /// then apply the tower's head, as TSL does: one vision pass for any number of regions.
    case pooled
}

extension CLIPModel {
    /// L2-normalised embeddings of `boxes` (original pixels) of one image, `boxes.count * dim`
    /// floats. A box that is empty, not finite, outside the image or (pooled) without a patch
    /// is `.invalidArgument` naming it.
    public func regionEmbeddings(_ source: ImageSource, boxes: [Box], mode: RegionMode) throws(GoalError) -> [Float] {
        switch mode {
        case .crop:
            let image = try source.decode(index: 0, rules: imageDecoding)
            var crops: [ImageSource] = []
            for (i, box) in boxes.enumerated() {
                crops.append(.pixels(try image.cropped(to: try box.validated("box \(i)"), what: "box \(i)")))
            }
            return try encodeImages(crops)
        case .pooled:
            let states = try imageStates(source)
            return try pooledRegions(states, boxes: boxes)
        }
    }

    /// The pooled mode on states already computed: one head run for all boxes.
    package func pooledRegions(_ states: ImageStates, boxes: [Box]) throws(GoalError) -> [Float] {
        guard let preprocessing else { throw GoalError(.unsupported, "this model has no image tower") }
        let geometry = PatchGeometry(imageWidth: states.image.width, imageHeight: states.image.height,
                                     preprocessing: preprocessing, patchSize: states.patchSize)
        let width = states.width
        var pooled = [Float](repeating: 0, count: boxes.count * width)
        for (i, raw) in boxes.enumerated() {
            let box = try raw.validated("box \(i)")
            guard let (rows, columns) = geometry.patches(of: box) else {
                throw GoalError(.invalidArgument, "box \(i) \(box) covers no patch of the model's \(geometry.cropSize) px centre crop")
            }
            var sum = [Double](repeating: 0, count: width)
            for r in rows {
                for c in columns {
                    let base = (r * states.columns + c) * width
                    for k in 0..<width { sum[k] += Double(states.states[base + k]) }
                }
            }
            let n = Double(rows.count * columns.count)
            for k in 0..<width { pooled[i * width + k] = Float(sum[k] / n) }
        }
        if boxes.isEmpty { return [] }
        return try projectImageStates(pooled, rows: boxes.count)
    }
}

extension RGBImage {
    /// The pixels inside `box` (rounded outwards to whole pixels, clipped to the image).
    func cropped(to box: Box, what: String) throws(GoalError) -> RGBImage {
        guard let b = box.clipped(width: width, height: height) else {
            throw GoalError(.invalidArgument, "\(what) \(box) lies outside the \(width)x\(height) image")
        }
        let x0 = Int(b.x0.rounded(.down)), y0 = Int(b.y0.rounded(.down))
        let x1 = Int(b.x1.rounded(.up)), y1 = Int(b.y1.rounded(.up))
        var out = [UInt8]()
        out.reserveCapacity((x1 - x0) * (y1 - y0) * 3)
        for y in y0..<y1 {
            let row = (y * width + x0) * 3
            out.append(contentsOf: pixels[row ..< row + (x1 - x0) * 3])
        }
        return try RGBImage(width: x1 - x0, height: y1 - y0, pixels: out)
    }
}
