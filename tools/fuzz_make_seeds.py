"""Writes the small committed seed inputs of the fuzzers (tools/fuzz.sh), under fixtures/fuzz/:

  tokenizer_tiny/    a CLIP BPE tokenizer cut down to the 512 byte-level symbols, the first 300
                     merges of the real vocabulary and the two special tokens (ids 998 and 999,
                     inside the 1000-token vocabulary of fixtures/models/hf_text_ts), as
                     tokenizer.json and as vocab.json + merges.txt
  model_open/        tiny ONNX graphs, one or a few operators each, with their constants as
                     initializers (so that mutations reach attributes, shapes and indices)
  image/             tiny JPEG and PNG files of every kind the decoders handle
  lism/              structured LISM inputs in the layout Tests/fuzz/fuzz_lism.c decodes

tools/fuzz.sh adds the real fixtures (models, folders, images, tokenizer corpus) at run time.
Needs onnx, numpy and Pillow (tools/requirements-test.txt). Run from the repository root:
    python3 tools/fuzz_make_seeds.py
"""
import io
import json
import os
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

OUT = "fixtures/fuzz"


def tokenizer():
    merges_wanted = 300
    source = json.load(open("fixtures/tokenizer/tokenizer.json", encoding="utf-8"))
    vocab = source["model"]["vocab"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in source["model"]["merges"][:merges_wanted]]
    keep = {token: i for token, i in vocab.items() if i < 512 + merges_wanted}
    out = f"{OUT}/tokenizer_tiny"
    os.makedirs(out, exist_ok=True)
    document = {
        "version": "1.0",
        "added_tokens": [
            {"id": 998, "content": "<|startoftext|>", "special": True},
            {"id": 999, "content": "<|endoftext|>", "special": True},
        ],
        "model": {"type": "BPE", "end_of_word_suffix": "</w>", "vocab": keep, "merges": merges},
    }
    with open(f"{out}/tokenizer.json", "w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=False, separators=(",", ":"))
    with open(f"{out}/vocab.json", "w", encoding="utf-8") as f:
        json.dump({**keep, "<|startoftext|>": 998, "<|endoftext|>": 999}, f, ensure_ascii=False, separators=(",", ":"))
    with open(f"{out}/merges.txt", "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")


def graphs():
    out = f"{OUT}/model_open"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    F, I = TensorProto.FLOAT, TensorProto.INT64

    def const(name, values, dtype=np.float32):
        return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)

    def save(name, nodes, inputs, outputs, inits=(), opset=17):
        graph = helper.make_graph(nodes, name, inputs, outputs, list(inits))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="fuzz-seeds")
        model.ir_version = 8
        # Outputs declared with the types and shapes onnx infers, as exporters write them.
        done = onnx.shape_inference.infer_shapes(model).graph
        inferred = {v.name: v for v in list(done.value_info) + list(done.output)}
        for output in model.graph.output:
            if output.name in inferred:
                output.type.CopyFrom(inferred[output.name].type)
        onnx.save(model, f"{out}/{name}.onnx")

    x4 = helper.make_tensor_value_info("x", F, ["N", 3, 4, 4])
    y = helper.make_tensor_value_info("y", F, None)
    w = const("w", rng.standard_normal((3, 4, 4)))
    for op in ["Add", "Sub", "Mul", "Div", "Pow", "Min", "Max"]:
        save(op.lower(), [helper.make_node(op, ["x", "w"], ["y"])], [x4], [y], [w])
    for op in ["Sqrt", "Exp", "Log", "Neg", "Abs", "Erf", "Tanh", "Sigmoid", "Relu", "Identity"]:
        save(op.lower(), [helper.make_node(op, ["x"], ["y"])], [x4], [y])
    save("gelu", [helper.make_node("Gelu", ["x"], ["y"], approximate="tanh")], [x4], [y], opset=20)
    save("clip", [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], [x4], [y], [const("lo", -0.5), const("hi", 0.5)])
    save("cast_compare_where", [
        helper.make_node("Cast", ["x"], ["xi"], to=TensorProto.INT64),
        helper.make_node("Cast", ["xi"], ["xf"], to=TensorProto.FLOAT),
        helper.make_node("Less", ["xf", "w"], ["m"]),
        helper.make_node("Not", ["m"], ["n"]),
        helper.make_node("Where", ["n", "x", "w"], ["y"]),
    ], [x4], [y], [w])
    save("mod_int", [helper.make_node("Cast", ["x"], ["xi"], to=I), helper.make_node("Mod", ["xi", "k"], ["y"], fmod=0)],
         [x4], [helper.make_tensor_value_info("y", I, None)], [const("k", [3, -2, 5, 7], np.int64)])
    save("matmul", [helper.make_node("MatMul", ["x", "m"], ["y"])], [x4], [y], [const("m", rng.standard_normal((4, 5)))])
    x2 = helper.make_tensor_value_info("x", F, ["N", 6])
    save("gemm", [helper.make_node("Gemm", ["x", "b", "c"], ["y"], transB=1, alpha=0.5, beta=2.0)], [x2], [y],
         [const("b", rng.standard_normal((5, 6))), const("c", rng.standard_normal(5))])
    save("conv", [helper.make_node("Conv", ["x", "k", "bias"], ["y"], pads=[1, 0, 1, 2], strides=[2, 1], dilations=[1, 2],
                                   group=1)], [x4], [y], [const("k", rng.standard_normal((2, 3, 3, 2))), const("bias", [0.1, -0.1])])
    save("conv_group", [helper.make_node("Conv", ["x", "k"], ["y"], group=3, auto_pad="SAME_UPPER")], [x4], [y],
         [const("k", rng.standard_normal((3, 1, 3, 3)))])
    save("pools", [
        helper.make_node("MaxPool", ["x"], ["a"], kernel_shape=[2, 2], strides=[2, 1], pads=[0, 1, 0, 1], ceil_mode=1),
        helper.make_node("AveragePool", ["a"], ["b"], kernel_shape=[2, 2], count_include_pad=1, pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["b"], ["y"]),
    ], [x4], [y])
    save("batchnorm", [helper.make_node("BatchNormalization", ["x", "s", "b", "mu", "var"], ["y"], epsilon=1e-3)], [x4], [y],
         [const("s", [1, 2, 3]), const("b", [0, 1, 0]), const("mu", [0.5, 0, -0.5]), const("var", [1, 4, 0.25])])
    save("layernorm", [helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], axis=-1, epsilon=1e-5)], [x4], [y],
         [const("s", np.ones(4)), const("b", np.zeros(4))])
    save("softmax", [helper.make_node("Softmax", ["x"], ["y"], axis=1)], [x4], [y])
    axes = const("axes", [1, -1], np.int64)
    for op in ["ReduceMean", "ReduceSum"]:
        save(op.lower(), [helper.make_node(op, ["x", "axes"], ["y"], keepdims=0)], [x4], [y], [axes],
             opset=18 if op == "ReduceMean" else 17)
    for op in ["ReduceMax", "ReduceMin", "ReduceL2"]:
        save(op.lower(), [helper.make_node(op, ["x"], ["y"], axes=[2], keepdims=1)], [x4], [y])
    save("argmax_cumsum", [
        helper.make_node("ArgMax", ["x"], ["a"], axis=-1, keepdims=1, select_last_index=1),
        helper.make_node("CumSum", ["x", "ax"], ["y"], exclusive=1, reverse=1),
    ], [x4], [y, helper.make_tensor_value_info("a", I, None)], [const("ax", 2, np.int64)])
    save("layout", [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["t", "shape"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"], axis=1),
        helper.make_node("Unsqueeze", ["f", "ua"], ["u"]),
        helper.make_node("Squeeze", ["u", "ua"], ["y"]),
    ], [x4], [y], [const("shape", [0, -1, 3], np.int64), const("ua", [0, 3], np.int64)])
    save("concat_split", [
        helper.make_node("Concat", ["x", "x"], ["c"], axis=1),
        helper.make_node("Split", ["c", "parts"], ["y", "z"], axis=1),
    ], [x4], [y, helper.make_tensor_value_info("z", F, None)], [const("parts", [2, 4], np.int64)])
    save("slice", [helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])], [x4], [y],
         [const("st", [3, -1], np.int64), const("en", [0, -9999], np.int64), const("ax", [2, 3], np.int64),
          const("sp", [-1, -2], np.int64)])
    save("gather", [helper.make_node("Gather", ["x", "idx"], ["y"], axis=2)], [x4], [y], [const("idx", [[0, -1], [3, 1]], np.int64)])
    save("gathernd", [helper.make_node("GatherND", ["x", "idx"], ["y"], batch_dims=1)], [x4], [y],
         [const("idx", [[[1, 2], [0, -1]]], np.int64)])
    save("expand_tile_trilu", [
        helper.make_node("Expand", ["x", "shape"], ["e"]),
        helper.make_node("Tile", ["e", "reps"], ["t"]),
        helper.make_node("Trilu", ["t", "k"], ["y"], upper=0),
    ], [x4], [y], [const("shape", [2, 1, 1, 1], np.int64), const("reps", [1, 1, 2, 1], np.int64), const("k", -1, np.int64)])
    save("shape_ops", [
        helper.make_node("Shape", ["x"], ["s"], start=1, end=-1),
        helper.make_node("ConstantOfShape", ["s"], ["c"], value=helper.make_tensor("v", F, [1], [2.5])),
        helper.make_node("Constant", [], ["lim"], value=helper.make_tensor("l", I, [], [7])),
        helper.make_node("Range", ["zero", "lim", "step"], ["r"]),
        helper.make_node("Cast", ["r"], ["rf"], to=F),
        helper.make_node("ReduceSum", ["c"], ["cs"], keepdims=0),
        helper.make_node("Add", ["rf", "cs"], ["y"]),
    ], [x4], [y], [const("zero", 0, np.int64), const("step", 2, np.int64)])
    then_branch = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [], [helper.make_tensor_value_info("t", F, None)])
    else_branch = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [], [helper.make_tensor_value_info("e", F, None)])
    save("if", [helper.make_node("If", ["cond"], ["y"], then_branch=then_branch, else_branch=else_branch)], [x4], [y],
         [const("cond", True, np.bool_)])
    # The head of a CLIP text tower in miniature: embedding lookup, attention-like softmax, pooling by argmax.
    ids = helper.make_tensor_value_info("input_ids", I, ["batch", "sequence"])
    save("text_tower", [
        helper.make_node("Gather", ["emb", "input_ids"], ["h"]),
        helper.make_node("MatMul", ["h", "wq"], ["q"]),
        helper.make_node("Transpose", ["h"], ["hT"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "hT"], ["s"]),
        helper.make_node("Softmax", ["s"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "h"], ["o"]),
        helper.make_node("ArgMax", ["input_ids"], ["at"], axis=-1, keepdims=0),
        helper.make_node("Shape", ["input_ids"], ["sh"], end=1),
        helper.make_node("Cast", ["sh"], ["shf"], to=I),
        helper.make_node("Squeeze", ["shf"], ["n"]),
        helper.make_node("Range", ["zero", "n", "one"], ["rows"]),
        helper.make_node("Unsqueeze", ["rows", "last"], ["r1"]),
        helper.make_node("Unsqueeze", ["at", "last"], ["a1"]),
        helper.make_node("Concat", ["r1", "a1"], ["where"], axis=-1),
        helper.make_node("GatherND", ["o", "where"], ["y"]),
    ], [ids], [y], [const("emb", rng.standard_normal((10, 4))), const("wq", rng.standard_normal((4, 4))),
                    const("zero", 0, np.int64), const("one", 1, np.int64), const("last", [-1], np.int64)])


def images():
    out = f"{OUT}/image"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(1)
    rgb = Image.fromarray(rng.integers(0, 256, (14, 19, 3), dtype=np.uint8), "RGB")

    def save(name, image, **kwargs):
        buffer = io.BytesIO()
        image.save(buffer, **kwargs)
        with open(f"{out}/{name}", "wb") as f:
            f.write(buffer.getvalue())

    save("rgb.jpg", rgb, format="JPEG", quality=60)
    save("rgb_420_optimized.jpg", rgb, format="JPEG", quality=40, subsampling=2, optimize=True)
    save("rgb_422_progressive.jpg", rgb, format="JPEG", subsampling=1, progressive=True)
    save("gray.jpg", rgb.convert("L"), format="JPEG")
    save("cmyk.jpg", rgb.convert("CMYK"), format="JPEG")
    save("rgb.png", rgb, format="PNG")
    save("rgba.png", rgb.convert("RGBA").putalpha(128) or rgb.convert("RGBA"), format="PNG")
    save("gray.png", rgb.convert("L"), format="PNG")
    save("la.png", rgb.convert("LA"), format="PNG")
    save("gray1.png", rgb.convert("1"), format="PNG")
    save("palette4_trns.png", rgb.convert("P", palette=Image.ADAPTIVE, colors=16), format="PNG", bits=4, transparency=3)
    save("palette.png", rgb.convert("P", palette=Image.ADAPTIVE, colors=200), format="PNG")
    save("gray16.png", Image.fromarray(rng.integers(0, 65536, (9, 7), dtype=np.uint16)), format="PNG")
    save("rgb_trns.png", rgb, format="PNG", transparency=(10, 20, 30))


def lism():
    out = f"{OUT}/lism"
    os.makedirs(out, exist_ok=True)

    def coordinate(kind, value=0):
        return bytes([kind]) + struct.pack("<I", value)

    def seed(name, flags, flags2, image=b"", options=b"", boxes=(), masks=b"\x00", caption=b""):
        data = bytes([flags, flags2]) + image + options + bytes([len(boxes)]) + b"".join(boxes) + masks + caption
        with open(f"{out}/{name}", "wb") as f:
            f.write(data)

    raw = bytes([31, 23, 1, 7, 2])  # width 32, height 24, 3 channels, pattern 7, 2 bytes of row padding
    caption = b"A red circle on the left. A blue square, e.g. in the corner! Then nothing at all..."
    seed("defaults", 0, 0, raw, caption=caption)
    seed("photo_crop", 1, 1, b"", caption=caption)
    # Boxes: one inside (kind 9: a fraction of the extent), one with NaN, one past the image.
    inside = coordinate(9, 10000) + coordinate(9, 20000) + coordinate(9, 90000) + coordinate(9, 80000)
    nan = coordinate(0) + coordinate(9, 1) + coordinate(9, 50000) + coordinate(9, 50000)
    outside = coordinate(5, 10) + coordinate(5, 10) + coordinate(5, 500) + coordinate(5, 900)
    seed("boxes", 0b0010110, 0, raw, boxes=(inside, nan, outside), caption=caption)
    # Masks: the image's size with a rectangle of ones, and one a pixel too wide.
    masks = bytes([2]) + bytes([0, 4, 4, 20, 12]) + bytes([1, 3, 0, 0, 40, 40])
    seed("masks", 0, 0, raw, masks=masks, caption=caption)
    # Grids, a minimum score and a mask area range (flags2 bits 1-4).
    options = bytes([3, 2]) + coordinate(9, 30000) + coordinate(9, 1000) + coordinate(9, 90000)
    seed("grids_min_score", 0b0011000, 0b0011100, raw, options=options, caption=caption)
    seed("empty_caption", 0, 0b100000, raw, caption=b"")
    seed("no_sentence", 0, 0b100000, raw, caption=b" . ! ?")


if __name__ == "__main__":
    tokenizer()
    graphs()
    images()
    lism()
