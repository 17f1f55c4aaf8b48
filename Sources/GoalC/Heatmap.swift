import CGoalSupport
import GoalMatch

/// The text of a heatmap call, checked to be UTF-8 before any image work is done.
private func heatmapText(_ text: UnsafePointer<CChar>?, _ length: Int, _ f: StaticString) throws(GoalError) -> [UInt8] {
    let bytes = try textBytes(text, length, f, "text")
    guard String(validating: bytes, as: UTF8.self) != nil else {
        throw GoalError(.invalidArgument, "\(f): the text is not valid UTF-8")
    }
    return bytes
}

@_cdecl("goal_model_heatmap")
public func goalModelHeatmap(_ model: OpaquePointer?, _ image: OpaquePointer?, _ text: UnsafePointer<CChar>?,
                             _ length: Int, _ outMap: UnsafeMutablePointer<Float>?, _ capacity: Int,
                             _ outWidth: UnsafeMutablePointer<Int32>?, _ outHeight: UnsafeMutablePointer<Int32>?) -> goal_status {
    store(outWidth, 0)
    store(outHeight, 0)
    return abiCall { () throws(GoalError) in
        let f: StaticString = "goal_model_heatmap"
        let m = try object(model, f, "model", as: ModelObject.self).model
        let source = try imageSource(image, f)
        let bytes = try heatmapText(text, length, f)
        // Decoding alone tells the size, so asking for it costs no tower run; the decoded pixels
        // are then reused rather than decoded again.
        let decoded = try source.decode(index: 0, rules: m.imageDecoding)
        let needed = decoded.width * decoded.height
        guard decoded.width <= Int(Int32.max), decoded.height <= Int(Int32.max) else {
            throw GoalError(.invalidArgument, "\(f): a \(decoded.width)x\(decoded.height) image does not fit int32_t sizes")
        }
        guard sizeT(capacity) >= needed else {
            store(outWidth, Int32(decoded.width))
            store(outHeight, Int32(decoded.height))
            throw GoalError(.bufferTooSmall, "\(f): the \(decoded.width)x\(decoded.height) map needs \(needed) floats; the buffer holds \(capacity)")
        }
        let out = try required(outMap, f, "out_map")
        let map = try m.heatmap(text: bytes, image: .pixels(decoded))
        map.values.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: needed) }
        store(outWidth, Int32(decoded.width))
        store(outHeight, Int32(decoded.height))
    }
}

@_cdecl("goal_model_heatmap_png")
public func goalModelHeatmapPNG(_ model: OpaquePointer?, _ image: OpaquePointer?, _ text: UnsafePointer<CChar>?,
                                _ length: Int, _ opacity: Double, _ path: UnsafePointer<CChar>?,
                                _ outMap: UnsafeMutablePointer<Float>?, _ capacity: Int) -> goal_status {
    abiCall { () throws(GoalError) in
        let f: StaticString = "goal_model_heatmap_png"
        let m = try object(model, f, "model", as: ModelObject.self).model
        let source = try imageSource(image, f)
        let bytes = try heatmapText(text, length, f)
        // Everything that can be refused without running a tower is refused first.
        guard opacity >= 0, opacity <= 1 else {
            throw GoalError(.invalidArgument, "\(f): an opacity of \(opacity) (it must be from 0 to 1)")
        }
        guard let file = String(validatingCString: try required(path, f, "path")) else {
            throw GoalError(.invalidArgument, "\(f): the path is not valid UTF-8")
        }
        guard !file.isEmpty else { throw GoalError(.invalidArgument, "\(f): the path is empty") }
        let decoded = try source.decode(index: 0, rules: m.imageDecoding)
        let needed = decoded.width * decoded.height
        if outMap != nil, sizeT(capacity) < needed {
            throw GoalError(.bufferTooSmall, "\(f): the \(decoded.width)x\(decoded.height) map needs \(needed) floats; the buffer holds \(capacity)")
        }
        let map = try m.heatmap(text: bytes, image: .pixels(decoded))
        try map.writePNG(to: file, opacity: opacity)
        if let outMap {
            map.values.withUnsafeBufferPointer { outMap.update(from: $0.baseAddress!, count: needed) }
        }
    }
}
