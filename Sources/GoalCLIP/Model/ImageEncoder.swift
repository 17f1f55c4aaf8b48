import Dispatch
import Synchronization

/// The image tower with what feeds it: the pixel input, the image and patch sizes, and the
/// preprocessing that makes its input.
final class ImageEncoder: Sendable {
    let tower: Tower
    let preprocessing: Preprocessing
    /// The side of the square input the tower takes.
    let imageSize: Int
    /// The side of a patch, for towers that cut the image into patches (ViTs); nil otherwise.
    let patchSize: Int?
    private let pixels: ValueInfo

    init(tower: Tower, config: FolderConfig, configured: Bool, file: String) throws(GoalError) {
        self.tower = tower
        guard tower.inputs.count == 1, let pixels = tower.inputs.first else {
            let names = tower.inputs.map { "'\($0.name)'" }.joined(separator: ", ")
            throw GoalError(.unsupported, "\(file): the image tower reads \(names); one [batch, 3, height, width] input was expected")
        }
        self.pixels = pixels
        var preprocessing = config.preprocessing
        let dims = pixels.shape ?? []
        if dims.count == 4, case .fixed(let h) = dims[2], case .fixed(let w) = dims[3] {
            guard h == w else {
                throw GoalError(.unsupported, "\(file): the image tower takes \(w)x\(h) pixels; CLIP preprocessing makes square inputs")
            }
            imageSize = Int(h)
            if preprocessing.cropSize != imageSize {
                guard !configured else {
                    throw GoalError(.invalidModel, "\(file) takes \(imageSize) px images, but the preprocessing config crops \(preprocessing.cropSize) px")
                }
                preprocessing.size = imageSize
                preprocessing.cropSize = imageSize
            }
        } else {
            imageSize = configured ? preprocessing.cropSize : (config.imageSize ?? preprocessing.cropSize)
            preprocessing.cropSize = imageSize
            preprocessing.size = max(preprocessing.size, imageSize)
        }
        if dims.count == 4, case .fixed(let c) = dims[1], c != 3 {
            throw GoalError(.unsupported, "\(file): the image tower takes \(c) channels; CLIP images have 3")
        }
        self.preprocessing = preprocessing
        patchSize = findPatchSize(tower.engine, input: pixels.name)
    }

    /// The grid of patches an image becomes, rows x columns; nil for towers without patches.
    var grid: (rows: Int, columns: Int)? {
        guard let p = patchSize, p > 0, imageSize % p == 0 else { return nil }
        return (imageSize / p, imageSize / p)
    }

    /// Decodes and preprocesses `sources[range]` in parallel, one image per task on Dispatch's
    /// pool (decoding and resizing a photo costs about a tenth of a ViT-B/32 pass), and stacks
    /// them as the tower's input. The failure of the lowest index is thrown, naming the image.
    func feeds(_ sources: [ImageSource], _ range: Range<Int>, rules: ImageDecoding) throws(GoalError) -> [String: Feed] {
        let plane = 3 * imageSize * imageSize
        let batch = try Tensor(dtype: .float32, shape: [range.count, 3, imageSize, imageSize])
        let failures = Mutex<[Int: GoalError]>([:])
        DispatchQueue.concurrentPerform(iterations: range.count) { k in
            do throws(GoalError) {
                let image = try sources[range.lowerBound + k].decode(index: range.lowerBound + k, rules: rules)
                let values = try preprocessing.tensor(for: image)
                // Each task writes only its own image's plane of the shared tensor.
                _ = UnsafeMutableBufferPointer(rebasing: batch.floats[k * plane ..< (k + 1) * plane])
                    .update(fromContentsOf: values)
            } catch {
                failures.withLock { $0[k] = error }
            }
        }
        if let first = failures.withLock({ $0.min { $0.key < $1.key }?.value }) { throw first }
        return [pixels.name: Feed(tensor: batch, type: pixels.elementType)]
    }

    /// Preprocesses decoded images and stacks them as the tower's input.
    func feeds(_ images: [RGBImage]) throws(GoalError) -> [String: Feed] {
        try feeds(images.map { .pixels($0) }, images.indices, rules: ImageDecoding(alpha: .drop, pixelLimit: .max))
    }
}

/// The patch size of a ViT: the stride of the first convolution the pixels reach when its
/// kernel equals its stride. A convolution with overlapping windows (a ResNet stem) means the
/// tower has no patch grid.
private func findPatchSize(_ engine: Engine, input: String) -> Int? {
    var readers: [String: [Node]] = [:]
    for node in engine.nodes {
        for name in node.inputs where !name.isEmpty { readers[name, default: []].append(node) }
    }
    var frontier = [input]
    for _ in 0..<8 {
        var next: [String] = []
        for value in frontier {
            for node in readers[value] ?? [] {
                if node.opType == "Conv" && node.domain.isEmpty {
                    guard let w = engine.constant(node.inputs[1]), w.rank == 4 else { return nil }
                    let strides = (try? node.ints("strides")) ?? nil
                    let kh = w.shape[2], kw = w.shape[3]
                    guard kh == kw, strides == nil ? kh == 1 : strides! == [Int64(kh), Int64(kw)] else { return nil }
                    return kh
                }
                next += node.outputs.filter { !$0.isEmpty }
            }
        }
        frontier = next
    }
    return nil
}
