"""Write a small retrieval dataset of synthetic scenes (tools/world): images and long captions, in
the layout `goal eval` reads.

    python examples/python/world_dataset.py OUT [--n 40] [--seed 0] [--size 96]
    goal eval MODEL OUT/data.jsonl [--rerank late|lism ...]

OUT/images/0000.png ... and OUT/data.jsonl, one {"image": "images/0000.png", "caption": ...} per
line. Scene i of a seed is the same on every machine, whatever --n is.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from world import scenes  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Write synthetic scenes with long captions as a goal eval dataset.")
    parser.add_argument("output", metavar="OUT")
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=96, help="image side in pixels (default 96)")
    args = parser.parse_args(argv)
    os.makedirs(os.path.join(args.output, "images"), exist_ok=True)
    lines = []
    for i, scene in enumerate(scenes.generate(args.seed, args.n, size=args.size)):
        name = f"images/{i:04d}.png"
        scene.image.save(os.path.join(args.output, name))
        lines.append(json.dumps({"image": name, "caption": scene.caption}) + "\n")
    with open(os.path.join(args.output, "data.jsonl"), "w", encoding="utf-8") as f:
        f.writelines(lines)
    print(f"{args.n} scenes in {args.output}/data.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
