/// What becomes of transparency when an image turns into RGB. The two references differ:
/// open_clip (and OpenAI CLIP) call PIL's `convert("RGB")`, which drops alpha, so a transparent
/// pixel shows whatever colour it stores; Hugging Face's `convert_to_rgb` composites over white
/// first, so it shows white.
public enum AlphaHandling: Sendable, Equatable {
    /// PIL's `convert("RGB")`: alpha and tRNS ignored.
    case drop
    /// transformers' `convert_to_rgb`: an image with an alpha channel or a tRNS chunk becomes
    /// `Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")` (PIL's integer
    /// arithmetic) for files, and `round(a/255 * c + (1 - a/255) * 255)` (NumPy's) for pixel
    /// arrays, as transformers computes each.
    case compositeOverWhite
}

/// PIL's `alpha_composite` of one channel over opaque white (AlphaComposite.c with the
/// destination alpha 255): coefficients in 7 fractional bits, division by 255 with rounding.
@inline(__always)
func compositeOverWhitePIL(_ c: UInt8, alpha a: UInt8) -> UInt8 {
    if a == 0 { return 255 }
    let v = UInt32(c) * UInt32(a) + 255 * (255 - UInt32(a))
    let t = 128 * v + (0x80 << 7)
    return UInt8(truncatingIfNeeded: ((((t >> 8) + t) >> 8) >> 7))
}

/// transformers' NumPy blend of one channel over white, rounded half to even like `np.round`.
@inline(__always)
func compositeOverWhiteNumPy(_ c: UInt8, alpha a: UInt8) -> UInt8 {
    let alpha = Double(a) / 255
    let blended = alpha * Double(c) + (1 - alpha) * 255
    return UInt8(blended.rounded(.toNearestOrEven))
}
