import CZlib

/// Reads a whole vocabulary file into memory. zlib's gz reader is used for every file because it
/// passes plain files through unchanged, so one path serves `.txt.gz`, `.json` and `.txt` alike.
func readVocabularyFile(_ path: String) throws(GoalError) -> [UInt8] {
    guard let file = gzopen(path, "rb") else {
        throw GoalError(.io, "\(path): cannot open the file")
    }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let got = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
        if got < 0 {
            var code: Int32 = 0
            let reason = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
            gzclose_r(file)
            throw GoalError(.io, "\(path): cannot read the file (\(reason))")
        }
        if got == 0 { break }
        bytes.append(contentsOf: chunk[0..<Int(got)])
    }
    // A gzip stream cut short reads as a clean end; gzclose_r is where zlib reports it.
    let status = gzclose_r(file)
    if status != Z_OK {
        throw GoalError(.truncated, "\(path): the compressed data is damaged or cut short")
    }
    return bytes
}
