// PIL's `Image.resize((w, h), Image.BICUBIC)` for 8-bit RGB, reproduced operation for operation
// from the behaviour of Pillow's libImaging/Resample.c so the bytes come out identical:
// - the kernel is Keys' cubic with a = -0.5 and support 2;
// - when shrinking, the kernel is stretched by the scale (antialiasing): support = 2 * scale and
//   the argument is multiplied by 1/scale; when enlarging, scale is taken as 1;
// - for output pixel i the centre is (i + 0.5) * scale; the taps run from
//   trunc(centre - support + 0.5) (at least 0) to trunc(centre + support + 0.5) (at most the
//   input size); tap x has weight K((x - centre + 0.5) / scale), and the weights are divided by
//   their sum, all in double precision;
// - the weights become integers with 22 fraction bits, rounded half away from zero and
//   truncated; each channel sums weight * sample from 1 << 21 (a half, for rounding), then
//   shifts right by 22 and clips to 0...255 — so the intermediate image is 8-bit and clipped;
// - the horizontal pass runs first, then the vertical; a pass whose size does not change is
//   skipped entirely (not run as an identity).
// Floating-point operations keep C's order and are not fused, so the weights match bit for bit
// on targets where the C build does not contract to FMA (x86-64; see the report for AArch64).

private let precisionBits = 22

/// Keys' cubic convolution kernel with a = -0.5, written as Pillow evaluates it.
@inline(__always)
private func bicubicKernel(_ x: Double) -> Double {
    let a = -0.5
    let x = x < 0.0 ? -x : x
    if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
    if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
    return 0.0
}

/// The taps of every output sample along one axis: first input index, tap count, and
/// `kernelSize` fixed-point weights per output sample.
struct ResampleTaps {
    var first: [Int]
    var count: [Int]
    var weights: [Int32]
    var kernelSize: Int

    init(inputSize: Int, outputSize: Int) {
        // Pillow takes the box (0, inputSize) as floats; the difference is exact for any size
        // an image can have.
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1.0)
        let support = 2.0 * filterScale
        kernelSize = Int(support.rounded(.up)) * 2 + 1
        first = [Int](repeating: 0, count: outputSize)
        count = [Int](repeating: 0, count: outputSize)
        weights = [Int32](repeating: 0, count: outputSize * kernelSize)
        let inverseScale = 1.0 / filterScale
        var k = [Double](repeating: 0, count: kernelSize)
        for i in 0..<outputSize {
            let center = (Double(i) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), inputSize)
            let n = hi - lo
            var sum = 0.0
            for x in 0..<n {
                let w = bicubicKernel((Double(x + lo) - center + 0.5) * inverseScale)
                k[x] = w
                sum += w
            }
            for x in 0..<n {
                let w = sum != 0.0 ? k[x] / sum : k[x]
                let scaled = w * Double(1 << precisionBits)
                weights[i * kernelSize + x] = Int32(w < 0 ? -0.5 + scaled : 0.5 + scaled)
            }
            first[i] = lo
            count[i] = n
        }
    }
}

@inline(__always)
private func clip8(_ sum: Int32) -> UInt8 {
    UInt8(clamping: sum >> Int32(precisionBits))
}

extension RGBImage {
    /// Resizes with PIL's bicubic filter (see the top of this file). Sizes must be positive.
    public func resizedBicubic(width outWidth: Int, height outHeight: Int) throws(GoalError) -> RGBImage {
        _ = try imageByteCount(width: outWidth, height: outHeight, channels: 3)
        var image = self
        if outWidth != width {
            image = image.horizontalPass(ResampleTaps(inputSize: width, outputSize: outWidth), outWidth)
        }
        if outHeight != height {
            image = image.verticalPass(ResampleTaps(inputSize: height, outputSize: outHeight), outHeight)
        }
        return image
    }

    private func horizontalPass(_ taps: ResampleTaps, _ outWidth: Int) -> RGBImage {
        let count = outWidth * height * 3
        let out = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            pixels.withUnsafeBufferPointer { src in
                taps.weights.withUnsafeBufferPointer { w in
                    for y in 0..<height {
                        let row = y * width * 3
                        for i in 0..<outWidth {
                            let k = i * taps.kernelSize
                            var r: Int32 = 1 << Int32(precisionBits - 1), g = r, b = r
                            var p = row + taps.first[i] * 3
                            for x in 0..<taps.count[i] {
                                let c = w[k + x]
                                r &+= Int32(src[p]) &* c
                                g &+= Int32(src[p + 1]) &* c
                                b &+= Int32(src[p + 2]) &* c
                                p += 3
                            }
                            let o = (y * outWidth + i) * 3
                            out[o] = clip8(r); out[o + 1] = clip8(g); out[o + 2] = clip8(b)
                        }
                    }
                }
            }
            initialized = count
        }
        return RGBImage(checkedWidth: outWidth, height: height, pixels: out)
    }

    private func verticalPass(_ taps: ResampleTaps, _ outHeight: Int) -> RGBImage {
        let rowBytes = width * 3
        let count = rowBytes * outHeight
        let out = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            pixels.withUnsafeBufferPointer { src in
                taps.weights.withUnsafeBufferPointer { w in
                    var sums = [Int32](repeating: 0, count: rowBytes)
                    for j in 0..<outHeight {
                        let k = j * taps.kernelSize
                        for i in 0..<rowBytes { sums[i] = 1 << Int32(precisionBits - 1) }
                        // Row by row so the inner loop walks memory in order.
                        for y in 0..<taps.count[j] {
                            let c = w[k + y]
                            let row = (taps.first[j] + y) * rowBytes
                            for i in 0..<rowBytes { sums[i] &+= Int32(src[row + i]) &* c }
                        }
                        for i in 0..<rowBytes { out[j * rowBytes + i] = clip8(sums[i]) }
                    }
                }
            }
            initialized = count
        }
        return RGBImage(checkedWidth: width, height: outHeight, pixels: out)
    }
}
