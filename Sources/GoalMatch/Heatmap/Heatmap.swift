/// Where a text matches an image, patch by patch, laid over the original image's pixels.
///
/// The map: the cosine between the text's global embedding and each patch embedding (both
/// L2-normalised) gives a rows x columns grid. Pixel (x, y) of the original image is sampled at
/// its centre, mapped through the real preprocessing as PIL's resize maps it:
///
///     u = (x + 0.5) * resizedWidth / imageWidth - cropX,   v likewise with y and heights.
///
/// A pixel lies in the crop window when 0 <= u < cropSize and 0 <= v < cropSize (decided in
/// integers, so no rounding moves a pixel across the edge); the model never saw the others,
/// which get NaN. Inside, patch (r, c) has its centre at ((c + 0.5) p, (r + 0.5) p), p the patch
/// size; the value is bilinear between the four nearest centres at (u / p - 0.5, v / p - 0.5),
/// that position clamped to [0, columns - 1] x [0, rows - 1], so the half-patch band along the
/// window's edges takes the edge patches' values.
public struct Heatmap: Sendable {
    /// The original image, decoded as the model decodes it.
    public let image: RGBImage
    public let geometry: PatchGeometry
    /// The cosines, `rows * columns` floats, patches row by row.
    public let patchScores: [Float]
    /// `image.height * image.width` floats, row by row; NaN outside the crop window.
    public let values: [Float]

    /// The map drawn over the image. Inside the crop window each pixel is blended with the
    /// colour (`HeatmapColormap`) of its value normalised to [0, 1] by the min and max of the
    /// finite values (0.5 for all when they are equal); outside it is blended with its own grey
    /// level, (299 R + 587 G + 114 B + 500) / 1000 in integers, so the cut-away margin shows
    /// desaturated and never tinted. Each channel is round((1 - opacity) * pixel + opacity *
    /// colour), halves away from zero, in sRGB: opacity 0 gives the image's pixels unchanged.
    public func rendered(opacity: Double = 0.5) throws(GoalError) -> RGBImage {
        guard opacity >= 0, opacity <= 1 else {
            throw GoalError(.invalidArgument, "an opacity of \(opacity) (it must be from 0 to 1)")
        }
        var lo = Float.infinity, hi = -Float.infinity
        for v in values where v.isFinite {
            lo = min(lo, v)
            hi = max(hi, v)
        }
        let span = Double(hi) - Double(lo)
        let a = opacity, keep = 1 - opacity
        func blend(_ p: UInt8, _ c: Double) -> UInt8 {
            UInt8(min(max((keep * Double(p) + a * c).rounded(), 0), 255))
        }
        var out = image.pixels
        for i in 0 ..< image.width * image.height {
            let r = image.pixels[3 * i], g = image.pixels[3 * i + 1], b = image.pixels[3 * i + 2]
            let v = values[i]
            if v.isFinite {
                let t = span > 0 ? (Double(v) - Double(lo)) / span : 0.5
                let c = HeatmapColormap.color(at: t)
                out[3 * i] = blend(r, c.r)
                out[3 * i + 1] = blend(g, c.g)
                out[3 * i + 2] = blend(b, c.b)
            } else {
                let grey = Double((299 * Int(r) + 587 * Int(g) + 114 * Int(b) + 500) / 1000)
                out[3 * i] = blend(r, grey)
                out[3 * i + 1] = blend(g, grey)
                out[3 * i + 2] = blend(b, grey)
            }
        }
        return try RGBImage(width: image.width, height: image.height, pixels: out)
    }

    /// `rendered(opacity:)` written as an 8-bit RGB PNG (see `RGBImage.writePNG(to:)`).
    public func writePNG(to path: String, opacity: Double = 0.5) throws(GoalError) {
        try rendered(opacity: opacity).writePNG(to: path)
    }

    /// The grid spread over the original pixels by the rule above.
    static func upsample(_ grid: [Float], geometry g: PatchGeometry) -> [Float] {
        let xs = taps(pixels: g.imageWidth, resized: g.resizedWidth, offset: g.cropX, crop: g.cropSize,
                      patch: g.patchSize, cells: g.columns)
        let ys = taps(pixels: g.imageHeight, resized: g.resizedHeight, offset: g.cropY, crop: g.cropSize,
                      patch: g.patchSize, cells: g.rows)
        var out = [Float](repeating: .nan, count: g.imageWidth * g.imageHeight)
        for (y, ty) in ys.enumerated() {
            guard let ty else { continue }
            let top = ty.i0 * g.columns, bottom = ty.i1 * g.columns
            for (x, tx) in xs.enumerated() {
                guard let tx else { continue }
                let upper = (1 - tx.t) * Double(grid[top + tx.i0]) + tx.t * Double(grid[top + tx.i1])
                let lower = (1 - tx.t) * Double(grid[bottom + tx.i0]) + tx.t * Double(grid[bottom + tx.i1])
                out[y * g.imageWidth + x] = Float((1 - ty.t) * upper + ty.t * lower)
            }
        }
        return out
    }

    /// Along one axis, per pixel: nil outside the window, else the two cells to mix and the
    /// weight of the second.
    private static func taps(pixels n: Int, resized: Int, offset: Int, crop: Int, patch: Int,
                             cells: Int) -> [(i0: Int, i1: Int, t: Double)?] {
        (0..<n).map { x in
            // 0 <= (x + 0.5) * resized / n - offset < crop, times 2n.
            let twice = (2 * x + 1) * resized
            guard twice >= 2 * offset * n, twice < 2 * (offset + crop) * n else { return nil }
            let u = Double(2 * x + 1) * Double(resized) / Double(2 * n) - Double(offset)
            let q = min(max(u / Double(patch) - 0.5, 0), Double(cells - 1))
            let i0 = Int(q.rounded(.down))
            return (i0, min(i0 + 1, cells - 1), q - Double(i0))
        }
    }
}

extension CLIPModel {
    /// The heatmap of a text over an image (see `Heatmap`). The text is encoded as
    /// `encodeText` does (the long-text rule applies), the image's patches as `imageTokens`.
    public func heatmap(text utf8: [UInt8], image source: ImageSource) throws(GoalError) -> Heatmap {
        guard let preprocessing else { throw GoalError(.unsupported, "this model has no image tower") }
        guard info.patchSize > 0 else { throw GoalError(.unsupported, "the image tower has no patch grid") }
        // The text first: it is cheap, and a bad one fails before the vision pass.
        let text = try encodeText([utf8])
        let image = try source.decode(index: 0, rules: imageDecoding)
        let patches = try imageTokens(.pixels(image))
        let geometry = PatchGeometry(imageWidth: image.width, imageHeight: image.height,
                                     preprocessing: preprocessing, patchSize: info.patchSize)
        guard patches.rows == geometry.rows, patches.columns == geometry.columns, patches.dim == text.count else {
            throw GoalError(.unsupported, """
                the image tower gives \(patches.rows)x\(patches.columns) patches of width \(patches.dim); the \
                preprocessing implies \(geometry.rows)x\(geometry.columns), the text tower width \(text.count)
                """)
        }
        let dim = text.count
        let scores = (0 ..< patches.rows * patches.columns).map { j in
            var dot: Float = 0
            for k in 0..<dim { dot += text[k] * patches.embeddings[j * dim + k] }
            return dot
        }
        return Heatmap(image: image, geometry: geometry, patchScores: scores,
                       values: Heatmap.upsample(scores, geometry: geometry))
    }
}
