"""CLIP towers written straight to ONNX with random weights, laid out like an HF optimum export.

No torch: the graphs are built node by node with onnx.helper, the weights drawn from a seeded
NumPy generator. The node pattern follows what torch's TorchScript exporter writes for HF's
CLIPTextModelWithProjection / CLIPVisionModelWithProjection (pre-LN blocks, LayerNormalization,
MatMul + Add(bias, ...), Reshape/Transpose to heads, scaled scores, additive masks, QuickGELU as
x * sigmoid(1.702 x), pooling at the first end token, projection), so the engine sees the same
kinds of nodes as on a real export, with the FLOPs of the real model.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # what torch's TorchScript exporter writes at opset 17
VOCAB = 49408
BOS, EOS = 49406, 49407
# HF fills masked scores with the lowest float32, not -inf; two of them add up to -inf, as in
# real exports where the causal and the padding mask meet.
MASKED = float(np.finfo(np.float32).min)
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class TextSpec:
    width: int = 512
    layers: int = 12
    heads: int = 8
    positions: int = 77
    projection: int = 512
    static: bool = False  # a fixed sequence axis of `positions`, with a baked causal mask
    seed: int = 1

    @property
    def name(self) -> str:
        return (f"text-w{self.width}-l{self.layers}-h{self.heads}-p{self.positions}-j{self.projection}"
                f"-{'static' if self.static else 'dynamic'}-s{self.seed}")


@dataclass(frozen=True)
class VisionSpec:
    width: int = 768
    layers: int = 12
    heads: int = 12
    image: int = 224
    patch: int = 32
    projection: int = 512
    seed: int = 2

    @property
    def name(self) -> str:
        return (f"vision-w{self.width}-l{self.layers}-h{self.heads}-i{self.image}-p{self.patch}"
                f"-j{self.projection}-s{self.seed}")


class _Graph:
    """Nodes and initializers being collected, with HF-export-like names."""

    def __init__(self, seed: int):
        self.nodes, self.inits = [], []
        self.rng = np.random.default_rng(seed)
        self.count = 0

    def const(self, name: str, array) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name: str, shape, std: float, mean: float = 0.0) -> str:
        values = self.rng.standard_normal(shape, dtype=np.float32) * np.float32(std) + np.float32(mean)
        return self.const(name, values)

    def op(self, op_type: str, inputs, scope: str, **attrs) -> str:
        self.count += 1
        name = f"{scope}/{op_type}_{self.count}"
        out = f"{name}_output_0"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=name, **attrs))
        return out

    def rename_last(self, output: str) -> str:
        """Makes the last node's output a graph output name."""
        self.nodes[-1].output[0] = output
        return output


def _linear(g: _Graph, x: str, prefix: str, scope: str, n_in: int, n_out: int, std: float) -> str:
    # Weights stored as [in, out], as the TorchScript exporter folds nn.Linear's transpose.
    w = g.weight(f"{prefix}.weight_t", (n_in, n_out), std)
    b = g.weight(f"{prefix}.bias", (n_out,), 0.02)
    return g.op("Add", [b, g.op("MatMul", [x, w], scope)], scope)


def _layer_norm(g: _Graph, x: str, prefix: str, scope: str, width: int) -> str:
    w = g.weight(f"{prefix}.weight", (width,), 0.02, mean=1.0)
    b = g.weight(f"{prefix}.bias", (width,), 0.02)
    return g.op("LayerNormalization", [x, w, b], scope, axis=-1, epsilon=1e-5)


def _block(g: _Graph, x: str, i: int, width: int, heads: int, bias: str | None, tower: str) -> str:
    """One pre-LN transformer block; `bias` is the additive attention mask [b|1, 1, s, s]."""
    p, s = f"{tower}.encoder.layers.{i}", f"/{tower}/encoder/layers.{i}"
    head = width // heads
    h = _layer_norm(g, x, f"{p}.layer_norm1", f"{s}/layer_norm1", width)
    a = f"{s}/self_attn"
    q = _linear(g, h, f"{p}.self_attn.q_proj", f"{a}/q_proj", width, width, 0.02)
    k = _linear(g, h, f"{p}.self_attn.k_proj", f"{a}/k_proj", width, width, 0.02)
    v = _linear(g, h, f"{p}.self_attn.v_proj", f"{a}/v_proj", width, width, 0.02)
    # [b, s, width] -> [b, s, heads, head]; 0 copies the batch and sequence sizes.
    split = g.const(f"{p}.split_heads", np.array([0, 0, heads, head], np.int64))
    q = g.op("Transpose", [g.op("Reshape", [q, split], a)], a, perm=[0, 2, 1, 3])
    k = g.op("Transpose", [g.op("Reshape", [k, split], a)], a, perm=[0, 2, 3, 1])
    v = g.op("Transpose", [g.op("Reshape", [v, split], a)], a, perm=[0, 2, 1, 3])
    scale = g.const(f"{p}.scale", np.array(head ** -0.5, np.float32))
    scores = g.op("Mul", [g.op("MatMul", [q, k], a), scale], a)
    if bias is not None:
        scores = g.op("Add", [scores, bias], a)
    probs = g.op("Softmax", [scores], a, axis=-1)
    o = g.op("Transpose", [g.op("MatMul", [probs, v], a)], a, perm=[0, 2, 1, 3])
    merge = g.const(f"{p}.merge_heads", np.array([0, 0, width], np.int64))
    o = _linear(g, g.op("Reshape", [o, merge], a), f"{p}.self_attn.out_proj", f"{a}/out_proj", width, width, 0.02)
    x = g.op("Add", [x, o], s)
    h = _layer_norm(g, x, f"{p}.layer_norm2", f"{s}/layer_norm2", width)
    m = f"{s}/mlp"
    f = _linear(g, h, f"{p}.mlp.fc1", f"{m}/fc1", width, 4 * width, 0.02)
    alpha = g.const(f"{p}.mlp.quick_gelu_alpha", np.array(1.702, np.float32))
    f = g.op("Mul", [f, g.op("Sigmoid", [g.op("Mul", [f, alpha], m)], m)], m)
    f = _linear(g, f, f"{p}.mlp.fc2", f"{m}/fc2", 4 * width, width, 0.02)
    return g.op("Add", [x, f], s)


def text_model(spec: TextSpec) -> onnx.ModelProto:
    g = _Graph(spec.seed)
    P, w = spec.positions, spec.width
    seq = P if spec.static else "sequence"
    t = "/text_model"
    ids_in = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", seq])
    mask_in = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", seq])
    tokens = g.op("Gather", [g.weight("text_model.embeddings.token_embedding.weight", (VOCAB, w), 0.02), "input_ids"],
                  f"{t}/embeddings/token_embedding")
    position_ids = g.const("text_model.embeddings.position_ids", np.arange(P, dtype=np.int64)[None])
    causal = np.triu(np.full((P, P), MASKED, np.float32), 1)[None, None]
    if spec.static:
        mask4 = g.const("text_model.causal_mask", causal)
    else:
        # The sequence length, to cut the position ids and the causal mask down to it.
        n = g.op("Shape", ["input_ids"], t, start=1, end=2)
        zero = g.const("text_model.zero", np.array([0], np.int64))
        position_ids = g.op("Slice", [position_ids, zero, n, g.const("text_model.axis1", np.array([1], np.int64))],
                            f"{t}/embeddings")
        mask4 = g.op("Slice", [g.const("text_model.causal_mask", causal),
                               g.const("text_model.zeros2", np.array([0, 0], np.int64)),
                               g.op("Concat", [n, n], t, axis=0),
                               g.const("text_model.axes23", np.array([2, 3], np.int64))], t)
    positions = g.op("Gather", [g.weight("text_model.embeddings.position_embedding.weight", (P, w), 0.01), position_ids],
                     f"{t}/embeddings/position_embedding")
    x = g.op("Add", [tokens, positions], f"{t}/embeddings")
    # Padding: (1 - mask) * lowest, as [b, 1, 1, s], added to the causal mask.
    keep = g.op("Cast", ["attention_mask"], t, to=TensorProto.FLOAT)
    pad = g.op("Mul", [g.op("Sub", [g.const("text_model.one", np.array(1, np.float32)), keep], t),
                       g.const("text_model.masked", np.array(MASKED, np.float32))], t)
    pad = g.op("Unsqueeze", [pad, g.const("text_model.axes12", np.array([1, 2], np.int64))], t)
    bias = g.op("Add", [mask4, pad], t)
    for i in range(spec.layers):
        x = _block(g, x, i, w, spec.heads, bias, "text_model")
    _layer_norm(g, x, "text_model.final_layer_norm", f"{t}/final_layer_norm", w)
    last = g.rename_last("last_hidden_state")
    # The first end token: ArgMax of (ids == EOS), as HF's pooling is exported.
    eos = g.op("Cast", [g.op("Equal", ["input_ids", g.const("text_model.eos", np.array(EOS, np.int64))], t)], t,
               to=TensorProto.INT32)
    index = g.op("ArgMax", [eos], t, axis=-1, keepdims=1)
    pooled = g.op("GatherND", [last, index], t, batch_dims=1)
    g.op("MatMul", [pooled, g.weight("text_projection.weight_t", (w, spec.projection), w ** -0.5)], "/text_projection")
    g.rename_last("text_embeds")
    outputs = [helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch", spec.projection]),
               helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", seq, w])]
    return _model(g, "text_model", [ids_in, mask_in], outputs)


def vision_model(spec: VisionSpec) -> onnx.ModelProto:
    g = _Graph(spec.seed)
    w, p, S = spec.width, spec.patch, spec.image
    grid = S // p
    v = "/vision_model"
    px = helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, S, S])
    patches = g.op("Conv", ["pixel_values", g.weight("vision_model.embeddings.patch_embedding.weight", (w, 3, p, p), 0.02)],
                   f"{v}/embeddings/patch_embedding", kernel_shape=[p, p], strides=[p, p])
    patches = g.op("Reshape", [patches, g.const("vision_model.flatten", np.array([0, w, -1], np.int64))], f"{v}/embeddings")
    patches = g.op("Transpose", [patches], f"{v}/embeddings", perm=[0, 2, 1])
    # The class token, expanded to the batch.
    batch = g.op("Shape", ["pixel_values"], f"{v}/embeddings", start=0, end=1)
    shape = g.op("Concat", [batch, g.const("vision_model.cls_shape", np.array([1, w], np.int64))], f"{v}/embeddings", axis=0)
    cls = g.weight("vision_model.embeddings.class_embedding", (1, 1, w), w ** -0.5)
    x = g.op("Concat", [g.op("Expand", [cls, shape], f"{v}/embeddings"), patches], f"{v}/embeddings", axis=1)
    ids = g.const("vision_model.embeddings.position_ids", np.arange(grid * grid + 1, dtype=np.int64)[None])
    pos = g.op("Gather", [g.weight("vision_model.embeddings.position_embedding.weight", (grid * grid + 1, w), 0.02), ids],
               f"{v}/embeddings/position_embedding")
    x = g.op("Add", [x, pos], f"{v}/embeddings")
    x = _layer_norm(g, x, "vision_model.pre_layrnorm", f"{v}/pre_layrnorm", w)
    for i in range(spec.layers):
        x = _block(g, x, i, w, spec.heads, None, "vision_model")
    last = g.rename_last("last_hidden_state")
    cls_state = g.op("Gather", [last, g.const("vision_model.zero", np.array(0, np.int64))], v, axis=1)
    pooled = _layer_norm(g, cls_state, "vision_model.post_layernorm", f"{v}/post_layernorm", w)
    g.op("MatMul", [pooled, g.weight("visual_projection.weight_t", (w, spec.projection), w ** -0.5)], "/visual_projection")
    g.rename_last("image_embeds")
    outputs = [helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", spec.projection]),
               helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", grid * grid + 1, w])]
    return _model(g, "vision_model", [px], outputs)


def _model(g: _Graph, name: str, inputs, outputs) -> onnx.ModelProto:
    graph = helper.make_graph(g.nodes, name, inputs, outputs, initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="goal-bench", producer_version="1")
    model.ir_version = IR_VERSION
    return model


# ---- folders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FolderSpec:
    """A model folder: which towers it holds."""

    name: str
    text: TextSpec | None
    vision: VisionSpec | None


def full_size(static_text: bool = False) -> dict[str, FolderSpec]:
    """The real sizes: ViT-B/32 and ViT-B/16 with the 77-token text tower, and a 248-token text
    tower (Long-CLIP, GOAL) on its own."""
    text77 = TextSpec(static=static_text)
    suffix = "-static" if static_text else ""
    return {
        "b32": FolderSpec("vit-b-32" + suffix, text77, VisionSpec(patch=32)),
        "b16": FolderSpec("vit-b-16" + suffix, text77, VisionSpec(patch=16)),
        "text248": FolderSpec("text-248" + suffix, TextSpec(positions=248, static=static_text), None),
        # A tower whose run costs next to nothing, so that encode_image times preprocessing.
        "pre224": FolderSpec("pre-224", None, VisionSpec(width=16, layers=1, heads=1, patch=32, projection=16)),
    }


def smoke_size(static_text: bool = False) -> dict[str, FolderSpec]:
    """Tiny towers with the same structure, for the CI smoke run."""
    text = TextSpec(width=64, layers=2, heads=2, projection=32, static=static_text)
    suffix = "-static" if static_text else ""
    return {
        "b32": FolderSpec("smoke-b32" + suffix, text, VisionSpec(width=64, layers=2, heads=2, image=32, patch=8, projection=32)),
        "b16": FolderSpec("smoke-b16" + suffix, text, VisionSpec(width=64, layers=2, heads=2, image=32, patch=4, projection=32)),
        "text248": FolderSpec("smoke-text-248" + suffix,
                              TextSpec(width=64, layers=2, heads=2, positions=248, projection=32, static=static_text), None),
        "pre224": FolderSpec("pre-224", None, VisionSpec(width=16, layers=1, heads=1, patch=32, projection=16)),
    }


def _tower_file(cache: Path, spec, make) -> Path:
    """The tower's .onnx in cache/towers/, made once; folders hard-link to it."""
    path = cache / "towers" / f"{spec.name}.onnx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        onnx.save(make(spec), str(tmp))
        os.replace(tmp, path)  # an interrupted make leaves no half-written tower behind
    return path


def _link(source: Path, target: Path) -> None:
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def make_folder(cache: Path, spec: FolderSpec) -> Path:
    """The folder for `spec` under `cache`, made (or remade when its spec changed)."""
    folder = cache / spec.name
    stamp = folder / "bench_spec.json"
    wanted = json.dumps(asdict(spec), sort_keys=True)
    if stamp.exists() and stamp.read_text() == wanted:
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copyfile(REPO / "fixtures" / "tokenizer" / "tokenizer.json", folder / "tokenizer.json")
    config = {"architectures": ["CLIPModel"], "model_type": "clip", "logit_scale_init_value": 2.6592}
    if spec.text:
        _link(_tower_file(cache, spec.text, text_model), folder / "text_model.onnx")
        t = spec.text
        config["text_config"] = {"hidden_size": t.width, "num_hidden_layers": t.layers, "num_attention_heads": t.heads,
                                 "intermediate_size": 4 * t.width, "max_position_embeddings": t.positions,
                                 "hidden_act": "quick_gelu", "vocab_size": VOCAB, "bos_token_id": BOS,
                                 "eos_token_id": EOS, "pad_token_id": EOS, "projection_dim": t.projection}
        config["projection_dim"] = t.projection
    if spec.vision:
        _link(_tower_file(cache, spec.vision, vision_model), folder / "vision_model.onnx")
        s = spec.vision
        config["vision_config"] = {"hidden_size": s.width, "num_hidden_layers": s.layers, "num_attention_heads": s.heads,
                                   "intermediate_size": 4 * s.width, "image_size": s.image, "patch_size": s.patch,
                                   "hidden_act": "quick_gelu", "num_channels": 3, "projection_dim": s.projection}
        config["projection_dim"] = s.projection
        (folder / "preprocessor_config.json").write_text(json.dumps({
            "image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": s.image},
            "resample": 3, "do_center_crop": True, "crop_size": {"height": s.image, "width": s.image},
            "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": CLIP_MEAN,
            "image_std": CLIP_STD, "do_convert_rgb": True}, indent=2))
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    stamp.write_text(wanted)  # last: a folder without it is remade
    return folder
