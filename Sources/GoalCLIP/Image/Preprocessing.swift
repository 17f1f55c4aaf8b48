/// How an image becomes a CLIP input tensor: resize the short side to `size` with PIL bicubic,
/// centre-crop `cropSize` x `cropSize`, scale by 1/255, normalise per channel, lay out as
/// float32 CHW. The defaults are the OpenAI CLIP values the published numbers assume.
public struct Preprocessing: Sendable, Equatable {
    /// Where the centre crop starts when the leftover is odd; the only difference between the
    /// two conventions (both compute the resized size the same way).
    public enum Convention: Sendable, Equatable {
        /// Hugging Face `CLIPImageProcessor`: offset = (leftover) // 2, rounding down
        /// (`image_transforms.center_crop`, and `int(x / 2.0)` in the torchvision backend).
        case huggingFace
        /// OpenAI `clip` / open_clip: torchvision `CenterCrop`, offset =
        /// `int(round(leftover / 2.0))` with Python's round-half-to-even.
        case openAI
    }

    public var size: Int
    public var cropSize: Int
    public var mean: (Float, Float, Float)
    public var std: (Float, Float, Float)
    public var convention: Convention

    public static let clipMean: (Float, Float, Float) = (0.48145466, 0.4578275, 0.40821073)
    public static let clipStd: (Float, Float, Float) = (0.26862954, 0.26130258, 0.27577711)

    public init(size: Int = 224, cropSize: Int? = nil,
                mean: (Float, Float, Float) = Preprocessing.clipMean,
                std: (Float, Float, Float) = Preprocessing.clipStd,
                convention: Convention = .openAI) {
        self.size = size
        self.cropSize = cropSize ?? size
        self.mean = mean
        self.std = std
        self.convention = convention
    }

    public static func == (a: Preprocessing, b: Preprocessing) -> Bool {
        a.size == b.size && a.cropSize == b.cropSize && a.convention == b.convention
            && a.mean == b.mean && a.std == b.std
    }

    /// The size the short side-resize gives: the short side becomes `size`, the long side
    /// `int(size * long / short)` (truncated), as torchvision's and Hugging Face's
    /// `get_resize_output_image_size` both compute it. A square stays square.
    public func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        if width <= height {
            return (size, Int(Double(size * height) / Double(width)))
        }
        return (Int(Double(size * width) / Double(height)), size)
    }

    /// The top-left corner of the centre crop in an image of the given size.
    public func cropOrigin(width: Int, height: Int) -> (x: Int, y: Int) {
        func offset(_ leftover: Int) -> Int {
            switch convention {
            case .huggingFace:
                return leftover >= 0 ? leftover / 2 : -((-leftover + 1) / 2)
            case .openAI:
                // round-half-to-even of leftover / 2: halves occur only for odd leftovers.
                return Int((Double(leftover) / 2.0).rounded(.toNearestOrEven))
            }
        }
        return (offset(width - cropSize), offset(height - cropSize))
    }

    /// Runs the whole pipeline and returns `3 * cropSize * cropSize` floats, channel-major.
    public func tensor(for image: RGBImage) throws(GoalError) -> [Float] {
        guard size > 0, cropSize > 0, cropSize <= size else {
            throw GoalError(.invalidArgument,
                            "preprocessing needs 0 < crop size (\(cropSize)) <= resize size (\(size))")
        }
        guard std.0 != 0, std.1 != 0, std.2 != 0 else {
            throw GoalError(.invalidArgument, "a normalisation std of zero")
        }
        let target = resizedSize(width: image.width, height: image.height)
        let resized = try image.resizedBicubic(width: target.width, height: target.height)
        let origin = cropOrigin(width: resized.width, height: resized.height)
        let plane = cropSize * cropSize
        let means = [mean.0, mean.1, mean.2], stds = [std.0, std.1, std.2]
        // Per channel, the 256 possible outputs: (v / 255 - mean) / std, in float32 like both
        // reference pipelines.
        var tables = [Float](repeating: 0, count: 3 * 256)
        for c in 0..<3 {
            for v in 0..<256 { tables[c * 256 + v] = (Float(v) / 255 - means[c]) / stds[c] }
        }
        var out = [Float](repeating: 0, count: 3 * plane)
        resized.pixels.withUnsafeBufferPointer { src in
            for y in 0..<cropSize {
                let row = ((origin.y + y) * resized.width + origin.x) * 3
                for x in 0..<cropSize {
                    for c in 0..<3 {
                        out[c * plane + y * cropSize + x] = tables[c * 256 + Int(src[row + x * 3 + c])]
                    }
                }
            }
        }
        return out
    }
}
