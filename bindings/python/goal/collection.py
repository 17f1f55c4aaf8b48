"""A folder of images as a searchable collection: `goal encode-dir`, `goal index build`, `goal search`.

    goal encode-dir MODEL DIR -o OUT [--shard-size N] [--batch-size N] [--progress | -q]
    goal index build OUT -o INDEX
    goal search MODEL INDEX CAPTION [-k 10] [--rerank late|lism] [--candidates C] [--weight W] [--json]
    goal search MODEL INDEX --image QUERY [-k 10] [--json]

`goal encode-dir` encodes every .jpg, .jpeg and .png file under DIR (subfolders included; hidden
files and folders, and OUT if it lies inside DIR, left out), sorted by their path relative to DIR
(compared folder by folder), into OUT:

    manifest.json      written first: {"format": "goal-encode-dir", "version": 1, "model": the model's
                       path, its info and the size and SHA-256 of the files images go through
                       (vision graph, preprocessing and model configs), "dim", "root": DIR
                       (absolute), "shard_size", "count", "files": [[relative path, size,
                       modification time in ns], ...]}
    shard-00000.json   shard i covers files[i * shard_size : (i + 1) * shard_size]: {"shard": i,
                       "files": those paths, "encoded": the paths of the .npy's rows, in order,
                       "errors": [{"file": path, "error": message}, ...] for the images that could
                       not be read}
    shard-00000.npy    (len(encoded), dim) float32, one L2-normalised row per encoded image

Every file is written to a temporary file, flushed to disk (fsync) and renamed, the .json before
the .npy, and the folder is fsynced after each shard; a shard is done when its .npy is there and
its .json names the shard's files. A rerun with the same MODEL, DIR and OUT (after a crash, a kill,
a full disk) skips the done shards and does the rest: no finished shard is redone, none is lost. A
rerun whose folder has changed (files added, removed, or of another size or time) or whose model
differs stops with a message saying what changed, and leaves OUT alone. An image the library cannot
read is recorded in its shard's errors and left out of the rows; the run goes on.

`goal index build OUT -o INDEX` adds every shard's rows to a goal.Index with ids 0, 1, 2, ... in
shard order (the row numbers of the shards put end to end) and writes INDEX and the id -> path
sidecar INDEX.json ({"format": "goal-index-paths", "root", "model", "dim", "count", "paths":
[relative path of id 0, of id 1, ...]}).

`goal search` encodes the caption (or, with --image, an image: image -> image search), searches
INDEX and prints rank, score and path (root joined with the relative path) of the k best. With
--rerank, the first C results (C = --candidates) are re-ranked by (1 - W) x global cosine +
W x local score (goal.rerank; text queries only) and the columns are final, global and local
score; with k above C, the results after the first C keep the index's order (local shown as -).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
from typing import Optional, Sequence

import numpy as np

from ._errors import GoalError, InternalError, OutOfMemoryError
from .cli import IMAGE_SUFFIXES, InputError, _count, check_output, file_sha256, open_model, write_atomically
from .index import Index
from .retrieval import METHODS, rerank

FORMAT = "goal-encode-dir"
INDEX_PATHS_FORMAT = "goal-index-paths"
VERSION = 1
DEFAULT_SHARD_SIZE = 1024
MANIFEST = "manifest.json"
# Test hook: a run SIGKILLs itself after writing this many shards, as an interrupted run would stop.
KILL_AFTER_ENV = "GOAL_ENCODE_DIR_KILL_AFTER"

FATAL_ERRORS = (OutOfMemoryError, InternalError)


# ---- arguments ----------------------------------------------------------------------------------

def _weight(text: str) -> float:
    from .evaluate import _weight as parse
    return parse(text)


def command_parsers(model_options: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    encode = argparse.ArgumentParser(prog="goal encode-dir", parents=[model_options],
                                     description="Encode a folder of images, subfolders included, into shards "
                                     "of embeddings; a rerun resumes.",
                                     epilog="See goal/collection.py for the files written.")
    encode.add_argument("folder", metavar="DIR", help="the folder of .jpg, .jpeg and .png images")
    encode.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="the folder to write the manifest and shards to (made if missing)")
    encode.add_argument("--shard-size", type=_count(1), metavar="N",
                        help=f"images per shard (default {DEFAULT_SHARD_SIZE}; a rerun keeps the first run's)")
    encode.add_argument("--batch-size", type=_count(1), default=16, metavar="N",
                        help="images per run of the model (default 16)")
    encode.add_argument("--progress", action="store_true",
                        help="draw the progress bar even when stderr is not a terminal")
    encode.add_argument("-q", "--quiet", action="store_true", help="draw no progress bar and print no summary")
    encode.set_defaults(run=run_encode_dir)

    index = argparse.ArgumentParser(prog="goal index", description="Build a goal.Index from encode-dir's shards.")
    index.add_argument("action", choices=("build",), help="build: shards to index")
    index.add_argument("shards", metavar="OUT", help="a folder written by goal encode-dir")
    index.add_argument("-o", "--output", required=True, metavar="INDEX",
                       help="the index file to write (and INDEX.json, the id -> path sidecar)")
    index.add_argument("-q", "--quiet", action="store_true", help="print no summary")
    index.set_defaults(run=run_index)

    search = argparse.ArgumentParser(prog="goal search", parents=[model_options],
                                     description="Search an index built by goal index build with a caption "
                                     "(or an image) and print the best images.")
    search.add_argument("index", metavar="INDEX", help="an index file with its INDEX.json sidecar")
    search.add_argument("caption", metavar="CAPTION", nargs="?", help="the text to search for")
    search.add_argument("--image", metavar="QUERY", help="search with this image instead of a caption")
    search.add_argument("-k", type=_count(1), default=10, metavar="K", help="how many results (default 10)")
    search.add_argument("--rerank", choices=METHODS, help="re-rank the first candidates with a local score")
    search.add_argument("--candidates", type=_count(1), default=20, metavar="C",
                        help="how many of the first results to re-rank (default 20)")
    search.add_argument("--weight", type=_weight, default=0.5, metavar="W",
                        help="the local score's share of the final score, 0 to 1 (default 0.5)")
    search.add_argument("--json", action="store_true", help="print the results as one JSON object")
    search.set_defaults(run=run_search, parser=search)
    return {"encode-dir": encode, "index": index, "search": search}


# ---- the folder ---------------------------------------------------------------------------------

def list_images(root: str, exclude: Optional[str] = None) -> list[str]:
    """Relative paths (with "/") of the images under root, sorted folder by folder."""
    found: list[tuple[str, ...]] = []
    excluded = os.path.realpath(exclude) if exclude else None
    for folder, folders, files in os.walk(root):
        folders[:] = [d for d in folders if not d.startswith(".")
                      and (excluded is None or os.path.realpath(os.path.join(folder, d)) != excluded)]
        relative = os.path.relpath(folder, root)
        parts = () if relative == "." else tuple(relative.split(os.sep))
        for name in files:
            if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES) \
                    and os.path.isfile(os.path.join(folder, name)):
                found.append(parts + (name,))
    return ["/".join(parts) for parts in sorted(found)]


def file_entries(root: str, files: Sequence[str]) -> list[list]:
    entries = []
    for name in files:
        st = os.stat(os.path.join(root, name))
        entries.append([name, st.st_size, st.st_mtime_ns])
    return entries


def model_fingerprint(model) -> dict:
    """What image embeddings depend on: the model's info and the files images go through."""
    files = {}
    for role in ("vision_model", "preprocessor_config", "model_config"):
        path = model.files.get(role)
        if path is not None:
            files[role] = {"name": os.path.basename(path), "size": os.path.getsize(path), "sha256": file_sha256(path)}
    return {"info": dataclasses.asdict(model.info), "files": files}


def shard_name(index: int, suffix: str) -> str:
    return f"shard-{index:05d}.{suffix}"


def read_json(path: str):
    with open(path, "rb") as f:
        # surrogateescape: file names that are not UTF-8 were written that way (write_json)
        return json.loads(f.read().decode("utf-8", "surrogateescape"))


def write_json(path: str, value) -> None:
    text = json.dumps(value, ensure_ascii=False, indent=1) + "\n"
    write_atomically(path, lambda f: f.write(text.encode("utf-8", "surrogateescape")))


def read_manifest(folder: str) -> dict:
    path = os.path.join(folder, MANIFEST)
    try:
        manifest = read_json(path)
    except FileNotFoundError:
        raise InputError(f"{folder}: no {MANIFEST}; it is not a folder `goal encode-dir` wrote") from None
    except (ValueError, UnicodeDecodeError):
        raise InputError(f"{path}: damaged (not JSON)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"{path}: not a manifest `goal encode-dir` wrote")
    if manifest.get("version") != VERSION:
        raise InputError(f"{path}: version {manifest.get('version')}; this goal reads version {VERSION}")
    return manifest


def shard_files(manifest: dict, index: int) -> list[str]:
    size = manifest["shard_size"]
    return [entry[0] for entry in manifest["files"][index * size:(index + 1) * size]]


def shard_count(manifest: dict) -> int:
    return -(-len(manifest["files"]) // manifest["shard_size"])


def done_shard(folder: str, manifest: dict, index: int) -> Optional[dict]:
    """The shard's record when the shard is complete and belongs to this manifest, else None."""
    array, record = os.path.join(folder, shard_name(index, "npy")), os.path.join(folder, shard_name(index, "json"))
    if not (os.path.exists(array) and os.path.exists(record)):
        return None
    try:
        meta = read_json(record)
        rows = np.load(array, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(meta, dict) or meta.get("files") != shard_files(manifest, index):
        return None
    if rows.shape != (len(meta.get("encoded", [])), manifest["dim"]):
        return None
    return meta


def describe_changes(old: list, new: list) -> str:
    before, after = {e[0]: e for e in old}, {e[0]: e for e in new}
    added = [n for n in after if n not in before]
    removed = [n for n in before if n not in after]
    changed = [n for n in after if n in before and list(before[n]) != list(after[n])]
    parts = []
    for label, names in (("added", added), ("removed", removed), ("changed", changed)):
        if names:
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            parts.append(f"{len(names)} {label} ({shown})")
    return "; ".join(parts)


def _without_prefixes(message: str, path: str) -> str:
    if message.startswith("image 0: "):
        message = message[len("image 0: "):]
    if message.startswith(path + ": "):
        message = message[len(path) + 2:]
    return message


def encode_images(model, paths: Sequence[str], batch_size: int = 16) -> tuple[np.ndarray, list[Optional[str]]]:
    """(rows, errors): an (n, dim) float32 array with one row per path (zeros where it could not
    be read) and, per path, None or the library's message. A batch that fails is encoded again
    one image at a time, so one bad file costs only itself."""
    paths = [os.fspath(p) for p in paths]
    rows = np.zeros((len(paths), model.info.dim), dtype=np.float32)
    errors: list[Optional[str]] = [None] * len(paths)
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        try:
            rows[start:start + len(chunk)] = model.encode_image(chunk)
            continue
        except FATAL_ERRORS:
            raise
        except GoalError:
            pass
        for i, path in enumerate(chunk, start):
            try:
                rows[i] = model.encode_image([path])[0]
            except FATAL_ERRORS:
                raise
            except GoalError as error:
                errors[i] = _without_prefixes(error.message, path)
    return rows, errors


def fsync_folder(folder: str) -> None:
    """Makes the renames in `folder` durable (a rename is an entry of the folder, not of the file)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_shard(folder: str, index: int, files: Sequence[str], rows: np.ndarray,
                errors: Sequence[Optional[str]]) -> dict:
    """Writes shard `index` of OUT: its .json (files, encoded, errors), then its .npy (the rows of
    the encoded files), each atomically. `rows` has one row per file; rows of failed files are
    left out."""
    keep = [i for i, e in enumerate(errors) if e is None]
    meta = {"shard": index, "files": list(files), "encoded": [files[i] for i in keep],
            "errors": [{"file": files[i], "error": e} for i, e in enumerate(errors) if e is not None]}
    write_json(os.path.join(folder, shard_name(index, "json")), meta)
    array = np.ascontiguousarray(rows[keep], dtype=np.float32)
    write_atomically(os.path.join(folder, shard_name(index, "npy")), lambda f: np.save(f, array))
    fsync_folder(folder)
    return meta


def new_manifest(model_path: str, model, root: str, entries: list, shard_size: int) -> dict:
    return {"format": FORMAT, "version": VERSION,
            "model": {"path": os.path.abspath(model_path), **model_fingerprint(model)},
            "dim": model.info.dim, "root": os.path.abspath(root), "shard_size": shard_size,
            "count": len(entries), "files": entries}


def remove_temporaries(folder: str) -> None:
    """Temporary files a killed run left (write_atomically's ".NAME.*.tmp")."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_file():
                os.unlink(entry.path)


# ---- encode-dir ---------------------------------------------------------------------------------

def prepare_output(args, root: str, entries: list, model) -> tuple[dict, bool]:
    """The manifest to work by, and whether it was there already (a resumed run)."""
    out = args.output
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"{out}: is a file; give a folder for the shards")
    if not os.path.isdir(out):
        parent = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(parent):
            raise InputError(f"{out}: the folder {parent} does not exist")
        os.mkdir(out)
    if not os.path.exists(os.path.join(out, MANIFEST)):
        if any(not name.startswith(".") for name in os.listdir(out)):
            raise InputError(f"{out}: not empty and has no {MANIFEST}; give a new or empty folder")
        manifest = new_manifest(args.model, model, root, entries, args.shard_size or DEFAULT_SHARD_SIZE)
        write_json(os.path.join(out, MANIFEST), manifest)
        fsync_folder(out)
        return manifest, False
    manifest = read_manifest(out)
    fingerprint = model_fingerprint(model)
    old = {k: manifest["model"].get(k) for k in ("info", "files")}
    if old != fingerprint:
        raise InputError(f"{out} was encoded with another model ({manifest['model'].get('path')}, "
                         f"{_model_summary(old)}), not {args.model} ({_model_summary(fingerprint)}); "
                         "give another OUT")
    if manifest["root"] != os.path.abspath(root):
        raise InputError(f"{out} holds the images of {manifest['root']}, not {os.path.abspath(root)}; "
                         "give another OUT")
    if manifest["files"] != entries:
        raise InputError(f"{root} has changed since {out} was started: "
                         f"{describe_changes(manifest['files'], entries)}; give another OUT (or delete it "
                         "to start again)")
    if args.shard_size is not None and args.shard_size != manifest["shard_size"]:
        raise InputError(f"{out} has shards of {manifest['shard_size']} images, not {args.shard_size}; "
                         "leave --shard-size out to resume it")
    return manifest, True


def _model_summary(fingerprint: dict) -> str:
    files = fingerprint.get("files") or {}
    vision = files.get("vision_model") or {}
    info = fingerprint.get("info") or {}
    return (f"dim {info.get('dim')}, {vision.get('name')} sha256 {str(vision.get('sha256'))[:12]}")


def run_encode_dir(args) -> int:
    from .pairs import _Bar

    root = args.folder
    if not os.path.isdir(root):
        raise InputError(f"{root}: not a folder")
    files = list_images(root, exclude=args.output)
    if not files:
        raise InputError(f"{root}: no .jpg, .jpeg or .png files (subfolders included)")
    entries = file_entries(root, files)
    kill_after = int(os.environ.get(KILL_AFTER_ENV, "0") or 0)
    with open_model(args, batch_size=args.batch_size) as model:
        if not model.info.has_image:
            raise InputError(f"{args.model}: the model has no image tower")
        manifest, resumed = prepare_output(args, root, entries, model)
        out = args.output
        remove_temporaries(out)
        shards = shard_count(manifest)
        pending = [i for i in range(shards) if done_shard(out, manifest, i) is None]
        total = sum(len(shard_files(manifest, i)) for i in pending)
        shown = not args.quiet and (args.progress or sys.stderr.isatty())
        written = 0
        with _Bar(total, "images", enabled=shown) as bar:
            for i in pending:
                names = shard_files(manifest, i)
                rows = np.zeros((len(names), manifest["dim"]), dtype=np.float32)
                errors: list[Optional[str]] = []
                for start in range(0, len(names), args.batch_size):
                    chunk = names[start:start + args.batch_size]
                    chunk_rows, chunk_errors = encode_images(model, [os.path.join(root, n) for n in chunk],
                                                             args.batch_size)
                    rows[start:start + len(chunk)] = chunk_rows
                    errors += chunk_errors
                    for name, error in zip(chunk, chunk_errors):
                        if error is not None and not args.quiet:
                            bar.say(f"goal: {name}: {error}")
                    bar.update(len(chunk))
                write_shard(out, i, names, rows, errors)
                written += 1
                if kill_after and written >= kill_after:
                    os.kill(os.getpid(), signal.SIGKILL)
    if not args.quiet:
        metas = [done_shard(out, manifest, i) for i in range(shards)]
        encoded = sum(len(m["encoded"]) for m in metas if m)
        failed = sum(len(m["errors"]) for m in metas if m)
        print(f"goal: {root}: {len(files)} images in {shards} shards of {manifest['shard_size']}: "
              f"{written} written now, {shards - written} done before; {encoded} encoded, {failed} unreadable",
              file=sys.stderr)
    return 0


# ---- index build --------------------------------------------------------------------------------

def sidecar_path(index_path: str) -> str:
    return index_path + ".json"


def run_index(args) -> int:
    manifest = read_manifest(args.shards)
    check_output(args.output)
    shards = shard_count(manifest)
    metas = [done_shard(args.shards, manifest, i) for i in range(shards)]
    missing = [i for i, m in enumerate(metas) if m is None]
    if missing:
        shown = ", ".join(shard_name(i, "npy") for i in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise InputError(f"{args.shards}: {len(missing)} of {shards} shards are not done ({shown}); "
                         "run goal encode-dir again to finish them")
    index = Index(manifest["dim"])
    paths: list[str] = []
    for i, meta in enumerate(metas):
        rows = np.load(os.path.join(args.shards, shard_name(i, "npy")), allow_pickle=False)
        if len(rows):
            index.add(rows, ids=np.arange(len(paths), len(paths) + len(rows), dtype=np.int64))
        paths += meta["encoded"]
    failed = sum(len(m["errors"]) for m in metas)
    sidecar = {"format": INDEX_PATHS_FORMAT, "version": VERSION, "index": os.path.basename(args.output),
               "root": manifest["root"], "model": manifest["model"], "dim": manifest["dim"],
               "count": len(paths), "paths": paths}
    write_json(sidecar_path(args.output), sidecar)
    index.save(args.output)
    index.close()
    if not args.quiet:
        print(f"goal: {args.output}: {len(paths)} images of {manifest['dim']} dims from {shards} shards"
              + (f" ({failed} unreadable left out)" if failed else "")
              + f"; paths by id in {sidecar_path(args.output)}", file=sys.stderr)
    return 0


# ---- search -------------------------------------------------------------------------------------

def read_sidecar(index_path: str) -> dict:
    path = sidecar_path(index_path)
    try:
        sidecar = read_json(path)
    except FileNotFoundError:
        raise InputError(f"{path}: missing; an index made by `goal index build` has it beside it") from None
    except (ValueError, UnicodeDecodeError):
        raise InputError(f"{path}: damaged (not JSON)") from None
    if not isinstance(sidecar, dict) or sidecar.get("format") != INDEX_PATHS_FORMAT:
        raise InputError(f"{path}: not a sidecar `goal index build` wrote")
    return sidecar


def run_search(args) -> int:
    if (args.caption is None) == (args.image is None):
        args.parser.error("give a CAPTION or --image QUERY (one of them)")
    if args.rerank and args.image is not None:
        args.parser.error("--rerank needs a caption (text -> image)")
    sidecar = read_sidecar(args.index)
    with Index.load(args.index) as index, open_model(args) as model:
        if index.dim != model.info.dim:
            raise InputError(f"{args.index} holds {index.dim}-dim vectors; {args.model} makes {model.info.dim}")
        if args.image is not None:
            query = model.encode_image([args.image])
        else:
            query = model.encode_text([args.caption])
        wanted = max(args.k, args.candidates) if args.rerank else args.k
        scores, ids = index.search(query, wanted)
        scores, ids = scores[0].astype(np.float64), ids[0]
        root, names = sidecar["root"], sidecar["paths"]
        paths = [os.path.join(root, names[int(i)]) for i in ids]
        local = None
        if args.rerank:
            c = min(args.candidates, len(ids))
            result = rerank(model, args.caption, paths[:c], scores[:c], method=args.rerank, weight=args.weight)
            order = np.concatenate([result.order, np.arange(c, len(ids))]).astype(np.int64)
            final = np.concatenate([result.final, scores[c:]])
            local = np.concatenate([result.local_scores, np.full(len(ids) - c, np.nan)])
        else:
            order, final = np.arange(len(ids)), scores
    order = order[:args.k]
    results = []
    for rank, position in enumerate(order, 1):
        record = {"rank": rank, "id": int(ids[position]), "path": paths[position], "score": float(final[position])}
        if local is not None:
            record["global"] = float(scores[position])
            record["local"] = None if np.isnan(local[position]) else float(local[position])
        results.append(record)
    if args.json:
        query = {"text": args.caption} if args.image is None else {"image": args.image}
        settings = {"method": args.rerank, "candidates": min(args.candidates, len(ids)), "weight": args.weight} \
            if args.rerank else None
        print(json.dumps({"query": query, "index": args.index, "rerank": settings, "results": results},
                         ensure_ascii=False))
    else:
        for r in results:
            if local is None:
                print(f"{r['rank']:>4}  {r['score']:.4f}  {r['path']}")
            else:
                shown = "   -   " if r["local"] is None else f"{r['local']:.4f}"
                print(f"{r['rank']:>4}  {r['score']:.4f}  global {r['global']:.4f}  local {shown}  {r['path']}")
    return 0
