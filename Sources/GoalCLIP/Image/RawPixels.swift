extension RGBImage {
    /// Copies pixels from caller memory: `channels` 1 (gray), 3 (RGB) or 4 (RGBA), 8 bits each,
    /// rows `rowStride` bytes apart (at least `width * channels`; padding is skipped).
    ///
    /// Gray is replicated into R, G and B. Alpha is dropped (`.drop`, what PIL's
    /// `convert("RGB")` does for mode "RGBA") or blended over white as transformers does for
    /// arrays (`.compositeOverWhite`).
    public init(width: Int, height: Int, rowStride: Int, channels: Int,
                pixels source: UnsafeRawBufferPointer,
                pixelLimit: Int = RGBImage.defaultPixelLimit, alpha: AlphaHandling = .drop) throws(GoalError) {
        guard channels == 1 || channels == 3 || channels == 4 else {
            throw GoalError(.invalidArgument, "raw pixels must have 1, 3 or 4 channels, not \(channels)")
        }
        let rowBytes = try imageByteCount(width: width, height: 1, channels: channels)
        guard rowStride >= rowBytes else {
            throw GoalError(.invalidArgument,
                            "a row stride of \(rowStride) bytes is shorter than one row (\(rowBytes) bytes)")
        }
        try checkPixelLimit(width: width, height: height, limit: pixelLimit)
        // The last row need not be padded, so the buffer must hold (height-1) strides plus a row.
        let (spanned, o1) = rowStride.multipliedReportingOverflow(by: height - 1)
        let (needed, o2) = spanned.addingReportingOverflow(rowBytes)
        guard !o1, !o2, source.count >= needed, source.baseAddress != nil else {
            throw GoalError(.invalidArgument,
                            "the pixel buffer holds \(source.count) bytes; \(width)x\(height) with a stride of \(rowStride) needs \(o1 || o2 ? "more" : String(needed))")
        }
        let count = try imageByteCount(width: width, height: height, channels: 3)
        let out = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            for y in 0..<height {
                let row = y * rowStride
                var o = y * width * 3
                for x in 0..<width {
                    let i = row + x * channels
                    if channels == 1 {
                        let v = source[i]
                        buffer[o] = v; buffer[o + 1] = v; buffer[o + 2] = v
                    } else if channels == 4 && alpha == .compositeOverWhite {
                        let a = source[i + 3]
                        for c in 0..<3 { buffer[o + c] = compositeOverWhiteNumPy(source[i + c], alpha: a) }
                    } else {
                        buffer[o] = source[i]; buffer[o + 1] = source[i + 1]; buffer[o + 2] = source[i + 2]
                    }
                    o += 3
                }
            }
            initialized = count
        }
        self.init(checkedWidth: width, height: height, pixels: out)
    }
}
