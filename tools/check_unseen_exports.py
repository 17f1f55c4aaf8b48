#!/usr/bin/env python3
"""Checks goal.Model on Hugging Face CLIP folders it has never seen, against onnxruntime.

The committed folder fixtures (fixtures/folders/) are one tiny config; a library can pass them
by accident -- by assuming equal text and vision widths, one MLP ratio, one image size or one
way of writing the configs. This script builds, in a scratch directory, HF optimum-layout
folders from fresh random-weight exports and compares goal.Model with onnxruntime running the
very same .onnx files, fed by the reference pipeline:

  text    HF `tokenizers` on the folder's tokenizer.json, truncated to the context (EOS kept
          last), padded with 49407 to the graph's sequence length, with an attention mask
  images  transformers' CLIPImageProcessorPil (PIL backend) configured from the folder's
          preprocessor_config.json, on every image in fixtures/images/manifest.json

Folders (text positions x exporter; each with text_model.onnx and vision_model.onnx, i.e.
CLIPTextModelWithProjection and CLIPVisionModelWithProjection, outputs embeds and
last_hidden_state, plus tokenizer.json, preprocessor_config.json and config.json):

  default      text hidden 64, vision hidden 96 (so the towers differ in width), 4 heads,
               3 layers, MLP ratio 4, projection 48, 64 px images in 16 px patches
  --full-size  the real ViT-B/32 config (text 512 wide, vision 768, 12 layers, 224 px,
               32 px patches, projection 512), random weights; dynamo exports keep their
               weights in external data, as large exports do
  positions    77, written as openai/clip-vit-base-patch32 ships it (legacy eos_token_id 2, so
               HF pools at argmax(id); the old preprocessor_config.json with integer sizes and
               "CLIPFeatureExtractor"); 248, as long-context CLIP variants have (eos_token_id
               49407, a preprocessor_config.json written by transformers 5)
  exporters    TorchScript (opset 17, dynamic batch and sequence) and dynamo (IR 10, dynamic
               batch, sequence fixed at the positions)

Printed per folder: whether goal's token ids equal the reference's, the smallest cosine between
goal's and onnxruntime's text and image embeddings, and the largest |difference| of goal's
token-level embeddings (text_tokens, image_tokens) from the tower's head applied to
onnxruntime's last_hidden_state (text: the projection, HF's state already being after
final_layer_norm; vision: post_layernorm of the patch tokens, class token dropped, then the
projection), all normalised per row; the head weights come from the torch module.
Exits nonzero if a text cosine is below 0.99999, an image cosine below 0.9999, or a folder
cannot be built or opened.

Run by hand, not in CI (needs torch with onnxscript, transformers >= 5, onnx, onnxruntime,
tokenizers, Pillow, and libgoal.so where bindings/python finds it or GOAL_LIBRARY says):

    python3 tools/check_unseen_exports.py               # about a minute
    python3 tools/check_unseen_exports.py --full-size   # several minutes, ~2 GB of scratch
    python3 tools/check_unseen_exports.py --keep /tmp/unseen   # keep the folders there
"""

import argparse
import json
import shutil
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "bindings" / "python"))
import goal  # noqa: E402
# The exporters' settings (opset, quiet output, dynamo opset fallback, stripped stack traces)
# are the fixtures' own, so these exports differ from the fixtures only where meant to.
from make_fixtures import (export_dynamo, export_torchscript, make_wrappers,  # noqa: E402
                           open_session, save_embedded, save_external)

TOKENIZER_JSON = ROOT / "fixtures" / "tokenizer" / "tokenizer.json"
IMAGES_DIR = ROOT / "fixtures" / "images"

EOS_ID = 49407  # the end token, which HF pads with too
TEXT_COS_MIN = 0.99999
IMAGE_COS_MIN = 0.9999
SEED = 0
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# Short and long, punctuation, contractions, accents and an emoji (byte-level BPE); one caption
# over 77 tokens (truncated at 77, whole at 248) and one over 248 (truncated everywhere).
CAPTIONS = [
    "a photo of a cat",
    "An astronaut floats above the Earth -- isn't it beautiful?!",
    "Café au lait, crème brûlée & a naïve smile 😀 at 3:45pm",
    "A   CUP of coffee\tseen from ABOVE, on a wooden table.",
    "A long description of a harbour: " + "boats painted blue, green and yellow bob on the "
    "water while gulls circle overhead, " * 4 + "and an old man reads yesterday's newspaper.",
    "An even longer one, past every context: " + "a red circle sits near the blue edge of the "
    "frame, and a small green square hides behind it; " * 12 + "that's all.",
]


@dataclass(frozen=True)
class Spec:
    exporter: str  # "torchscript" or "dynamo"
    positions: int
    full_size: bool

    @property
    def name(self):
        return f"{'vitb32' if self.full_size else 'small'}_{self.positions}_{self.exporter}"

    @property
    def openai_style(self):
        """The 77-position folders are written the way openai/clip-vit-base-patch32 ships."""
        return self.positions == 77


# --------------------------------------------------------------------------------------------
# Building a folder
# --------------------------------------------------------------------------------------------

def clip_config(spec):
    from transformers import CLIPConfig, CLIPTextConfig, CLIPVisionConfig

    # transformers' defaults are ViT-B/32's; the small towers change every size.
    text = {} if spec.full_size else dict(hidden_size=64, intermediate_size=256,
                                          num_hidden_layers=3, num_attention_heads=4)
    vision = {} if spec.full_size else dict(hidden_size=96, intermediate_size=384, num_hidden_layers=3,
                                            num_attention_heads=4, image_size=64, patch_size=16)
    projection = 512 if spec.full_size else 48
    # openai's config.json says bos 0, eos 2, pad 1 (from before the fix in transformers
    # PR #24773); with eos 2 the text tower pools at argmax(id), which is the first EOS too.
    ids = dict(bos_token_id=0, eos_token_id=2, pad_token_id=1) if spec.openai_style else \
        dict(bos_token_id=49406, eos_token_id=EOS_ID, pad_token_id=EOS_ID)
    text_config = CLIPTextConfig(max_position_embeddings=spec.positions, projection_dim=projection,
                                 **ids, **text)
    vision_config = CLIPVisionConfig(projection_dim=projection, **vision)
    return CLIPConfig(text_config=text_config.to_dict(), vision_config=vision_config.to_dict(),
                      projection_dim=projection, architectures=["CLIPModel"])


def write_preprocessor_config(folder, spec, size):
    if spec.openai_style:
        # Byte for byte the keys of openai/clip-vit-base-patch32's file: integer sizes, the old
        # feature-extractor name, no do_convert_rgb.
        legacy = {"crop_size": size, "do_center_crop": True, "do_normalize": True, "do_resize": True,
                  "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": CLIP_MEAN,
                  "image_std": CLIP_STD, "resample": 3, "size": size}
        (folder / "preprocessor_config.json").write_text(json.dumps(legacy, indent=2) + "\n")
        return
    from transformers import CLIPImageProcessor

    CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size},
                       do_convert_rgb=True, resample=3, image_mean=CLIP_MEAN,
                       image_std=CLIP_STD).save_pretrained(folder)


def build_towers(config):
    import torch
    from transformers import CLIPTextModelWithProjection, CLIPVisionModelWithProjection

    torch.manual_seed(SEED)
    text = CLIPTextModelWithProjection(config.text_config).eval()
    torch.manual_seed(SEED)
    vision = CLIPVisionModelWithProjection(config.vision_config).eval()
    return text, vision


def export_tower(module, example, outputs, axes, path, spec):
    import torch

    example = {k: torch.from_numpy(v) for k, v in example.items()}
    if spec.exporter == "torchscript":
        export_torchscript(module, example, outputs, axes, path)
    elif spec.full_size:
        save_external(export_dynamo(module, example, outputs), path, path.name + ".data")
    else:
        save_embedded(export_dynamo(module, example, outputs), path)


def make_folder(folder, spec):
    """Writes the folder; returns the torch towers, whose heads the comparison needs."""
    folder.mkdir(parents=True)
    config = clip_config(spec)
    config.save_pretrained(folder)
    write_preprocessor_config(folder, spec, config.vision_config.image_size)
    shutil.copyfile(TOKENIZER_JSON, folder / "tokenizer.json")

    text, vision = build_towers(config)
    # The fixtures' wrappers: named tensor inputs, (embeds, last_hidden_state) out, as optimum
    # exports them.
    HFText, HFVision, _, _ = make_wrappers()
    # The exporters trace these; the batch must be over 1, or dynamo specialises it.
    ids, mask = reference_tokens(folder, spec.positions, spec.positions)
    export_tower(HFText(text).eval(), {"input_ids": ids[:2], "attention_mask": mask[:2]},
                 ["text_embeds", "last_hidden_state"],
                 {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                  "text_embeds": {0: "batch"}, "last_hidden_state": {0: "batch", 1: "sequence"}},
                 folder / "text_model.onnx", spec)
    size = config.vision_config.image_size
    pixels = np.random.default_rng(SEED).standard_normal((2, 3, size, size), dtype=np.float32)
    export_tower(HFVision(vision).eval(), {"pixel_values": pixels}, ["image_embeds", "last_hidden_state"],
                 {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}, "last_hidden_state": {0: "batch"}},
                 folder / "vision_model.onnx", spec)
    return text, vision


# --------------------------------------------------------------------------------------------
# The reference pipeline (no torch in it)
# --------------------------------------------------------------------------------------------

def reference_tokens(folder, context, length):
    """ids and attention mask of CAPTIONS from `tokenizers` alone: its truncation keeps room for
    the post-processor's BOS and EOS, so EOS stays last; padding is EOS."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.encode_special_tokens = True  # as the fixtures: special-token spellings are plain text
    tok.enable_truncation(max_length=context)
    tok.enable_padding(length=length, pad_id=EOS_ID, pad_token="<|endoftext|>")
    encodings = tok.encode_batch(CAPTIONS)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    return ids, mask


def image_files():
    manifest = json.loads((IMAGES_DIR / "manifest.json").read_text())
    return [IMAGES_DIR / entry["file"] for entry in manifest["images"]]


def reference_pixels(folder, files):
    from PIL import Image
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    processor = CLIPImageProcessorPil.from_pretrained(str(folder))
    images = []
    for path in files:
        with Image.open(path) as im:
            im.load()
            images.append(im.copy())
    return np.ascontiguousarray(processor(images, return_tensors="np")["pixel_values"], dtype=np.float32)


def graph_sequence_length(session, context):
    """A fixed sequence axis must be filled exactly; a dynamic one is padded to the context."""
    dim = session.get_inputs()[0].shape[1]
    return dim if isinstance(dim, int) else context


# --------------------------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------------------------

def normalize(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def min_cosine(a, b):
    return float(np.min(np.sum(normalize(a) * normalize(b), axis=-1)))


def layer_norm(x, module):
    """torch.nn.LayerNorm in float64, with the module's own weights and eps."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    weight, bias = (p.detach().double().numpy() for p in (module.weight, module.bias))
    return (x - mean) / np.sqrt(var + module.eps) * weight + bias


def projection(linear):
    return linear.weight.detach().double().numpy().T


def token_diff(ours, expected):
    if ours.shape != expected.shape:
        return float("inf")
    return float(np.max(np.abs(ours.astype(np.float64) - normalize(expected))))


def compare_text(model, folder, spec, tower):
    session = open_session(folder / "text_model.onnx")
    ids, mask = reference_tokens(folder, spec.positions, graph_sequence_length(session, spec.positions))
    embeds, hidden = session.run(["text_embeds", "last_hidden_state"],
                                 {"input_ids": ids, "attention_mask": mask})
    lengths = mask.sum(axis=1)
    ids_equal = all(model.tokenize(c) == list(ids[i, :lengths[i]]) for i, c in enumerate(CAPTIONS))
    cos = min_cosine(model.encode_text(CAPTIONS), embeds)
    head = projection(tower.text_projection)  # HF's last_hidden_state is already after final_layer_norm
    diff = max(token_diff(model.text_tokens(c).embeddings, hidden[i, :lengths[i]] @ head)
               for i, c in enumerate(CAPTIONS))
    return ids_equal, cos, diff


def compare_images(model, folder, tower):
    files = image_files()
    session = open_session(folder / "vision_model.onnx")
    embeds, hidden = session.run(["image_embeds", "last_hidden_state"],
                                 {"pixel_values": reference_pixels(folder, files)})
    cos = min_cosine(model.encode_image([str(f) for f in files]), embeds)
    # HF applies post_layernorm to the pooled class token only; the patches get it here.
    patches = layer_norm(hidden[:, 1:], tower.vision_model.post_layernorm) @ projection(tower.visual_projection)
    diff = max(token_diff(model.image_tokens(str(f)).embeddings, patches[i]) for i, f in enumerate(files))
    return cos, diff


def check_info(model, config):
    """What goal reads from the folder must be what the config says."""
    expected = dict(dim=config.projection_dim, context_length=config.text_config.max_position_embeddings,
                    image_size=config.vision_config.image_size, patch_size=config.vision_config.patch_size)
    return [f"info.{k} is {getattr(model.info, k)}, config says {v}"
            for k, v in expected.items() if getattr(model.info, k) != v]


def check_folder(scratch, spec):
    """Builds one folder, compares, and returns its table row and its failures."""
    folder = scratch / spec.name
    row = {"folder": spec.name, "exporter": spec.exporter, "positions": spec.positions}
    try:
        text, vision = make_folder(folder, spec)
        with goal.Model(folder) as model:
            failures = check_info(model, clip_config(spec))
            row["ids"], row["text_cos"], row["text_tok"] = compare_text(model, folder, spec, text)
            row["image_cos"], row["image_tok"] = compare_images(model, folder, vision)
    except Exception as error:  # one broken export must not hide the others' results
        traceback.print_exc()
        return row, [f"{spec.name}: {type(error).__name__}: {error}"]
    if not row["ids"]:
        failures.append(f"{spec.name}: token ids differ from the tokenizers reference")
    if not row["text_cos"] >= TEXT_COS_MIN:
        failures.append(f"{spec.name}: text cosine {row['text_cos']:.7f} < {TEXT_COS_MIN}")
    if not row["image_cos"] >= IMAGE_COS_MIN:
        failures.append(f"{spec.name}: image cosine {row['image_cos']:.7f} < {IMAGE_COS_MIN}")
    return row, failures


def print_table(rows):
    header = (f"{'folder':22} {'exporter':11} {'positions':>9} {'ids':>4} {'text cos min':>12} "
              f"{'image cos min':>13} {'text tok diff':>13} {'image tok diff':>14}")
    print("\n" + header + "\n" + "-" * len(header))
    for r in rows:
        if "image_tok" not in r:
            print(f"{r['folder']:22} {r['exporter']:11} {r['positions']:>9}  failed (see above)")
            continue
        print(f"{r['folder']:22} {r['exporter']:11} {r['positions']:>9} {'ok' if r['ids'] else 'DIFF':>4} "
              f"{r['text_cos']:12.8f} {r['image_cos']:13.8f} {r['text_tok']:13.2e} {r['image_tok']:14.2e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full-size", action="store_true", help="ViT-B/32-sized towers instead of small ones")
    parser.add_argument("--keep", metavar="DIR", help="build the folders in DIR (must not exist) and keep them")
    args = parser.parse_args()

    specs = [Spec(exporter, positions, args.full_size)
             for positions in (77, 248) for exporter in ("torchscript", "dynamo")]
    rows, failures = [], []
    with tempfile.TemporaryDirectory(prefix="goal-unseen-") as temp:
        scratch = Path(args.keep) if args.keep else Path(temp)
        for spec in specs:
            print(f"building and checking {spec.name}", flush=True)
            row, failed = check_folder(scratch, spec)
            rows.append(row)
            failures += failed
            if not args.keep:
                shutil.rmtree(scratch / spec.name, ignore_errors=True)  # full-size folders are large

    print(f"\n{len(CAPTIONS)} captions, {len(image_files())} images; cosines against onnxruntime's "
          "embeddings, token diffs max |goal - head(onnxruntime last_hidden_state)|, rows normalised")
    print_table(rows)
    if failures:
        print("\nFAILED:", *failures, sep="\n  ", file=sys.stderr)
        sys.exit(1)
    print("\nall unseen exports agree")


if __name__ == "__main__":
    main()
