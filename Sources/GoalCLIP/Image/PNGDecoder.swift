import CImageDecode

// PNG through libpng (Sources/CImageDecode), which unfilters and de-interlaces the rows and
// leaves their samples as stored; the conversion to RGB is PIL's, i.e. `Image.open(p)`
// (PngImagePlugin's modes and Unpack.c's rawmodes) followed by `convert("RGB")` (Convert.c):
// - gray 1/2/4-bit: mode "1" (0 or 255) or "L" with the sample times 0x55 (2-bit) or 0x11 (4-bit);
// - gray 16-bit: mode "I;16", and I;16 -> RGB *clips*: a sample above 255 becomes 255, a sample
//   0...255 keeps its value (the high byte is not taken);
// - RGB / RGBA / gray+alpha 16-bit: the high byte of each sample (truncation, not rounding);
// - any alpha channel is dropped, never composited over a background;
// - palette: each index becomes its PLTE colour; tRNS is ignored for RGB output; an index past
//   the end of PLTE gives black (PIL's palette is zero-filled);
// - gAMA, cHRM, sRGB, iCCP and sBIT are ignored.
// One difference remains: libpng checks every chunk's CRC, while PIL skips the image data's.

struct PNGHeader {
    var bitDepth: Int
    var colorType: Int
}

func decodePNG(_ data: UnsafeRawBufferPointer, pixelLimit: Int, alpha: AlphaHandling = .drop) throws(GoalError) -> RGBImage {
    var image = goal_png_image()
    let status = goal_png_decode(data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count,
                                 Int64(pixelLimit), &image)
    defer { goal_png_free(image.rows) }
    let message = withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    switch Int(status) {
    case Int(GOAL_PNG_OK): break
    case Int(GOAL_PNG_TRUNCATED): throw GoalError(.truncated, "the PNG file is cut short (image file is truncated)")
    case Int(GOAL_PNG_TOO_LARGE):
        try checkPixelLimit(width: Int(image.width), height: Int(image.height), limit: pixelLimit)
        throw GoalError(.invalidArgument, "the PNG image is too large")
    case Int(GOAL_PNG_OUT_OF_MEMORY): throw GoalError(.outOfMemory, "out of memory decoding a PNG image")
    default: throw GoalError(.invalidArgument, "broken PNG: \(message)")
    }
    guard let rows = image.rows else { throw GoalError(.internal, "the PNG decoder produced no pixels") }
    let header = PNGHeader(bitDepth: Int(image.bit_depth), colorType: Int(image.color_type))
    if header.colorType == 3 && image.palette_entries == 0 {
        throw GoalError(.invalidArgument, "broken PNG: a palette image without a PLTE chunk")
    }
    let palette = withUnsafeBytes(of: image.palette) { Array($0.prefix(3 * Int(image.palette_entries))) }
    let width = Int(image.width), height = Int(image.height), rowBytes = image.row_bytes
    let count = try imageByteCount(width: width, height: height, channels: 3)
    var rgb = [UInt8](repeating: 0, count: count)
    let transparency = alpha == .compositeOverWhite ? PNGTransparency(image) : nil
    var alphaRow = [UInt8](repeating: 255, count: width)
    rgb.withUnsafeMutableBufferPointer { out in
        for y in 0..<height {
            let row = UnsafeBufferPointer(start: rows + y * rowBytes, count: rowBytes)
            convertPNGRow(row, header: header, palette: palette, count: width, into: out, at: y * width * 3, step: 3)
            if let transparency, transparency.alphaOfRow(row, header: header, into: &alphaRow) {
                for x in 0..<width where alphaRow[x] != 255 {
                    let o = (y * width + x) * 3
                    for c in 0..<3 { out[o + c] = compositeOverWhitePIL(out[o + c], alpha: alphaRow[x]) }
                }
            }
        }
    }
    return RGBImage(checkedWidth: width, height: height, pixels: rgb)
}

/// Converts one unfiltered row of `count` pixels to RGB, writing every `step` bytes.
func convertPNGRow(_ row: UnsafeBufferPointer<UInt8>, header: PNGHeader, palette: [UInt8], count: Int,
                   into out: UnsafeMutableBufferPointer<UInt8>, at start: Int, step: Int) {
    var o = start
    let depth = header.bitDepth
    /// The `i`-th sample of a packed row of 1-, 2- or 4-bit samples, most significant first.
    func packed(_ i: Int) -> Int {
        let bit = i * depth
        return Int(row[bit >> 3] >> UInt8(8 - depth - (bit & 7))) & ((1 << depth) - 1)
    }
    func put(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        out[o] = r; out[o + 1] = g; out[o + 2] = b
        o += step
    }
    switch (header.colorType, depth) {
    case (0, 16):
        for x in 0..<count {
            let v: UInt8 = row[2 * x] == 0 ? row[2 * x + 1] : 255   // I;16 -> RGB clips
            put(v, v, v)
        }
    case (0, 8):
        for x in 0..<count { put(row[x], row[x], row[x]) }
    case (0, _):
        let scale = depth == 1 ? 255 : depth == 2 ? 0x55 : 0x11
        for x in 0..<count { let v = UInt8(packed(x) * scale); put(v, v, v) }
    case (3, _):
        let entries = palette.count / 3
        for x in 0..<count {
            let i = depth == 8 ? Int(row[x]) : packed(x)
            if i < entries { put(palette[3 * i], palette[3 * i + 1], palette[3 * i + 2]) } else { put(0, 0, 0) }
        }
    case (2, 8):
        for x in 0..<count { put(row[3 * x], row[3 * x + 1], row[3 * x + 2]) }
    case (2, _):
        for x in 0..<count { put(row[6 * x], row[6 * x + 2], row[6 * x + 4]) }
    case (4, 8):
        for x in 0..<count { put(row[2 * x], row[2 * x], row[2 * x]) }
    case (4, _):
        for x in 0..<count { put(row[4 * x], row[4 * x], row[4 * x]) }
    case (6, 8):
        for x in 0..<count { put(row[4 * x], row[4 * x + 1], row[4 * x + 2]) }
    default:
        for x in 0..<count { put(row[8 * x], row[8 * x + 2], row[8 * x + 4]) }
    }
}

/// Where a PNG's alpha comes from when it is composited: its alpha channel, a palette's tRNS
/// alphas, or one tRNS colour that is fully transparent (PIL's `convert_transparent`).
struct PNGTransparency {
    let hasTRNS: Bool
    let paletteAlpha: [UInt8]
    let colour: (UInt16, UInt16, UInt16)

    init?(_ image: goal_png_image) {
        hasTRNS = image.has_trns != 0
        guard hasTRNS || image.color_type == 4 || image.color_type == 6 else { return nil }
        paletteAlpha = withUnsafeBytes(of: image.trns_alpha) { Array($0.prefix(Int(image.trns_entries))) }
        colour = (image.trns_color.0, image.trns_color.1, image.trns_color.2)
    }

    /// Fills `alpha` for one unfiltered row; false when the row is fully opaque by construction.
    func alphaOfRow(_ row: UnsafeBufferPointer<UInt8>, header: PNGHeader, into alpha: inout [UInt8]) -> Bool {
        let depth = header.bitDepth, count = alpha.count
        func sample(_ i: Int) -> Int {
            switch depth {
            case 16: return Int(row[2 * i]) << 8 | Int(row[2 * i + 1])
            case 8: return Int(row[i])
            default:
                let bit = i * depth
                return Int(row[bit >> 3] >> UInt8(8 - depth - (bit & 7))) & ((1 << depth) - 1)
            }
        }
        switch header.colorType {
        case 4:  // gray + alpha: the alpha sample's high byte
            let width = depth == 16 ? 4 : 2
            for x in 0..<count { alpha[x] = row[width * x + width / 2] }
        case 6:
            let width = depth == 16 ? 8 : 4
            for x in 0..<count { alpha[x] = row[width * x + 3 * width / 4] }
        case 3:
            guard hasTRNS else { return false }
            for x in 0..<count {
                let i = sample(x)
                alpha[x] = i < paletteAlpha.count ? paletteAlpha[i] : 255
            }
        case 0:
            guard hasTRNS else { return false }
            for x in 0..<count { alpha[x] = sample(x) == Int(colour.0) ? 0 : 255 }
        case 2:
            guard hasTRNS else { return false }
            let step = depth == 16 ? 2 : 1
            for x in 0..<count {
                let r = step == 2 ? sample(3 * x) : Int(row[3 * x])
                let g = step == 2 ? sample(3 * x + 1) : Int(row[3 * x + 1])
                let b = step == 2 ? sample(3 * x + 2) : Int(row[3 * x + 2])
                alpha[x] = (r, g, b) == (Int(colour.0), Int(colour.1), Int(colour.2)) ? 0 : 255
            }
        default:
            return false
        }
        return true
    }
}
