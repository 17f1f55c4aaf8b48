"""Encode a folder of images on Ray: Ray Data's map_batches over the goal binding, one goal.Model per
worker, writing the same OUT folder as `goal encode-dir` (manifest.json and shards), so that
`goal index build OUT -o INDEX` and `goal search` work on it.

    python examples/python/ray_encode.py MODEL DIR -o OUT [--workers 2] [--batch-size 16]
        [--threads 1] [--shard-size 1024] [--address ADDRESS]

How it scales out:

- The images are a Ray Dataset of paths (`ray.data.from_items`); workers read the files
  themselves, so only paths and embeddings travel. On a cluster, DIR must be at the same path on
  every node (a shared file system).
- `map_batches(ImageEncoder, compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=...)`:
  ImageEncoder is a callable class, so each actor opens the model once (goal.Model) and then
  encodes batch after batch. `--threads` is goal's thread budget inside one actor; give each
  actor as many CPUs (num_cpus) as threads so Ray does not put more work on a node than it has
  cores.
- An image the library cannot read is recorded with its error (as `goal encode-dir` does)
  instead of failing the batch.
- The driver puts the results back in the folder's order by path and checks that every image
  came back exactly once.

Without --address, a local Ray instance is started with `--workers x --threads` CPUs. Needs
`pip install "ray[data]"`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

import numpy as np

import goal
from goal import collection


class ImageEncoder:
    """A Ray Data callable class: one goal.Model per actor, batches of image paths in, embeddings out."""

    def __init__(self, model: str, threads: int = 1, batch_size: int = 16):
        self.model = goal.Model(model, threads=threads, batch_size=batch_size)
        self.batch_size = batch_size

    def __call__(self, batch: dict) -> dict:
        paths = [str(p) for p in batch["path"]]
        rows, errors = collection.encode_images(self.model, paths, self.batch_size)
        return {"path": np.array(paths, dtype=object), "embedding": rows,
                "error": np.array([e or "" for e in errors], dtype=object),
                "worker": np.full(len(paths), os.getpid(), dtype=np.int64)}


def encode_with_ray(model: str, paths: Sequence[str], *, workers: int = 2, batch_size: int = 16,
                    threads: int = 1) -> tuple[np.ndarray, list[Optional[str]], np.ndarray, set]:
    """Encodes `paths` on the running Ray instance (ray.init first).

    Returns (rows, errors, counts, workers): rows (n, dim) float32 in the order of `paths` (zeros
    for images that could not be read), errors per path (None or the library's message), counts
    (how many times each path came back; all ones when every image was encoded exactly once) and
    the process ids of the actors that did the work."""
    import ray

    paths = [os.fspath(p) for p in paths]
    position = {p: i for i, p in enumerate(paths)}
    if len(position) != len(paths):
        raise ValueError("a path is given twice")
    dataset = ray.data.from_items([{"path": p} for p in paths])
    encoded = dataset.map_batches(
        ImageEncoder,
        fn_constructor_kwargs=dict(model=model, threads=threads, batch_size=batch_size),
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=threads,
    )
    rows: Optional[np.ndarray] = None
    errors: list[Optional[str]] = [None] * len(paths)
    counts = np.zeros(len(paths), dtype=np.int64)
    pids: set = set()
    for batch in encoded.iter_batches(batch_size=None, batch_format="numpy"):
        embeddings = np.asarray(batch["embedding"], dtype=np.float32)
        if rows is None:
            rows = np.zeros((len(paths), embeddings.shape[1]), dtype=np.float32)
        for path, row, error, pid in zip(batch["path"], embeddings, batch["error"], batch["worker"]):
            i = position[str(path)]
            counts[i] += 1
            rows[i] = row
            errors[i] = str(error) or None
            pids.add(int(pid))
    if rows is None:
        rows = np.zeros((0, 0), dtype=np.float32)
    return rows, errors, counts, pids


def write_encode_dir(out: str, model: str, root: str, files: Sequence[str], rows: np.ndarray,
                     errors: Sequence[Optional[str]], shard_size: int) -> dict:
    """Writes OUT as `goal encode-dir` does (see goal/collection.py): the manifest, then the shards."""
    entries = collection.file_entries(root, files)
    with goal.Model(model) as m:
        manifest = collection.new_manifest(model, m, root, entries, shard_size)
    os.makedirs(out, exist_ok=True)
    if os.listdir(out):
        raise SystemExit(f"ray_encode: {out} is not empty; give a new folder")
    collection.write_json(os.path.join(out, collection.MANIFEST), manifest)
    for i in range(collection.shard_count(manifest)):
        part = slice(i * shard_size, (i + 1) * shard_size)
        collection.write_shard(out, i, list(files[part]), rows[part], list(errors[part]))
    return manifest


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Encode a folder of images with goal on Ray Data.")
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("folder", metavar="DIR")
    parser.add_argument("-o", "--output", required=True, metavar="OUT")
    parser.add_argument("--workers", type=int, default=2, help="actors, each with its own model (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="goal threads (and Ray CPUs) per actor (default 1)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--shard-size", type=int, default=collection.DEFAULT_SHARD_SIZE)
    parser.add_argument("--address", help="a running Ray cluster (default: start a local one)")
    args = parser.parse_args(argv)

    import ray

    files = collection.list_images(args.folder, exclude=args.output)
    if not files:
        raise SystemExit(f"ray_encode: no .jpg, .jpeg or .png files under {args.folder}")
    # The workers need the same goal (and libgoal.so) as this process.
    env = {k: os.environ[k] for k in ("GOAL_LIBRARY", "PYTHONPATH") if k in os.environ}
    if args.address:
        ray.init(address=args.address, runtime_env={"env_vars": env})
    else:
        ray.init(num_cpus=args.workers * args.threads, include_dashboard=False, runtime_env={"env_vars": env})
    try:
        paths = [os.path.join(args.folder, f) for f in files]
        rows, errors, counts, pids = encode_with_ray(args.model, paths, workers=args.workers,
                                                     batch_size=args.batch_size, threads=args.threads)
    finally:
        ray.shutdown()
    if not np.all(counts == 1):
        raise SystemExit(f"ray_encode: {int(np.sum(counts != 1))} images did not come back exactly once")
    write_encode_dir(args.output, args.model, args.folder, files, rows, errors, args.shard_size)
    failed = sum(e is not None for e in errors)
    print(f"ray_encode: {len(files)} images on {len(pids)} workers: {len(files) - failed} encoded, "
          f"{failed} unreadable; shards in {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
