// Convolution and its companions on NCHW float32 tensors: Conv, MaxPool, AveragePool,
// GlobalAveragePool and BatchNormalization (inference form).
//
// Conv and the pools take 1-D (N×C×W) and 2-D (N×C×H×W) inputs. A 1-D operator runs as a 2-D one
// whose height axis is a single row with a one-tap window, so one code path serves both.
//
// Sizes steering the window (kernel, strides, dilations, pads) come from attributes the model
// chose; they are bounded when the node is opened so that the index arithmetic below cannot
// overflow, and every runtime shape is checked before memory is touched.

// MARK: - Window geometry

/// Largest kernel, stride, dilation or pad accepted, and largest spatial size. With every term
/// at most 2^31, window positions (o·stride − pad + i·dilation) stay far inside Int's range.
private let windowLimit = Int(Int32.max)

enum AutoPad: Sendable {
    case notSet, sameUpper, sameLower, valid
}

/// One spatial axis of a sliding window. Window o starts at o·stride − padBegin and its taps
/// sit at start + i·dilation for i < kernel; taps outside 0..<input read padding.
struct WindowAxis: Sendable, Equatable {
    var input: Int
    var output: Int
    var kernel: Int
    var stride: Int
    var dilation: Int
    var padBegin: Int
    var padEnd: Int

    /// The height axis a 1-D operator is run with: one row, one tap.
    static let unit = WindowAxis(input: 1, output: 1, kernel: 1, stride: 1, dilation: 1, padBegin: 0, padEnd: 0)

    @inline(__always)
    func start(_ o: Int) -> Int { o * stride - padBegin }

    /// The taps of window o that fall inside the input, as a range of tap numbers.
    func taps(_ o: Int) -> Range<Int> {
        let s = start(o)
        let lo = s >= 0 ? 0 : min(kernel, ceilDiv(-s, dilation))
        let hi = s < input ? min(kernel, ceilDiv(input - s, dilation)) : 0
        return lo..<max(lo, hi)
    }

    /// How many taps of window o lie inside the input or its explicit padding: AveragePool's
    /// divisor with count_include_pad. A ceil_mode window can run past the end padding; the
    /// taps out there are not counted (as onnxruntime and PyTorch do).
    func tapsWithinPadding(_ o: Int) -> Int {
        let s = start(o)
        let end = input + padEnd
        guard s < end else { return 0 }
        return min(kernel, ceilDiv(end - s, dilation))
    }

    /// The output positions o at which tap i reads inside the input: im2col's unpadded span.
    func outputsReading(tap i: Int) -> Range<Int> {
        // Input position o·stride − padBegin + i·dilation must be in 0..<input.
        let shift = padBegin - i * dilation
        let lo = shift <= 0 ? 0 : min(output, ceilDiv(shift, stride))
        let hi = input + shift > 0 ? min(output, ceilDiv(input + shift, stride)) : 0
        return lo..<max(lo, hi)
    }
}

/// ⌈a / b⌉ for b > 0 and a ≥ 0.
@inline(__always)
private func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }

/// ⌊a / b⌋ for b > 0 and any a (Swift's / truncates toward zero).
@inline(__always)
private func floorDiv(_ a: Int, _ b: Int) -> Int {
    a >= 0 ? a / b : -((-a + b - 1) / b)
}

/// The window attributes shared by Conv, MaxPool and AveragePool, checked when the node is opened.
struct WindowAttributes: Sendable {
    let label: String
    let autoPad: AutoPad
    let kernelShape: [Int]?
    let strides: [Int]?
    let dilations: [Int]?
    /// [x1_begin, x2_begin, ..., x1_end, x2_end]; ignored unless autoPad is NOTSET.
    let pads: [Int]?
    /// `rejectPadsWithAutoPad`: whether nonzero pads next to an auto_pad other than NOTSET are an
    /// error (onnxruntime rejects them on Conv and ignores them on the pools; we do the same).
    init(_ node: Node, requireKernelShape: Bool, rejectPadsWithAutoPad: Bool) throws(GoalError) {
        let label = node.label
        self.label = label
        switch try node.string("auto_pad", default: "NOTSET") {
        // onnxruntime reads an empty string as NOTSET too.
        case "NOTSET", "": autoPad = .notSet
        case "SAME_UPPER": autoPad = .sameUpper
        case "SAME_LOWER": autoPad = .sameLower
        case "VALID": autoPad = .valid
        case let other:
            throw GoalError(.invalidModel, "\(label): auto_pad '\(other)' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID")
        }
        kernelShape = try Self.list(node, "kernel_shape", minimum: 1)
        strides = try Self.list(node, "strides", minimum: 1)
        dilations = try Self.list(node, "dilations", minimum: 1)
        pads = try Self.list(node, "pads", minimum: 0)
        if requireKernelShape && kernelShape == nil {
            throw GoalError(.invalidModel, "\(label): attribute 'kernel_shape' is required")
        }
        if rejectPadsWithAutoPad, autoPad != .notSet, let p = pads, p.contains(where: { $0 != 0 }) {
            // The spec forbids both. All-zero pads are harmless.
            throw GoalError(.invalidModel, "\(label): has both auto_pad and nonzero pads")
        }
        if autoPad == .notSet, let p = pads, p.count % 2 != 0 {
            throw GoalError(.invalidModel, "\(label): 'pads' has \(p.count) values; it needs a begin and an end value per spatial axis")
        }
        // Whichever attributes are present must agree on the number of spatial axes.
        var rank: Int? = nil
        let counts: [(String, Int?)] = [("kernel_shape", kernelShape?.count), ("strides", strides?.count),
                                        ("dilations", dilations?.count),
                                        ("pads", autoPad == .notSet ? pads.map { $0.count / 2 } : nil)]
        for (name, count) in counts {
            guard let count else { continue }
            if let r = rank, r != count {
                throw GoalError(.invalidModel, "\(label): '\(name)' implies \(count) spatial axes where the other window attributes imply \(r)")
            }
            rank = count
        }
        if let r = rank, r != 1 && r != 2 {
            throw GoalError(.unsupported, "\(label): only 1-D and 2-D windows are supported; the attributes describe \(r) spatial axes")
        }
    }

    /// A list attribute as Ints, each in minimum...windowLimit; nil when absent or empty (an
    /// empty list means the default, as onnxruntime reads it).
    private static func list(_ node: Node, _ key: String, minimum: Int) throws(GoalError) -> [Int]? {
        guard let values = try node.ints(key), !values.isEmpty else { return nil }
        var out: [Int] = []
        out.reserveCapacity(values.count)
        for v in values {
            guard v >= Int64(minimum), v <= Int64(windowLimit) else {
                throw GoalError(.invalidModel, "\(node.label): '\(key)' holds \(v); each value must be in \(minimum)...\(windowLimit)")
            }
            out.append(Int(v))
        }
        return out
    }

    /// The geometry of each spatial axis for an input of spatial sizes `input` and a kernel of
    /// sizes `kernel`. `ceilMode` is the pools' ceil_mode (always false for Conv).
    func resolve(input: [Int], kernel: [Int], ceilMode: Bool) throws(GoalError) -> [WindowAxis] {
        let r = input.count
        func checkCount(_ name: String, _ count: Int?) throws(GoalError) {
            if let count, count != r {
                throw GoalError(.invalidArgument, "\(label): '\(name)' describes \(count) spatial axes but the input has \(r)")
            }
        }
        try checkCount("kernel", kernel.count)
        try checkCount("strides", strides?.count)
        try checkCount("dilations", dilations?.count)
        if autoPad == .notSet { try checkCount("pads", pads.map { $0.count / 2 }) }

        var axes: [WindowAxis] = []
        for i in 0..<r {
            let n = input[i], k = kernel[i]
            guard n <= windowLimit else {
                throw GoalError(.unsupported, "\(label): spatial size \(n) is larger than \(windowLimit)")
            }
            guard k >= 1, k <= windowLimit else {
                throw GoalError(.invalidArgument, "\(label): kernel size \(k) on spatial axis \(i) must be in 1...\(windowLimit)")
            }
            let s = strides?[i] ?? 1, d = dilations?[i] ?? 1
            let extent = (k - 1) * d + 1  // the span one window covers, with dilation
            var pb = 0, pe = 0, out: Int
            switch autoPad {
            case .notSet, .valid:
                if autoPad == .notSet, let p = pads { pb = p[i]; pe = p[r + i] }
                // VALID is zero explicit padding; like onnxruntime, ceil_mode still applies to it.
                let span = n + pb + pe - extent
                if ceilMode {
                    out = floorDiv(span + s - 1, s) + 1
                    // A last window starting in the end padding would see no input: drop it
                    // (onnxruntime and PyTorch agree on this rule).
                    if out > 0 && (out - 1) * s >= n + pb { out -= 1 }
                } else {
                    out = floorDiv(span, s) + 1
                }
            case .sameUpper, .sameLower:
                // Output ceil(n / s); the padding that takes is split evenly, the odd element at
                // the end (SAME_UPPER) or at the beginning (SAME_LOWER). The need is computed with
                // the dilated extent, as the spec's formula. When the kernel is smaller than the
                // stride the need can be negative: like onnxruntime, that crops instead, split the
                // same way with C's truncating division, so windows shift inward.
                out = ceilDiv(n, s)
                let total = (out - 1) * s + extent - n
                pb = autoPad == .sameLower ? (total + 1) / 2 : total / 2
                pe = total - pb
            }
            guard out >= 1 else {
                throw GoalError(.invalidArgument, "\(label): a window of \(extent) (kernel \(k), dilation \(d)) does not fit spatial size \(n) with pads \(pb)+\(pe) on axis \(i); the output would be empty")
            }
            axes.append(WindowAxis(input: n, output: out, kernel: k, stride: s, dilation: d, padBegin: pb, padEnd: pe))
        }
        return axes
    }
}

/// Largest float count of an output or scratch buffer (a terabyte): beyond it the allocation
/// would fail and trap, so absurd pads or shapes become an error instead.
private let elementLimit = 1 << 38

/// The product of `dims`, or a thrown error when it is beyond elementLimit (checked as it
/// grows, so that it cannot overflow).
private func checkedProduct<C: Collection<Int>>(_ dims: C, _ label: String) throws(GoalError) -> Int {
    if dims.contains(0) { return 0 }
    var p = 1
    for d in dims {
        let (v, overflow) = p.multipliedReportingOverflow(by: d)
        guard d >= 0, !overflow, v <= elementLimit else {
            throw GoalError(.outOfMemory, "\(label): a buffer of shape \(Array(dims)) is too large")
        }
        p = v
    }
    return p
}

/// The spatial sizes of an NCHW/NCW tensor, and its height/width as a 2-D operator sees them.
private func planeAxes(_ axes: [WindowAxis]) -> (h: WindowAxis, w: WindowAxis) {
    axes.count == 1 ? (.unit, axes[0]) : (axes[0], axes[1])
}

// MARK: - Conv

/// Conv by im2col and GEMM. For each image and group, the input patches are laid out as a
/// matrix whose rows are (channel, ky, kx) taps and whose columns are output positions; the
/// group's weights [M/group × C/group·kh·kw] times that matrix is the group's output.
struct ConvKernel: Kernel {
    let label: String
    let window: WindowAttributes
    let group: Int

    init(_ node: Node) throws(GoalError) {
        label = node.label
        window = try WindowAttributes(node, requireKernelShape: false, rejectPadsWithAutoPad: true)
        let g = try node.int("group", default: 1)
        guard g >= 1, g <= Int64(windowLimit) else {
            throw GoalError(.invalidModel, "\(label): group is \(g); it must be at least 1")
        }
        group = Int(g)
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label), w = try inputs.required(1, label)
        try requireDType(x, [.float32], label, "X")
        try requireDType(w, [.float32], label, "W")
        guard x.rank == 3 || x.rank == 4 else {
            if x.rank == 5 { throw GoalError(.unsupported, "\(label): 3-D convolution is not supported (X has shape \(x.shape))") }
            throw GoalError(.invalidArgument, "\(label): X must be N×C×W or N×C×H×W, got shape \(x.shape)")
        }
        guard w.rank == x.rank else {
            throw GoalError(.invalidArgument, "\(label): W has shape \(w.shape), but X has shape \(x.shape); W must be M×C/group×kernel with as many spatial axes as X")
        }
        let n = x.shape[0], c = x.shape[1], m = w.shape[0], cg = w.shape[1]
        let (expectedC, overflow) = cg.multipliedReportingOverflow(by: group)
        guard !overflow, c == expectedC else {
            throw GoalError(.invalidArgument, "\(label): X has \(c) channels, but W (shape \(w.shape)) with group \(group) expects \(cg * group)")
        }
        guard m % group == 0 else {
            throw GoalError(.invalidArgument, "\(label): W has \(m) output channels, which group \(group) does not divide")
        }
        let kernel = Array(w.shape[2...])
        if let k = window.kernelShape, k != kernel {
            throw GoalError(.invalidArgument, "\(label): kernel_shape \(k) does not match W's spatial shape \(kernel)")
        }
        let bias = inputs.optional(2)
        if let b = bias {
            try requireDType(b, [.float32], label, "B")
            guard b.rank == 1, b.shape[0] == m else {
                throw GoalError(.invalidArgument, "\(label): B has shape \(b.shape); expected [\(m)]")
            }
        }

        let axes = try window.resolve(input: Array(x.shape[2...]), kernel: kernel, ceilMode: false)
        let (ah, aw) = planeAxes(axes)
        let outShape = [n, m] + axes.map(\.output)
        _ = try checkedProduct(outShape, label)
        let mg = m / group
        let p = try checkedProduct([ah.output, aw.output], label)        // output positions per image
        let kk = try checkedProduct([cg, ah.kernel, aw.kernel], label)  // taps per output
        let hw = ah.input * aw.input
        let y = try context.tensor(.float32, outShape)
        let px = UnsafePointer(x.storage.base.assumingMemoryBound(to: Float.self))
        let pw = UnsafePointer(w.storage.base.assumingMemoryBound(to: Float.self))
        let py = y.storage.base.assumingMemoryBound(to: Float.self)
        if n == 0 || m == 0 || p == 0 { return [y] }

        // Y starts as the bias, broadcast over positions, and the products add onto it.
        let beta: Float
        if let b = bias {
            let pb = UnsafePointer(b.storage.base.assumingMemoryBound(to: Float.self))
            parallelChunks(n * m, threads: context.threads, minimumPerChunk: max(1, elementwiseGrain / p)) { rows in
                for r in rows { (py + r * p).initialize(repeating: pb[r % m], count: p) }
            }
            beta = 1
        } else {
            beta = 0
        }

        // A pointwise convolution (1×1 kernel, stride 1, no padding) needs no im2col: each image's
        // channels already form the K×P matrix.
        let pointwise = axes.allSatisfy { $0.kernel == 1 && $0.stride == 1 && $0.padBegin == 0 && $0.padEnd == 0 }
        // Non-overlapping patches (ViT's patch embedding: stride = kernel, no padding, no
        // dilation): lay patches out one per row, so that each (channel, ky) copies kw
        // contiguous floats, and multiply by the transposed patch matrix.
        let patches = !pointwise && group == 1 && axes.allSatisfy {
            $0.stride == $0.kernel && $0.dilation == 1 && $0.padBegin == 0 && $0.padEnd == 0
        }

        if pointwise {
            for i in 0..<n {
                for g in 0..<group {
                    BLAS.sgemm(transA: false, transB: false, m: mg, n: p, k: cg, alpha: 1,
                               a: pw + g * mg * cg, lda: cg, b: px + (i * c + g * cg) * hw, ldb: p,
                               beta: beta, c: py + (i * m + g * mg) * p, ldc: p, threads: context.threads)
                }
            }
            return [y]
        }

        let scratchCount = try checkedProduct([kk, p], label)
        let units = n * group
        if group > 1 && units >= context.threads && context.threads > 1 {
            // Many small groups (depthwise and grouped convolutions): (image, group) pairs split
            // into one task per thread, each task with its own slice of scratch and single-threaded
            // GEMMs, instead of splitting tiny GEMMs across threads. The scratch is taken here, on
            // the calling thread, since the pool is not shared between threads.
            let tasks = context.threads
            let perTask = (units + tasks - 1) / tasks
            var scratch: Tensor? = try context.tensor(.float32, [try checkedProduct([tasks, scratchCount], label)])
            defer { context.pool.give(&scratch) }
            guard let colTensor = scratch else { return [y] }
            let cols = colTensor.storage.base.assumingMemoryBound(to: Float.self)
            parallelChunks(tasks, threads: tasks) { taskRange in
                for task in taskRange {
                    let col = cols + task * scratchCount
                    for u in min(units, task * perTask)..<min(units, (task + 1) * perTask) {
                        let i = u / group, g = u % group
                        im2col(px + (i * c + g * cg) * hw, ah, aw, into: col, rows: 0..<kk)
                        BLAS.sgemm(transA: false, transB: false, m: mg, n: p, k: kk, alpha: 1,
                                   a: pw + g * mg * kk, lda: kk, b: col, ldb: p,
                                   beta: beta, c: py + (i * m + g * mg) * p, ldc: p)
                    }
                }
            }
            return [y]
        }

        // One (image, group) at a time: im2col split across threads by rows, then a GEMM split
        // across threads by BLAS.sgemm. The scratch goes back to the pool when done.
        var scratch: Tensor? = try context.tensor(.float32, [scratchCount])
        defer { context.pool.give(&scratch) }
        guard let colTensor = scratch else { return [y] }
        let col = colTensor.storage.base.assumingMemoryBound(to: Float.self)
        for i in 0..<n {
            for g in 0..<group {
                let src = px + (i * c + g * cg) * hw
                let dst = py + (i * m + g * mg) * p
                if patches {
                    parallelChunks(p, threads: context.threads, minimumPerChunk: max(1, elementwiseGrain / max(kk, 1))) { rows in
                        patchRows(src, channels: cg, ah, aw, into: col, positions: rows)
                    }
                    BLAS.sgemm(transA: false, transB: true, m: mg, n: p, k: kk, alpha: 1,
                               a: pw, lda: kk, b: col, ldb: kk,
                               beta: beta, c: dst, ldc: p, threads: context.threads)
                } else {
                    parallelChunks(kk, threads: context.threads, minimumPerChunk: max(1, elementwiseGrain / p)) { rows in
                        im2col(src, ah, aw, into: col, rows: rows)
                    }
                    BLAS.sgemm(transA: false, transB: false, m: mg, n: p, k: kk, alpha: 1,
                               a: pw + g * mg * kk, lda: kk, b: col, ldb: p,
                               beta: beta, c: dst, ldc: p, threads: context.threads)
                }
            }
        }
        return [y]
    }
}

/// Rows `rows` of the im2col matrix of one image's channels (C×H×W at `x`): row
/// (c·kh + ky)·kw + kx holds, for every output position, the input under tap (ky, kx), or 0
/// where the tap reads padding. The matrix is (C·kh·kw) × (oh·ow), row-major.
private func im2col(_ x: UnsafePointer<Float>, _ ah: WindowAxis, _ aw: WindowAxis,
                    into col: UnsafeMutablePointer<Float>, rows: Range<Int>) {
    let oh = ah.output, ow = aw.output, p = oh * ow
    let kh = ah.kernel, kw = aw.kernel
    let height = ah.input, width = aw.input
    let sx = aw.stride
    for r in rows {
        let kx = r % kw, ky = (r / kw) % kh, ch = r / (kw * kh)
        let plane = x + ch * height * width
        let row = col + r * p
        // The output columns whose tap kx lands inside the input; the rest read padding.
        let cols = aw.outputsReading(tap: kx)
        let rowsIn = ah.outputsReading(tap: ky)
        let xOffset = kx * aw.dilation - aw.padBegin  // input column of output column 0
        for oy in 0..<oh {
            let out = row + oy * ow
            guard rowsIn.contains(oy) else {
                out.initialize(repeating: 0, count: ow)
                continue
            }
            let src = plane + (ah.start(oy) + ky * ah.dilation) * width
            if !cols.isEmpty {
                out.initialize(repeating: 0, count: cols.lowerBound)
                if sx == 1 {
                    (out + cols.lowerBound).initialize(from: src + cols.lowerBound + xOffset, count: cols.count)
                } else {
                    for ox in cols { out[ox] = src[ox * sx + xOffset] }
                }
                (out + cols.upperBound).initialize(repeating: 0, count: ow - cols.upperBound)
            } else {
                out.initialize(repeating: 0, count: ow)
            }
        }
    }
}

/// Rows `positions` of the transposed im2col matrix for non-overlapping, unpadded, undilated
/// windows: row oy·ow + ox holds patch (oy, ox) as (c, ky, kx), each (c, ky) run of kw floats
/// being contiguous in the input.
private func patchRows(_ x: UnsafePointer<Float>, channels: Int, _ ah: WindowAxis, _ aw: WindowAxis,
                       into col: UnsafeMutablePointer<Float>, positions: Range<Int>) {
    let ow = aw.output, kh = ah.kernel, kw = aw.kernel
    let height = ah.input, width = aw.input
    let k = channels * kh * kw
    for pos in positions {
        let oy = pos / ow, ox = pos % ow
        var dst = col + pos * k
        for ch in 0..<channels {
            var src = x + (ch * height + oy * kh) * width + ox * kw
            for _ in 0..<kh {
                dst.initialize(from: src, count: kw)
                dst += kw
                src += width
            }
        }
    }
}

// MARK: - Pools

/// Checks a pool's input and works out its window; shared by MaxPool and AveragePool.
private func poolGeometry(_ x: Tensor, _ window: WindowAttributes, ceilMode: Bool,
                          _ label: String) throws(GoalError) -> (axes: [WindowAxis], outShape: [Int]) {
    try requireDType(x, [.float32], label, "X")
    guard let kernel = window.kernelShape else {
        throw GoalError(.invalidModel, "\(label): attribute 'kernel_shape' is required")
    }
    guard x.rank == kernel.count + 2 else {
        throw GoalError(.invalidArgument, "\(label): kernel_shape \(kernel) needs an input of rank \(kernel.count + 2) (N×C×spatial), got shape \(x.shape)")
    }
    let axes = try window.resolve(input: Array(x.shape[2...]), kernel: kernel, ceilMode: ceilMode)
    let outShape = Array(x.shape[0..<2]) + axes.map(\.output)
    _ = try checkedProduct(outShape, label)
    _ = try checkedProduct(axes.map(\.output), label)  // the per-plane tables below
    return (axes, outShape)
}

/// Slides a pooling window over every plane (one image's one channel) of `x` into `y`.
///
/// Each output row starts at `initial`; then, for every tap (ky, kx) that reads input, the
/// output columns whose window reads inside the input under that tap (a contiguous range) fold
/// in their input value; `finish(row, oy)` completes the row. Going tap by tap over a whole
/// output row, rather than window by window, keeps the inner loop a plain strided sweep the
/// compiler vectorizes, with no bounds tests inside it.
///
/// The fold is a type parameter, not a closure, so that each pool gets its own specialized copy
/// with the fold inlined into the inner loop.
private func slideWindow<F: PoolFold>(_ x: Tensor, into y: Tensor, planes: Int, _ ah: WindowAxis, _ aw: WindowAxis,
                                      threads: Int, _ fold: F.Type,
                                      _ finish: (UnsafeMutablePointer<Float>, Int) -> Void) {
    let px = UnsafePointer(x.storage.base.assumingMemoryBound(to: Float.self))
    let py = y.storage.base.assumingMemoryBound(to: Float.self)
    let oh = ah.output, ow = aw.output, kw = aw.kernel
    let inPlane = ah.input * aw.input, outPlane = oh * ow
    let width = aw.input, dh = ah.dilation, sx = aw.stride
    // Computed once for all planes: the taps of each window row that read input, and for each
    // column tap the output columns it serves and the input column of output column 0.
    let rowTaps = (0..<oh).map(ah.taps)
    let colSpans = (0..<kw).map { aw.outputsReading(tap: $0) }
    let colOffset = (0..<kw).map { $0 * aw.dilation - aw.padBegin }
    let perTask = max(1, elementwiseGrain / max(1, outPlane * ah.kernel * kw))
    parallelChunks(planes, threads: threads, minimumPerChunk: perTask) { range in
        for plane in range {
            let src = px + plane * inPlane, dst = py + plane * outPlane
            for oy in 0..<oh {
                let row = dst + oy * ow
                row.initialize(repeating: F.initial, count: ow)
                let y0 = ah.start(oy)
                for ky in rowTaps[oy] {
                    let line = src + (y0 + ky * dh) * width
                    for kx in 0..<kw {
                        // Every index here was bounded above, so the arithmetic is wrapping (&+,
                        // &*) to keep overflow checks out of the inner loop.
                        let span = colSpans[kx], off = colOffset[kx]
                        if sx == 1 {
                            for ox in span { row[ox] = F.fold(row[ox], line[ox &+ off]) }
                        } else {
                            for ox in span { row[ox] = F.fold(row[ox], line[ox &* sx &+ off]) }
                        }
                    }
                }
                finish(row, oy)
            }
        }
    }
}

protocol PoolFold {
    static var initial: Float { get }
    static func fold(_ acc: Float, _ value: Float) -> Float
}

/// As onnxruntime: a window over padding only yields the lowest float, and NaN inputs are passed
/// over (a comparison with NaN is false).
private enum MaxFold: PoolFold {
    static var initial: Float { -Float.greatestFiniteMagnitude }
    @inline(__always) static func fold(_ acc: Float, _ value: Float) -> Float { value > acc ? value : acc }
}

private enum SumFold: PoolFold {
    static var initial: Float { 0 }
    @inline(__always) static func fold(_ acc: Float, _ value: Float) -> Float { acc + value }
}

struct MaxPoolKernel: Kernel {
    let label: String
    let window: WindowAttributes
    let ceilMode: Bool

    init(_ node: Node) throws(GoalError) {
        label = node.label
        // The Indices output (argmax positions) is not implemented.
        if node.outputs.count > 1, !node.outputs[1].isEmpty {
            throw GoalError(.unsupported, "\(label): MaxPool's Indices output is not supported")
        }
        window = try WindowAttributes(node, requireKernelShape: true, rejectPadsWithAutoPad: false)
        ceilMode = try node.int("ceil_mode", default: 0) != 0
        // storage_order only matters for Indices, which is not produced.
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        let (axes, outShape) = try poolGeometry(x, window, ceilMode: ceilMode, label)
        let (ah, aw) = planeAxes(axes)
        let y = try context.tensor(.float32, outShape)
        let planes = outShape[0] * outShape[1]
        if planes == 0 { return [y] }
        slideWindow(x, into: y, planes: planes, ah, aw, threads: context.threads, MaxFold.self) { _, _ in }
        return [y]
    }
}

struct AveragePoolKernel: Kernel {
    let label: String
    let window: WindowAttributes
    let ceilMode: Bool
    let countIncludePad: Bool

    init(_ node: Node) throws(GoalError) {
        label = node.label
        window = try WindowAttributes(node, requireKernelShape: true, rejectPadsWithAutoPad: false)
        ceilMode = try node.int("ceil_mode", default: 0) != 0
        countIncludePad = try node.int("count_include_pad", default: 0) != 0
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        let (axes, outShape) = try poolGeometry(x, window, ceilMode: ceilMode, label)
        let (ah, aw) = planeAxes(axes)
        let y = try context.tensor(.float32, outShape)
        let planes = outShape[0] * outShape[1]
        if planes == 0 { return [y] }
        let oh = ah.output, ow = aw.output
        // 1 / divisor for each output position, the same for every plane: the count of taps over
        // input, or (count_include_pad) of taps over input or explicit padding.
        var reciprocal = [Float](repeating: 0, count: oh * ow)
        for oy in 0..<oh {
            for ox in 0..<ow {
                let count = countIncludePad
                    ? ah.tapsWithinPadding(oy) * aw.tapsWithinPadding(ox)
                    : ah.taps(oy).count * aw.taps(ox).count
                // A window with nothing to count yields 0, as onnxruntime's does.
                reciprocal[oy * ow + ox] = count > 0 ? 1 / Float(count) : 0
            }
        }
        reciprocal.withUnsafeBufferPointer { scale in
            slideWindow(x, into: y, planes: planes, ah, aw, threads: context.threads, SumFold.self) { row, oy in
                let r = scale.baseAddress! + oy * ow
                for ox in 0..<ow { row[ox] *= r[ox] }
            }
        }
        return [y]
    }
}

struct GlobalAveragePoolKernel: Kernel {
    let label: String
    init(_ node: Node) throws(GoalError) { label = node.label }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        try requireDType(x, [.float32], label, "X")
        guard x.rank >= 3 else {
            throw GoalError(.invalidArgument, "\(label): X must be N×C×spatial (rank 3 or more), got shape \(x.shape)")
        }
        let planes = x.shape[0] * x.shape[1]
        let size = try checkedProduct(x.shape[2...], label)
        let y = try context.tensor(.float32, Array(x.shape[0..<2]) + [Int](repeating: 1, count: x.rank - 2))
        let px = UnsafePointer(x.storage.base.assumingMemoryBound(to: Float.self))
        let py = y.storage.base.assumingMemoryBound(to: Float.self)
        // The mean of no elements is NaN, as NumPy's.
        let scale: Float = size > 0 ? 1 / Float(size) : .nan
        parallelChunks(planes, threads: context.threads, minimumPerChunk: max(1, elementwiseGrain / max(size, 1))) { range in
            for plane in range { py[plane] = sumOf(px + plane * size, size) * scale }
        }
        return [y]
    }
}

/// The sum of `count` floats, in eight interleaved partial sums so that the loop vectorizes
/// (a single running Float sum has to stay in order) and long sums lose less precision.
@inline(__always)
private func sumOf(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 8 <= count {
        acc += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    var s = acc.sum()
    while i < count { s += p[i]; i += 1 }
    return s
}

// MARK: - BatchNormalization

/// BatchNormalization in inference form: Y = (X − mean) / sqrt(var + epsilon) · scale + B, per
/// channel (axis 1). Folded per channel into Y = X · a + b, as onnxruntime computes it.
struct BatchNormalizationKernel: Kernel {
    let label: String
    let epsilon: Float

    init(_ node: Node) throws(GoalError) {
        label = node.label
        epsilon = try node.float("epsilon", default: 1e-5)
        if try node.int("training_mode", default: 0) != 0 {
            throw GoalError(.unsupported, "\(label): BatchNormalization with training_mode=1 is not supported")
        }
        // running_mean / running_var (opset 14+) or mean, var, saved_mean, saved_var (older
        // opsets) are training outputs.
        if node.outputs.dropFirst().contains(where: { !$0.isEmpty }) {
            throw GoalError(.unsupported, "\(label): only BatchNormalization's output Y is supported, not its training statistics")
        }
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let x = try inputs.required(0, label)
        try requireDType(x, [.float32], label, "X")
        guard x.rank >= 2 else {
            throw GoalError(.invalidArgument, "\(label): X must be N×C×…, got shape \(x.shape)")
        }
        let c = x.shape[1]
        var params: [UnsafePointer<Float>] = []
        for (i, name) in ["scale", "B", "input_mean", "input_var"].enumerated() {
            let t = try inputs.required(i + 1, label)
            try requireDType(t, [.float32], label, name)
            guard t.rank == 1, t.shape[0] == c else {
                throw GoalError(.invalidArgument, "\(label): \(name) has shape \(t.shape); expected [\(c)] for X of shape \(x.shape)")
            }
            params.append(UnsafePointer(t.storage.base.assumingMemoryBound(to: Float.self)))
        }
        let scale = params[0], bias = params[1], mean = params[2], variance = params[3]
        var a = [Float](repeating: 0, count: c), b = [Float](repeating: 0, count: c)
        for j in 0..<c {
            a[j] = scale[j] / (variance[j] + epsilon).squareRoot()
            b[j] = bias[j] - mean[j] * a[j]
        }
        let inner = try checkedProduct(x.shape[2...], label)
        let planes = x.shape[0] * c
        let y = try context.tensor(.float32, x.shape)
        let px = UnsafePointer(x.storage.base.assumingMemoryBound(to: Float.self))
        let py = y.storage.base.assumingMemoryBound(to: Float.self)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                parallelChunks(planes, threads: context.threads, minimumPerChunk: max(1, elementwiseGrain / max(inner, 1))) { range in
                    for plane in range {
                        let ch = plane % c, sa = a[ch], sb = b[ch]
                        let src = px + plane * inner, dst = py + plane * inner
                        for i in 0..<inner { dst[i] = src[i] * sa + sb }
                    }
                }
            }
        }
        return [y]
    }
}
