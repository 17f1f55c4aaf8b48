import CGoalSupport
import GoalMatch

/// What a goal_lism_options handle points at.
final class LISMOptionsObject {
    var options = LISMOptions()
}

@_cdecl("goal_lism_options_new")
public func goalLISMOptionsNew(_ outOptions: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outOptions?.pointee = nil
    return abiCall { () throws(GoalError) in
        try required(outOptions, "goal_lism_options_new", "out_options").pointee = retainedHandle(LISMOptionsObject())
    }
}

@_cdecl("goal_lism_options_free")
public func goalLISMOptionsFree(_ options: OpaquePointer?) {
    releaseHandle(options, as: LISMOptionsObject.self)
}

private func flag(_ value: Int64, _ key: goal_lism_key, _ f: StaticString) throws(GoalError) -> Bool {
    guard value == 0 || value == 1 else { throw GoalError(.invalidArgument, "\(f): option \(key) takes 0 or 1, not \(value)") }
    return value == 1
}

@_cdecl("goal_lism_options_set_int")
public func goalLISMOptionsSetInt(_ options: OpaquePointer?, _ key: goal_lism_key, _ value: Int64) -> goal_status {
    abiCall { () throws(GoalError) in
        let f: StaticString = "goal_lism_options_set_int"
        let o = try object(options, f, "options", as: LISMOptionsObject.self)
        switch Int(key) {
        case GOAL_LISM_MODE: o.options.mode = try regionMode(value, f)
        case GOAL_LISM_SPATIAL_DIVISION: o.options.spatialDivision = try flag(value, key, f)
        case GOAL_LISM_SENTENCE_MODE:
            switch Int(value) {
            case GOAL_SENTENCE_STANDALONE: o.options.sentenceMode = .standalone
            case GOAL_SENTENCE_SPAN_POOLED: o.options.sentenceMode = .spanPooled
            default: throw GoalError(.invalidArgument, "\(f): sentence mode \(value) is not 0 or 1")
            }
        case GOAL_LISM_NAIVE_SENTENCES: o.options.naiveSentences = try flag(value, key, f)
        case GOAL_LISM_ONE_TO_ONE: o.options.oneToOne = try flag(value, key, f)
        case GOAL_LISM_BEST_EXCLUDES_WHOLE_IMAGE: o.options.bestExcludesWholeImage = try flag(value, key, f)
        case GOAL_LISM_GRID:
            guard (1...16).contains(value) else { throw GoalError(.invalidArgument, "\(f): a grid takes 1 to 16 cells per side, not \(value)") }
            o.options.grids.append(Int(value))
        case GOAL_LISM_MAX_REGIONS, GOAL_LISM_MAX_SENTENCES:
            guard value >= 1, value <= Int64(Int32.max) else { throw GoalError(.invalidArgument, "\(f): a limit of \(value) (1 to 2^31-1)") }
            if Int(key) == GOAL_LISM_MAX_REGIONS { o.options.maxRegions = Int(value) } else { o.options.maxSentences = Int(value) }
        default: throw GoalError(.invalidArgument, "\(f): \(key) is not an integer LISM option")
        }
    }
}

@_cdecl("goal_lism_options_set_double")
public func goalLISMOptionsSetDouble(_ options: OpaquePointer?, _ key: goal_lism_key, _ value: Double) -> goal_status {
    abiCall { () throws(GoalError) in
        let f: StaticString = "goal_lism_options_set_double"
        let o = try object(options, f, "options", as: LISMOptionsObject.self)
        switch Int(key) {
        case GOAL_LISM_MIN_SCORE:
            if value.isNaN { o.options.minScore = nil; return }
            guard value.isFinite else { throw GoalError(.invalidArgument, "\(f): a minimum score of \(value)") }
            o.options.minScore = Float(value)
        case GOAL_LISM_MASK_AREA_MIN, GOAL_LISM_MASK_AREA_MAX:
            guard value >= 0, value <= 1 else { throw GoalError(.invalidArgument, "\(f): a mask area fraction of \(value) (0 to 1)") }
            let range = o.options.maskArea
            let low = Int(key) == GOAL_LISM_MASK_AREA_MIN ? value : range.lowerBound
            let high = Int(key) == GOAL_LISM_MASK_AREA_MAX ? value : range.upperBound
            guard low <= high else { throw GoalError(.invalidArgument, "\(f): the mask area range would be \(low)...\(high)") }
            o.options.maskArea = low...high
        default: throw GoalError(.invalidArgument, "\(f): \(key) is not a floating-point LISM option")
        }
    }
}

@_cdecl("goal_lism_options_add_boxes")
public func goalLISMOptionsAddBoxes(_ options: OpaquePointer?, _ count: Int, _ values: UnsafePointer<Double>?) -> goal_status {
    abiCall { () throws(GoalError) in
        let f: StaticString = "goal_lism_options_add_boxes"
        let o = try object(options, f, "options", as: LISMOptionsObject.self)
        o.options.boxes += try boxes(values, count, f)
    }
}

@_cdecl("goal_lism_options_add_mask")
public func goalLISMOptionsAddMask(_ options: OpaquePointer?, _ width: Int32, _ height: Int32, _ stride: Int,
                                   _ bits: UnsafePointer<UInt8>?) -> goal_status {
    abiCall { () throws(GoalError) in
        let f: StaticString = "goal_lism_options_add_mask"
        let o = try object(options, f, "options", as: LISMOptionsObject.self)
        let p = try required(bits, f, "bits")
        guard width > 0, height > 0, stride >= Int(width) else {
            throw GoalError(.invalidArgument, "\(f): a \(width)x\(height) mask with a row stride of \(stride)")
        }
        let (area, overflow) = Int(width).multipliedReportingOverflow(by: Int(height))
        guard !overflow, area <= 1 << 31 else { throw GoalError(.invalidArgument, "\(f): a \(width)x\(height) mask is too large") }
        var packed = [UInt8](repeating: 0, count: area)
        for y in 0..<Int(height) {
            for x in 0..<Int(width) { packed[y * Int(width) + x] = p[y * stride + x] }
        }
        o.options.masks.append(Mask(width: Int(width), height: Int(height), bits: packed))
    }
}

/// What a goal_lism handle points at.
final class LISMObject {
    let result: LISMResult
    let scores: UnsafeMutableBufferPointer<Float>

    init(_ result: LISMResult) {
        self.result = result
        scores = .allocate(capacity: max(1, result.scores.count))
        _ = scores.initialize(from: result.scores)
    }

    deinit { scores.deallocate() }
}

@_cdecl("goal_model_lism")
public func goalModelLISM(_ model: OpaquePointer?, _ image: OpaquePointer?, _ caption: UnsafePointer<CChar>?, _ length: Int,
                          _ options: OpaquePointer?, _ outLISM: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outLISM?.pointee = nil
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_model_lism"
        let m = try object(model, f, "model", as: ModelObject.self).model
        let out = try required(outLISM, f, "out_lism")
        let settings = options == nil ? LISMOptions() : try object(options, f, "options", as: LISMOptionsObject.self).options
        let result = try m.lism(try imageSource(image, f), caption: try textBytes(caption, length, f, "caption"),
                                options: settings)
        out.pointee = retainedHandle(LISMObject(result))
    }
}

@_cdecl("goal_lism_free")
public func goalLISMFree(_ lism: OpaquePointer?) {
    releaseHandle(lism, as: LISMObject.self)
}

@_cdecl("goal_lism_counts")
public func goalLISMCounts(_ lism: OpaquePointer?, _ outRegions: UnsafeMutablePointer<Int>?,
                           _ outSentences: UnsafeMutablePointer<Int>?, _ outMatches: UnsafeMutablePointer<Int>?) -> goal_status {
    store(outRegions, 0); store(outSentences, 0); store(outMatches, 0)
    return abiCall { () throws(GoalError) in
        let r = try object(lism, "goal_lism_counts", "lism", as: LISMObject.self).result
        store(outRegions, r.regions.count)
        store(outSentences, r.sentences.count)
        store(outMatches, r.matches.count)
    }
}

@_cdecl("goal_lism_region")
public func goalLISMRegion(_ lism: OpaquePointer?, _ index: Int, _ outBox: UnsafeMutablePointer<Double>?,
                           _ outSource: UnsafeMutablePointer<goal_region_source>?,
                           _ outSourceIndex: UnsafeMutablePointer<Int64>?) -> goal_status {
    store(outSource, 0); store(outSourceIndex, 0)
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_lism_region"
        let r = try object(lism, f, "lism", as: LISMObject.self).result
        let region = r.regions[try checkedIndex(index, count: r.regions.count, f, "region")]
        if let outBox {
            outBox[0] = region.box.x0; outBox[1] = region.box.y0; outBox[2] = region.box.x1; outBox[3] = region.box.y1
        }
        let (kind, at): (Int, Int)
        switch region.source {
        case .wholeImage: (kind, at) = (GOAL_SOURCE_WHOLE_IMAGE, 0)
        case .quadrant(let i): (kind, at) = (GOAL_SOURCE_QUADRANT, i)
        case .centre: (kind, at) = (GOAL_SOURCE_CENTRE, 0)
        case .grid(let n, let row, let column): (kind, at) = (GOAL_SOURCE_GRID, n * 10000 + row * 100 + column)
        case .box(let i): (kind, at) = (GOAL_SOURCE_BOX, i)
        case .mask(let i): (kind, at) = (GOAL_SOURCE_MASK, i)
        }
        store(outSource, goal_region_source(kind))
        store(outSourceIndex, Int64(at))
    }
}

@_cdecl("goal_lism_sentence")
public func goalLISMSentence(_ lism: OpaquePointer?, _ index: Int, _ outSpan: UnsafeMutablePointer<Int64>?) -> goal_status {
    abiCall { () throws(GoalError) in
        let f: StaticString = "goal_lism_sentence"
        let r = try object(lism, f, "lism", as: LISMObject.self).result
        let s = r.sentences[try checkedIndex(index, count: r.sentences.count, f, "sentence")]
        write(s, to: try required(outSpan, f, "out_span"))
    }
}

@_cdecl("goal_lism_scores")
public func goalLISMScores(_ lism: OpaquePointer?, _ outScores: UnsafeMutablePointer<UnsafePointer<Float>?>?) -> goal_status {
    outScores?.pointee = nil
    return abiCall { () throws(GoalError) in
        let o = try object(lism, "goal_lism_scores", "lism", as: LISMObject.self)
        try required(outScores, "goal_lism_scores", "out_scores").pointee = UnsafePointer(o.scores.baseAddress)
    }
}

@_cdecl("goal_lism_match")
public func goalLISMMatch(_ lism: OpaquePointer?, _ index: Int, _ outSentence: UnsafeMutablePointer<Int>?,
                          _ outRegion: UnsafeMutablePointer<Int>?, _ outScore: UnsafeMutablePointer<Float>?) -> goal_status {
    store(outSentence, 0); store(outRegion, 0); store(outScore, 0)
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_lism_match"
        let r = try object(lism, f, "lism", as: LISMObject.self).result
        let m = r.matches[try checkedIndex(index, count: r.matches.count, f, "match")]
        store(outSentence, m.sentence)
        store(outRegion, m.region)
        store(outScore, m.score)
    }
}

@_cdecl("goal_lism_best")
public func goalLISMBest(_ lism: OpaquePointer?, _ outFound: UnsafeMutablePointer<Int32>?, _ outSentence: UnsafeMutablePointer<Int>?,
                         _ outRegion: UnsafeMutablePointer<Int>?, _ outScore: UnsafeMutablePointer<Float>?) -> goal_status {
    store(outFound, 0); store(outSentence, 0); store(outRegion, 0); store(outScore, 0)
    return abiCall { () throws(GoalError) in
        let r = try object(lism, "goal_lism_best", "lism", as: LISMObject.self).result
        guard let best = r.best else { return }
        store(outFound, 1)
        store(outSentence, best.sentence)
        store(outRegion, best.region)
        store(outScore, best.score)
    }
}
