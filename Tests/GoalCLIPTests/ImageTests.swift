import CZlib
import Foundation
import Testing
@testable import GoalCLIP

// Compares decoding, resizing and preprocessing with the PIL / torchvision / Hugging Face outputs
// recorded by tools/make_image_fixtures.py in fixtures/images/manifest.json.

private let fixtureDir = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("fixtures/images").path

struct ImageManifest: Decodable {
    struct Resize: Decodable { let width: Int; let height: Int; let crc32: UInt32 }
    struct TensorRef: Decodable { let crc32: UInt32; let u8: String? }
    struct Entry: Decodable, CustomTestStringConvertible, Sendable {
        let file: String
        let pil_mode: String
        let width: Int
        let height: Int
        let rgb: String
        let resize: [Resize]
        let openai: TensorRef
        let hf_pil: TensorRef
        let hf_torchvision: TensorRef
        var testDescription: String { "\(file) (\(pil_mode) \(width)x\(height))" }
    }
    struct Bad: Decodable { let file: String; let pil: String }
    let images: [Entry]
    let bad: [Bad]
}

private let manifest: ImageManifest = {
    let data = try! Data(contentsOf: URL(fileURLWithPath: fixtureDir + "/manifest.json"))
    return try! JSONDecoder().decode(ImageManifest.self, from: data)
}()

private func gunzip(_ name: String) -> [UInt8] {
    let file = gzopen(fixtureDir + "/" + name, "rb")!
    defer { gzclose(file) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let got = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
        if got <= 0 { break }
        out += chunk[0..<Int(got)]
    }
    return out
}

private func crc(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    UInt32(crc32(0, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(bytes.count)))
}

private func decode(_ name: String) throws(GoalError) -> RGBImage {
    try RGBImage(contentsOf: fixtureDir + "/" + name)
}

@Suite("Image decoding") struct ImageDecodeTests {
    @Test("decoding equals PIL's convert(\"RGB\") exactly", arguments: manifest.images)
    func decodeMatchesPIL(entry: ImageManifest.Entry) throws {
        let image = try decode(entry.file)
        #expect(image.width == entry.width && image.height == entry.height)
        let reference = gunzip(entry.rgb)
        let differing = zip(image.pixels, reference).filter { $0 != $1 }.count
        #expect(image.pixels.count == reference.count)
        #expect(differing == 0, "\(differing) of \(reference.count) bytes differ")
    }

    @Test("bad files throw GoalError", arguments: manifest.bad.map(\.file))
    func badFilesThrow(name: String) {
        #expect(throws: GoalError.self) { try decode(name) }
    }

    @Test func kindsOfFailure() throws {
        #expect(throws: GoalError(.unsupported, "\(fixtureDir)/not_an_image.txt: the data is neither a JPEG nor a PNG image")) {
            try decode("not_an_image.txt")
        }
        do throws(GoalError) { _ = try decode("truncated.jpg"); Issue.record("no error") } catch { #expect(error.kind == .truncated) }
        do throws(GoalError) { _ = try decode("truncated.png"); Issue.record("no error") } catch { #expect(error.kind == .truncated) }
        do throws(GoalError) { _ = try decode("corrupt_precision.jpg"); Issue.record("no error") } catch {
            #expect(error.kind == .invalidArgument)
            #expect(error.message.contains("precision"))
        }
        do throws(GoalError) { _ = try RGBImage(contentsOf: fixtureDir + "/missing.png"); Issue.record("no error") } catch {
            #expect(error.kind == .notFound)
        }
        #expect(throws: GoalError.self) { try RGBImage(encoded: [UInt8]()) }
    }

    @Test("every truncation and many byte flips give an image or a GoalError, never a crash",
          arguments: ["astronaut_wide.jpg", "rocket_progressive.jpg", "chelsea_cmyk.jpg",
                      "camera_gray2_interlaced.png", "coffee_palette.png"])
    func hostileBytes(name: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixtureDir + "/" + name)))
        var failures = 0
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 300)) {
            do { _ = try RGBImage(encoded: Array(bytes[0..<cut])) } catch { failures += 1 }
        }
        #expect(failures > 0)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var damaged = bytes
            for _ in 0..<4 { damaged[Int.random(in: 2..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            _ = try? RGBImage(encoded: damaged)
        }
    }

    @Test func pixelLimitRefusesLargeImages() throws {
        for name in ["astronaut_wide.jpg", "chelsea_rgb_tall.png"] {
            do throws(GoalError) {
                _ = try RGBImage(contentsOf: fixtureDir + "/" + name, pixelLimit: 1000)
                Issue.record("\(name) decoded above the limit")
            } catch {
                #expect(error.kind == .invalidArgument)
                #expect(error.message.contains("decompression bomb"))
            }
        }
        // Exactly at the limit is allowed, as in PIL.
        _ = try RGBImage(contentsOf: fixtureDir + "/camera_gray.png", pixelLimit: 130 * 97)
    }
}

@Suite("Raw pixels") struct RawPixelTests {
    @Test(arguments: [1, 3, 4]) func paddedStride(channels: Int) throws {
        let width = 5, height = 3, stride = width * channels + 7
        var buffer = [UInt8](repeating: 0xEE, count: stride * (height - 1) + width * channels)
        for y in 0..<height { for x in 0..<width { for c in 0..<channels {
            buffer[y * stride + x * channels + c] = UInt8(y * 50 + x * 10 + c)
        } } }
        let image = try buffer.withUnsafeBytes { raw in
            try RGBImage(width: width, height: height, rowStride: stride, channels: channels, pixels: raw)
        }
        for y in 0..<height { for x in 0..<width { for c in 0..<3 {
            let expected = UInt8(y * 50 + x * 10 + (channels == 1 ? 0 : c))
            #expect(image.pixels[(y * width + x) * 3 + c] == expected)
        } } }
    }

    @Test func refusesBadArguments() {
        let bytes = [UInt8](repeating: 0, count: 100)
        bytes.withUnsafeBytes { raw in
            #expect(throws: GoalError.self) { try RGBImage(width: 5, height: 5, rowStride: 15, channels: 2, pixels: raw) }
            #expect(throws: GoalError.self) { try RGBImage(width: 5, height: 5, rowStride: 14, channels: 3, pixels: raw) }
            #expect(throws: GoalError.self) { try RGBImage(width: 6, height: 6, rowStride: 18, channels: 3, pixels: raw) }
            #expect(throws: GoalError.self) { try RGBImage(width: 0, height: 5, rowStride: 15, channels: 3, pixels: raw) }
            #expect(throws: GoalError.self) { try RGBImage(width: Int.max / 2, height: 5, rowStride: Int.max, channels: 3, pixels: raw) }
            #expect(throws: GoalError.self) { try RGBImage(width: 5, height: 5, rowStride: 15, channels: 3, pixels: raw, pixelLimit: 24) }
        }
    }
}

@Suite("Bicubic resize") struct ResizeTests {
    @Test("resize equals PIL's BICUBIC byte for byte", arguments: manifest.images)
    func resizeMatchesPIL(entry: ImageManifest.Entry) throws {
        let image = try decode(entry.file)
        for target in entry.resize {
            let out = try image.resizedBicubic(width: target.width, height: target.height)
            let got = out.pixels.withUnsafeBytes(crc)
            #expect(got == target.crc32, "\(target.width)x\(target.height)")
        }
    }

    @Test func sameSizeIsACopyAndBadSizesThrow() throws {
        let image = try decode("camera_gray.png")
        #expect(try image.resizedBicubic(width: image.width, height: image.height) == image)
        #expect(throws: GoalError.self) { try image.resizedBicubic(width: 0, height: 10) }
    }
}

@Suite("CLIP preprocessing") struct PreprocessingTests {
    /// Un-normalises a tensor back to 0...255 levels, as the references are stored.
    private func levels(_ t: [Float], _ p: Preprocessing) -> [Float] {
        let plane = p.cropSize * p.cropSize
        let mean = [p.mean.0, p.mean.1, p.mean.2], std = [p.std.0, p.std.1, p.std.2]
        return t.indices.map { i in (t[i] * std[i / plane] + mean[i / plane]) * 255 }
    }

    @Test("tensors agree with torchvision and Hugging Face", arguments: manifest.images)
    func tensorsMatch(entry: ImageManifest.Entry) throws {
        let image = try decode(entry.file)
        let cases: [(String, Preprocessing.Convention, ImageManifest.TensorRef)] = [
            ("openai", .openAI, entry.openai), ("hf_pil", .huggingFace, entry.hf_pil),
            ("hf_torchvision", .huggingFace, entry.hf_torchvision),
        ]
        for (name, convention, ref) in cases {
            let p = Preprocessing(convention: convention)
            let tensor = try p.tensor(for: image)
            #expect(tensor.count == 3 * 224 * 224)
            let exact = tensor.withUnsafeBytes(crc) == ref.crc32
            if name != "hf_torchvision" {
                // Both PIL-based pipelines reduce to the same float32 operations as ours.
                #expect(exact, "\(name): float32 bytes differ")
            }
            guard let u8 = ref.u8 else { continue }
            let reference = gunzip(u8).map(Float.init)
            let ours = levels(tensor, p)
            var maxError: Float = 0, sum: Float = 0
            for (a, b) in zip(ours, reference) { let e = abs(a - b); maxError = max(maxError, e); sum += e }
            let meanError = sum / Float(reference.count)
            // transformers 5's default CLIPImageProcessor resizes with torch's uint8 antialiased
            // bicubic, not PIL's; it differs from PIL by up to 2 levels at a few hundred pixels.
            let allowed: Float = name == "hf_torchvision" ? 2 : 1
            #expect(maxError <= allowed + 1e-3, "\(name): max error \(maxError)/255")
            #expect(meanError <= 0.1, "\(name): mean error \(meanError)/255")
        }
    }

    @Test func sizesAndCropOrigins() {
        let hf = Preprocessing(convention: .huggingFace), oa = Preprocessing(convention: .openAI)
        #expect(hf.resizedSize(width: 241, height: 361) == (224, 335))
        #expect(hf.resizedSize(width: 361, height: 241) == (335, 224))
        #expect(hf.resizedSize(width: 50, height: 50) == (224, 224))
        // leftover 111: floor gives 55, round-half-even of 55.5 gives 56.
        #expect(hf.cropOrigin(width: 224, height: 335) == (0, 55))
        #expect(oa.cropOrigin(width: 224, height: 335) == (0, 56))
        // leftover 113: both give 56.
        #expect(hf.cropOrigin(width: 337, height: 224) == (56, 0))
        #expect(oa.cropOrigin(width: 337, height: 224) == (56, 0))
    }

    @Test func refusesBadSettings() throws {
        let image = try decode("camera_gray.png")
        #expect(throws: GoalError.self) { try Preprocessing(size: 0).tensor(for: image) }
        #expect(throws: GoalError.self) { try Preprocessing(size: 100, cropSize: 200).tensor(for: image) }
        #expect(throws: GoalError.self) { try Preprocessing(std: (1, 0, 1)).tensor(for: image) }
    }
}
