/// What a folder's JSON configs say. Sizes here are fallbacks: the graphs are read first, and a
/// config only answers what a graph leaves symbolic.
struct FolderConfig {
    var preprocessing: Preprocessing
    var contextLength: Int?
    var embeddingSize: Int?
    var imageSize: Int?
    var patchSize: Int?

    init(_ files: ModelFiles, convention: Convention) throws(GoalError) {
        preprocessing = Preprocessing(convention: convention == .huggingFace ? .huggingFace : .openAI)
        if let path = files.preprocessorConfig {
            try readPreprocessing(path, try parseJSON(path))
        }
        if let path = files.modelConfig {
            try readModel(path, try parseJSON(path))
        }
    }

    /// CLIPImageProcessor's preprocessor_config.json, or open_clip's preprocess_cfg (top level in
    /// immich's preprocess_cfg.json, nested in open_clip_config.json).
    private mutating func readPreprocessing(_ path: String, _ root: JSONValue) throws(GoalError) {
        func unsupported(_ what: String) -> GoalError { GoalError(.unsupported, "\(path): \(what)") }
        let cfg = root["preprocess_cfg"] ?? root
        if cfg["image_processor_type"] != nil || cfg["crop_size"] != nil || cfg["shortest_edge"] != nil
            || cfg["image_mean"] != nil {
            // Hugging Face.
            switch cfg["size"] {
            case .number(let n)?: preprocessing.size = try positive(n, "size", path)
            case .object?:
                if let edge = cfg["size"]?["shortest_edge"], case .number(let n) = edge {
                    preprocessing.size = try positive(n, "size.shortest_edge", path)
                } else {
                    throw unsupported("size must be a number or {\"shortest_edge\": n}; resizing to a fixed height and width is not CLIP's preprocessing")
                }
            case nil: break
            default: throw GoalError(.invalidModel, "\(path): size is not a number or an object")
            }
            switch cfg["crop_size"] {
            case .number(let n)?: preprocessing.cropSize = try positive(n, "crop_size", path)
            case .object(let members)?:
                var h = 0, w = 0
                for (key, value) in members {
                    guard case .number(let n) = value else { continue }
                    if key == "height" { h = try positive(n, "crop_size.height", path) }
                    if key == "width" { w = try positive(n, "crop_size.width", path) }
                }
                guard h == w, h > 0 else { throw unsupported("crop_size \(h)x\(w) is not square") }
                preprocessing.cropSize = h
            case nil: preprocessing.cropSize = preprocessing.size
            default: throw GoalError(.invalidModel, "\(path): crop_size is not a number or an object")
            }
            if case .bool(false)? = cfg["do_center_crop"], preprocessing.cropSize != preprocessing.size {
                throw unsupported("do_center_crop is false; CLIP towers need the square centre crop")
            }
            if case .number(let r)? = cfg["resample"], r != 3 {
                throw unsupported("resample \(Int(r)) is not bicubic (3), the only filter CLIP preprocessing uses")
            }
            if case .number(let f)? = cfg["rescale_factor"], abs(f - 1.0 / 255.0) > 1e-9 {
                throw unsupported("rescale_factor \(f) is not 1/255")
            }
            if case .bool(false)? = cfg["do_normalize"] {
                preprocessing.mean = (0, 0, 0)
                preprocessing.std = (1, 1, 1)
            } else {
                if let m = try triple(cfg["image_mean"], "image_mean", path) { preprocessing.mean = m }
                if let s = try triple(cfg["image_std"], "image_std", path) { preprocessing.std = s }
            }
        } else {
            // open_clip.
            switch cfg["size"] {
            case .number(let n)?: preprocessing.size = try positive(n, "size", path)
            case .array(let dims)?:
                guard dims.count == 2, case .number(let h) = dims[0], case .number(let w) = dims[1], h == w else {
                    throw unsupported("size must be one number or a square [h, w]")
                }
                preprocessing.size = try positive(h, "size", path)
            case nil: break
            default: throw GoalError(.invalidModel, "\(path): size is not a number or a list")
            }
            preprocessing.cropSize = preprocessing.size
            if case .string(let i)? = cfg["interpolation"], i != "bicubic" {
                throw unsupported("interpolation \"\(i)\" is not bicubic, the only filter CLIP preprocessing uses")
            }
            if case .string(let mode)? = cfg["resize_mode"], mode != "shortest" {
                throw unsupported("resize_mode \"\(mode)\" is not \"shortest\" (resize the short side, centre-crop)")
            }
            if let m = try triple(cfg["mean"], "mean", path) { preprocessing.mean = m }
            if let s = try triple(cfg["std"], "std", path) { preprocessing.std = s }
        }
    }

    /// HF config.json (text_config / vision_config / projection_dim) or open_clip's model_cfg.
    private mutating func readModel(_ path: String, _ root: JSONValue) throws(GoalError) {
        func int(_ v: JSONValue?, _ what: String) throws(GoalError) -> Int? {
            guard let v else { return nil }
            guard case .number(let n) = v else { return nil }
            return try positive(n, what, path)
        }
        // open_clip_config.json nests the model config; immich's config.json is that config itself.
        if let cfg = root["model_cfg"] ?? (root["text_cfg"] != nil || root["vision_cfg"] != nil ? root : nil) {
            embeddingSize = try int(cfg["embed_dim"], "model_cfg.embed_dim")
            contextLength = try int(cfg["text_cfg"]?["context_length"], "text_cfg.context_length")
            imageSize = try int(cfg["vision_cfg"]?["image_size"], "vision_cfg.image_size")
            patchSize = try int(cfg["vision_cfg"]?["patch_size"], "vision_cfg.patch_size")
        } else {
            embeddingSize = try int(root["projection_dim"], "projection_dim")
            contextLength = try int(root["text_config"]?["max_position_embeddings"], "text_config.max_position_embeddings")
            imageSize = try int(root["vision_config"]?["image_size"], "vision_config.image_size")
            patchSize = try int(root["vision_config"]?["patch_size"], "vision_config.patch_size")
        }
    }
}

private func positive(_ n: Double, _ what: String, _ path: String) throws(GoalError) -> Int {
    guard n >= 1, n <= 1_048_576, n == n.rounded() else {
        throw GoalError(.invalidModel, "\(path): \(what) is \(n), not a positive whole number")
    }
    return Int(n)
}

private func triple(_ value: JSONValue?, _ what: String, _ path: String) throws(GoalError) -> (Float, Float, Float)? {
    guard let value else { return nil }
    guard case .array(let items) = value, items.count == 3,
          case .number(let a) = items[0], case .number(let b) = items[1], case .number(let c) = items[2],
          a.isFinite, b.isFinite, c.isFinite else {
        throw GoalError(.invalidModel, "\(path): \(what) must be a list of three numbers")
    }
    return (Float(a), Float(b), Float(c))
}
