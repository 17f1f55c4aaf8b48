"""`goal eval`: text-to-image and image-to-text retrieval over a dataset, by the GOAL papers'
protocol, with and without local re-ranking.

    goal eval MODEL DATASET [--k 1 5 25 50] [--rerank late|lism] [--candidates C] [--weight W ...]
              [--images-root DIR] [--cache DIR | --no-cache] [--json REPORT.json]
              [--batch-size N] [--long-text truncate|fail|sentences] [--progress | -q]

Protocol. Every caption and every image is encoded once into its global embedding (L2-normalised);
similarity is their cosine (computed in float64). Text-to-image: each caption ranks every image of
the dataset; image-to-text: each image ranks every caption. R@k is the percentage of queries whose
true item is among the first k (for an image with several captions, its best-placed caption). An
item ranks before the true one when its score is higher, or equal with a lower index. k beyond
the number of items is kept as asked, covers every item (R@k = 100) and is reported as clipped.

Re-ranking (--rerank): each query's first C items by the global cosine are re-ordered by
(1 - W) x global cosine + W x local score (goal.retrieval: "late" is FILIP late interaction, "lism"
the mean over sentences of each sentence's best region cosine); items after the first C keep their
places, so only R@k with k < C can change. Several --weight values are reported side by side from
one computation of the local scores.

DATASET is a JSON list or JSON Lines of {"image": PATH, "caption": TEXT} (also "file_name",
"image_path", "image_file"; "text", "description", or a list of captions); relative image paths
start from --images-root, else from the dataset file's folder.

Cache: embeddings and local features are kept in --cache DIR (default $XDG_CACHE_HOME/goal/eval,
else ~/.cache/goal/eval), in a folder named by a hash of the model's files (path, size and
modification time of each file of the model's folders), the convention and long-text setting, the
dataset file's content (SHA-256) and each image's path, size and modification time. A rerun with
the same model and dataset reads them instead of encoding again, so only the re-ranking is redone.
Every cache file is written to a temporary file and renamed.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import time
from typing import Optional

import numpy as np

from . import __version__, library_version
from ._errors import GoalError
from ._progress import Progress
from .cli import InputError, _count, check_output, encode_in_chunks, file_sha256, open_model, write_atomically
from .retrieval import (DEFAULT_KS, METHODS, Dataset, DatasetError, LocalMethod, clipped_ks, load_dataset,
                        local_method, recalls, reranked_ranks, top_candidates, true_ranks)

CACHE_VERSION = 1


# ---- arguments ----------------------------------------------------------------------------------

def _weight(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not from 0 to 1")
    return value


def command_parsers(model_options: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    parser = argparse.ArgumentParser(
        prog="goal eval", parents=[model_options],
        description="Text-to-image and image-to-text recall (R@k) over a dataset of images with captions, "
        "optionally with local re-ranking.",
        epilog="See goal/evaluate.py for the protocol, the dataset format and the cache.")
    parser.add_argument("dataset", metavar="DATASET", help="a JSON list or JSON Lines file of {\"image\", \"caption\"}")
    parser.add_argument("--images-root", metavar="DIR",
                        help="the folder relative image paths start from (default: the dataset file's folder)")
    parser.add_argument("--k", type=_count(1), nargs="+", default=list(DEFAULT_KS), metavar="K",
                        help="the recalls to report (default 1 5 25 50)")
    parser.add_argument("--rerank", choices=METHODS, help="also report recalls after re-ranking each query's "
                        "first candidates with a local score: late (FILIP) or lism")
    parser.add_argument("--candidates", type=_count(1), default=10, metavar="C",
                        help="how many of each query's first items to re-rank (default 10)")
    parser.add_argument("--weight", type=_weight, nargs="+", default=[0.5], metavar="W",
                        help="the local score's share of the final score, 0 to 1 (default 0.5); "
                        "several values are reported side by side")
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument("--cache", metavar="DIR", help="where embeddings are kept between runs "
                       "(default $XDG_CACHE_HOME/goal/eval or ~/.cache/goal/eval)")
    cache.add_argument("--no-cache", action="store_true", help="neither read nor write cached embeddings")
    parser.add_argument("--json", metavar="REPORT.json", help="also write the whole report as JSON")
    parser.add_argument("--batch-size", type=_count(1), default=16, metavar="N",
                        help="inputs per run of the model (default 16)")
    parser.add_argument("--long-text", choices=("truncate", "fail", "sentences"), default="truncate",
                        help="a caption longer than the context: cut it (default, as the papers do), "
                        "refuse it, or average its sentences")
    parser.add_argument("--progress", action="store_true",
                        help="draw progress bars even when stderr is not a terminal")
    parser.add_argument("-q", "--quiet", action="store_true", help="never draw progress bars")
    parser.set_defaults(run=run_eval, parser=parser)
    return {"eval": parser}


# ---- cache --------------------------------------------------------------------------------------

def default_cache_folder() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "goal", "eval")


def _stamp(path: str) -> list:
    try:
        st = os.stat(path)
        return [os.path.realpath(path), st.st_size, st.st_mtime_ns]
    except OSError:
        return [os.path.realpath(path), None, None]


def model_stamp(model) -> dict:
    """What identifies a model's files without reading them: path, size and modification time of
    every file it names and of every other file in their folders (external weights included)."""
    files = {role: path for role, path in model.files.items() if path is not None}
    folders = sorted({os.path.dirname(os.path.abspath(p)) for p in files.values()})
    others = []
    for folder in folders:
        with os.scandir(folder) as entries:
            others += sorted(_stamp(e.path) for e in entries if e.is_file())
    return {"files": {role: _stamp(p) for role, p in sorted(files.items())}, "folders": others,
            "info": dataclasses.asdict(model.info)}


class Cache:
    """Arrays kept in one folder per (model, settings, dataset) key; None folder: no cache."""

    def __init__(self, folder: Optional[str], key: dict):
        self.key = key
        self.name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
        self.folder = os.path.join(folder, self.name) if folder is not None else None
        self.used: dict[str, str] = {}

    def load(self, name: str, mmap: bool = False) -> Optional[np.ndarray]:
        if self.folder is None:
            return None
        path = os.path.join(self.folder, name + ".npy")
        if not os.path.exists(path):
            return None
        try:
            return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (OSError, ValueError):
            return None  # damaged: made again

    def save(self, name: str, array: np.ndarray) -> None:
        """Keeps the array for the next run; a cache that cannot be written is reported once and
        the run goes on without it."""
        if self.folder is None:
            return
        try:
            os.makedirs(self.folder, exist_ok=True)
            key_file = os.path.join(self.folder, "key.json")
            if not os.path.exists(key_file):
                text = json.dumps({"version": CACHE_VERSION, **self.key}, indent=1)
                write_atomically(key_file, lambda f: f.write(text.encode("utf-8", "surrogateescape")))
            write_atomically(os.path.join(self.folder, name + ".npy"),
                             lambda f: np.save(f, np.ascontiguousarray(array)))
        except OSError as error:
            print(f"goal: warning: the cache {self.folder} cannot be written ({error.strerror or error}); "
                  "going on without it", file=sys.stderr)
            self.folder = None


def cache_key(model, dataset: Dataset, args) -> dict:
    return {
        "version": CACHE_VERSION,
        "model": model_stamp(model),
        "long_text": args.long_text,
        "dataset": {"path": os.path.realpath(dataset.path), "sha256": file_sha256(dataset.path),
                    "images": [_stamp(p) for p in dataset.images]},
    }


# ---- encoding -----------------------------------------------------------------------------------

def _shown(args, total: int) -> bool:
    return not args.quiet and (args.progress or sys.stderr.isatty()) and total > 1


def global_embeddings(model, dataset: Dataset, cache: Cache, args, timings: dict) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for name, items, encode in (("texts", dataset.captions, model.encode_text),
                                ("images", dataset.images, model.encode_image)):
        start = time.perf_counter()
        array = cache.load(name)
        if array is not None and array.shape == (len(items), model.info.dim):
            cache.used[name] = "cached"
        else:
            array = encode_in_chunks(encode, items, args, name)
            cache.save(name, array)
            cache.used[name] = "computed"
        timings[f"{name}_seconds"] = time.perf_counter() - start
        out.append(array)
    return out[0], out[1]


def _features(compute, items: list, what: str, args, label: str) -> list[np.ndarray]:
    out = []
    with Progress(len(items), label, enabled=_shown(args, len(items))) as bar:
        for i, item in enumerate(items):
            try:
                out.append(compute(item))
            except GoalError as error:
                raise type(error)(f"{what} {i}: {error.message}", error.status) from None
            bar.update()
    return out


def _stacked_features(compute, items: list, args, label: str) -> np.ndarray:
    """(n, r, dim) float32 of features that have one shape for every item (an image's patches or
    regions), written straight into one array."""
    out: Optional[np.ndarray] = None
    with Progress(len(items), label, enabled=_shown(args, len(items))) as bar:
        for i, item in enumerate(items):
            try:
                value = compute(item)
            except GoalError as error:
                raise type(error)(f"image {i}: {error.message}", error.status) from None
            if out is None:
                out = np.empty((len(items),) + value.shape, dtype=np.float32)
            out[i] = value
            bar.update()
    return out


def local_features(model, method: LocalMethod, dataset: Dataset, cache: Cache, args, timings: dict):
    """(text features as one array + offsets, image features (n, r, dim)), cached like the rest."""
    start = time.perf_counter()
    name = method.name
    texts, offsets = cache.load(f"{name}-texts", mmap=True), cache.load(f"{name}-texts-offsets")
    if texts is not None and offsets is not None and offsets.shape == (len(dataset.captions) + 1,) \
            and texts.shape == (int(offsets[-1]), model.info.dim):
        cache.used[f"{name}-texts"] = "cached"
    else:
        parts = _features(lambda c: method.text_features(model, c), dataset.captions, "caption", args,
                          f"{name} texts")
        offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
        texts = np.concatenate(parts).astype(np.float32)
        cache.save(f"{name}-texts-offsets", offsets)
        cache.save(f"{name}-texts", texts)
        cache.used[f"{name}-texts"] = "computed"
    images = cache.load(f"{name}-images", mmap=True)
    if images is not None and images.ndim == 3 and images.shape[0] == len(dataset.images) \
            and images.shape[2] == model.info.dim:
        cache.used[f"{name}-images"] = "cached"
    else:
        images = _stacked_features(lambda p: method.image_features(model, p), dataset.images, args,
                                   f"{name} images")
        cache.save(f"{name}-images", images)
        cache.used[f"{name}-images"] = "computed"
    timings[f"{name}_features_seconds"] = time.perf_counter() - start
    return texts, offsets, images


# ---- the run ------------------------------------------------------------------------------------

DIRECTION_LABELS = {"text_to_image": "text->image", "image_to_text": "image->text"}


def evaluate(model, dataset: Dataset, args, cache: Cache) -> dict:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    texts, images = global_embeddings(model, dataset, cache, args, timings)
    start = time.perf_counter()
    similarity = texts.astype(np.float64) @ images.astype(np.float64).T     # captions x images
    truths = {"text_to_image": [[int(j)] for j in dataset.caption_image],
              "image_to_text": dataset.image_captions}
    matrices = {"text_to_image": similarity, "image_to_text": similarity.T}
    ranks = {d: true_ranks(matrices[d], truths[d]) for d in matrices}
    metrics = {"global": {d: recalls(ranks[d], args.k) for d in matrices}}
    timings["metrics_seconds"] = time.perf_counter() - start

    report_rerank = None
    if args.rerank:
        method = local_method(args.rerank)
        text_features, offsets, image_features = local_features(model, method, dataset, cache, args, timings)
        start = time.perf_counter()

        def text(i):
            return text_features[offsets[i]:offsets[i + 1]]

        candidates, local = {}, {}
        total = len(dataset.captions) + len(dataset.images)
        with Progress(total, "re-rank", enabled=_shown(args, total)) as bar:
            candidates["text_to_image"] = top_candidates(similarity, args.candidates)
            local["text_to_image"] = []
            for i, cands in enumerate(candidates["text_to_image"]):
                local["text_to_image"].append(method.score(text(i), np.asarray(image_features[cands])))
                bar.update()
            candidates["image_to_text"] = top_candidates(similarity.T, args.candidates)
            local["image_to_text"] = []
            for j, cands in enumerate(candidates["image_to_text"]):
                patches = np.asarray(image_features[j])
                local["image_to_text"].append(np.array([method.score(text(int(i)), patches)[0] for i in cands]))
                bar.update()
        metrics["reranked"] = []
        for weight in args.weight:
            entry = {"method": args.rerank, "candidates": args.candidates, "weight": weight}
            for d in matrices:
                new = reranked_ranks(matrices[d], truths[d], candidates[d], local[d], weight, ranks[d])
                entry[d] = recalls(new, args.k)
            metrics["reranked"].append(entry)
        timings["rerank_seconds"] = time.perf_counter() - start
        report_rerank = {"method": args.rerank, "candidates": args.candidates, "weights": args.weight,
                         "formula": "(1 - weight) * global_cosine + weight * local_score",
                         "local_score": {"late": "FILIP late interaction, mean of text-to-image and "
                                         "image-to-text (cosines)",
                                         "lism": "mean over sentences of the best region's cosine "
                                         "(whole image, quadrants, centre; pooled)"}[args.rerank]}
    timings["total_seconds"] = time.perf_counter() - started
    n_captions, n_images = len(dataset.captions), len(dataset.images)
    return {
        "goal": __version__,
        "library": library_version(),
        "model": {"path": args.model, "files": model.files, **dataclasses.asdict(model.info)},
        "dataset": {"path": dataset.path, "images_root": args.images_root,
                    "sha256": cache.key["dataset"]["sha256"]},
        "counts": {"captions": n_captions, "images": n_images,
                   "candidates": {"text_to_image": min(args.candidates, n_images),
                                  "image_to_text": min(args.candidates, n_captions)} if args.rerank else None},
        "protocol": "cosine of L2-normalised global embeddings; R@k in percent; ties ranked by lower index",
        "k": list(args.k),
        "k_clipped": {"text_to_image": clipped_ks(args.k, n_images), "image_to_text": clipped_ks(args.k, n_captions)},
        "metrics": metrics,
        "settings": {"rerank": report_rerank, "batch_size": args.batch_size, "threads": args.threads,
                     "convention": model.info.convention, "long_text": args.long_text},
        "cache": {"folder": cache.folder, "files": dict(cache.used)},
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }


def describe(report: dict) -> str:
    ks = report["k"]
    header = " " * 14 + "".join(f"{'R@' + str(k):>9}" for k in ks)

    def rows(metrics: dict) -> list[str]:
        return [f"{DIRECTION_LABELS[d]:<14}" + "".join(f"{metrics[d][f'R@{k}']:>9.2f}" for k in ks)
                for d in ("text_to_image", "image_to_text")]

    counts = report["counts"]
    lines = [f"dataset  {report['dataset']['path']}: {counts['captions']} captions, {counts['images']} images",
             f"model    {report['model']['path']}", "", "global (cosine)", header]
    lines += rows(report["metrics"]["global"])
    for entry in report["metrics"].get("reranked", []):
        lines += ["", f"re-ranked: {entry['method']}, first {entry['candidates']} candidates, weight {entry['weight']:g}",
                  header]
        lines += rows(entry)
    for d, noun in (("text_to_image", "images"), ("image_to_text", "captions")):
        clipped = report["k_clipped"][d]
        if clipped:
            count = next(iter(clipped.values()))
            verb = "covers" if len(clipped) == 1 else "cover"
            lines.append(f"note: {DIRECTION_LABELS[d]}: {', '.join(clipped)} {verb} all {count} {noun} "
                         f"(k clipped to {count})")
    timings = report["timings"]
    cached = [name for name, how in report["cache"]["files"].items() if how == "cached"]
    lines.append(f"time: {timings['total_seconds']:.2f} s" + (f" (from the cache: {', '.join(cached)})" if cached else ""))
    return "\n".join(lines)


def run_eval(args) -> int:
    args.k = sorted(set(args.k))
    if args.json:
        check_output(args.json)
    if args.images_root is not None and not os.path.isdir(args.images_root):
        raise InputError(f"{args.images_root}: the images root is not a folder")
    try:
        dataset = load_dataset(args.dataset, args.images_root)
    except DatasetError as error:
        raise InputError(str(error)) from None
    with open_model(args, long_text=args.long_text, batch_size=args.batch_size) as model:
        if not (model.info.has_text and model.info.has_image):
            raise InputError(f"{args.model}: retrieval needs a text and an image tower")
        if args.rerank and not model.info.patch_size:
            raise InputError(f"{args.model}: the image tower has no patches for local re-ranking")
        folder = None if args.no_cache else (args.cache or default_cache_folder())
        cache = Cache(folder, cache_key(model, dataset, args))
        report = evaluate(model, dataset, args, cache)
    print(describe(report))
    if args.json:
        text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
        write_atomically(args.json, lambda f: f.write(text.encode("utf-8")))
    return 0
