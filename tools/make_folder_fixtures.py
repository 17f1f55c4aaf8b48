#!/usr/bin/env python3
"""Make the committed model-folder fixtures under fixtures/folders/.

What it writes
--------------
Four folders laid out the way users download CLIP ONNX exports, each with tiny random-weight
towers (seed 0) that use the real CLIP vocabulary (49408 tokens), so `goal.Model(folder)` can
be tested end to end -- tokenizer, image preprocessing, both towers, token-level embeddings --
against PyTorch:

fixtures/folders/hf_ts/             HF optimum layout: text_model.onnx, vision_model.onnx
                                    (TorchScript exporter, opset 17, dynamic batch and sequence),
                                    tokenizer.json, preprocessor_config.json, config.json
fixtures/folders/hf_248_dynamo/     the same layout with a 248-position text tower (long-context
                                    CLIP variants), both towers through the dynamo exporter
                                    (dynamic batch, sequence fixed at 248), weights embedded
fixtures/folders/openclip_immich/   immich's layout for an open_clip model: textual/model.onnx,
                                    visual/model.onnx (TorchScript exporter, output "embedding"),
                                    bpe_simple_vocab_16e6.txt.gz, open_clip_config.json
fixtures/folders/hf_combined/       one model.onnx holding both towers (HF CLIPModel, TorchScript
                                    exporter, opset 17; inputs input_ids, pixel_values,
                                    attention_mask), with hf_ts's other files
fixtures/folders/*/reference.npz    captions and image file names, the inputs the folder's own
                                    reference pipeline makes from them (HF tokenizers and
                                    CLIPImageProcessorPil; open_clip's tokenizer and transform),
                                    and what the PyTorch modules returned for those inputs
fixtures/folders/README.md          each folder's layout and what it tests

reference.npz members: `captions` and `image_files` (unicode arrays); the ONNX inputs under
their ONNX names (`input_ids`, `attention_mask`, `pixel_values`; `text`, `image`); the
outputs as `<tower>.<ONNX output name>`, tower being `text` or `vision` (both towers have a
`last_hidden_state`, or an `embedding`, so bare names would collide; the combined model's
logits belong to neither tower and keep their bare names); and the token-level references
`text.tokens` [captions, sequence, projection] and `vision.tokens` [images, patches,
projection]: the tower's own head (final LayerNorm and projection) applied by PyTorch to every
token, unnormalised, class token dropped; and, so a reader can apply that head itself,
`<tower>.states` (the last layer's token states before the final LayerNorm, class token
included) with `<tower>.head.ln_weight`, `.ln_bias`, `.ln_eps` and `.projection` [width, dim].
Uncompressed, with fixed timestamps, written like tools/make_fixtures.py writes its npz files.

While building, the token references are checked against the pooled outputs: at the token each
tower pools (first EOS, argmax id, class token) the head must give the pooled embedding; and
LN(states) @ projection, computed in numpy from the stored members, must give both the pooled
output and `<tower>.tokens`. After
writing, every .onnx is run in onnxruntime on the stored inputs (the whole batch and the first
row alone, which checks the batch axis is dynamic) and compared with PyTorch's outputs; the
script prints a table and exits nonzero if any difference is over 1e-4.

This is run by hand when the fixtures need to change, not in CI: the outputs are committed.
It takes about a minute on two cores.

Needs: numpy, onnx, onnxruntime, torch (with onnxscript for the dynamo exporter), transformers
(>= 5, for CLIPImageProcessorPil), open_clip_torch (>= 3), tokenizers, Pillow; and the committed
fixtures/tokenizer/ and fixtures/images/. Tested with torch 2.15, transformers 5.23,
open_clip_torch 3.3, onnx 1.23, onnxruntime 1.32, tokenizers 0.23.

Run from anywhere:
    python tools/make_folder_fixtures.py
"""

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx

# Generic helpers (deterministic npz, quiet exporters, the dynamo export with its opset
# fallback and stack-trace stripping) are shared with the per-model fixtures.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import (export_dynamo, export_torchscript, make_wrappers, max_diff,  # noqa: E402
                           open_session, opset_text, save_embedded, save_npz)

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is built locally; never reach the Hub

ROOT = Path(__file__).resolve().parent.parent
FOLDERS_DIR = ROOT / "fixtures" / "folders"
TOKENIZER_DIR = ROOT / "fixtures" / "tokenizer"
IMAGES_DIR = ROOT / "fixtures" / "images"

MODEL_SEED = 0  # torch.manual_seed before building every tower
TOLERANCE = 1e-4

# The real CLIP vocabulary and special tokens, tiny everything else.
VOCAB = 49408
BOS_ID = 49406  # <|startoftext|>
EOS_ID = 49407  # <|endoftext|>; HF pads with it too, open_clip pads with 0
HIDDEN = 16
INTERMEDIATE = 32
LAYERS = 2
HEADS = 2
PROJECTION = 16
IMAGE_SIZE = 32
PATCH_SIZE = 8
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# Different lengths, punctuation and contractions; the last is longer than 77 tokens (so the
# 77-token folders must truncate it, keeping EOS last) and shorter than 248 (so the 248-token
# folder takes it whole). main() checks those lengths.
CAPTIONS = [
    "a photo of a cat",
    "It's a dog, isn't it? Yes -- a small, brown dog!",
    "An astronaut in a white suit floats above the Earth; behind her, the station's "
    "solar panels glint (brightly) in the sun.",
    "A long description, as long-context CLIP models are made for: on a quiet Sunday "
    "morning, a young woman in a red raincoat walks her two dogs along the harbour wall, "
    "past fishing boats painted blue, green and yellow, while gulls circle overhead and an "
    "old man on a bench reads yesterday's newspaper. In the distance, a lighthouse stands "
    "on the rocks; the sky is grey, the sea is calm, and it's just started to rain. She "
    "doesn't seem to mind, and neither do the dogs, who've found something to sniff.",
]
# A wide JPEG, a tall 4:4:4 JPEG and a grayscale PNG (which must be converted to RGB).
IMAGE_FILES = ["astronaut_wide.jpg", "coffee_tall_444.jpg", "camera_gray.png"]


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def unicode_array(strings):
    """A fixed-width unicode array: readable without pickle, unlike an object array."""
    return np.array(strings, dtype=f"<U{max(len(s) for s in strings)}")


def run_torch(module, inputs, output_names):
    """PyTorch's own outputs for the reference (never onnxruntime's)."""
    import torch

    with torch.no_grad():
        outputs = module(*[torch.from_numpy(v) for v in inputs.values()])
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    return {name: out.numpy() for name, out in zip(output_names, outputs)}


def load_images():
    from PIL import Image

    images = []
    for name in IMAGE_FILES:
        with Image.open(IMAGES_DIR / name) as im:
            im.load()
            images.append(im.copy())
    return images


def normalize(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def check_head(what, tokens, pooled, positions):
    """The head applied to every token must give, at the token the tower pools, the tower's own
    pooled embedding: proof that the token references use the head the pooling uses. Compared
    normalised, because CLIPModel normalises its embeddings and the single towers do not."""
    at_pool = tokens[np.arange(len(tokens)), positions]
    d = max_diff(normalize(at_pool), normalize(pooled))
    if not d <= TOLERANCE:
        raise SystemExit(f"{what}: head on the pooled token differs from the pooled output by {d:.3e}")


def head_reference(tower, states, layer_norm, projection):
    """`<tower>.states`, the last layer's token states before the tower's final LayerNorm, and
    `<tower>.head.*`, that LayerNorm and the [width, dim] projection: embedding = LN(x) @ projection."""
    return {f"{tower}.states": np.ascontiguousarray(states.detach().numpy()),
            f"{tower}.head.ln_weight": layer_norm.weight.detach().numpy().copy(),
            f"{tower}.head.ln_bias": layer_norm.bias.detach().numpy().copy(),
            f"{tower}.head.ln_eps": np.array(layer_norm.eps, dtype=np.float64),
            f"{tower}.head.projection": np.ascontiguousarray(projection.detach().numpy())}


def check_states(what, tower, reference, pooled, positions, normalised):
    """The stored head applied in numpy to the stored states must give the pooled output at the
    token the tower pools (both normalised first if the tower normalises its output) and
    `<tower>.tokens` at every token (vision: class token dropped)."""
    x = reference[f"{tower}.states"].astype(np.float64)
    x = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + reference[f"{tower}.head.ln_eps"])
    out = (x * reference[f"{tower}.head.ln_weight"] + reference[f"{tower}.head.ln_bias"]) @ \
        reference[f"{tower}.head.projection"]
    at_pool = out[np.arange(len(out)), positions]
    d_pool = max_diff(normalize(at_pool), normalize(pooled)) if normalised else max_diff(at_pool, pooled)
    d_tokens = max_diff(out[:, 1:] if tower == "vision" else out, reference[f"{tower}.tokens"])
    print(f"    {what}: LN(states) @ projection vs pooled {d_pool:.2e}, vs tokens {d_tokens:.2e}")
    if not max(d_pool, d_tokens) <= TOLERANCE:
        raise SystemExit(f"{what}: the stored states and head do not give the stored outputs")


# --------------------------------------------------------------------------------------------
# Hugging Face folders
# --------------------------------------------------------------------------------------------

def clip_config(max_positions):
    """The CLIPConfig of the two towers, as CLIPModel.save_pretrained writes it."""
    from transformers import CLIPConfig, CLIPTextConfig, CLIPVisionConfig

    # eos_token_id != 2 makes CLIPTextTransformer pool at the first EOS; padding is EOS too,
    # so the first one is the real end of the caption.
    text = CLIPTextConfig(
        vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=INTERMEDIATE,
        num_hidden_layers=LAYERS, num_attention_heads=HEADS, projection_dim=PROJECTION,
        max_position_embeddings=max_positions,
        bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=EOS_ID)
    vision = CLIPVisionConfig(
        image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, hidden_size=HIDDEN,
        intermediate_size=INTERMEDIATE, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        projection_dim=PROJECTION)
    return CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(),
                      projection_dim=PROJECTION, architectures=["CLIPModel"])


def write_hf_configs(folder, config):
    """config.json and preprocessor_config.json written by transformers itself, so the keys and
    layout are what a real download has."""
    from transformers import CLIPImageProcessor

    config.save_pretrained(folder)
    processor = CLIPImageProcessor(
        size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        do_convert_rgb=True, resample=3, image_mean=CLIP_MEAN, image_std=CLIP_STD)
    processor.save_pretrained(folder)


def hf_tokenize(context_length):
    """The reference for HF folders: `tokenizers` on the folder's tokenizer.json, special-token
    spellings treated as text, [BOS ... EOS] truncated keeping EOS last, padded with EOS."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(TOKENIZER_DIR / "tokenizer.json"))
    tok.encode_special_tokens = True
    ids = np.full((len(CAPTIONS), context_length), EOS_ID, dtype=np.int64)
    mask = np.zeros((len(CAPTIONS), context_length), dtype=np.int64)
    for row, encoding in enumerate(tok.encode_batch(CAPTIONS)):
        tokens = encoding.ids  # the post-processor has added BOS and EOS
        if len(tokens) > context_length:
            tokens = tokens[:context_length - 1] + [EOS_ID]
        ids[row, :len(tokens)] = tokens
        mask[row, :len(tokens)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def hf_pixels(folder):
    """transformers' PIL-backend CLIP processor, configured from the folder's own
    preprocessor_config.json (the torchvision backend resizes slightly differently)."""
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    processor = CLIPImageProcessorPil.from_pretrained(str(folder))
    pixels = processor(load_images(), return_tensors="np")["pixel_values"]
    return {"pixel_values": np.ascontiguousarray(pixels, dtype=np.float32)}


def build_hf_towers(config):
    """CLIPTextModelWithProjection and CLIPVisionModelWithProjection from the folder's config,
    each seeded, wrapped to take plain tensors and return (embeds, last_hidden_state)."""
    import torch
    from transformers import CLIPTextModelWithProjection, CLIPVisionModelWithProjection

    HFText, HFVision, _, _ = make_wrappers()
    torch.manual_seed(MODEL_SEED)
    text = CLIPTextModelWithProjection(config.text_config).eval()
    torch.manual_seed(MODEL_SEED)
    vision = CLIPVisionModelWithProjection(config.vision_config).eval()
    return HFText(text).eval(), HFVision(vision).eval()


def hf_text_references(what, transformer, projection, inputs, pooled, normalised):
    """text.tokens of an HF text tower: HF's last_hidden_state is already after
    final_layer_norm, so the projection alone is the head. The tower pools at the first EOS.
    text.states is final_layer_norm's input, caught by a hook."""
    import torch

    seen = {}
    hook = transformer.final_layer_norm.register_forward_pre_hook(
        lambda _m, args: seen.__setitem__("states", args[0]))
    try:
        with torch.no_grad():
            hidden = transformer(input_ids=torch.from_numpy(inputs["input_ids"]),
                                 attention_mask=torch.from_numpy(inputs["attention_mask"])).last_hidden_state
            tokens = projection(hidden).numpy()
    finally:
        hook.remove()
    positions = np.argmax(inputs["input_ids"] == EOS_ID, axis=1)
    check_head(what, tokens, pooled, positions)
    reference = {"text.tokens": tokens,
                 **head_reference("text", seen["states"], transformer.final_layer_norm, projection.weight.T)}
    check_states(what, "text", reference, pooled, positions, normalised)
    return reference


def hf_vision_references(what, transformer, post_layernorm, projection, inputs, pooled, normalised):
    """vision.tokens of an HF vision tower: its last_hidden_state comes before post_layernorm
    (the tower applies that to the pooled class token only), so the head is post_layernorm then
    the projection. Checked on the class token, which is then dropped. vision.states is that
    last_hidden_state, class token included."""
    import torch

    with torch.no_grad():
        hidden = transformer(pixel_values=torch.from_numpy(inputs["pixel_values"])).last_hidden_state
        tokens = projection(post_layernorm(hidden)).numpy()
    positions = np.zeros(len(tokens), dtype=np.int64)
    check_head(what, tokens, pooled, positions)
    reference = {"vision.tokens": np.ascontiguousarray(tokens[:, 1:]),
                 **head_reference("vision", hidden, post_layernorm, projection.weight.T)}
    check_states(what, "vision", reference, pooled, positions, normalised)
    return reference


HF_TEXT_OUTPUTS = ["text_embeds", "last_hidden_state"]
HF_VISION_OUTPUTS = ["image_embeds", "last_hidden_state"]
HF_TEXT_AXES = {"input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "text_embeds": {0: "batch"},
                "last_hidden_state": {0: "batch", 1: "sequence"}}
HF_VISION_AXES = {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"},
                  "last_hidden_state": {0: "batch"}}


def make_hf_folder(name, max_positions, exporter):
    """One HF optimum-style folder; returns its [(onnx path, tower)] for verification."""
    folder = FOLDERS_DIR / name
    folder.mkdir(parents=True)
    config = clip_config(max_positions)
    write_hf_configs(folder, config)
    shutil.copyfile(TOKENIZER_DIR / "tokenizer.json", folder / "tokenizer.json")

    text_inputs = hf_tokenize(max_positions)
    pixels = hf_pixels(folder)
    text, vision = build_hf_towers(config)
    reference = {"captions": unicode_array(CAPTIONS), "image_files": unicode_array(IMAGE_FILES),
                 **text_inputs, **pixels}

    import torch

    for file, tower, module, inputs, outputs, axes in (
            ("text_model.onnx", "text", text, text_inputs, HF_TEXT_OUTPUTS, HF_TEXT_AXES),
            ("vision_model.onnx", "vision", vision, pixels, HF_VISION_OUTPUTS, HF_VISION_AXES)):
        result = run_torch(module, inputs, outputs)
        reference.update({f"{tower}.{k}": v for k, v in result.items()})
        example = {k: torch.from_numpy(v) for k, v in inputs.items()}
        if exporter == "torchscript":
            export_torchscript(module, example, outputs, axes, folder / file)
        else:
            # Dynamic batch only: the 248-token context is fixed, as long-context exports ship.
            save_embedded(export_dynamo(module, example, outputs), folder / file)
    reference.update(hf_text_references(
        f"{name} text", text.model.text_model, text.model.text_projection, text_inputs,
        reference["text.text_embeds"], normalised=False))
    reference.update(hf_vision_references(
        f"{name} vision", vision.model.vision_model, vision.model.vision_model.post_layernorm,
        vision.model.visual_projection, pixels, reference["vision.image_embeds"], normalised=False))
    save_npz(folder / "reference.npz", reference)
    print(f"  made {name}")
    return [("text_model.onnx", "text"), ("vision_model.onnx", "vision")]


def make_combined_wrapper():
    """CLIPModel with plain tensor inputs in optimum's order and its four tensor outputs; its
    embeddings come out L2-normalised, as CLIPModel returns them."""
    import torch

    class Combined(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, pixel_values, attention_mask):
            out = self.model(input_ids=input_ids, pixel_values=pixel_values, attention_mask=attention_mask)
            return out.logits_per_image, out.logits_per_text, out.text_embeds, out.image_embeds

    return Combined


# Output name -> reference.npz key. The logits are [image batch, text batch] and the reverse,
# both towers' at once, so they get no tower prefix.
COMBINED_KEYS = {"logits_per_image": "logits_per_image", "logits_per_text": "logits_per_text",
                 "text_embeds": "text.text_embeds", "image_embeds": "vision.image_embeds"}
# Text and image batches are separate axes: a caller may embed 4 captions and 3 images at once.
COMBINED_AXES = {"input_ids": {0: "text_batch", 1: "sequence"},
                 "attention_mask": {0: "text_batch", 1: "sequence"},
                 "pixel_values": {0: "image_batch"},
                 "logits_per_image": {0: "image_batch", 1: "text_batch"},
                 "logits_per_text": {0: "text_batch", 1: "image_batch"},
                 "text_embeds": {0: "text_batch"}, "image_embeds": {0: "image_batch"}}


def make_hf_combined_folder(name):
    """hf_ts's files, but one model.onnx with both towers: the whole HF CLIPModel, as exports
    made for zero-shot classification ship it. Returns its [(onnx path, tower)]."""
    import torch
    from transformers import CLIPModel

    folder = FOLDERS_DIR / name
    folder.mkdir(parents=True)
    config = clip_config(77)
    write_hf_configs(folder, config)
    shutil.copyfile(TOKENIZER_DIR / "tokenizer.json", folder / "tokenizer.json")

    text_inputs = hf_tokenize(77)
    pixels = hf_pixels(folder)
    inputs = {"input_ids": text_inputs["input_ids"], "pixel_values": pixels["pixel_values"],
              "attention_mask": text_inputs["attention_mask"]}
    torch.manual_seed(MODEL_SEED)
    model = CLIPModel(config).eval()
    module = make_combined_wrapper()(model).eval()

    outputs = list(COMBINED_KEYS)
    result = run_torch(module, inputs, outputs)
    reference = {"captions": unicode_array(CAPTIONS), "image_files": unicode_array(IMAGE_FILES),
                 **inputs, **{COMBINED_KEYS[k]: v for k, v in result.items()}}
    reference.update(hf_text_references(
        f"{name} text", model.text_model, model.text_projection, text_inputs,
        reference["text.text_embeds"], normalised=True))
    reference.update(hf_vision_references(
        f"{name} vision", model.vision_model, model.vision_model.post_layernorm,
        model.visual_projection, pixels, reference["vision.image_embeds"], normalised=True))
    export_torchscript(module, {k: torch.from_numpy(v) for k, v in inputs.items()}, outputs,
                       COMBINED_AXES, folder / "model.onnx")
    save_npz(folder / "reference.npz", reference)
    print(f"  made {name}")
    return [("model.onnx", "both")]


# --------------------------------------------------------------------------------------------
# open_clip folder (immich layout)
# --------------------------------------------------------------------------------------------

def open_clip_model_cfg():
    """The model_cfg of open_clip_config.json: CLIP(**model_cfg) rebuilds the architecture."""
    return {
        "embed_dim": PROJECTION,
        "vision_cfg": {"image_size": IMAGE_SIZE, "patch_size": PATCH_SIZE, "width": HIDDEN,
                       "layers": LAYERS, "head_width": HIDDEN // HEADS,
                       "mlp_ratio": INTERMEDIATE / HIDDEN},
        "text_cfg": {"context_length": 77, "vocab_size": VOCAB, "width": HIDDEN, "heads": HEADS,
                     "layers": LAYERS, "mlp_ratio": INTERMEDIATE / HIDDEN},
    }


def open_clip_preprocess_cfg():
    # The keys and defaults of open_clip.transform.PreprocessCfg, at 32 px.
    return {"size": IMAGE_SIZE, "mode": "RGB", "mean": CLIP_MEAN, "std": CLIP_STD,
            "interpolation": "bicubic", "resize_mode": "shortest", "fill_color": 0}


def make_immich_wrappers():
    """immich exports encode_text / encode_image with normalize=True and names the output
    "embedding"; the wrappers give the exporter exactly that."""
    import torch

    class Text(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, text):
            return self.model.encode_text(text, normalize=True)

    class Image(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, image):
            return self.model.encode_image(image, normalize=True)

    return Text, Image


def open_clip_references(what, model, text_inputs, image_inputs, pooled_text, pooled_image):
    """text.tokens and vision.tokens of an open_clip CLIP, taken where encode_text and
    encode_image apply their heads: ln_final's output @ text_projection; the ViT's ln_post
    output (in the default config -- no attentional pool, final_ln_after_pool off, pool_type
    'tok' -- ln_post runs on every token before the class token is taken) @ proj, class token
    dropped. text.states and vision.states are ln_final's and ln_post's inputs. Both towers'
    outputs are normalised (immich's encode_*(normalize=True))."""
    import torch

    visual = model.visual
    if (visual.attn_pool is not None or visual.final_ln_after_pool or visual.pool_type != "tok"
            or model.text_pool_type != "argmax" or not isinstance(model.text_projection, torch.nn.Parameter)):
        raise SystemExit(f"{what}: not open_clip's default CLIP heads; the token references would be wrong")
    seen = {}
    hooks = [model.ln_final.register_forward_hook(lambda _m, i, out: seen.__setitem__("text", (i[0], out))),
             visual.ln_post.register_forward_hook(lambda _m, i, out: seen.__setitem__("vision", (i[0], out)))]
    try:
        with torch.no_grad():
            model.encode_text(torch.from_numpy(text_inputs["text"]))
            model.encode_image(torch.from_numpy(image_inputs["image"]))
            text = (seen["text"][1] @ model.text_projection).numpy()
            vision = (seen["vision"][1] @ visual.proj).numpy()
    finally:
        for hook in hooks:
            hook.remove()
    text_positions = np.argmax(text_inputs["text"], axis=1)
    vision_positions = np.zeros(len(vision), dtype=np.int64)
    check_head(f"{what} text", text, pooled_text, text_positions)
    check_head(f"{what} vision", vision, pooled_image, vision_positions)
    reference = {"text.tokens": text,
                 **head_reference("text", seen["text"][0], model.ln_final, model.text_projection),
                 "vision.tokens": np.ascontiguousarray(vision[:, 1:]),
                 **head_reference("vision", seen["vision"][0], visual.ln_post, visual.proj)}
    check_states(f"{what} text", "text", reference, pooled_text, text_positions, normalised=True)
    check_states(f"{what} vision", "vision", reference, pooled_image, vision_positions, normalised=True)
    return reference


def make_openclip_folder(name):
    import torch
    from open_clip import image_transform
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg
    from open_clip.tokenizer import SimpleTokenizer

    folder = FOLDERS_DIR / name
    folder.mkdir(parents=True)
    model_cfg, preprocess_cfg = open_clip_model_cfg(), open_clip_preprocess_cfg()
    write_json(folder / "open_clip_config.json",
               {"model_cfg": model_cfg, "preprocess_cfg": preprocess_cfg})
    shutil.copyfile(TOKENIZER_DIR / "bpe_simple_vocab_16e6.txt.gz",
                    folder / "bpe_simple_vocab_16e6.txt.gz")

    # The model from the very config just written, so the two cannot drift apart.
    torch.manual_seed(MODEL_SEED)
    model = CLIP(embed_dim=model_cfg["embed_dim"],
                 vision_cfg=CLIPVisionCfg(**model_cfg["vision_cfg"]),
                 text_cfg=CLIPTextCfg(**model_cfg["text_cfg"])).eval()
    Text, Image = make_immich_wrappers()

    # open_clip's own tokenizer (on the folder's vocabulary file) and transform are the
    # reference pipeline: it pads with 0 and pools at argmax(token id), i.e. at EOS.
    tokenizer = SimpleTokenizer(bpe_path=str(folder / "bpe_simple_vocab_16e6.txt.gz"),
                                context_length=model_cfg["text_cfg"]["context_length"])
    text_inputs = {"text": tokenizer(CAPTIONS).numpy().astype(np.int64)}
    transform = image_transform(preprocess_cfg["size"], is_train=False,
                                mean=tuple(preprocess_cfg["mean"]), std=tuple(preprocess_cfg["std"]),
                                resize_mode=preprocess_cfg["resize_mode"],
                                interpolation=preprocess_cfg["interpolation"])
    image_inputs = {"image": torch.stack([transform(im) for im in load_images()]).numpy()}

    reference = {"captions": unicode_array(CAPTIONS), "image_files": unicode_array(IMAGE_FILES),
                 **text_inputs, **image_inputs}
    for file, tower, module, inputs in (("textual/model.onnx", "text", Text(model).eval(), text_inputs),
                                        ("visual/model.onnx", "vision", Image(model).eval(), image_inputs)):
        result = run_torch(module, inputs, ["embedding"])
        reference.update({f"{tower}.{k}": v for k, v in result.items()})
        (folder / file).parent.mkdir(parents=True)
        input_name = next(iter(inputs))
        export_torchscript(module, {k: torch.from_numpy(v) for k, v in inputs.items()},
                           ["embedding"], {input_name: {0: "batch"}, "embedding": {0: "batch"}},
                           folder / file)
    reference.update(open_clip_references(
        name, model, text_inputs, image_inputs, reference["text.embedding"], reference["vision.embedding"]))
    save_npz(folder / "reference.npz", reference)
    print(f"  made {name}")
    return [("textual/model.onnx", "text"), ("visual/model.onnx", "vision")]


# --------------------------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------------------------

README = """\
# Model-folder fixtures

Made by `tools/make_folder_fixtures.py` (run by hand; the outputs are committed). Each folder is
laid out the way users download a CLIP ONNX export, with tiny random-weight towers (seed 0) that
use the real CLIP vocabulary (49408 tokens, BOS 49406, EOS 49407), so `goal.Model(folder)` can
be tested end to end against PyTorch.

Towers: text hidden 16, 2 layers, 2 heads, MLP 32, projection 16; vision 32x32 px images,
8 px patches, hidden 16, 2 layers, 2 heads, MLP 32, projection 16. The preprocessing configs
really say 32 px.

Every folder has a `reference.npz` (uncompressed, readable without zlib) holding:

- `captions` ({n_captions} strings, unicode array) and `image_files` ({n_images} names in
  `fixtures/images/`, unicode array): {image_list};
- the ONNX inputs made from them by the folder's reference pipeline, under their ONNX input
  names;
- PyTorch's outputs (the torch modules, not onnxruntime) under `text.<output>` and
  `vision.<output>`, `<output>` being the ONNX output name (in `hf_combined/`, whose logits
  belong to neither tower, `logits_per_image` and `logits_per_text` keep their bare names);
- token-level references, also from the torch modules: `text.tokens` float32
  [captions, sequence, 16], the tower's head applied to every position of the padded input
  (slice `[i, :n_i]`, n_i being caption i's number of ids, for the real tokens), and
  `vision.tokens` float32 [images, 16, 16], the head applied to each of the 4x4 patches, row by
  row, class token dropped. Both unnormalised. The head is the one the tower pools through:
  HF text `text_projection(last_hidden_state)` (HF's last_hidden_state is already after
  final_layer_norm); HF vision `visual_projection(post_layernorm(last_hidden_state[:, 1:]))`;
  open_clip `ln_final(x) @ text_projection` and `ln_post(x)[:, 1:] @ proj` (its ViT runs
  ln_post on every token before taking the class token). The script checks that, at the token
  each tower pools (first EOS, argmax id, class token), the head gives the pooled embedding;
- the head itself, to apply to token states: `text.states` float32 [captions, sequence, 16]
  and `vision.states` float32 [images, 17, 16] (class token first), the last layer's token
  states before the tower's final LayerNorm (HF text: final_layer_norm's input; HF vision:
  `last_hidden_state`; open_clip: ln_final's and ln_post's inputs), and per tower
  `<tower>.head.ln_weight`, `<tower>.head.ln_bias` float32 [16], `<tower>.head.ln_eps` float64
  scalar and `<tower>.head.projection` float32 [16, 16] (width x projection; HF
  `text_projection.weight.T` / `visual_projection.weight.T`, open_clip `text_projection` /
  `visual.proj`), so that `LayerNorm(states) @ projection` is the embedding. The script checks,
  in numpy on the stored arrays, that this gives the pooled output at the pooled token
  (compared after L2-normalising both where the folder's outputs are normalised) and
  `text.tokens` / `vision.tokens` (class token dropped) at every token, within 1e-4.

The captions differ in length, have punctuation and contractions, and the last one is
{long_tokens} tokens long with BOS and EOS: truncated (EOS kept last) in the 77-token folders,
whole in the 248-token one.

## `hf_ts/` -- Hugging Face optimum layout, TorchScript exporter

    config.json               CLIPConfig of both towers (CLIPModel.save_pretrained layout)
    preprocessor_config.json  CLIPImageProcessor: shortest edge 32, crop 32x32, bicubic
                              (resample 3), CLIP mean/std, do_convert_rgb
    tokenizer.json            the real CLIP tokenizer (copy of fixtures/tokenizer/tokenizer.json)
    text_model.onnx           CLIPTextModelWithProjection, opset 17; input_ids, attention_mask
                              int64 [batch, sequence] -> text_embeds [batch, 16],
                              last_hidden_state [batch, sequence, 16]; 77 positions
    vision_model.onnx         CLIPVisionModelWithProjection, opset 17; pixel_values
                              [batch, 3, 32, 32] -> image_embeds [batch, 16],
                              last_hidden_state [batch, 17, 16] (declared with symbolic
                              names for 17 and 16: the TorchScript exporter's doing)
    reference.npz             input_ids, attention_mask [4, 77], pixel_values [3, 3, 32, 32],
                              text.text_embeds, text.last_hidden_state,
                              vision.image_embeds, vision.last_hidden_state,
                              text.tokens [4, 77, 16], vision.tokens [3, 16, 16],
                              text.states [4, 77, 16], vision.states [3, 17, 16],
                              text.head.*, vision.head.*

Tests: finding an HF folder by its files, tokenizer.json with `encode_special_tokens` semantics,
padding with EOS (49407) plus an attention mask, truncation to 77, pooling at the first EOS,
CLIPImageProcessor preprocessing (PIL backend: `CLIPImageProcessorPil`) including grayscale to
RGB, and a dynamic sequence axis.

## `hf_248_dynamo/` -- the same layout, 248 positions, dynamo exporter

As `hf_ts/`, but the text tower has 248 position embeddings (as long-context CLIP variants such
as Long-CLIP do; `max_position_embeddings` 248 in config.json) and both towers come from the
dynamo exporter (`torch.onnx.export(dynamo=True)`, IR version 10), weights embedded in each
.onnx. Only the batch axis is dynamic: input_ids and attention_mask are [batch, 248].
reference.npz holds the same keys as in `hf_ts/`, with text.tokens and text.states
[4, 248, 16].

Tests: reading the context length from config.json (not assuming 77), padding to 248, no
truncation of the long caption, and dynamo-exported graphs.

## `openclip_immich/` -- immich's layout for an open_clip model

    open_clip_config.json        model_cfg (embed_dim, vision_cfg, text_cfg: CLIP(**model_cfg)
                                 rebuilds the towers) and preprocess_cfg (size 32, mean, std,
                                 bicubic, resize_mode "shortest")
    bpe_simple_vocab_16e6.txt.gz OpenAI's BPE merges (copy of the one in fixtures/tokenizer/)
    textual/model.onnx           encode_text(normalize=True); text int64 [batch, 77] ->
                                 embedding [batch, 16]; TorchScript exporter, opset 17
    visual/model.onnx            encode_image(normalize=True); image [batch, 3, 32, 32] ->
                                 embedding [batch, 16]; TorchScript exporter, opset 17
                                 (both declare embedding [batch, "Divembedding_dim_1"]: the
                                 width must come from config or the output, not the shape)
    reference.npz                text [4, 77], image [3, 3, 32, 32], text.embedding,
                                 vision.embedding, text.tokens [4, 77, 16],
                                 vision.tokens [3, 16, 16], text.states [4, 77, 16],
                                 vision.states [3, 17, 16], text.head.*, vision.head.*

Tests: finding an open_clip folder, open_clip's tokenizer (pads with 0, truncates keeping EOS
last; the tower pools at argmax(token id)), open_clip's preprocess transform, and outputs that
are already L2-normalised (as immich exports them).

Layout notes: immich's own exports differ in details these fixtures leave out -- they put a
`tokenizer.json` (with tokenizer_config.json and special_tokens_map.json) in `textual/`, the
preprocessing in `visual/preprocess_cfg.json` and the model config in a top-level `config.json`,
and their current exporter traces text as int32 with batch fixed at 1.

## `hf_combined/` -- both towers in one model.onnx

The whole HF `CLIPModel` (same tiny config and 77 positions as `hf_ts/`, its own seed-0
weights) exported as one graph, as exports for zero-shot classification ship it, with
`hf_ts/`'s config.json, preprocessor_config.json and tokenizer.json.

    model.onnx                TorchScript exporter, opset 17; inputs input_ids [text_batch,
                              sequence], pixel_values [image_batch, 3, 32, 32], attention_mask
                              [text_batch, sequence] (optimum's order); outputs
                              logits_per_image [image_batch, text_batch], logits_per_text
                              [text_batch, image_batch], text_embeds [text_batch, 16],
                              image_embeds [image_batch, 16]. No hidden-state outputs: the
                              token states must be found inside the graph.
    reference.npz             input_ids, attention_mask [4, 77], pixel_values [3, 3, 32, 32],
                              text.text_embeds, vision.image_embeds (already L2-normalised:
                              CLIPModel normalises them), logits_per_image [3, 4],
                              logits_per_text [4, 3], text.tokens [4, 77, 16],
                              vision.tokens [3, 16, 16], text.states [4, 77, 16],
                              vision.states [3, 17, 16], text.head.*, vision.head.*

Tests: finding a single-file model with both towers, running one tower of a graph that takes
both towers' inputs (text and image batches are independent axes), embeddings that come out
normalised, and token states located inside a graph that does not output them.

## Licence of the vocabulary files

`tokenizer.json` and `bpe_simple_vocab_16e6.txt.gz` are OpenAI's CLIP vocabulary and merges,
under the MIT License; see `fixtures/tokenizer/NOTICE.md` for the text and their origin. The
copies here are byte-identical to the ones there.
"""


def write_readme(long_tokens):
    (FOLDERS_DIR / "README.md").write_text(README.format(
        n_captions=len(CAPTIONS), n_images=len(IMAGE_FILES),
        image_list=", ".join(f"`{n}`" for n in IMAGE_FILES), long_tokens=long_tokens))


# --------------------------------------------------------------------------------------------
# Verification with onnxruntime
# --------------------------------------------------------------------------------------------

def reference_key(tower, output):
    return COMBINED_KEYS[output] if tower == "both" else f"{tower}.{output}"


def first_rows(key, array):
    """What the first input row alone must give: the logits have a batch on both axes."""
    return array[:1, :1] if key.startswith("logits") else array[:1]


def verify_folder(name, models):
    """Runs each .onnx on the stored inputs, whole batch and first row alone, against the stored
    torch outputs; returns (table rows, failures)."""
    folder = FOLDERS_DIR / name
    reference = np.load(folder / "reference.npz")
    rows, failures = [], []
    for file, tower in models:
        path = folder / file
        model = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(model)
        session = open_session(path)
        inputs = {i.name: reference[i.name] for i in session.get_inputs()}
        names = [o.name for o in session.get_outputs()]
        full = session.run(names, inputs)
        first = session.run(names, {k: v[:1] for k, v in inputs.items()})
        worst = 0.0
        for output, out, out1 in zip(names, full, first):
            key = reference_key(tower, output)
            expected = reference[key]
            if out.dtype != expected.dtype or out.shape != expected.shape:
                failures.append(f"{name}/{file} {output}: onnxruntime gave {out.dtype}{out.shape}, "
                                f"torch {expected.dtype}{expected.shape}")
                worst = float("inf")
                continue
            d = max(max_diff(out, expected), max_diff(out1, first_rows(key, expected)))
            worst = max(worst, d)
            if not d <= TOLERANCE:
                failures.append(f"{name}/{file} {output}: max diff {d:.3e} > {TOLERANCE}")
        rows.append((name, file, model.ir_version, opset_text(model), path.stat().st_size, worst))
    return rows, failures


def check_sequence_axis(name, file):
    """hf_ts and hf_combined promise a dynamic sequence axis: the first caption cut to its own
    length must give the same embedding, and the same hidden states for its tokens (the mask is
    causal, so later padding cannot change them). Other inputs (pixels) go in as their first row."""
    folder = FOLDERS_DIR / name
    reference = np.load(folder / "reference.npz")
    n = int(reference["attention_mask"][0].sum())
    session = open_session(folder / file)
    feeds = {i.name: reference[i.name][:1] for i in session.get_inputs()}
    feeds.update(input_ids=reference["input_ids"][:1, :n], attention_mask=reference["attention_mask"][:1, :n])
    names = [o.name for o in session.get_outputs() if o.name in ("text_embeds", "last_hidden_state")]
    d = 0.0
    for output, value in zip(names, session.run(names, feeds)):
        expected = reference[f"text.{output}"][:1]
        d = max(d, max_diff(value, expected[:, :n] if output == "last_hidden_state" else expected))
    print(f"  {name}/{file} with sequence {n}: max diff {d:.2e}")
    return [] if d <= TOLERANCE else [f"{name}/{file} at sequence {n}: max diff {d:.3e}"]


# --------------------------------------------------------------------------------------------

def check_caption_lengths():
    """The captions must exercise truncation at 77 and fit in 248; returns the longest length."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(TOKENIZER_DIR / "tokenizer.json"))
    tok.encode_special_tokens = True
    lengths = [len(e.ids) for e in tok.encode_batch(CAPTIONS)]
    if len(set(lengths)) != len(lengths) or not 77 < lengths[-1] <= 248 or max(lengths[:-1]) > 77:
        raise SystemExit(f"caption lengths {lengths}: want distinct, only the last over 77, <= 248")
    return lengths[-1]


def main():
    long_tokens = check_caption_lengths()
    shutil.rmtree(FOLDERS_DIR, ignore_errors=True)
    FOLDERS_DIR.mkdir(parents=True)

    print("making folder fixtures")
    folders = {"hf_ts": make_hf_folder("hf_ts", 77, "torchscript"),
               "hf_248_dynamo": make_hf_folder("hf_248_dynamo", 248, "dynamo"),
               "openclip_immich": make_openclip_folder("openclip_immich"),
               "hf_combined": make_hf_combined_folder("hf_combined")}
    write_readme(long_tokens)

    print("\nverifying with onnxruntime (full batch and first row alone)")
    rows, failures = [], []
    for name, models in folders.items():
        r, f = verify_folder(name, models)
        rows += r
        failures += f
    failures += check_sequence_axis("hf_ts", "text_model.onnx")
    failures += check_sequence_axis("hf_combined", "model.onnx")
    header = f"{'folder':16} {'file':20} {'ir':>2} {'opsets':24} {'size':>10}  max |ort - torch|"
    print("\n" + header + "\n" + "-" * len(header))
    for name, file, ir, opsets, size, worst in rows:
        print(f"{name:16} {file:20} {ir:>2} {opsets:24} {size:>10,}  {worst:.2e}")

    print("\nfiles")
    total = 0
    for path in sorted(FOLDERS_DIR.rglob("*")):
        if path.is_file():
            total += path.stat().st_size
            print(f"  {path.stat().st_size:>10,}  {path.relative_to(ROOT)}")
    print(f"  {total:>10,}  total under fixtures/folders/")

    if failures:
        print("\nFAILED:", *failures, sep="\n  ", file=sys.stderr)
        sys.exit(1)
    print("\nall folder fixtures verified")


if __name__ == "__main__":
    main()
