#!/usr/bin/env python3
"""The demo: goal's default model on scenes it has never seen.

    python examples/python/world_demo.py [MODEL] [--out demo-out] [--scenes 24] [--seed 777]

The default model (models/goal-tiny) is a tiny CLIP trained on a synthetic world of coloured
shapes with long captions (tools/world/, tools/train_tiny_clip.py). This script makes fresh
scenes of that world with a seed the training never used, then shows, with explanations:

1. retrieval: each long caption finds its scene among all the scenes;
2. hard negatives: the caption against copies of its scene with one thing changed;
3. LISM/FLISM: every sentence of a caption matched to a region of its image, with the region's
   box and score, against the truth the generator knows;
4. heatmaps: where in the image a sentence matches, written as PNGs to --out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import goal

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
from world import scenes as world  # noqa: E402  (the generator lives in tools/)

REGION_NAMES = ["whole image", "top-left quadrant", "top-right quadrant", "bottom-left quadrant",
                "bottom-right quadrant", "centre box"]


def say(text: str = "") -> None:
    print(text, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", help="a model folder (default: goal's default model)")
    parser.add_argument("--out", default="demo-out", help="where images and heatmaps go (default demo-out/)")
    parser.add_argument("--scenes", type=int, default=24, help="fresh scenes to search (default 24)")
    parser.add_argument("--seed", type=int, default=777, help="seed of the fresh scenes (default 777)")
    args = parser.parse_args()

    model = goal.Model(args.model) if args.model else goal.Model()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    size = model.info.image_size if model.info.image_size >= 64 else 96
    scenes = world.generate(args.seed, args.scenes, size=size)
    paths = []
    for i, scene in enumerate(scenes):
        paths.append(out / f"scene_{i:02d}.png")
        scene.image.save(paths[-1])
    say(f"model: {model.path}")
    say(f"       {model.info}")
    say(f"{len(scenes)} fresh scenes (seed {args.seed}) written to {out}/scene_NN.png")

    # 1. Retrieval ------------------------------------------------------------------------------
    say("\n== 1. Retrieval: each long caption against every scene")
    say("Global embeddings, cosine similarity; rank 1 means the caption found its own scene.")
    images = model.encode_image(paths)
    texts = model.encode_text([s.caption for s in scenes])
    similarity = texts @ images.T
    ranks = [int((similarity[i] > similarity[i, i]).sum()) + 1 for i in range(len(scenes))]
    for i in range(min(3, len(scenes))):
        best = int(np.argmax(similarity[i]))
        say(f"  caption of scene {i:02d}: \"{scenes[i].caption[:90]}...\"")
        say(f"    its scene ranks {ranks[i]} of {len(scenes)}; best match scene {best:02d} (cosine {similarity[i, best]:.3f})")
    r1 = np.mean([r == 1 for r in ranks])
    say(f"  text->image R@1 over all {len(scenes)} captions: {r1:.2f} (chance {1 / len(scenes):.2f})")

    # 2. Hard negatives --------------------------------------------------------------------------
    say("\n== 2. Hard negatives: the caption against its scene changed in one detail")
    scene = scenes[0]
    negatives = scene.negatives(4)
    candidates = [scene.image] + [n.image for n in negatives]
    arrays = [np.asarray(image.convert("RGB")) for image in candidates]
    scores = (model.encode_image(arrays) @ texts[0]).tolist()
    say(f"  caption: \"{scene.caption}\"")
    say(f"  {scores[0]:+.3f}  the scene itself")
    for negative, score in zip(negatives, scores[1:]):
        say(f"  {score:+.3f}  changed: {negative.change}")
    say("  The true scene should score highest: the model must bind colours, shapes, sizes and places.")

    # 3. LISM / FLISM ------------------------------------------------------------------------------
    say("\n== 3. LISM (FAST-GOAL's FLISM proposals): which region each sentence talks about")
    say("Regions: the whole image, four quadrants and a centre box; score = 100 x cosine of the")
    say("sentence's embedding with the region's (pooled patch tokens through the model's head).")
    result = model.lism(paths[0], scene.caption)
    # The generator knows, for each of its sentences, the region holding the object it names.
    truth = {(g.start, g.end): region for g, region in zip(scene.sentences, scene.region)}
    hits = total = 0
    for match in result.matches:
        sentence = result.sentences[match.sentence_index]
        expected = truth.get((sentence.start, sentence.end))
        verdict = ""
        if expected is not None:
            total += 1
            hits += match.region_index == expected
            verdict = "  correct" if match.region_index == expected else f"  (truth: {REGION_NAMES[expected]})"
        box = ", ".join(f"{v:.0f}" for v in match.box)
        say(f"  {match.score:6.2f}  {REGION_NAMES[match.region_index]:<21} [{box}]  \"{match.sentence}\"{verdict}")
    if total:
        say(f"  {hits} of {total} object sentences matched the region holding their object (chance about 1/6).")

    # 4. Heatmaps ----------------------------------------------------------------------------------
    say("\n== 4. Heatmaps: where a sentence matches, patch by patch")
    objects = [s for s in scene.sentences if s.kind == "object"][:2]
    for k, sentence in enumerate(objects):
        path = out / f"heatmap_{k}.png"
        grid = model.heatmap(paths[0], sentence.text, path=path)
        say(f"  {path}: \"{sentence.text}\" (cosine {np.nanmin(grid):+.2f} to {np.nanmax(grid):+.2f}; "
            f"red is high)")
    say(f"\nOpen {out}/ to see the scenes and heatmaps. Everything above ran in libgoal on the CPU.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
