import Glibc
import Testing
@testable import GoalMatch

/// The colour scale and the spreading of a patch grid over pixels, without a model.
@Suite struct HeatmapTests {
    /// Relative luminance (WCAG / Rec. 709 on linearised sRGB) of an sRGB colour 0–255.
    func luminance(_ c: (r: Double, g: Double, b: Double)) -> Double {
        func linear(_ v: Double) -> Double {
            let s = v / 255
            return s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * linear(c.r) + 0.7152 * linear(c.g) + 0.0722 * linear(c.b)
    }

    @Test func endpointsAndStopsAreExact() {
        for stop in HeatmapColormap.stops {
            let c = HeatmapColormap.color(at: stop.position)
            #expect(c.r == stop.rgb.0 && c.g == stop.rgb.1 && c.b == stop.rgb.2)
        }
        let first = HeatmapColormap.stops.first!.rgb, last = HeatmapColormap.stops.last!.rgb
        for t in [-1.0, -.infinity, .nan] {
            let c = HeatmapColormap.color(at: t)
            #expect(c.r == first.0 && c.g == first.1 && c.b == first.2)
        }
        for t in [2.0, .infinity] {
            let c = HeatmapColormap.color(at: t)
            #expect(c.r == last.0 && c.g == last.1 && c.b == last.2)
        }
        #expect(first.2 > first.0, "low is blue")
        #expect(last.0 > last.2 && last.1 > last.2, "high is yellow")
    }

    @Test func luminanceRisesThroughout() {
        var previous = -1.0
        for i in 0...1000 {
            let y = luminance(HeatmapColormap.color(at: Double(i) / 1000))
            #expect(y > previous, "luminance falls at \(Double(i) / 1000)")
            previous = y
        }
        #expect(luminance(HeatmapColormap.color(at: 1)) - luminance(HeatmapColormap.color(at: 0)) > 0.5)
    }

    /// A 64 x 32 image: resized to itself, the 32 px crop starts at x = 16; 8 px patches, 4 x 4.
    let geometry = PatchGeometry(imageWidth: 64, imageHeight: 32, preprocessing: Preprocessing(size: 32), patchSize: 8)
    let grid: [Float] = (0..<16).map { Float($0) }

    @Test func marginsAreNaNAndEdgesClamp() {
        let map = Heatmap.upsample(grid, geometry: geometry)
        #expect(map.count == 64 * 32)
        for y in 0..<32 {
            for x in 0..<64 { #expect(map[y * 64 + x].isNaN == !(16..<48).contains(x)) }
        }
        // The half-patch band at the window's edge repeats the edge patch.
        #expect(map[0 * 64 + 16] == 0 && map[3 * 64 + 19] == 0)
        #expect(map[31 * 64 + 47] == 15)
        // Pixel 20 has its centre at u = 4.5, q = 0.0625 past patch 0's centre.
        #expect(abs(map[0 * 64 + 20] - 0.0625) < 1e-6)
        // Halfway between the centres of patches 1 and 2 is u = 16: pixels 31 and 32 (u = 15.5
        // and 16.5) straddle it symmetrically.
        #expect(abs((map[31] + map[32]) / 2 - 1.5) < 1e-6)
    }

    @Test func renderingBlendsAndGreys() throws {
        let pixels = (0 ..< 64 * 32).flatMap { i -> [UInt8] in [UInt8(i % 256), UInt8((i * 7) % 256), 200] }
        let image = try RGBImage(width: 64, height: 32, pixels: pixels)
        let constant = [Float](repeating: 0.3, count: 16)
        let heatmap = Heatmap(image: image, geometry: geometry, patchScores: constant,
                              values: Heatmap.upsample(constant, geometry: geometry))
        #expect(try heatmap.rendered(opacity: 0) == image)
        let full = try heatmap.rendered(opacity: 1)
        let mid = HeatmapColormap.color(at: 0.5)
        // Inside: a constant map is all the middle colour; outside: the pixel's grey.
        #expect(full.pixels[3 * 20] == UInt8(mid.r.rounded()) && full.pixels[3 * 20 + 2] == UInt8(mid.b.rounded()))
        let r = Int(pixels[0]), g = Int(pixels[1]), b = Int(pixels[2])
        let grey = UInt8((299 * r + 587 * g + 114 * b + 500) / 1000)
        #expect(Array(full.pixels[0..<3]) == [grey, grey, grey])
        for bad in [-0.01, 1.01, Double.nan] {
            #expect(throws: GoalError.self) { try heatmap.rendered(opacity: bad) }
        }
    }
}
