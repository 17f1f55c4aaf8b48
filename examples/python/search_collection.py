"""Search a collection of images with a long caption, then re-rank the top candidates locally.

    python examples/python/search_collection.py MODEL DIR "a long caption ..." [-k 5]
        [--rerank late|lism] [--candidates 20] [--weight 0.5]
    python examples/python/search_collection.py MODEL --world 30 [--negatives 4] [--seed 0]

With DIR: every .jpg, .jpeg and .png under DIR is encoded (goal.Model.encode_image, in batches),
put in a goal.Index (ids = positions in the sorted file list), and the caption's k best images are
printed, first by the global cosine, then after re-ranking the first --candidates of them with
goal.rerank: final = (1 - weight) x global cosine + weight x local score.

With --world N: a collection is made on the fly from tools/world's synthetic scenes -- N scenes
plus --negatives hard negatives of scene 0 (the same picture with one thing changed: a colour, a
shape, a size, a position), which is where a global embedding struggles and local evidence should
help -- and scene 0's caption is the query. The output shows where the true image lands with and
without re-ranking. (The fixture models have random weights: the figures show the machinery, not
meaning; use a trained model to see re-ranking pick out the right one of near-identical images.)

The command-line tool does the same over folders too large to hold in memory:
`goal encode-dir`, `goal index build`, `goal search --rerank` (see the README).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

import goal
from goal import collection

HERE = os.path.dirname(os.path.abspath(__file__))


def world_collection(folder: str, n: int, negatives: int, seed: int) -> tuple[list[str], str, dict]:
    """Writes scenes (and hard negatives of scene 0) as PNGs into folder; returns the paths, scene 0's
    caption and what each negative changed."""
    sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
    from world import scenes

    generated = scenes.generate(seed, n, size=96)
    paths, changes = [], {}
    for i, scene in enumerate(generated):
        path = os.path.join(folder, f"scene_{i:03d}.png")
        scene.image.save(path)
        paths.append(path)
    for j, negative in enumerate(scenes.hard_negatives(generated[0], negatives, seed=seed)):
        path = os.path.join(folder, f"negative_{j}.png")
        negative.image.save(path)
        paths.append(path)
        changes[path] = negative.change
    return paths, generated[0].caption, changes


def build_index(model: goal.Model, paths: list[str], batch_size: int = 32) -> goal.Index:
    index = goal.Index(model.info.dim)
    for start in range(0, len(paths), batch_size):
        rows, errors = collection.encode_images(model, paths[start:start + batch_size], batch_size)
        keep = [i for i, e in enumerate(errors) if e is None]
        for i, e in enumerate(errors):
            if e is not None:
                print(f"skipped {paths[start + i]}: {e}", file=sys.stderr)
        if keep:
            index.add(rows[keep], ids=np.array([start + i for i in keep], dtype=np.int64))
    return index


def show(title: str, ids, scores, paths: list[str], root: str, extra=None, changes=None, mark=None) -> None:
    print(title)
    for rank, (i, s) in enumerate(zip(ids, scores), 1):
        note = f"  ({extra[rank - 1]})" if extra is not None else ""
        if mark is not None and paths[i] == mark:
            note += "  <- the caption's image"
        elif changes and paths[i] in changes:
            note += f"  <- hard negative, {changes[paths[i]]}"
        print(f"  {rank:>3}  {s:.4f}  {os.path.relpath(paths[i], root)}{note}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Search a folder of images with a caption, with local re-ranking.")
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("folder", metavar="DIR", nargs="?")
    parser.add_argument("caption", metavar="CAPTION", nargs="?")
    parser.add_argument("--world", type=int, metavar="N", help="search N synthetic scenes instead of DIR")
    parser.add_argument("--negatives", type=int, default=4, help="hard negatives of the query scene (--world)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--rerank", choices=goal.retrieval.METHODS, default="late")
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--weight", type=float, default=0.5)
    args = parser.parse_args(argv)
    if args.world is None and (args.folder is None or args.caption is None):
        parser.error("give DIR and CAPTION, or --world N")

    with tempfile.TemporaryDirectory() as scratch, goal.Model(args.model) as model:
        truth, changes = None, {}
        if args.world is not None:
            paths, caption, changes = world_collection(scratch, args.world, args.negatives, args.seed)
            truth = paths[0]
            print(f"query (scene 0's caption): {caption}\n")
        else:
            paths = [os.path.join(args.folder, f) for f in collection.list_images(args.folder)]
            caption = args.caption
        index = build_index(model, paths)
        print(f"{len(index)} images indexed ({model.info.dim} dims)\n")

        root = scratch if args.world is not None else args.folder
        # Every image's score, so that the true image's global rank can be told too.
        scores, ids = index.search(model.encode_text([caption]), len(index))
        scores, ids = scores[0].astype(np.float64), ids[0]
        show(f"global cosine, best {args.k}:", ids[:args.k], scores[:args.k], paths, root, changes=changes, mark=truth)

        c = min(args.candidates, len(ids))
        result = goal.rerank(model, caption, [paths[i] for i in ids[:c]], scores[:c], method=args.rerank,
                             weight=args.weight, ids=ids[:c])
        top = min(args.k, c)
        print()
        show(f"re-ranked ({args.rerank}, first {c} candidates, weight {args.weight}): "
             "final = (1 - w) x global + w x local", result.ids[:top], result.scores[:top], paths, root,
             changes=changes, mark=truth, extra=[f"global {result.global_scores[p]:.4f}, local {result.local_scores[p]:.4f}"
                    for p in result.order[:top]])
        if truth is not None:
            before = list(ids).index(0) + 1
            after = list(result.ids).index(0) + 1 if 0 in result.ids else before
            print(f"\nthe caption's image: rank {before} of {len(ids)} by the global cosine, {after} after "
                  f"re-ranking" + ("" if 0 in result.ids else f" (not among the first {c} candidates)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
