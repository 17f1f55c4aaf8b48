/// Settings of a LISM / FLISM run. The defaults are FLISM's proposals (whole image + spatial
/// division) scored in the pooled mode, each sentence taking its best region as the papers do.
public struct LISMOptions: Sendable {
    public var mode = RegionMode.pooled
    public var spatialDivision = true
    /// n x n grids of extra regions (multi-scale), e.g. [3, 4].
    public var grids: [Int] = []
    /// Regions from any detector, in original pixels.
    public var boxes: [Box] = []
    /// Segmentation masks (SAM's, for LISM proper); each becomes its tight box.
    public var masks: [Mask] = []
    /// Masks covering a fraction of the image outside this range are left out (GOAL: 1 %–80 %).
    public var maskArea: ClosedRange<Double> = 0.01...0.80
    public var sentenceMode = SentenceMode.standalone
    /// Split at every "." as the paper's code does, instead of the careful splitter.
    public var naiveSentences = false
    /// Give each sentence a different region (Hungarian assignment on the scores).
    public var oneToOne = false
    /// Matches scoring below this are dropped.
    public var minScore: Float?
    /// Leave region 0 (the whole image) out of the best pair.
    public var bestExcludesWholeImage = false
    /// Runs with more regions (proposals, boxes and masks together) or more sentences are
    /// refused before any is encoded: each sentence costs a text-tower run, and one-to-one
    /// matching grows with the cube of the counts.
    public var maxRegions = 1024
    public var maxSentences = 512

    public init() {}
}

public struct LISMMatch: Sendable, Equatable {
    public let sentence: Int
    public let region: Int
    public let box: Box
    /// 100 x cosine.
    public let score: Float
}

public struct LISMResult: Sendable {
    public let regions: [Region]
    public let sentences: [SentenceSpan]
    /// 100 x cosine, `sentences.count x regions.count`, row-major.
    public let scores: [Float]
    /// One per sentence that got a region, in sentence order.
    public let matches: [LISMMatch]
    /// The highest-scoring match (over the allowed regions), if any.
    public let best: LISMMatch?
}

extension CLIPModel {
    /// Local image–sentence matching (GOAL's LISM; with the default proposals, FAST-GOAL's
    /// FLISM) of one image and its caption.
    public func lism(_ image: ImageSource, caption utf8: [UInt8], options: LISMOptions = LISMOptions()) throws(GoalError) -> LISMResult {
        let sentences = try self.sentences(utf8, naive: options.naiveSentences)
        guard !sentences.isEmpty else { throw GoalError(.invalidArgument, "the caption has no sentences") }
        guard sentences.count <= options.maxSentences else {
            throw GoalError(.invalidArgument, "the caption has \(sentences.count) sentences, above the limit of \(options.maxSentences)")
        }
        guard options.boxes.count + options.masks.count <= options.maxRegions else {
            throw GoalError(.invalidArgument, "\(options.boxes.count) boxes and \(options.masks.count) masks are above the limit of \(options.maxRegions) regions")
        }
        if let m = options.minScore, !m.isFinite { throw GoalError(.invalidArgument, "the minimum score \(m) is not finite") }
        guard options.maskArea.lowerBound >= 0, options.maskArea.upperBound <= 1 else {
            throw GoalError(.invalidArgument, "the mask area range \(options.maskArea) is not within 0...1")
        }
        // The image is decoded once: both modes need its size, the pooled mode its states.
        let states: ImageStates?
        let decoded: RGBImage
        switch options.mode {
        case .pooled:
            states = try imageStates(image)
            decoded = states!.image
        case .crop:
            states = nil
            decoded = try image.decode(index: 0, rules: imageDecoding)
        }
        let regions = try proposals(width: decoded.width, height: decoded.height, spatialDivision: options.spatialDivision,
                                    grids: options.grids, boxes: options.boxes, masks: options.masks,
                                    maskArea: options.maskArea)
        guard regions.count <= options.maxRegions else {
            throw GoalError(.invalidArgument, "the run has \(regions.count) regions, above the limit of \(options.maxRegions)")
        }
        let boxes = regions.map(\.box)
        let regionEmbeddings: [Float]
        if let states {
            regionEmbeddings = try pooledRegions(states, boxes: boxes)
        } else {
            regionEmbeddings = try self.regionEmbeddings(.pixels(decoded), boxes: boxes, mode: .crop)
        }
        let sentenceEmbeddings = try self.sentenceEmbeddings(utf8, sentences: sentences, mode: options.sentenceMode)
        let dim = info.dim, s = sentences.count, r = regions.count
        var scores = [Float](repeating: 0, count: s * r)
        for i in 0..<s {
            for j in 0..<r {
                var dot: Float = 0
                for k in 0..<dim { dot += sentenceEmbeddings[i * dim + k] * regionEmbeddings[j * dim + k] }
                scores[i * r + j] = 100 * dot
            }
        }
        var chosen: [Int?]
        if options.oneToOne {
            chosen = maximumAssignment(scores, rows: s, columns: r)
        } else {
            chosen = (0..<s).map { i in (0..<r).max { scores[i * r + $0] < scores[i * r + $1] } }
        }
        var matches: [LISMMatch] = []
        for (i, j) in chosen.enumerated() {
            guard let j else { continue }
            let score = scores[i * r + j]
            if let m = options.minScore, score < m { continue }
            matches.append(LISMMatch(sentence: i, region: j, box: boxes[j], score: score))
        }
        var best: LISMMatch?
        for i in 0..<s {
            for j in 0..<r where !(options.bestExcludesWholeImage && j == 0) {
                let score = scores[i * r + j]
                if let m = options.minScore, score < m { continue }
                if best == nil || score > best!.score { best = LISMMatch(sentence: i, region: j, box: boxes[j], score: score) }
            }
        }
        return LISMResult(regions: regions, sentences: sentences, scores: scores, matches: matches, best: best)
    }
}
