// Gather and GatherND: pick slices of the data by integer indices (negative counts from the end).

struct GatherKernel: Kernel {
    let label: String
    let axis: Int64
    init(_ node: Node) throws(GoalError) {
        label = node.label
        axis = try node.int("axis", default: 0)
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let data = try inputs.required(0, label), indices = try inputs.required(1, label)
        try requireDType(indices, [.int64], label, "indices")
        let a = try normalizedAxis(axis, rank: data.rank, label)
        guard data.rank > 0 else { throw GoalError(.invalidArgument, "\(label): data must have rank 1 or more") }
        let n = data.shape[a]
        let outer = data.shape[..<a].reduce(1, *), inner = data.shape[(a + 1)...].reduce(1, *)
        let shape = Array(data.shape[..<a]) + indices.shape + Array(data.shape[(a + 1)...])
        let out = try context.tensor(data.dtype, shape)
        let w = data.dtype.byteWidth, chunk = inner * w
        let idx = indices.ints
        var resolved = [Int](repeating: 0, count: idx.count)
        for (i, v) in idx.enumerated() {
            let j = v < 0 ? Int(v) + n : Int(v)
            guard j >= 0, j < n else {
                throw GoalError(.invalidArgument, "\(label): index \(v) is out of range for axis \(a) of size \(n)")
            }
            resolved[i] = j
        }
        for o in 0..<outer {
            for (i, j) in resolved.enumerated() where chunk > 0 {
                (out.storage.base + (o * resolved.count + i) * chunk).copyMemory(from: data.storage.base + (o * n + j) * chunk, byteCount: chunk)
            }
        }
        return [out]
    }
}

struct GatherNDKernel: Kernel {
    let label: String
    let batchDims: Int
    init(_ node: Node) throws(GoalError) {
        label = node.label
        batchDims = Int(try node.int("batch_dims", default: 0))
    }

    func run(_ inputs: [Tensor?], _ context: ExecutionContext) throws(GoalError) -> [Tensor] {
        let data = try inputs.required(0, label), indices = try inputs.required(1, label)
        try requireDType(indices, [.int64], label, "indices")
        guard let depth = indices.shape.last, indices.rank >= 1, batchDims >= 0,
              batchDims < min(data.rank, indices.rank), depth >= 1, batchDims + depth <= data.rank,
              Array(data.shape[..<batchDims]) == Array(indices.shape[..<batchDims]) else {
            throw GoalError(.invalidArgument, "\(label): indices of shape \(indices.shape) do not fit data of shape \(data.shape) with batch_dims \(batchDims)")
        }
        let batch = data.shape[..<batchDims].reduce(1, *)
        let slice = Array(data.shape[(batchDims + depth)...])
        let shape = Array(indices.shape.dropLast()) + slice
        let out = try context.tensor(data.dtype, shape)
        let w = data.dtype.byteWidth, chunk = slice.reduce(1, *) * w
        let perBatchData = data.shape[batchDims...].reduce(1, *) * w
        let lookups = indices.count / depth / max(batch, 1)
        let strides = contiguousStrides(Array(data.shape[batchDims...]))
        let idx = indices.ints
        for b in 0..<batch {
            for l in 0..<lookups {
                let entry = (b * lookups + l) * depth
                var offset = 0
                for d in 0..<depth {
                    let n = data.shape[batchDims + d]
                    let v = idx[entry + d]
                    let j = v < 0 ? Int(v) + n : Int(v)
                    guard j >= 0, j < n else { throw GoalError(.invalidArgument, "\(label): index \(v) is out of range for size \(n)") }
                    offset += j * strides[d]
                }
                if chunk > 0 {
                    (out.storage.base + (b * lookups + l) * chunk).copyMemory(from: data.storage.base + b * perBatchData + offset * w, byteCount: chunk)
                }
            }
        }
        return [out]
    }
}
