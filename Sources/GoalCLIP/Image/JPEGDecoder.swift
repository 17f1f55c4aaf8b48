import CImageDecode

// JPEG through libjpeg(-turbo) with the settings PIL's decoder uses: libjpeg's own guess of the
// file's colour space, accurate integer IDCT (JDCT_ISLOW) and fancy upsampling (both defaults;
// PIL changes them only in draft mode). PIL then converts:
// - 1 component: mode "L", replicated into R, G and B;
// - 3 components: libjpeg converts to RGB (YCbCr, or RGB when the Adobe marker says so);
// - 4 components: mode "CMYK" read with rawmode "CMYK;I" *always* ("assume adobe conventions"),
//   i.e. every sample libjpeg gives (YCCK already turned into CMYK) is inverted, and then
//   Convert.c's cmyk2rgb: with nk = 255 - K, each of R, G, B = clip(nk - (C * nk) / 255), the
//   division rounded as t = C * nk + 128, (t + (t >> 8)) >> 8.
// libjpeg warnings about corrupt data are ignored, as PIL ignores them; data ending before the
// last row ("Premature end of JPEG file") is a truncated file, as in PIL. The libjpeg calls
// themselves are in C (Sources/CImageDecode), where a fatal error can longjmp out.

func decodeJPEG(_ data: UnsafeRawBufferPointer, pixelLimit: Int) throws(GoalError) -> RGBImage {
    var image = goal_jpeg_image()
    let status = goal_jpeg_decode(data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count,
                                  Int64(pixelLimit), &image)
    defer { goal_jpeg_free(image.pixels) }
    switch Int(status) {
    case Int(GOAL_JPEG_OK): break
    case Int(GOAL_JPEG_COMPONENTS):
        throw GoalError(.unsupported, "JPEG images with \(image.components) components are not supported")
    case Int(GOAL_JPEG_TOO_LARGE):
        try checkPixelLimit(width: Int(image.width), height: Int(image.height), limit: pixelLimit)
        throw GoalError(.invalidArgument, "the JPEG image is too large")
    case Int(GOAL_JPEG_OUT_OF_MEMORY):
        throw GoalError(.outOfMemory, "out of memory decoding a JPEG image")
    default:
        let text = withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        throw GoalError(.invalidArgument, "broken JPEG: \(text)")
    }
    guard let pixels = image.pixels else { throw GoalError(.internal, "the JPEG decoder produced no pixels") }
    if image.premature_end != 0 {
        throw GoalError(.truncated, "the JPEG file is cut short (image file is truncated)")
    }
    let width = Int(image.width), height = Int(image.height)
    return RGBImage(checkedWidth: width, height: height,
                    pixels: jpegToRGB(pixels, count: width * height, components: Int(image.components)))
}

/// Turns libjpeg's gray, RGB or CMYK samples into RGB the way PIL does (see the top of the file).
func jpegToRGB(_ samples: UnsafeMutablePointer<UInt8>, count: Int, components: Int) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: count * 3) { out, initialized in
        switch components {
        case 1:
            for i in 0..<count { let v = samples[i]; out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v }
        case 3:
            for i in 0..<count * 3 { out[i] = samples[i] }
        default:
            for i in 0..<count {
                let nk = Int(samples[4 * i + 3])          // 255 - inverted K
                for c in 0..<3 {
                    let ink = 255 - Int(samples[4 * i + c])
                    let t = ink * nk + 128
                    let v = nk - (((t >> 8) + t) >> 8)
                    out[3 * i + c] = UInt8(clamping: v)
                }
            }
        }
        initialized = count * 3
    }
}
