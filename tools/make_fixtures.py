#!/usr/bin/env python3
"""Make the committed ONNX test fixtures under fixtures/.

What it writes
--------------
fixtures/models/<name>/model.onnx      tiny random-weight CLIP towers (seed 0), exported to ONNX
fixtures/models/<name>/model.onnx.data the weights, for the one fixture stored as external data
fixtures/models/<name>/reference.npz   the fixed inputs (named like the ONNX inputs) and what the
                                       PyTorch module itself returned for them (named like the
                                       ONNX outputs); an uncompressed .npz so tests in any
                                       language can read it without zlib
fixtures/models/MANIFEST.json          one entry per model fixture, for tests to iterate over
fixtures/bad/...                       hand-made broken models (made with the onnx package only)
                                       and a README.md saying which error each must give

The model fixtures are Hugging Face transformers and open_clip CLIP text and vision towers,
exported with the TorchScript exporter (torch.onnx.export(dynamo=False), opset 17) and the
dynamo exporter (torch.onnx.export(dynamo=True), IR version 10), in float32 and float16 and
with external data. After writing them the script runs every model.onnx in onnxruntime on the
stored inputs and exits nonzero if any output is further from PyTorch's than 1e-4 (float32)
or 1e-2 (float16).

This is run by hand when the fixtures need to change, not in CI: the outputs are committed.

Needs: numpy, onnx (>= 1.16), and for the model fixtures also torch (>= 2.9, with onnxscript
for the dynamo exporter), transformers (>= 5), open_clip_torch (>= 3), onnxruntime.
Tested with torch 2.15, transformers 5.23, open_clip_torch 3.3, onnx 1.23, onnxruntime 1.32.

Run from anywhere:
    python tools/make_fixtures.py             # everything (models, then bad fixtures)
    python tools/make_fixtures.py --bad-only  # only fixtures/bad/, needs just numpy and onnx
"""

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "fixtures" / "models"
BAD_DIR = ROOT / "fixtures" / "bad"
PATTERNS_DIR = ROOT / "fixtures" / "patterns"

MODEL_SEED = 0  # torch.manual_seed before building every model
INPUT_SEED = 1234  # a separate generator for the reference inputs
BATCH = 2

# The tiny configuration every fixture shares.
VOCAB = 1000
BOS_ID = 998  # HF: the start token
EOS_ID = 999  # HF: end and padding token; open_clip: the end token, the largest id so argmax finds it
HIDDEN = 32
INTERMEDIATE = 64
LAYERS = 2
HEADS = 2
PROJECTION = 16
IMAGE_SIZE = 32
PATCH_SIZE = 8

TORCHSCRIPT_OPSET = 17
DYNAMO_MAX_OPSET = 21  # the loader supports opsets up to 21
DYNAMO_FALLBACK_OPSET = 18
TOLERANCE = {"float32": 1e-4, "float16": 1e-2}

BAD_IR_VERSION = 8
BAD_OPSET = 17


# --------------------------------------------------------------------------------------------
# Small helpers shared by both halves
# --------------------------------------------------------------------------------------------

def write_bytes(path, data):
    """Write bytes ourselves rather than through onnx.save_model: that one also tries to write
    external data next to the model, which the bad fixtures must not have."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def save_npz(path, arrays):
    """np.savez stamps each member with the current time; fixed ZipInfo dates keep the bytes
    the same from run to run. Stored, not deflated, so a reader needs no zlib. np.require, not
    np.ascontiguousarray, so a 0-d array stays a scalar instead of becoming shape (1,)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.require(array, requirements="C"), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, buffer.getvalue())


def opset_text(model):
    return ", ".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in model.opset_import)


def value_infos(values):
    """Name, element type and shape (ints, or the symbolic names of dynamic axes)."""
    out = []
    for v in values:
        t = v.type.tensor_type
        shape = [d.dim_param if d.HasField("dim_param") else d.dim_value for d in t.shape.dim]
        out.append({"name": v.name, "dtype": helper.tensor_dtype_to_np_dtype(t.elem_type).name,
                    "shape": shape})
    return out


# --------------------------------------------------------------------------------------------
# Model fixtures: building the PyTorch modules
# --------------------------------------------------------------------------------------------

def hf_text_config(max_positions):
    from transformers import CLIPTextConfig

    # eos_token_id != 2 makes CLIPTextTransformer pool at the first eos, not at argmax(id).
    return CLIPTextConfig(
        vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=INTERMEDIATE,
        num_hidden_layers=LAYERS, num_attention_heads=HEADS, projection_dim=PROJECTION,
        max_position_embeddings=max_positions,
        bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=EOS_ID)


def hf_vision_config():
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(
        image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, hidden_size=HIDDEN,
        intermediate_size=INTERMEDIATE, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        projection_dim=PROJECTION)


def make_wrappers():
    """Wrappers that give each tower plain tensor inputs and a tuple of named outputs, so the
    exporters see exactly the interface the fixture promises."""
    import torch

    class HFText(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask)
            return out.text_embeds, out.last_hidden_state

    class HFVision(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, pixel_values):
            out = self.model(pixel_values=pixel_values)
            return out.image_embeds, out.last_hidden_state

    class OpenClipText(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, text):
            return self.model.encode_text(text, normalize=False)

    class OpenClipImage(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, image):
            return self.model.encode_image(image, normalize=False)

    return HFText, HFVision, OpenClipText, OpenClipImage


def build_hf_text(max_positions):
    import torch
    from transformers import CLIPTextModelWithProjection

    torch.manual_seed(MODEL_SEED)
    model = CLIPTextModelWithProjection(hf_text_config(max_positions)).eval()
    return make_wrappers()[0](model).eval(), model.config._attn_implementation


def build_hf_vision(dtype_name="float32"):
    import torch
    from transformers import CLIPVisionModelWithProjection

    torch.manual_seed(MODEL_SEED)
    model = CLIPVisionModelWithProjection(hf_vision_config()).eval()
    if dtype_name == "float16":
        model = model.half()  # same seed-0 weights as the float32 tower, rounded
    return make_wrappers()[1](model).eval(), model.config._attn_implementation


def build_open_clip():
    import torch
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    torch.manual_seed(MODEL_SEED)
    # mlp_ratio 2 gives the same 64-wide MLP as the HF fixtures (open_clip's default is 4).
    model = CLIP(
        embed_dim=PROJECTION,
        vision_cfg=CLIPVisionCfg(image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, width=HIDDEN,
                                 layers=LAYERS, head_width=HIDDEN // HEADS,
                                 mlp_ratio=INTERMEDIATE / HIDDEN),
        text_cfg=CLIPTextCfg(context_length=77, vocab_size=VOCAB, width=HIDDEN, heads=HEADS,
                             layers=LAYERS, mlp_ratio=INTERMEDIATE / HIDDEN),
    ).eval()
    _, _, OpenClipText, OpenClipImage = make_wrappers()
    return OpenClipText(model).eval(), OpenClipImage(model).eval()


# --------------------------------------------------------------------------------------------
# Model fixtures: reference inputs
# --------------------------------------------------------------------------------------------

def input_generator():
    import torch

    return torch.Generator().manual_seed(INPUT_SEED)


def hf_text_inputs(context_length, lengths):
    """[BOS, random tokens < BOS, EOS, then EOS as padding]; the mask covers the real tokens."""
    import torch

    g = input_generator()
    ids = torch.full((len(lengths), context_length), EOS_ID, dtype=torch.int64)
    mask = torch.zeros((len(lengths), context_length), dtype=torch.int64)
    for row, n in enumerate(lengths):
        ids[row, 0] = BOS_ID
        ids[row, 1:n - 1] = torch.randint(1, BOS_ID, (n - 2,), generator=g)
        ids[row, n - 1] = EOS_ID
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask}


def open_clip_text_inputs(lengths, context_length=77):
    """Like open_clip's tokenizer: [SOT, tokens, EOT, zero padding]. EOT (999) is the largest
    id present, since open_clip pools at argmax(token id)."""
    import torch

    g = input_generator()
    text = torch.zeros((len(lengths), context_length), dtype=torch.int64)
    for row, n in enumerate(lengths):
        text[row, 0] = BOS_ID
        text[row, 1:n - 1] = torch.randint(1, BOS_ID, (n - 2,), generator=g)
        text[row, n - 1] = EOS_ID
    return {"text": text}


def image_inputs(name, dtype_name="float32"):
    import torch

    images = torch.rand((BATCH, 3, IMAGE_SIZE, IMAGE_SIZE), generator=input_generator())
    return {name: images.half() if dtype_name == "float16" else images}


# --------------------------------------------------------------------------------------------
# Model fixtures: exporting
# --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def quiet():
    """The exporters warn about tracing, deprecation and progress at length; the verification
    step below is what tells whether an export is right."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def export_torchscript(module, inputs, output_names, dynamic_axes, path):
    import torch

    with quiet():
        torch.onnx.export(module, tuple(inputs.values()), str(path), dynamo=False,
                          opset_version=TORCHSCRIPT_OPSET, input_names=list(inputs),
                          output_names=output_names, dynamic_axes=dynamic_axes)


def strip_stack_traces(model):
    """The dynamo exporter records a Python stack trace on every node, full of this machine's
    absolute paths; dropping them keeps the bytes the same across machines (and the files
    small). The other metadata_props entries stay, as in any real dynamo export."""
    for node in model.graph.node:
        keep = [p for p in node.metadata_props if p.key != "pkg.torch.onnx.stack_trace"]
        del node.metadata_props[:]
        node.metadata_props.extend(keep)
    return model


def export_dynamo(module, inputs, output_names):
    """The dynamo exporter with a dynamic batch dimension; returns the ModelProto."""
    import torch

    batch = torch.export.Dim("batch")
    dynamic_shapes = {name: {0: batch} for name in inputs}

    def run(opset):
        with quiet():
            program = torch.onnx.export(module, tuple(inputs.values()), dynamo=True,
                                        opset_version=opset, input_names=list(inputs),
                                        output_names=output_names,
                                        dynamic_shapes=dynamic_shapes, verbose=False)
        return program.model_proto

    model = run(None)  # the exporter's own default opset, if the loader supports it
    if max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) > DYNAMO_MAX_OPSET:
        model = run(DYNAMO_FALLBACK_OPSET)
    if model.ir_version != 10:
        raise SystemExit(f"expected IR version 10 from the dynamo exporter, got {model.ir_version}")
    return strip_stack_traces(model)


def save_embedded(model, path):
    write_bytes(path, model.SerializeToString())


EXTERNAL_THRESHOLD = 1024  # bytes; onnx's own default, so small shape tensors stay inline


def save_external(model, path, data_name):
    """Every initializer of EXTERNAL_THRESHOLD bytes or more into one file next to the model, as
    exporters do for large models. onnx only moves tensors that use raw_data, so any stored in
    typed fields (int64_data, ...) are repacked first."""
    model = onnx.ModelProto.FromString(model.SerializeToString())  # keep the caller's copy intact
    for i, tensor in enumerate(model.graph.initializer):
        if not tensor.HasField("raw_data"):
            model.graph.initializer[i].CopyFrom(
                numpy_helper.from_array(numpy_helper.to_array(tensor), tensor.name))
    # onnx appends to an existing data file, and checks for one relative to the current folder.
    cwd = os.getcwd()
    try:
        os.chdir(path.parent)
        onnx.save_model(model, path.name, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data_name, size_threshold=EXTERNAL_THRESHOLD)
    finally:
        os.chdir(cwd)
    saved = onnx.load(str(path), load_external_data=False)
    external = [t.name for t in saved.graph.initializer if t.data_location == TensorProto.EXTERNAL]
    if len(external) < len(saved.graph.initializer) // 2:
        raise SystemExit(f"{path}: only {len(external)} initializers went to {data_name}")


# --------------------------------------------------------------------------------------------
# Model fixtures: the list
# --------------------------------------------------------------------------------------------

TEXT_AXES = {"input_ids": {0: "batch", 1: "sequence"},
             "attention_mask": {0: "batch", 1: "sequence"},
             "text_embeds": {0: "batch"},
             "last_hidden_state": {0: "batch", 1: "sequence"}}
VISION_AXES = {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"},
               "last_hidden_state": {0: "batch"}}
HF_TEXT_OUTPUTS = ["text_embeds", "last_hidden_state"]
HF_VISION_OUTPUTS = ["image_embeds", "last_hidden_state"]


def text_entry(name, source, exporter, context_length):
    return {"name": name, "source": source, "tower": "text", "exporter": exporter,
            "context_length": context_length}


def vision_entry(name, source, exporter):
    return {"name": name, "source": source, "tower": "vision", "exporter": exporter,
            "image_size": IMAGE_SIZE, "patch_size": PATCH_SIZE}


def make_model_fixtures():
    """Builds, runs and exports every model; returns the manifest entries. Each entry carries,
    under "_inputs"/"_outputs", the arrays for its reference.npz (removed before writing)."""
    import torch

    entries = []

    def add(entry, module, inputs, output_names, write, external_data=None,
            weights_dtype="float32", notes=None):
        with torch.no_grad():
            outputs = module(*inputs.values())
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        folder = MODELS_DIR / entry["name"]
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        write(folder / "model.onnx")
        entry.update(external_data=external_data, weights_dtype=weights_dtype, notes=notes)
        entry["_inputs"] = {k: v.numpy() for k, v in inputs.items()}
        entry["_outputs"] = {k: v.numpy() for k, v in zip(output_names, outputs)}
        entries.append(entry)
        print(f"  made {entry['name']}")

    # 1. HF text, TorchScript exporter, dynamic batch and sequence.
    text, attn = build_hf_text(77)
    text_inputs = hf_text_inputs(77, [5, 12])
    add(text_entry("hf_text_ts", "hf", "torchscript", 77), text, text_inputs, HF_TEXT_OUTPUTS,
        lambda p: export_torchscript(text, text_inputs, HF_TEXT_OUTPUTS, TEXT_AXES, p),
        notes=f"attn_implementation={attn}")

    # 3a. The same model and inputs through the dynamo exporter.
    proto = export_dynamo(text, text_inputs, HF_TEXT_OUTPUTS)
    add(text_entry("hf_text_dynamo", "hf", "dynamo", 77), text, text_inputs, HF_TEXT_OUTPUTS,
        lambda p: save_embedded(proto, p),
        notes=f"attn_implementation={attn}; dynamic batch only; node stack traces stripped")

    # 4. A 248-position text tower (long-context CLIP variants): one full-length row.
    text248, attn = build_hf_text(248)
    inputs248 = hf_text_inputs(248, [248, 30])
    add(text_entry("hf_text248_ts", "hf", "torchscript", 248), text248, inputs248,
        HF_TEXT_OUTPUTS,
        lambda p: export_torchscript(text248, inputs248, HF_TEXT_OUTPUTS, TEXT_AXES, p),
        notes=f"attn_implementation={attn}")

    # 2. HF vision, TorchScript exporter.
    vision, attn = build_hf_vision()
    pixels = image_inputs("pixel_values")
    add(vision_entry("hf_vision_ts", "hf", "torchscript"), vision, pixels, HF_VISION_OUTPUTS,
        lambda p: export_torchscript(vision, pixels, HF_VISION_OUTPUTS, VISION_AXES, p),
        notes=f"attn_implementation={attn}")

    # 3b and 6. HF vision through dynamo: once with weights inside, once all in model.onnx.data.
    proto = export_dynamo(vision, pixels, HF_VISION_OUTPUTS)
    add(vision_entry("hf_vision_dynamo", "hf", "dynamo"), vision, pixels, HF_VISION_OUTPUTS,
        lambda p: save_embedded(proto, p),
        notes=f"attn_implementation={attn}; node stack traces stripped")
    add(vision_entry("hf_vision_external", "hf", "dynamo"), vision, pixels, HF_VISION_OUTPUTS,
        lambda p: save_external(proto, p, "model.onnx.data"), external_data="model.onnx.data",
        notes=f"hf_vision_dynamo with every initializer of {EXTERNAL_THRESHOLD} bytes or more "
              "in model.onnx.data")

    # 7. HF vision in float16: the module itself is .half() (CPU half export works), so the
    # graph computes in float16 and the inputs are float16.
    vision16, attn = build_hf_vision("float16")
    pixels16 = image_inputs("pixel_values", "float16")
    add(vision_entry("hf_vision_fp16", "hf", "torchscript"), vision16, pixels16,
        HF_VISION_OUTPUTS,
        lambda p: export_torchscript(vision16, pixels16, HF_VISION_OUTPUTS, VISION_AXES, p),
        weights_dtype="float16",
        notes=f"fp16 method: torch .half() module exported as is (no Cast-inserted fp32 graph); "
              f"float16 inputs and outputs; attn_implementation={attn}")

    # 5. open_clip towers, TorchScript exporter; the context length is fixed at 77.
    oc_text, oc_image = build_open_clip()
    tokens = open_clip_text_inputs([5, 12])
    add(text_entry("openclip_text_ts", "open_clip", "torchscript", 77), oc_text, tokens,
        ["text_features"],
        lambda p: export_torchscript(oc_text, tokens, ["text_features"],
                                     {"text": {0: "batch"}, "text_features": {0: "batch"}}, p),
        notes="pools at argmax(token id); padding is 0")
    images = image_inputs("image")
    add(vision_entry("openclip_vision_ts", "open_clip", "torchscript"), oc_image, images,
        ["image_features"],
        lambda p: export_torchscript(oc_image, images, ["image_features"],
                                     {"image": {0: "batch"}, "image_features": {0: "batch"}}, p))
    return entries


def write_references_and_manifest(entries):
    manifest = []
    for entry in entries:
        inputs, outputs = entry.pop("_inputs"), entry.pop("_outputs")
        folder = MODELS_DIR / entry["name"]
        model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
        # The fixture promises these names; the npz is keyed by them.
        assert [i.name for i in model.graph.input] == list(inputs), entry["name"]
        assert [o.name for o in model.graph.output] == list(outputs), entry["name"]
        save_npz(folder / "reference.npz", {**inputs, **outputs})
        entry["ir_version"] = model.ir_version
        entry["opset"] = {o.domain or "ai.onnx": o.version for o in model.opset_import}
        entry["inputs"] = value_infos(model.graph.input)
        entry["outputs"] = value_infos(model.graph.output)
        manifest.append(entry)
    text = json.dumps(manifest, indent=2) + "\n"
    (MODELS_DIR / "MANIFEST.json").write_text(text)


# --------------------------------------------------------------------------------------------
# Model fixtures: verification with onnxruntime
# --------------------------------------------------------------------------------------------

def max_diff(actual, expected):
    return float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64))))


def open_session(path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def verify_model_fixtures():
    """Runs every model.onnx in onnxruntime on its stored inputs, on the whole batch and on
    the first row alone (which checks the batch axis really is dynamic)."""
    manifest = json.loads((MODELS_DIR / "MANIFEST.json").read_text())
    failures = []
    header = f"{'fixture':20} {'ir':>2} {'opsets':14} {'model':>9} {'data':>8} {'npz':>8}  max |onnxruntime - torch|"
    print(header)
    print("-" * len(header))
    for entry in manifest:
        folder = MODELS_DIR / entry["name"]
        path = folder / "model.onnx"
        model = onnx.load(str(path), load_external_data=False)
        reference = np.load(folder / "reference.npz")
        inputs = {i["name"]: reference[i["name"]] for i in entry["inputs"]}
        tolerance = TOLERANCE[entry["weights_dtype"]]

        session = open_session(path)
        names = [o["name"] for o in entry["outputs"]]
        full = session.run(names, inputs)
        first = session.run(names, {k: v[:1] for k, v in inputs.items()})

        diffs = []
        for name, out, out1 in zip(names, full, first):
            expected = reference[name]
            if out.dtype != expected.dtype or out.shape != expected.shape:
                failures.append(f"{entry['name']}/{name}: onnxruntime gave {out.dtype}{out.shape}, "
                                f"torch {expected.dtype}{expected.shape}")
                continue
            d = max(max_diff(out, expected), max_diff(out1, expected[:1]))
            diffs.append(f"{name}={d:.2e}")
            if not d <= tolerance:
                failures.append(f"{entry['name']}/{name}: max diff {d:.3e} > {tolerance}")

        data = entry["external_data"]
        data_size = (folder / data).stat().st_size if data else 0
        print(f"{entry['name']:20} {model.ir_version:>2} {opset_text(model):14} "
              f"{path.stat().st_size:>9,} {data_size:>8,} "
              f"{(folder / 'reference.npz').stat().st_size:>8,}  {' '.join(diffs)}")
    return failures


# --------------------------------------------------------------------------------------------
# Bad fixtures (onnx package only)
# --------------------------------------------------------------------------------------------

def small_model(initializer, n):
    """y = x + w, with x and w float[n]; ir_version 8, opset 17."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"], name="add")],
        "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])],
        initializer=[initializer])
    model = helper.make_model(graph, producer_name="goal make_fixtures.py",
                              opset_imports=[helper.make_opsetid("", BAD_OPSET)])
    model.ir_version = BAD_IR_VERSION
    # The checker also opens external data (relative to the current folder), which these
    # fixtures leave missing or broken on purpose; it checks the structure of the inline one.
    if initializer.data_location != TensorProto.EXTERNAL:
        onnx.checker.check_model(model)
    return model


def external_weight(location, length=64, n=16):
    """A float[n] initializer 'w' whose bytes are said to live in `location`."""
    tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[n],
                         data_location=TensorProto.EXTERNAL)
    for key, value in (("location", location), ("offset", "0"), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


BAD_README = """\
# Broken ONNX fixtures

Made by `tools/make_fixtures.py` (`--bad-only` remakes just these) with the onnx package alone.
The small models compute `y = x + w` (ir_version 8, opset 17). A loader must refuse each
broken one with the error named here, and must never read a file outside the model's folder.

- `corrupt.onnx`: 4096 seeded random bytes, not a protobuf ModelProto -> GOAL_ERR_NOT_ONNX.
- `small_valid.onnx`: a valid model, x float[1000] + an inline 1000-float initializer -> loads.
- `truncated.onnx`: the first half of `small_valid.onnx` -> GOAL_ERR_TRUNCATED.
- `missing_data/model.onnx`: w's external data is in `weights.bin`, which does not exist -> GOAL_ERR_EXTERNAL_DATA.
- `escape/model.onnx`: w's external data location is `../outside.bin` -> GOAL_ERR_PATH_ESCAPE (refused before any file is opened).
- `short_data/model.onnx`: w needs 64 bytes from `weights.bin`, which holds only 10 -> GOAL_ERR_EXTERNAL_DATA.
- `absolute/model.onnx`: w's external data location is `/etc/passwd` -> GOAL_ERR_PATH_ESCAPE.
- `dangling.onnx`: `small_valid.onnx` with its Add reading a value named `nowhere` -> GOAL_ERR_INVALID_MODEL.
- `huge_constant.onnx`: y = x + sum(ConstantOfShape([10^6, 10^6])), a 10^12-element tensor the
  graph declares from constants -> GOAL_ERR_OUT_OF_MEMORY at open, before anything is allocated.
- `deep.onnx`: If nodes nested 120 deep, beyond protobuf's default nesting limit of 100 -> refused
  with GOAL_ERR_NOT_ONNX naming the nesting (the parser stops) instead of recursing without bound.
"""


def make_bad_fixtures():
    shutil.rmtree(BAD_DIR, ignore_errors=True)
    BAD_DIR.mkdir(parents=True)
    rng = np.random.default_rng(INPUT_SEED)

    corrupt = rng.bytes(4096)
    try:
        onnx.load_model_from_string(corrupt)
    except Exception:
        pass
    else:
        raise SystemExit("corrupt.onnx happens to parse as ONNX; pick another seed")
    write_bytes(BAD_DIR / "corrupt.onnx", corrupt)

    weights = rng.standard_normal(1000).astype(np.float32)
    valid = small_model(numpy_helper.from_array(weights, "w"), 1000).SerializeToString()
    write_bytes(BAD_DIR / "small_valid.onnx", valid)
    truncated = valid[:len(valid) // 2]
    try:
        onnx.load_model_from_string(truncated)
    except Exception:
        pass
    else:
        raise SystemExit("half of small_valid.onnx still parses")
    write_bytes(BAD_DIR / "truncated.onnx", truncated)

    for folder, location in (("missing_data", "weights.bin"), ("escape", "../outside.bin"),
                             ("short_data", "weights.bin"), ("absolute", "/etc/passwd")):
        write_bytes(BAD_DIR / folder / "model.onnx",
                    small_model(external_weight(location), 16).SerializeToString())
    write_bytes(BAD_DIR / "short_data" / "weights.bin", bytes(range(10)))

    dangling = small_model(numpy_helper.from_array(weights, "w"), 1000)
    dangling.graph.node[0].input[1] = "nowhere"
    write_bytes(BAD_DIR / "dangling.onnx", dangling.SerializeToString())

    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [1_000_000, 1_000_000])
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["big"]),
             helper.make_node("ReduceSum", ["big"], ["total"], keepdims=0),
             helper.make_node("Add", ["x", "total"], ["y"])]
    graph = helper.make_graph(nodes, "huge_constant", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])], [shape])
    huge = helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])
    write_bytes(BAD_DIR / "huge_constant.onnx", huge.SerializeToString())

    write_bytes(BAD_DIR / "deep.onnx", nested_ifs(120))
    (BAD_DIR / "README.md").write_text(BAD_README)


def nested_ifs(depth):
    """y = x, through `depth` If nodes each holding the next in its then-branch. Written as raw
    protobuf fields: the onnx package itself refuses to build messages this deep."""
    def varint(v):
        out = bytearray()
        while True:
            out.append((v & 0x7F) | (0x80 if v > 0x7F else 0))
            v >>= 7
            if not v:
                return bytes(out)

    def field(number, payload):
        payload = payload.encode() if isinstance(payload, str) else payload
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    def value(name):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1]).SerializeToString()

    def graph(name, nodes, outputs, inputs=()):
        # GraphProto: node 1, name 2, input 11, output 12.
        return (b"".join(field(1, n) for n in nodes) + field(2, name)
                + b"".join(field(11, i) for i in inputs) + b"".join(field(12, value(o)) for o in outputs))

    def leaf(out):
        return graph("leaf", [helper.make_node("Identity", ["x"], [out]).SerializeToString()], [out])

    def branch(name, body):
        # AttributeProto: name 1, g 6, type 20 (GRAPH = 5).
        return field(1, name) + field(6, body) + varint(20 << 3) + varint(5)

    inner = leaf("y0")
    for level in range(1, depth + 1):
        out = f"y{level}"
        # NodeProto: input 1, output 2, op_type 4, attribute 5. Only the then-branch nests.
        node = (field(1, "cond") + field(2, out) + field(4, "If")
                + field(5, branch("then_branch", inner)) + field(5, branch("else_branch", leaf(out))))
        top = level == depth
        inputs = [value("x"), helper.make_tensor_value_info("cond", TensorProto.BOOL, []).SerializeToString()]
        inner = graph("deep" if top else f"level{level}", [node], [out], inputs if top else ())
    opset = helper.make_opsetid("", 17).SerializeToString()
    # ModelProto: ir_version 1, graph 7, opset_import 8.
    return varint(1 << 3) + varint(8) + field(7, inner) + field(8, opset)


def make_pattern_fixtures():
    """Graphs spelling out, op by op, what newer opsets or fusions do in one node, as exporters
    write them for older opsets. Small and random; tests compare the engine's fused and unfused
    runs with onnxruntime on them."""
    PATTERNS_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    width = 8

    # LayerNorm as torch.onnx writes it below opset 17, then a linear layer reading its output.
    def const(name, values):
        return numpy_helper.from_array(np.asarray(values, dtype=np.float32), name)

    initializers = [const("gamma", rng.normal(1, 0.1, width)), const("beta", rng.normal(0, 0.1, width)),
                    const("two", 2.0), const("eps", 1e-5), const("w", rng.normal(0, 0.3, (width, 4))),
                    const("b", rng.normal(0, 0.1, 4))]
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["mean"], axes=[-1]),
        helper.make_node("Sub", ["x", "mean"], ["centered"]),
        helper.make_node("Pow", ["centered", "two"], ["squared"]),
        helper.make_node("ReduceMean", ["squared"], ["variance"], axes=[-1]),
        helper.make_node("Add", ["variance", "eps"], ["shifted"]),
        helper.make_node("Sqrt", ["shifted"], ["deviation"]),
        helper.make_node("Div", ["centered", "deviation"], ["normalized"]),
        helper.make_node("Mul", ["normalized", "gamma"], ["scaled"]),
        helper.make_node("Add", ["scaled", "beta"], ["y"]),
        helper.make_node("MatMul", ["y", "w"], ["projected"]),
        helper.make_node("Add", ["projected", "b"], ["z"]),
    ]
    graph = helper.make_graph(
        nodes, "layernorm_decomposed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 5, width])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 5, 4])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], producer_name="make_fixtures")
    model.ir_version = 7
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, PATTERNS_DIR / "layernorm_decomposed.onnx")


def list_files(folder):
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            print(f"  {path.stat().st_size:>9,}  {path.relative_to(ROOT)}")


# --------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bad-only", action="store_true",
                        help="only write fixtures/bad/ (needs numpy and onnx, not torch)")
    args = parser.parse_args()

    failures = []
    if not args.bad_only:
        print("making model fixtures")
        shutil.rmtree(MODELS_DIR, ignore_errors=True)
        MODELS_DIR.mkdir(parents=True)
        write_references_and_manifest(make_model_fixtures())
        print("\nverifying with onnxruntime (full batch and first row alone)")
        failures = verify_model_fixtures()

    make_bad_fixtures()
    make_pattern_fixtures()

    print("\nfiles")
    if not args.bad_only:
        list_files(MODELS_DIR)
    list_files(BAD_DIR)
    list_files(PATTERNS_DIR)
    total = sum(p.stat().st_size for p in (ROOT / "fixtures").rglob("*") if p.is_file())
    print(f"  {total:>9,}  total under fixtures/")

    if failures:
        print("\nFAILED:", *failures, sep="\n  ", file=sys.stderr)
        sys.exit(1)
    print("\nall fixtures verified")


if __name__ == "__main__":
    main()
