// The CLIP layer: model folders, the CLIP BPE tokenizer, image decoding and preprocessing, and
// text/image encoding on top of the engine. It knows nothing of C types (that is GoalC's job).
@_exported import GoalEngine
