import CImageIO
import Glibc

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
// last row ("Premature end of JPEG file") is a truncated file, as in PIL.

/// The state of one decode, kept in memory that never moves: libjpeg and the private-stack
/// switch hold raw pointers into it.
struct JPEGSession {
    var contexts = PrivateStackContexts()
    var decompressor = jpeg_decompress_struct()
    var errors = jpeg_error_mgr()
    var input: UnsafeRawBufferPointer
    var pixelLimit: Int
    var created = false
    var failure: JPEGFailure?
    var prematureEnd = false
    /// Filled by libjpeg's message formatter (JMSG_LENGTH_MAX bytes).
    var message: UnsafeMutablePointer<CChar>
    var row: UnsafeMutablePointer<JSAMPROW?>
    var pixels: UnsafeMutablePointer<UInt8>?
    var width = 0, height = 0, components = 0
}

enum JPEGFailure {
    case libjpeg            // fatal error; the text is in `message`
    case components(Int)
    case tooLarge(Int, Int)
    case outOfMemory
    case suspended
}

func decodeJPEG(_ data: UnsafeRawBufferPointer, pixelLimit: Int) throws(GoalError) -> RGBImage {
    let messageLength = Int(JMSG_LENGTH_MAX)
    let session = UnsafeMutablePointer<JPEGSession>.allocate(capacity: 1)
    let message = UnsafeMutablePointer<CChar>.allocate(capacity: messageLength)
    let row = UnsafeMutablePointer<JSAMPROW?>.allocate(capacity: 1)
    message.initialize(repeating: 0, count: messageLength)
    session.initialize(to: JPEGSession(input: data, pixelLimit: pixelLimit, message: message, row: row))
    defer {
        if session.pointee.created { jpeg_destroy_decompress(session.pointer(to: \.decompressor)!) }
        free(session.pointee.pixels)
        session.deinitialize(count: 1)
        session.deallocate()
        message.deallocate()
        row.deallocate()
    }

    guard runOnPrivateStack(session.pointer(to: \.contexts)!, entry: jpegWorker,
                            argument: UInt(bitPattern: session)) else {
        throw GoalError(.internal, "cannot set up a stack for the JPEG decoder")
    }
    let s = session.pointee
    switch s.failure {
    case .libjpeg?:
        let text = String(cString: s.message)
        throw GoalError(.invalidArgument, "broken JPEG: \(text)")
    case .components(let n)?:
        throw GoalError(.unsupported, "JPEG images with \(n) components are not supported")
    case .tooLarge(let w, let h)?:
        // Re-derive the message in one place.
        try checkPixelLimit(width: w, height: h, limit: pixelLimit)
        throw GoalError(.invalidArgument, "the JPEG image is too large")
    case .outOfMemory?:
        throw GoalError(.outOfMemory, "out of memory decoding a JPEG image")
    case .suspended?:
        throw GoalError(.internal, "the JPEG decoder stopped without an error")
    case nil:
        break
    }
    guard let pixels = s.pixels else { throw GoalError(.internal, "the JPEG decoder produced no pixels") }
    if s.prematureEnd {
        throw GoalError(.truncated, "the JPEG file is cut short (image file is truncated)")
    }
    return RGBImage(checkedWidth: s.width, height: s.height,
                    pixels: jpegToRGB(pixels, count: s.width * s.height, components: s.components))
}

/// Runs on the private stack: raw pointers and plain values only (see ContextEscape.swift).
private let jpegWorker: @convention(c) (UInt) -> Void = { argument in
    guard let session = UnsafeMutablePointer<JPEGSession>(bitPattern: argument) else { return }
    let cinfo = session.pointer(to: \.decompressor)!
    let errors = session.pointer(to: \.errors)!
    cinfo.pointee.err = jpeg_std_error(errors)
    errors.pointee.error_exit = jpegErrorExit
    errors.pointee.emit_message = jpegEmitMessage
    jpeg_CreateDecompress(cinfo, JPEG_LIB_VERSION, MemoryLayout<jpeg_decompress_struct>.size)
    session.pointee.created = true
    cinfo.pointee.client_data = UnsafeMutableRawPointer(session)

    let input = session.pointee.input
    jpeg_mem_src(cinfo, input.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt(input.count))
    _ = jpeg_read_header(cinfo, 1)

    let components = Int(cinfo.pointee.num_components)
    switch components {
    case 1: cinfo.pointee.out_color_space = JCS_GRAYSCALE
    case 3: cinfo.pointee.out_color_space = JCS_RGB
    case 4: cinfo.pointee.out_color_space = JCS_CMYK
    default:
        session.pointee.failure = .components(components)
        return
    }
    let width = Int(cinfo.pointee.image_width), height = Int(cinfo.pointee.image_height)
    let (area, overflow) = width.multipliedReportingOverflow(by: height)
    if overflow || area > session.pointee.pixelLimit {
        session.pointee.failure = .tooLarge(width, height)
        return
    }
    _ = jpeg_start_decompress(cinfo)
    let rowBytes = Int(cinfo.pointee.output_width) * Int(cinfo.pointee.output_components)
    guard let pixels = malloc(max(1, rowBytes * Int(cinfo.pointee.output_height)))?
        .assumingMemoryBound(to: UInt8.self) else {
        session.pointee.failure = .outOfMemory
        return
    }
    session.pointee.pixels = pixels
    session.pointee.width = Int(cinfo.pointee.output_width)
    session.pointee.height = Int(cinfo.pointee.output_height)
    session.pointee.components = Int(cinfo.pointee.output_components)
    while cinfo.pointee.output_scanline < cinfo.pointee.output_height {
        session.pointee.row.pointee = pixels + Int(cinfo.pointee.output_scanline) * rowBytes
        if jpeg_read_scanlines(cinfo, session.pointee.row, 1) != 1 {
            session.pointee.failure = .suspended    // cannot happen with an in-memory source
            return
        }
    }
    // jpeg_finish_decompress is not called: once every row is in, PIL does not care whether the
    // file ends properly, and jpeg_destroy_decompress releases everything either way.
}

private let jpegErrorExit: @convention(c) (j_common_ptr?) -> Void = { cinfo in
    guard let cinfo, let raw = cinfo.pointee.client_data else { abort() }
    let session = raw.assumingMemoryBound(to: JPEGSession.self)
    cinfo.pointee.err.pointee.format_message(cinfo, session.pointee.message)
    session.pointee.failure = .libjpeg
    abandonPrivateStack(session.pointer(to: \.contexts)!)
}

/// Warnings (level -1) are noted, trace messages ignored; nothing is printed.
private let jpegEmitMessage: @convention(c) (j_common_ptr?, Int32) -> Void = { cinfo, level in
    guard level < 0, let cinfo, let raw = cinfo.pointee.client_data else { return }
    let session = raw.assumingMemoryBound(to: JPEGSession.self)
    let scratch = session.pointee.message
    cinfo.pointee.err.pointee.format_message(cinfo, scratch)
    if strncmp(scratch, "Premature end of JPEG file", 26) == 0 {
        session.pointee.prematureEnd = true
    }
    scratch[0] = 0
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
