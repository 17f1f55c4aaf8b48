import CGoalSupport
import GoalCLIP

/// What a goal_tokens handle points at: embeddings, and for a text its ids and spans.
final class TokensObject {
    let count: Int
    let dim: Int
    let rows: Int
    let columns: Int
    // Buffers of our own, so the pointers handed out stay put for the object's life.
    let embeddings: UnsafeMutableBufferPointer<Float>
    let ids: UnsafeMutableBufferPointer<Int32>?
    let spans: UnsafeMutableBufferPointer<Int64>?

    init(_ t: TextTokens) {
        count = t.ids.count
        dim = t.dim
        rows = 0
        columns = 0
        embeddings = owned(t.embeddings)
        ids = owned(t.ids)
        spans = owned(t.spans.flatMap { [Int64($0.lowerBound), Int64($0.upperBound)] })
    }

    init(_ t: ImageTokens) {
        count = t.rows * t.columns
        dim = t.dim
        rows = t.rows
        columns = t.columns
        embeddings = owned(t.embeddings)
        ids = nil
        spans = nil
    }

    deinit {
        embeddings.deallocate()
        ids?.deallocate()
        spans?.deallocate()
    }
}

private func owned<T>(_ values: [T]) -> UnsafeMutableBufferPointer<T> {
    let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(values.count, 1))
    _ = buffer.initialize(from: values)
    return buffer
}

@_cdecl("goal_model_text_tokens")
public func goalModelTextTokens(_ model: OpaquePointer?, _ text: UnsafePointer<CChar>?, _ length: Int,
                                _ outTokens: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outTokens?.pointee = nil
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_model_text_tokens"
        let m = try object(model, f, "model", as: ModelObject.self).model
        let out = try required(outTokens, f, "out_tokens")
        let tokens = try m.textTokens(try textBytes(text, length, f, "text"))
        out.pointee = retainedHandle(TokensObject(tokens))
    }
}

@_cdecl("goal_model_image_tokens_file")
public func goalModelImageTokensFile(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?,
                                     _ outTokens: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outTokens?.pointee = nil
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_model_image_tokens_file"
        let m = try object(model, f, "model", as: ModelObject.self).model
        let out = try required(outTokens, f, "out_tokens")
        guard let file = String(validatingCString: try required(path, f, "path")) else {
            throw GoalError(.invalidArgument, "\(f): the path is not valid UTF-8")
        }
        out.pointee = retainedHandle(TokensObject(try m.imageTokens(.file(file))))
    }
}

@_cdecl("goal_model_image_tokens_memory")
public func goalModelImageTokensMemory(_ model: OpaquePointer?, _ data: UnsafeRawPointer?, _ size: Int,
                                       _ outTokens: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outTokens?.pointee = nil
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_model_image_tokens_memory"
        let m = try object(model, f, "model", as: ModelObject.self).model
        let out = try required(outTokens, f, "out_tokens")
        let bytes = try required(data, f, "data")
        guard size >= 0 else { throw GoalError(.invalidArgument, "\(f): a size of \(UInt(bitPattern: size)) bytes") }
        let encoded = Array(UnsafeRawBufferPointer(start: bytes, count: size))
        out.pointee = retainedHandle(TokensObject(try m.imageTokens(.encoded(encoded))))
    }
}

@_cdecl("goal_model_image_tokens_pixels")
public func goalModelImageTokensPixels(_ model: OpaquePointer?, _ pixels: UnsafePointer<UInt8>?, _ width: Int32,
                                       _ height: Int32, _ stride: Int, _ channels: Int32,
                                       _ outTokens: UnsafeMutablePointer<OpaquePointer?>?) -> goal_status {
    outTokens?.pointee = nil
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_model_image_tokens_pixels"
        let m = try object(model, f, "model", as: ModelObject.self).model
        let out = try required(outTokens, f, "out_tokens")
        let image = try rawImage(pixels, width, height, stride, channels, m.alphaHandling, f, 0)
        out.pointee = retainedHandle(TokensObject(try m.imageTokens(.pixels(image))))
    }
}

@_cdecl("goal_tokens_free")
public func goalTokensFree(_ tokens: OpaquePointer?) {
    releaseHandle(tokens, as: TokensObject.self)
}

@_cdecl("goal_tokens_shape")
public func goalTokensShape(_ tokens: OpaquePointer?, _ outCount: UnsafeMutablePointer<Int>?,
                            _ outDim: UnsafeMutablePointer<Int>?, _ outRows: UnsafeMutablePointer<Int64>?,
                            _ outColumns: UnsafeMutablePointer<Int64>?) -> goal_status {
    store(outCount, 0); store(outDim, 0); store(outRows, 0); store(outColumns, 0)
    return abiCall { () throws(GoalError) in
        let t = try object(tokens, "goal_tokens_shape", "tokens", as: TokensObject.self)
        store(outCount, t.count)
        store(outDim, t.dim)
        store(outRows, Int64(t.rows))
        store(outColumns, Int64(t.columns))
    }
}

@_cdecl("goal_tokens_embeddings")
public func goalTokensEmbeddings(_ tokens: OpaquePointer?,
                                 _ outEmbeddings: UnsafeMutablePointer<UnsafePointer<Float>?>?) -> goal_status {
    outEmbeddings?.pointee = nil
    return abiCall { () throws(GoalError) in
        let t = try object(tokens, "goal_tokens_embeddings", "tokens", as: TokensObject.self)
        let out = try required(outEmbeddings, "goal_tokens_embeddings", "out_embeddings")
        out.pointee = UnsafePointer(t.embeddings.baseAddress)
    }
}

@_cdecl("goal_tokens_text")
public func goalTokensText(_ tokens: OpaquePointer?, _ outIDs: UnsafeMutablePointer<UnsafePointer<Int32>?>?,
                           _ outSpans: UnsafeMutablePointer<UnsafePointer<Int64>?>?) -> goal_status {
    outIDs?.pointee = nil
    outSpans?.pointee = nil
    return abiCall { () throws(GoalError) in
        let t = try object(tokens, "goal_tokens_text", "tokens", as: TokensObject.self)
        outIDs?.pointee = t.ids.flatMap { UnsafePointer($0.baseAddress) }
        outSpans?.pointee = t.spans.flatMap { UnsafePointer($0.baseAddress) }
    }
}
