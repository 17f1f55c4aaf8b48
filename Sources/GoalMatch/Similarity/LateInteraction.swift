/// FILIP's token-wise late interaction between a text and an image.
public struct LateInteraction: Sendable, Equatable {
    /// Mean over the text's tokens of each token's best cosine with a patch.
    public let textToImage: Float
    /// Mean over the image's patches of each patch's best cosine with a token.
    public let imageToText: Float
    /// The mean of the two directions.
    public var score: Float { (textToImage + imageToText) / 2 }
}

extension CLIPModel {
    /// Late interaction of a text's tokens with an image's patches (both projected and
    /// normalised; the start and end tokens are left out, and there is no padding to leave out).
    /// A text with no token of its own (empty) is `.invalidArgument`.
    public func lateInteraction(text utf8: [UInt8], image: ImageSource) throws(GoalError) -> LateInteraction {
        let text = try textTokens(utf8)
        guard text.ids.count > 2 else {
            throw GoalError(.invalidArgument, "the text has no tokens besides the start and end tokens")
        }
        let patches = try imageTokens(image)
        return lateInteraction(tokens: Array(text.embeddings[text.dim ..< (text.ids.count - 1) * text.dim]),
                               patches: patches.embeddings, dim: text.dim)
    }

    func lateInteraction(tokens: [Float], patches: [Float], dim: Int) -> LateInteraction {
        let t = tokens.count / dim, p = patches.count / dim
        var bestForToken = [Float](repeating: -.infinity, count: t)
        var bestForPatch = [Float](repeating: -.infinity, count: p)
        for i in 0..<t {
            for j in 0..<p {
                var dot: Float = 0
                for k in 0..<dim { dot += tokens[i * dim + k] * patches[j * dim + k] }
                bestForToken[i] = max(bestForToken[i], dot)
                bestForPatch[j] = max(bestForPatch[j], dot)
            }
        }
        return LateInteraction(textToImage: bestForToken.reduce(0, +) / Float(max(t, 1)),
                               imageToText: bestForPatch.reduce(0, +) / Float(max(p, 1)))
    }
}
