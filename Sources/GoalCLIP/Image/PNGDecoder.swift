import CZlib

// PNG is decoded here, on zlib, rather than by libpng: libpng reports errors by longjmp, which
// Swift cannot catch, and its simplified API (which does not longjmp) converts 16-bit samples
// and alpha differently from PIL. PNG itself is small: chunks, one zlib stream, five row
// filters and the Adam7 interlace.
//
// The conversions are PIL's, i.e. `Image.open(p)` (PngImagePlugin's modes and Unpack.c's
// rawmodes) followed by `convert("RGB")` (Convert.c):
// - gray 1/2/4-bit: mode "1" (0 or 255) or "L" with the sample times 0x55 (2-bit) or 0x11 (4-bit);
// - gray 16-bit: mode "I;16", and I;16 -> RGB *clips*: a sample above 255 becomes 255, a sample
//   0...255 keeps its value (the high byte is not taken);
// - RGB / RGBA / gray+alpha 16-bit: the high byte of each sample (truncation, not rounding);
// - any alpha channel is dropped, never composited over a background;
// - palette: each index becomes its PLTE colour; tRNS is ignored for RGB output; an index past
//   the end of PLTE gives black (PIL's palette is zero-filled);
// - gAMA, cHRM, sRGB, iCCP and sBIT are ignored.

struct PNGHeader {
    var width: Int
    var height: Int
    var bitDepth: Int
    var colorType: Int
    var interlaced: Bool

    var channels: Int {
        switch colorType {
        case 0, 3: 1
        case 4: 2
        case 2: 3
        default: 4
        }
    }
    var bitsPerPixel: Int { channels * bitDepth }
    /// The filter unit: bytes per complete pixel, at least one.
    var filterStride: Int { max(1, bitsPerPixel / 8) }
    func rowBytes(forWidth w: Int) -> Int { (w * bitsPerPixel + 7) / 8 }
}

/// One Adam7 pass, or the whole image when not interlaced.
struct PNGPass {
    var x0, y0, dx, dy: Int
    var width, height: Int
}

func decodePNG(_ data: UnsafeRawBufferPointer, pixelLimit: Int) throws(GoalError) -> RGBImage {
    var header: PNGHeader?
    var palette: [UInt8] = []
    var compressed: [UInt8] = []
    var idatFinished = false
    var offset = 8
    chunks: while offset < data.count {
        guard data.count - offset >= 8 else { break }
        let length = Int(bigEndian32(data, offset))
        let type = String(decoding: data[(offset + 4)..<(offset + 8)], as: UTF8.self)
        let body = offset + 8
        guard length <= 0x7FFF_FFFF, data.count - body >= length + 4 else {
            // A chunk cut short. If the image data was already complete (only trailing chunks
            // are lost) PIL still loads the image; otherwise inflating reports the truncation.
            break
        }
        // PIL checks the CRC of the chunks it parses, but reads IDAT without checking it.
        if type != "IDAT" {
            let stored = bigEndian32(data, body + length)
            let computed = crc32(0, data.baseAddress! + offset + 4, UInt32(length + 4))
            guard stored == UInt32(computed) else {
                throw GoalError(.invalidArgument, "broken PNG: bad checksum in the \(type) chunk")
            }
        }
        switch type {
        case "IHDR":
            guard header == nil, length == 13 else {
                throw GoalError(.invalidArgument, "broken PNG: malformed IHDR chunk")
            }
            header = try parsePNGHeader(data, body)
        case "PLTE":
            palette = Array(data[body..<(body + min(length, 768))])
        case "IDAT":
            // PIL reads only the first run of consecutive IDAT chunks.
            if !idatFinished { compressed.append(contentsOf: data[body..<(body + length)]) }
        case "IEND":
            break chunks
        default:
            break
        }
        if type != "IDAT" && !compressed.isEmpty { idatFinished = true }
        if header == nil { throw GoalError(.invalidArgument, "broken PNG: the first chunk is not IHDR") }
        offset = body + length + 4
    }
    guard let header else { throw GoalError(.truncated, "the PNG file is cut short before its header") }
    try checkPixelLimit(width: header.width, height: header.height, limit: pixelLimit)
    if header.colorType == 3 && palette.isEmpty {
        throw GoalError(.invalidArgument, "broken PNG: a palette image without a PLTE chunk")
    }
    guard !compressed.isEmpty else { throw GoalError(.truncated, "the PNG file has no image data (cut short?)") }

    let passes = pngPasses(header)
    var total = 0
    for pass in passes { total += pass.height * (1 + header.rowBytes(forWidth: pass.width)) }
    var raw = try inflatePNG(compressed, expected: total)

    let count = try imageByteCount(width: header.width, height: header.height, channels: 3)
    var rgb = [UInt8](repeating: 0, count: count)
    try raw.withUnsafeMutableBufferPointer { (rawBuffer) throws(GoalError) in
        var start = 0
        for pass in passes {
            let rowBytes = header.rowBytes(forWidth: pass.width)
            try unfilterPNG(rawBuffer, start: start, rows: pass.height, rowBytes: rowBytes,
                            stride: header.filterStride)
            rgb.withUnsafeMutableBufferPointer { out in
                for r in 0..<pass.height {
                    let row = UnsafeBufferPointer(rebasing: rawBuffer[(start + r * (rowBytes + 1) + 1)...])
                    let y = pass.y0 + r * pass.dy
                    convertPNGRow(row, header: header, palette: palette, count: pass.width,
                                  into: out, at: (y * header.width + pass.x0) * 3, step: pass.dx * 3)
                }
            }
            start += pass.height * (rowBytes + 1)
        }
    }
    return RGBImage(checkedWidth: header.width, height: header.height, pixels: rgb)
}

func bigEndian32(_ data: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
    UInt32(data[at]) << 24 | UInt32(data[at + 1]) << 16 | UInt32(data[at + 2]) << 8 | UInt32(data[at + 3])
}

func parsePNGHeader(_ data: UnsafeRawBufferPointer, _ at: Int) throws(GoalError) -> PNGHeader {
    let width = Int(bigEndian32(data, at)), height = Int(bigEndian32(data, at + 4))
    let depth = Int(data[at + 8]), color = Int(data[at + 9])
    guard width > 0, height > 0, width <= 0x7FFF_FFFF, height <= 0x7FFF_FFFF else {
        throw GoalError(.invalidArgument, "broken PNG: image size \(width)x\(height)")
    }
    let allowed: [Int] = switch color {
    case 0: [1, 2, 4, 8, 16]
    case 3: [1, 2, 4, 8]
    case 2, 4, 6: [8, 16]
    default: []
    }
    guard allowed.contains(depth) else {
        throw GoalError(.unsupported, "PNG colour type \(color) with bit depth \(depth) is not supported")
    }
    guard data[at + 10] == 0, data[at + 11] == 0, data[at + 12] <= 1 else {
        throw GoalError(.unsupported, "unknown PNG compression, filter or interlace method")
    }
    return PNGHeader(width: width, height: height, bitDepth: depth, colorType: color,
                     interlaced: data[at + 12] == 1)
}

func pngPasses(_ h: PNGHeader) -> [PNGPass] {
    guard h.interlaced else {
        return [PNGPass(x0: 0, y0: 0, dx: 1, dy: 1, width: h.width, height: h.height)]
    }
    let adam7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    return adam7.compactMap { x0, y0, dx, dy in
        let w = (h.width - x0 + dx - 1) / dx, rows = (h.height - y0 + dy - 1) / dy
        // An empty pass has no filter bytes at all.
        return w > 0 && rows > 0 ? PNGPass(x0: x0, y0: y0, dx: dx, dy: dy, width: w, height: rows) : nil
    }
}

/// Inflates exactly `expected` bytes. Data missing from the end is a truncated file; extra data
/// after the image, or a stream whose end marker is lost after the last row, is tolerated as PIL
/// tolerates it.
func inflatePNG(_ compressed: [UInt8], expected: Int) throws(GoalError) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: expected)
    var stream = z_stream()
    guard inflateInit_(&stream, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw GoalError(.outOfMemory, "cannot start zlib")
    }
    defer { inflateEnd(&stream) }
    var status: Int32 = Z_OK
    var produced = 0
    compressed.withUnsafeBufferPointer { input in
        out.withUnsafeMutableBufferPointer { output in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.next_out = output.baseAddress
            // zlib counts in UInt32; feed large buffers in slices.
            var inLeft = input.count, outLeft = output.count
            while true {
                let inStep = min(inLeft, Int(UInt32.max)), outStep = min(outLeft, Int(UInt32.max))
                stream.avail_in = UInt32(inStep)
                stream.avail_out = UInt32(outStep)
                status = inflate(&stream, Z_NO_FLUSH)
                inLeft -= inStep - Int(stream.avail_in)
                outLeft -= outStep - Int(stream.avail_out)
                if status != Z_OK || outLeft == 0 || inLeft == 0 { break }
            }
            produced = output.count - outLeft
        }
    }
    switch status {
    case Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR:
        let reason = stream.msg.map { String(cString: $0) } ?? "invalid compressed data"
        throw GoalError(.invalidArgument, "broken PNG image data (\(reason))")
    case Z_MEM_ERROR:
        throw GoalError(.outOfMemory, "out of memory while inflating PNG data")
    default:
        break
    }
    guard produced == expected else {
        throw GoalError(.truncated, "the PNG image data is cut short (\(produced) of \(expected) bytes)")
    }
    return out
}

/// Undoes the per-row filters in place. `stride` is the filter unit (bytes per pixel, >= 1).
func unfilterPNG(_ buf: UnsafeMutableBufferPointer<UInt8>, start: Int, rows: Int, rowBytes: Int,
                 stride: Int) throws(GoalError) {
    for r in 0..<rows {
        let f = start + r * (rowBytes + 1)
        let cur = f + 1
        let prev = cur - (rowBytes + 1)   // only read when r > 0
        let kind = buf[f]
        switch kind {
        case 0:
            break
        case 1:
            for i in stride..<max(stride, rowBytes) { buf[cur + i] &+= buf[cur + i - stride] }
        case 2:
            if r > 0 { for i in 0..<rowBytes { buf[cur + i] &+= buf[prev + i] } }
        case 3:
            for i in 0..<rowBytes {
                let left = i >= stride ? Int(buf[cur + i - stride]) : 0
                let up = r > 0 ? Int(buf[prev + i]) : 0
                buf[cur + i] &+= UInt8((left + up) >> 1)
            }
        case 4:
            for i in 0..<rowBytes {
                let a = i >= stride ? Int(buf[cur + i - stride]) : 0
                let b = r > 0 ? Int(buf[prev + i]) : 0
                let c = (i >= stride && r > 0) ? Int(buf[prev + i - stride]) : 0
                let p = a + b - c
                let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                let pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                buf[cur + i] &+= UInt8(pred)
            }
        default:
            throw GoalError(.invalidArgument, "broken PNG image data (unknown row filter \(kind))")
        }
    }
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
