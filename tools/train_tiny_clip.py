#!/usr/bin/env python3
"""Train goal's default tiny model on the synthetic world of tools/world/, and export it.

A tiny CLIP (transformers' CLIPModel, so the export has the Hugging Face layout) with the real
CLIP BPE vocabulary (49408 tokens, from fixtures/tokenizer/tokenizer.json) and a 248-position
text tower (Long-CLIP / GOAL style), trained on CPU in minutes:

  base     contrastive (InfoNCE, learnable temperature) on fresh scenes with their long
           captions; every scene comes with one hard negative (colour, shape, size, position or
           colour swap changed) in the same batch, so attributes, bindings and places matter
  global   fine-tune of base: the same global loss only
  goal     fine-tune of base, same steps, same data: global loss + GOAL's local losses:
           LISM with FAST-GOAL's spatial division (each sentence encoded alone, each of the
           four quadrant crops and the centre-box crop encoded; each sentence takes its
           best-scoring region; the whole image, which the global loss already covers, is left
           out of the local pairs) -> the best-scoring matched (crop, sentence) pairs of each
           scene get a contrastive loss; and TSL: the region's patch tokens averaged in the
           full image's forward pass (then post-LayerNorm and projection) are pulled towards
           the crop's embedding, and the caption's token states averaged over the sentence's
           span (then final LayerNorm and projection) towards the sentence's own embedding
           (1 - cosine, targets detached). By default TSL covers every proposal and every
           sentence of the scene and the local loss has weight 0.5 (--tsl all --local-weight
           0.5); GOAL's own choice, TSL on the matched pairs only with weight 1 (--tsl matched
           --local-weight 1), did worse on the validation scenes (docs/EXPERIMENT.md)

Every stage is deterministic by seed: model init (--seed), the scenes (tools/world, seed
--data-seed for base, --data-seed + 1 for both fine-tunes; scene i of step s is scene
s * batch + i), the negatives. Scenes are made on the fly by one DataLoader worker.

Outputs (scratch, outside git, in --work, default /tmp/world-models/):
  base.pt, global.pt, goal.pt     checkpoints (state dicts)
  base/, global/, goal/           HF-layout ONNX folders of each (what tools/world_experiment.py
                                  measures)
  train_log.json                  losses, minutes, validation figures per stage
and models/goal-tiny/ (committed): the --publish model's folder plus a README.md.

Each ONNX folder holds text_model.onnx (inputs input_ids, attention_mask [batch, sequence];
outputs text_embeds, last_hidden_state) and vision_model.onnx (pixel_values [batch, 3, 96, 96];
outputs image_embeds, last_hidden_state), TorchScript exporter, opset 17, dynamic batch (and
sequence, up to 248); tokenizer.json, preprocessor_config.json, config.json. Weights of 1024
elements or more -- above all the 49408 x 64 token table, which is most of the file -- are
stored as float16, each with a Cast to float32 at the head of the graph (so the Gather reads
float32); biases, norms and small tensors stay float32. The PyTorch model is rounded the same way
before export, so both agree; the rounding moves embeddings by less than 1e-6 in cosine. Each
export is checked against PyTorch with onnxruntime (max abs difference <= 1e-4), and with goal
(GOAL_LIBRARY set) against onnxruntime (cosine > 0.9999).

Usage:
  python3 tools/train_tiny_clip.py                       # all stages: ~26 min of CPU time
                                                         # (~40 min wall clock on 2 busy cores)
  python3 tools/train_tiny_clip.py --stages base         # one stage (the others load the
  python3 tools/train_tiny_clip.py --stages global,goal  #   checkpoints from --work)
  python3 tools/train_tiny_clip.py --stages export --publish goal   # only export + publish
  python3 tools/train_tiny_clip.py --base-steps 50 --ft-steps 20    # a quick smoke run
                                                                    # (--no-publish to keep
                                                                    # models/ untouched)

Needs torch, transformers (>= 5), tokenizers, onnx, onnxruntime, numpy, Pillow
(tools/requirements-train.txt). Set GOAL_LIBRARY to check the published folder with goal too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from world import KINDS, generate, hard_negatives, make_scene, spatial_regions  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# On a machine shared with other jobs, OpenMP threads that spin while waiting make every step
# several times slower; passive waiting costs little when the machine is idle.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

TOKENIZER = ROOT / "fixtures" / "tokenizer" / "tokenizer.json"
PUBLISH_DIR = ROOT / "models" / "goal-tiny"
VOCAB = 49408
BOS_ID, EOS_ID = 49406, 49407
CONTEXT = 248
IMAGE = 64  # the model's input; scenes are drawn at SCENE px and resized as goal resizes them
PATCH = 16
SCENE = 96
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
# The hard negative of each training scene cycles through these kinds: colour is learnt first
# and easily, places and shapes last, so they come up more often.
TRAIN_KINDS = ("position", "shape", "colour", "position", "size", "swap", "position", "shape")
VAL_SEED = 999  # validation scenes printed during training (the experiment uses other seeds)
TOLERANCE = 1e-4


# ------------------------------------------------------------------------------------------------
# Model
# ------------------------------------------------------------------------------------------------

def clip_config(args):
    from transformers import CLIPConfig, CLIPTextConfig, CLIPVisionConfig

    # eos_token_id != 2: the text tower pools at the first end token (padding is the end token).
    text = CLIPTextConfig(
        vocab_size=VOCAB, hidden_size=args.text_width, intermediate_size=4 * args.text_width,
        num_hidden_layers=args.text_layers, num_attention_heads=args.text_width // 16,
        projection_dim=args.dim, max_position_embeddings=CONTEXT,
        bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=EOS_ID)
    vision = CLIPVisionConfig(
        image_size=IMAGE, patch_size=PATCH, hidden_size=args.vision_width,
        intermediate_size=4 * args.vision_width, num_hidden_layers=args.vision_layers,
        num_attention_heads=args.vision_width // 32, projection_dim=args.dim)
    return CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(),
                      projection_dim=args.dim, architectures=["CLIPModel"])


def new_model(args):
    import torch
    from transformers import CLIPModel

    torch.manual_seed(args.seed)
    return CLIPModel(clip_config(args))


def encode_text(model, ids, mask, states=False):
    """(projected EOT embedding, last layer's token states before the final LayerNorm)."""
    out = model.text_model(input_ids=ids, attention_mask=mask, output_hidden_states=states)
    return model.text_projection(out.pooler_output), (out.hidden_states[-1] if states else None)


def encode_image(model, pixels):
    """(projected class-token embedding, last layer's token states before post-LayerNorm)."""
    out = model.vision_model(pixel_values=pixels)
    return model.visual_projection(out.pooler_output), out.last_hidden_state


def text_head(model, states):
    return model.text_projection(model.text_model.final_layer_norm(states))


def vision_head(model, states):
    return model.visual_projection(model.vision_model.post_layernorm(states))


def normalize(x):
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-8)


def contrastive(text, image, scale):
    import torch
    import torch.nn.functional as F

    logits = scale * normalize(text) @ normalize(image).T
    target = torch.arange(len(text))
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def region_weights():
    """(6, patches) averaging weights of goal's FLISM proposals on the patch grid (the same
    geometry the library uses: columns floor(x0/p) .. ceil(x1/p) - 1, on the resized square
    image, where the regions are the same fractions of the side)."""
    grid = IMAGE // PATCH
    weights = np.zeros((6, grid * grid), dtype=np.float32)
    for r, (x0, y0, x1, y1) in enumerate(spatial_regions(IMAGE)):
        cells = np.zeros((grid, grid), dtype=np.float32)
        cells[int(y0 // PATCH):math.ceil(y1 / PATCH), int(x0 // PATCH):math.ceil(x1 / PATCH)] = 1
        weights[r] = cells.ravel() / cells.sum()
    return weights


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------

_TOKENIZER = None


def tokenizer():
    global _TOKENIZER
    if _TOKENIZER is None:
        from tokenizers import Tokenizer

        _TOKENIZER = Tokenizer.from_file(str(TOKENIZER))
        _TOKENIZER.encode_special_tokens = True
    return _TOKENIZER


def tokenize(texts):
    """ids and attention mask, padded with the end token to the longest text; plus encodings."""
    encodings = tokenizer().encode_batch(list(texts))
    length = max(len(e.ids) for e in encodings)
    if length > CONTEXT:
        raise ValueError(f"a caption has {length} tokens, more than the context's {CONTEXT}")
    ids = np.full((len(encodings), length), EOS_ID, dtype=np.int64)
    mask = np.zeros((len(encodings), length), dtype=np.int64)
    for row, e in enumerate(encodings):
        ids[row, :len(e.ids)] = e.ids
        mask[row, :len(e.ids)] = 1
    return ids, mask, encodings


def sentence_spans(encoding, sentences):
    """[first, last + 1) token range of each sentence in the caption's tokens."""
    offsets, special = encoding.offsets, encoding.special_tokens_mask
    spans = []
    for s in sentences:
        inside = [k for k, (a, b) in enumerate(offsets) if not special[k] and a >= s.start and b <= s.end and b > a]
        spans.append((min(inside), max(inside) + 1))
    return spans


def pixels(images):
    """CLIP-normalised (n, 3, IMAGE, IMAGE) float32 of square RGB PIL images, resized to IMAGE
    with PIL's bicubic filter (CLIP's preprocessing; the centre crop of a square is all of it)."""
    from PIL import Image

    array = np.stack([np.asarray(im if im.width == IMAGE else im.resize((IMAGE, IMAGE), Image.Resampling.BICUBIC),
                                 dtype=np.float32) for im in images]) / 255.0
    return np.ascontiguousarray(((array - CLIP_MEAN) / CLIP_STD).transpose(0, 3, 1, 2))


def crops(image):
    """The five spatial-division crops of an image, in its own pixels, as goal's crop mode cuts
    them (pixels() then resizes them like any image)."""
    return [image.crop((int(x0), int(y0), int(x1), int(y1))) for x0, y0, x1, y1 in spatial_regions(image.width)[1:]]


def make_batch(data_seed, step, batch, local):
    """Scenes step * batch .. + batch of data_seed, each followed in the batch by one hard
    negative (kinds rotate over TRAIN_KINDS), as tensors; with local=True also the positives'
    sentences (standalone ids, token spans in the caption, scene index) and their crops."""
    scenes = [make_scene(data_seed, step * batch + i, SCENE) for i in range(batch)]
    negatives = []
    for i, scene in enumerate(scenes):
        k = (step * batch + i) % len(TRAIN_KINDS)
        negatives.append(hard_negatives(scene, 1, seed=step, kinds=TRAIN_KINDS[k:] + TRAIN_KINDS[:k])[0])
    everything = scenes + negatives
    ids, mask, encodings = tokenize([s.caption for s in everything])
    out = {"ids": ids, "mask": mask, "pixels": pixels([s.image for s in everything])}
    if local:
        texts, spans, owner = [], [], []
        for i, scene in enumerate(scenes):
            texts += [s.text for s in scene.sentences]
            spans += sentence_spans(encodings[i], scene.sentences)
            owner += [i] * len(scene.sentences)
        s_ids, s_mask, _ = tokenize(texts)
        out.update({"sentence_ids": s_ids, "sentence_mask": s_mask,
                    "sentence_spans": np.array(spans, dtype=np.int64),
                    "sentence_scene": np.array(owner, dtype=np.int64),
                    "crops": pixels([c for s in scenes for c in crops(s.image)]).reshape(batch, 5, 3, IMAGE, IMAGE)})
    return out


def batches(data_seed, steps, batch, local):
    """A DataLoader over make_batch for steps 0..steps-1, in order, made by one worker."""
    import torch
    from torch.utils.data import DataLoader, IterableDataset

    class Stream(IterableDataset):
        def __iter__(self):
            torch.set_num_threads(1)
            for step in range(steps):
                yield {k: torch.from_numpy(v) for k, v in make_batch(data_seed, step, batch, local).items()}

    return DataLoader(Stream(), batch_size=None, num_workers=1, prefetch_factor=4)


# ------------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------------

def optimizer(model, lr, weight_decay, scale_lr_mult):
    """AdamW; no decay on biases, norms, embeddings; the temperature learns scale_lr_mult times
    faster (a tiny model on a short schedule otherwise ends with soft logits that hardly
    separate hard negatives)."""
    import torch

    decay, rest = [], []
    for name, p in model.named_parameters():
        if name == "logit_scale":
            continue
        (decay if p.ndim >= 2 and "embedding" not in name else rest).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay, "mult": 1.0},
                              {"params": rest, "weight_decay": 0.0, "mult": 1.0},
                              {"params": [model.logit_scale], "weight_decay": 0.0, "mult": scale_lr_mult}],
                             lr=lr, betas=(0.9, 0.98), eps=1e-6)


def lr_at(step, steps, lr, warmup):
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def local_losses(model, batch, image_states, scale, args, B):
    """GOAL's local terms for the batch's B positive scenes: the LISM-matched (crop, sentence)
    pairs' contrastive loss, and TSL's region and sentence terms."""
    import torch

    weights = torch.from_numpy(region_weights()[1:])  # the five spatial regions
    crops_px = batch["crops"]  # (B, 5, 3, S, S)
    owner = batch["sentence_scene"]
    sentences, _ = encode_text(model, batch["sentence_ids"], batch["sentence_mask"])
    sentences = normalize(sentences)
    with torch.no_grad():  # LISM: score every sentence against its scene's five crops
        crop_all = normalize(encode_image(model, crops_px.flatten(0, 1))[0]).view(B, 5, -1)
        scores = torch.einsum("sd,srd->sr", sentences.detach(), crop_all[owner])
        best_score, best_region = scores.max(dim=1)
    chosen = []  # the K best-scoring sentences of each scene
    for b in range(B):
        rows = torch.nonzero(owner == b).flatten()
        order = rows[torch.argsort(best_score[rows], descending=True)]
        chosen.append(order[:args.pairs])
    chosen = torch.cat(chosen)
    scene, region = owner[chosen], best_region[chosen]
    crop_emb = normalize(encode_image(model, crops_px[scene, region])[0])
    local = contrastive(sentences[chosen], crop_emb, scale)

    # TSL, image side: the region's patch states of the full image's pass, averaged, then head.
    if args.tsl == "all":
        t_scene = torch.arange(B).repeat_interleave(5)
        t_region = torch.arange(5).repeat(B)
        targets = crop_all.flatten(0, 1)
    else:
        t_scene, t_region, targets = scene, region, crop_emb.detach()
    patches = image_states[t_scene, 1:]  # (n, P, W), class token dropped
    pooled = torch.einsum("np,npw->nw", weights[t_region], patches)
    tsl_image = (1 - (normalize(vision_head(model, pooled)) * targets).sum(-1)).mean()

    # TSL, text side: the caption's token states over the sentence's span, then head.
    which = torch.arange(len(owner)) if args.tsl == "all" else chosen
    spans = batch["sentence_spans"][which]
    caption_states = batch["_caption_states"][owner[which]]  # (n, T, W)
    positions = torch.arange(caption_states.shape[1])
    span_mask = ((positions[None] >= spans[:, :1]) & (positions[None] < spans[:, 1:])).float()
    span_mean = (caption_states * span_mask[..., None]).sum(1) / span_mask.sum(1, keepdim=True)
    tsl_text = (1 - (normalize(text_head(model, span_mean)) * sentences[which].detach()).sum(-1)).mean()
    return local, tsl_image, tsl_text


def train(model, stage, args, log):
    import torch

    local = stage == "goal"
    steps = args.base_steps if stage == "base" else args.ft_steps
    lr = args.base_lr if stage == "base" else args.ft_lr
    data_seed = args.data_seed if stage == "base" else args.data_seed + 1
    warmup = max(1, min(args.warmup, steps // 10))
    opt = optimizer(model, lr, args.weight_decay, args.scale_lr_mult)
    model.train()
    B = args.batch
    history, start, cpu = [], time.time(), time.process_time()
    print(f"[{stage}] {steps} steps, batch {B} scenes + {B} hard negatives, lr {lr}, data seed {data_seed}",
          flush=True)
    for step, batch in enumerate(batches(data_seed, steps, B, local)):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, lr, warmup) * group["mult"]
        scale = model.logit_scale.exp().clamp(max=100)
        text, text_states = encode_text(model, batch["ids"], batch["mask"], states=local)
        image, image_states = encode_image(model, batch["pixels"])
        loss_global = contrastive(text, image, scale)
        parts = {"global": loss_global.item()}
        loss = loss_global
        if local:
            batch["_caption_states"] = text_states[:B]
            loss_local, tsl_image, tsl_text = local_losses(model, batch, image_states[:B], scale, args, B)
            loss = loss + args.local_weight * loss_local + args.tsl_weight * (tsl_image + tsl_text)
            parts.update({"local": loss_local.item(), "tsl_image": tsl_image.item(), "tsl_text": tsl_text.item()})
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        parts["scale"] = scale.item()
        history.append(parts)
        if (step + 1) % args.log_every == 0 or step + 1 == steps:
            recent = history[-args.log_every:]
            mean = {k: np.mean([h[k] for h in recent]) for k in recent[0]}
            text_parts = " ".join(f"{k} {v:.3f}" for k, v in mean.items())
            print(f"[{stage}] step {step + 1}/{steps} {text_parts} ({(time.time() - start) / 60:.1f} min)", flush=True)
        if args.val_every and (step + 1) % args.val_every == 0 and step + 1 < steps:
            model.eval()
            validate(model, n=100)
            model.train()
    minutes = (time.time() - start) / 60
    cpu_minutes = (time.process_time() - cpu) / 60  # this process's CPU time (not the data worker's)
    tail = history[-args.log_every:]
    print(f"[{stage}] {minutes:.1f} min wall clock, {cpu_minutes:.1f} min CPU time in the training process", flush=True)
    log[stage] = {"steps": steps, "lr": lr, "data_seed": data_seed, "minutes": round(minutes, 2),
                  "cpu_minutes": round(cpu_minutes, 2),
                  "final_losses": {k: round(float(np.mean([h[k] for h in tail])), 4) for k in tail[0]}}
    model.eval()
    return model


# ------------------------------------------------------------------------------------------------
# Validation (PyTorch; the experiment measures the exported models through goal)
# ------------------------------------------------------------------------------------------------

def validate(model, n=200):
    """Quick figures on VAL_SEED scenes: hard-negative accuracy (own vs 4 negatives, one per
    kind) both ways, R@1 over the n scenes both ways, and FLISM localisation (object sentences,
    standalone sentence vs the five pooled spatial regions) -- printed, and logged."""
    import torch

    scenes = generate(VAL_SEED, n, SCENE)
    negs = [hard_negatives(s, len(KINDS), seed=1) for s in scenes]
    with torch.no_grad():
        def texts(captions):
            ids, mask, _ = tokenize(captions)
            return normalize(encode_text(model, torch.from_numpy(ids), torch.from_numpy(mask))[0])

        def images(ims):
            emb, states = encode_image(model, torch.from_numpy(pixels(ims)))
            return normalize(emb), states

        t, (v, states) = texts([s.caption for s in scenes]), images([s.image for s in scenes])
        nt = texts([x.caption for g in negs for x in g]).view(n, len(KINDS), -1)
        nv = images([x.image for g in negs for x in g])[0].view(n, len(KINDS), -1)
        own = (t * v).sum(-1)
        t2i_hn = (own[:, None] > torch.einsum("nd,nkd->nk", t, nv)).all(1).float().mean().item()
        i2t_hn = (own[:, None] > torch.einsum("nd,nkd->nk", v, nt)).all(1).float().mean().item()
        sim = t @ v.T
        t2i = (sim.argmax(1) == torch.arange(n)).float().mean().item()
        i2t = (sim.argmax(0) == torch.arange(n)).float().mean().item()
        weights = torch.from_numpy(region_weights()[1:])
        regions = normalize(vision_head(model, torch.einsum("rp,npw->nrw", weights, states[:, 1:])))
        object_sentences = [(i, s) for i, sc in enumerate(scenes) for s in sc.sentences if s.kind == "object"]
        st = texts([s.text for _, s in object_sentences])
        picks = torch.einsum("sd,srd->sr", st, regions[[i for i, _ in object_sentences]]).argmax(1) + 1
        truth = torch.tensor([{"top left": 1, "top right": 2, "bottom left": 3, "bottom right": 4, "centre": 5}[s.place]
                              for _, s in object_sentences])
        loc = (picks == truth).float().mean().item()
    figures = {"hard_negative_t2i": t2i_hn, "hard_negative_i2t": i2t_hn, "pool_t2i_r1": t2i, "pool_i2t_r1": i2t,
               "lism_pooled_localisation": loc}
    print("  validation: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()), flush=True)
    return {k: round(v, 4) for k, v in figures.items()}


# ------------------------------------------------------------------------------------------------
# Export
# ------------------------------------------------------------------------------------------------

FP16_MIN = 1024  # float weights with at least this many elements are stored as float16


def towers(model):
    """Stand-alone CLIPTextModelWithProjection / CLIPVisionModelWithProjection carrying the
    model's weights, every weight of FP16_MIN elements or more rounded to float16 (as the ONNX
    files store them), wrapped to return (embeds, last_hidden_state)."""
    import torch
    from transformers import CLIPTextModelWithProjection, CLIPVisionModelWithProjection

    from make_fixtures import make_wrappers

    HFText, HFVision, _, _ = make_wrappers()
    config = model.config
    text = CLIPTextModelWithProjection(config.text_config).eval()
    text.text_model.load_state_dict(model.text_model.state_dict())
    text.text_projection.load_state_dict(model.text_projection.state_dict())
    vision = CLIPVisionModelWithProjection(config.vision_config).eval()
    vision.vision_model.load_state_dict(model.vision_model.state_dict())
    vision.visual_projection.load_state_dict(model.visual_projection.state_dict())
    with torch.no_grad():
        for tower in (text, vision):
            for p in tower.parameters():
                if p.numel() >= FP16_MIN:
                    p.copy_(p.half().float())
    return HFText(text).eval(), HFVision(vision).eval()


def fp16_weights(path):
    """Store every float32 initializer of FP16_MIN elements or more as float16, with a Cast back
    to float32 in front of the graph, when float16 holds it exactly (towers() rounded the
    weights, so all of them do; anything else stays float32). Returns how many were converted."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts, table = [], False
    for init in list(graph.initializer):
        array = numpy_helper.to_array(init)
        if array.dtype != np.float32 or array.size < FP16_MIN:
            continue
        half = array.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), array):
            continue
        table |= init.name.endswith("token_embedding.weight")
        graph.initializer.remove(init)
        graph.initializer.append(numpy_helper.from_array(half, init.name + ".fp16"))
        casts.append(helper.make_node("Cast", [init.name + ".fp16"], [init.name], to=TensorProto.FLOAT,
                                      name=f"to_float32/{init.name}"))
    if "text" in path.name and not table:
        raise SystemExit(f"{path}: the token table was not stored as float16")
    for cast in reversed(casts):
        graph.node.insert(0, cast)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return len(casts)


def write_folder(model, folder, check_inputs):
    """The HF-layout folder of a trained model; returns the onnxruntime-vs-PyTorch differences."""
    import onnxruntime as ort
    import torch
    from transformers import CLIPImageProcessor

    from make_fixtures import export_torchscript

    folder.mkdir(parents=True, exist_ok=True)
    config = model.config
    config.save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": IMAGE}, crop_size={"height": IMAGE, "width": IMAGE},
                       do_convert_rgb=True, resample=3, image_mean=CLIP_MEAN.tolist(),
                       image_std=CLIP_STD.tolist()).save_pretrained(folder)
    shutil.copyfile(TOKENIZER, folder / "tokenizer.json")
    text, vision = towers(model)
    ids, mask, pixel_values = check_inputs
    with torch.no_grad():  # what storing the weights in float16 costs
        exact = normalize(encode_text(model, torch.from_numpy(ids), torch.from_numpy(mask))[0])
        rounded = normalize(text(torch.from_numpy(ids), torch.from_numpy(mask))[0])
        exact_v = normalize(encode_image(model, torch.from_numpy(pixel_values))[0])
        rounded_v = normalize(vision(torch.from_numpy(pixel_values))[0])
        fp16_cos = min(float((exact * rounded).sum(-1).min()), float((exact_v * rounded_v).sum(-1).min()))
    example_ids = np.full((2, CONTEXT), EOS_ID, dtype=np.int64)
    example_mask = np.zeros((2, CONTEXT), dtype=np.int64)
    example_ids[:, :ids.shape[1]], example_mask[:, :ids.shape[1]] = ids[:2], mask[:2]
    export_torchscript(text, {"input_ids": torch.from_numpy(example_ids), "attention_mask": torch.from_numpy(example_mask)},
                       ["text_embeds", "last_hidden_state"],
                       {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                        "text_embeds": {0: "batch"}, "last_hidden_state": {0: "batch", 1: "sequence"}},
                       folder / "text_model.onnx")
    converted = fp16_weights(folder / "text_model.onnx")
    export_torchscript(vision, {"pixel_values": torch.from_numpy(pixel_values[:2])},
                       ["image_embeds", "last_hidden_state"],
                       {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}, "last_hidden_state": {0: "batch"}},
                       folder / "vision_model.onnx")
    converted += fp16_weights(folder / "vision_model.onnx")
    diffs = {"fp16_min_cos": fp16_cos}
    with torch.no_grad():
        torch_text = text(torch.from_numpy(ids), torch.from_numpy(mask))
        torch_vision = vision(torch.from_numpy(pixel_values))
    for file, feeds, reference in (("text_model.onnx", {"input_ids": ids, "attention_mask": mask}, torch_text),
                                   ("vision_model.onnx", {"pixel_values": pixel_values}, torch_vision)):
        session = ort.InferenceSession(str(folder / file), providers=["CPUExecutionProvider"])
        got = session.run(None, feeds)
        for out, ref, name in zip(got, reference, [o.name for o in session.get_outputs()]):
            diffs[f"{file}:{name}"] = float(np.abs(out - ref.numpy()).max())
    worst = max(v for k, v in diffs.items() if k != "fp16_min_cos")
    print(f"  exported {folder}: onnxruntime vs PyTorch max |diff| {worst:.2e}; {converted} weights stored as "
          f"float16, embeddings vs the float32 model: min cosine {fp16_cos:.7f}", flush=True)
    if not worst <= TOLERANCE:
        raise SystemExit(f"{folder}: onnxruntime differs from PyTorch by {worst:.3e}: {diffs}")
    return diffs


def check_inputs():
    """Inputs for the export checks: 5 held-out captions (ragged lengths, batch > 2 so the
    dynamic batch is exercised) and their images."""
    scenes = generate(VAL_SEED + 1, 5, SCENE)
    ids, mask, _ = tokenize([s.caption for s in scenes])
    return ids, mask, pixels([s.image for s in scenes])


def check_with_goal(folder, check):
    """goal.Model(folder) must open the folder and give onnxruntime's embeddings (cos > 0.9999)."""
    library = os.environ.get("GOAL_LIBRARY")
    if not library:
        print("  (GOAL_LIBRARY not set: the goal check of the published folder is skipped)")
        return None
    sys.path.append(str(ROOT / "bindings" / "python"))  # after PYTHONPATH, which may name another binding
    import goal
    import onnxruntime as ort

    scenes = generate(VAL_SEED + 1, 5, SCENE)
    with goal.Model(str(folder)) as m:
        text = m.encode_text([s.caption for s in scenes])
        image = m.encode_image([np.asarray(s.image) for s in scenes])
        info = m.info
    ids, mask, pixel_values = check
    t_ref = ort.InferenceSession(str(folder / "text_model.onnx")).run(["text_embeds"], {"input_ids": ids, "attention_mask": mask})[0]
    v_ref = ort.InferenceSession(str(folder / "vision_model.onnx")).run(["image_embeds"], {"pixel_values": pixel_values})[0]
    cos_t = (text * t_ref / np.linalg.norm(t_ref, axis=1, keepdims=True)).sum(1)
    cos_v = (image * v_ref / np.linalg.norm(v_ref, axis=1, keepdims=True)).sum(1)
    print(f"  goal.Model({folder}): {info}; cosine with onnxruntime: text min {cos_t.min():.6f}, image min {cos_v.min():.6f}")
    if not (cos_t.min() > 0.9999 and cos_v.min() > 0.9999):
        raise SystemExit("goal's embeddings differ from onnxruntime's")
    return {"text_min_cos": float(cos_t.min()), "image_min_cos": float(cos_v.min()), "context_length": info.context_length}


# ------------------------------------------------------------------------------------------------
# Publishing
# ------------------------------------------------------------------------------------------------

def folder_size(folder):
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def publish(work, name, args, log, command):
    import torch

    source = work / name
    PUBLISH_DIR.mkdir(parents=True, exist_ok=True)
    for file in ("text_model.onnx", "vision_model.onnx", "tokenizer.json", "preprocessor_config.json", "config.json"):
        shutil.copyfile(source / file, PUBLISH_DIR / file)
    check = check_inputs()
    goal_check = check_with_goal(PUBLISH_DIR, check)
    model = new_model(args)
    model.load_state_dict(torch.load(work / f"{name}.pt"))
    params = sum(p.numel() for p in model.parameters())
    files = {p.name: p.stat().st_size for p in sorted(PUBLISH_DIR.iterdir()) if p.is_file() and p.name != "README.md"}
    (PUBLISH_DIR / "README.md").write_text(readme(name, args, log, command, params, files, goal_check))
    print(f"published {name} to {PUBLISH_DIR} ({folder_size(PUBLISH_DIR) / 1e6:.1f} MB)")


def readme(name, args, log, command, params, files, goal_check):
    val = log.get(name, {}).get("validation", {})
    rows = "\n".join(f"| `{f}` | {size / 1e6:.2f} MB |" for f, size in files.items())
    provenance = "".join(f"\n{line}\n" for line in log.get("provenance", []))
    description = ("global loss + contrastive loss on LISM-matched (crop, sentence) pairs, weight "
                   f"{args.local_weight}, + TSL on {'every proposal and sentence' if args.tsl == 'all' else 'the matched pairs'}"
                   if name == "goal" else "global contrastive loss only")
    measured = ""
    report = ROOT / "docs" / "experiment.json"
    if report.exists():
        r = json.loads(report.read_text())["results"].get(name)
        if r:
            loc = r["localisation"]
            per_kind = r["hard_negatives"]["per_kind"]
            measured = f"""
Measured through goal on held-out scenes (`docs/EXPERIMENT.md`, `docs/experiment.json`):
text->image R@1 {r["hard_negatives"]["t2i_r1"]:.2f} and image->text R@1 {r["hard_negatives"]["i2t_r1"]:.2f} against
{r["hard_negatives"]["negatives"]} hard negatives (chance {1 / (r["hard_negatives"]["negatives"] + 1):.2f}); own scene preferred to one negative with a
changed colour {per_kind["colour"]["t2i"]:.2f}, size {per_kind["size"]["t2i"]:.2f}, shape {per_kind["shape"]["t2i"]:.2f}, position {per_kind["position"]["t2i"]:.2f},
swapped colours {per_kind["swap"]["t2i"]:.2f} (chance 0.5); R@1 over {r["pool"]["n"]} scenes {r["pool"]["t2i_r1"]:.2f} / {r["pool"]["i2t_r1"]:.2f};
LISM puts a sentence about an object on the quadrant or centre holding it {loc["pooled/standalone"]["object"]["with_whole_image"]:.2f} of the time
with pooled regions (goal's default) and {loc["crop/standalone"]["object"]["with_whole_image"]:.2f} with crops (chance 1/6).
"""
    total = sum(files.values())
    return f"""# goal-tiny

goal's default model: a tiny CLIP trained from scratch, on a CPU in minutes, on the synthetic
world of `tools/world/` (one to five coloured shapes -- circle, square, triangle, star; eight
colours; small or large; in the four quadrants or the centre -- on plain or textured
backgrounds, with long captions of one sentence per object plus relations and the background).
It has learnt that world -- imperfectly, see below -- and nothing else: it is for demos, tests
and examples of goal's global and local matching (LISM / FLISM), not for real photographs.

It is the **{name}** fine-tune of `tools/train_tiny_clip.py` ({description}),
chosen over the other fine-tune by `tools/world_experiment.py` (see `docs/EXPERIMENT.md`).
{measured}
## Architecture

Hugging Face `CLIPModel` layout (opens in goal, transformers-based ONNX tooling and onnxruntime):

- text: CLIP BPE vocabulary (49408 tokens), **248 positions** (Long-CLIP / GOAL context),
  width {args.text_width}, {args.text_layers} layers, {args.text_width // 16} heads, causal mask, pooled at the first end token
- vision: ViT, {IMAGE}x{IMAGE} px input, {PATCH} px patches ({IMAGE // PATCH}x{IMAGE // PATCH} grid, so the quadrants and the
  centre box fall on whole patches), width {args.vision_width}, {args.vision_layers} layers, {args.vision_width // 32} heads
- joint embedding: {args.dim} dimensions; {params / 1e6:.2f} M parameters in all
- preprocessing: OpenAI CLIP's (bicubic resize of the short side to {IMAGE}, centre crop, CLIP mean/std)

## Files

| file | size |
| --- | --- |
{rows}
| total | {total / 1e6:.2f} MB |

`text_model.onnx` (inputs `input_ids`, `attention_mask`; outputs `text_embeds`,
`last_hidden_state`) and `vision_model.onnx` (input `pixel_values`; outputs `image_embeds`,
`last_hidden_state`): TorchScript exporter, opset 17, dynamic batch (text: dynamic sequence
too, up to 248). Weights of 1024 elements or more -- above all the 49408 x {args.text_width} token table,
most of the size -- are stored as float16, each followed by a `Cast` to float32 (so the token
`Gather` reads float32); biases, norms and small tensors are float32. The PyTorch model was
rounded the same way before export. onnxruntime reproduces PyTorch within 1e-4{"; goal reproduces onnxruntime with cosine > 0.9999" if goal_check else ""}.

## How it was made

Regenerate (all stages with the defaults, then this folder; training runs on the CPU):

```sh
{command}
```
{provenance}
Seeds: model init {args.seed}; scenes `tools/world` seed {args.data_seed} (base), {args.data_seed + 1} (both fine-tunes);
validation seed {VAL_SEED}; the experiment's held-out seeds are others (see docs/EXPERIMENT.md).
Stages with 2 torch threads on a 2-core machine busy with other jobs (load average 4-10, so
CPU time is the better guide to an idle machine): base {log.get("base", {}).get("steps")} steps
({log.get("base", {}).get("minutes")} min wall clock, {log.get("base", {}).get("cpu_minutes")} min CPU time), then the {name} fine-tune
{log.get(name, {}).get("steps")} steps ({log.get(name, {}).get("minutes")} min wall clock, {log.get(name, {}).get("cpu_minutes")} min CPU time); each step is {args.batch} fresh
scenes, each with one hard negative (position, shape, colour, size or colour swap changed;
positions 3 times in 8, shapes twice).
Losses at the end (mean of the last {args.log_every} steps): base {log.get("base", {}).get("final_losses")},
{name} {log.get(name, {}).get("final_losses")}.

Validation in PyTorch on 200 scenes of seed {VAL_SEED}: {", ".join(f"{k} {v:.3f}" for k, v in val.items())}.

## Vocabulary: origin and licence

`tokenizer.json` is the Hugging Face layout of OpenAI CLIP's BPE vocabulary and merges
(`bpe_simple_vocab_16e6.txt.gz` from https://github.com/openai/CLIP), copied from
`fixtures/tokenizer/tokenizer.json`; it is distributed under the MIT License, Copyright (c) 2021
OpenAI (full text in `fixtures/tokenizer/NOTICE.md`). The weights were trained from scratch here
and contain nothing of OpenAI's models; only the vocabulary is shared, so ids are those of every
CLIP.
"""


# ------------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stages", default="base,global,goal,export",
                        help="comma-separated: base, global, goal, export (default: all)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/world-models"))
    parser.add_argument("--publish", choices=["goal", "global", "base"], default="goal",
                        help="the model copied to models/goal-tiny/ by the export stage")
    parser.add_argument("--no-publish", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=48, help="scenes per step (each with one hard negative)")
    parser.add_argument("--base-steps", type=int, default=1000)
    parser.add_argument("--ft-steps", type=int, default=250)
    parser.add_argument("--base-lr", type=float, default=1e-3)
    parser.add_argument("--ft-lr", type=float, default=3e-4)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--scale-lr-mult", type=float, default=10.0, help="learning-rate multiplier of the temperature")
    parser.add_argument("--pairs", type=int, default=2, help="LISM pairs per scene in the local loss")
    parser.add_argument("--local-weight", type=float, default=0.5)
    parser.add_argument("--tsl-weight", type=float, default=1.0)
    parser.add_argument("--tsl", choices=["matched", "all"], default="all",
                        help="TSL on every region and sentence (default) or on the matched pairs only (GOAL's choice)")
    parser.add_argument("--text-width", type=int, default=64)
    parser.add_argument("--text-layers", type=int, default=4)
    parser.add_argument("--vision-width", type=int, default=128)
    parser.add_argument("--vision-layers", type=int, default=4)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--log-every", type=int, default=25)
    parser.add_argument("--val-every", type=int, default=0, help="also validate every N steps (0: at the end only)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    log_path = work / "train_log.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {}
    log["args"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    command = "python3 tools/train_tiny_clip.py" + "".join(f" {a}" for a in sys.argv[1:])

    def save_log():
        log_path.write_text(json.dumps(log, indent=2) + "\n")

    for stage in stages:
        if stage not in ("base", "global", "goal", "export"):
            raise SystemExit(f"unknown stage {stage!r}")
        if stage == "export":
            continue
        model = new_model(args)
        if stage != "base":
            model.load_state_dict(torch.load(work / "base.pt"))
        train(model, stage, args, log)
        log[stage]["validation"] = validate(model)
        torch.save(model.state_dict(), work / f"{stage}.pt")
        log[stage]["command"] = command
        save_log()

    if "export" in stages:
        check = check_inputs()
        for name in ("base", "global", "goal"):
            if not (work / f"{name}.pt").exists():
                print(f"  no {work / f'{name}.pt'}: {name} not exported")
                continue
            model = new_model(args)
            model.load_state_dict(torch.load(work / f"{name}.pt"))
            model.eval()
            diffs = write_folder(model, work / name, check)
            log.setdefault(name, {})["export_max_diff"] = max(v for k, v in diffs.items() if k != "fp16_min_cos")
            log[name]["fp16_min_cos"] = diffs["fp16_min_cos"]
            log[name]["folder_bytes"] = folder_size(work / name)
        save_log()
        if not args.no_publish:
            canonical = "python3 tools/train_tiny_clip.py" + ("" if args.publish == "goal" else f" --publish {args.publish}")
            publish(work, args.publish, args, log, canonical)
        save_log()


if __name__ == "__main__":
    main()
