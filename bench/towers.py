"""The towers under test: what each .onnx takes, how to feed it, and the once-per-folder check
that goal and onnxruntime compute the same thing before anything is timed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

import goal
from clip_onnx import CLIP_MEAN, CLIP_STD
import data

COSINE_FLOOR = 0.9999


@dataclass
class Tower:
    label: str     # "ViT-B/32", "text-77", ...
    kind: str      # "text" or "vision"
    path: Path     # the .onnx
    folder: Path   # the model folder it belongs to
    names: dict    # text: {"ids", "mask"}; vision: {"pixels"}
    context: int = 0     # text: positions
    static: bool = False  # text: a fixed sequence axis
    image: int = 0       # vision: side in pixels
    pad: int = 49407     # text: what pads ids (HF: the end token; OpenAI: 0)
    mean: tuple = tuple(CLIP_MEAN)
    std: tuple = tuple(CLIP_STD)

    @property
    def weight_bytes(self) -> int:
        """Bytes of the file's weights: the .onnx plus any external data beside it."""
        return self.path.stat().st_size + sum(p.stat().st_size for p in self.path.parent.glob("*.data"))


def towers_of(folder: Path, label: str, text_label: str | None = None) -> list[Tower]:
    """The towers of a model folder, as goal.Model finds them (any layout goal opens)."""
    with goal.Model(folder) as model:
        info, files = model.info, model.files
    mean, std = tuple(CLIP_MEAN), tuple(CLIP_STD)
    config = files.get("preprocessor_config")
    if config and config.endswith(".json"):
        raw = json.loads(Path(config).read_text())
        raw = raw.get("preprocess_cfg", raw)  # open_clip_config.json nests it
        mean = tuple(raw.get("image_mean", raw.get("mean", mean)))
        std = tuple(raw.get("image_std", raw.get("std", std)))
    pad = 0 if info.convention == "openai" else 49407
    if files.get("text_model") and files.get("text_model") == files.get("vision_model"):
        # Each engine would need both towers' inputs on every run; timing one tower is then not
        # what either engine does for it alone.
        raise SystemExit(f"run.py: {files['text_model']} holds both towers in one graph; the benchmark times "
                         "towers in files of their own (text_model.onnx + vision_model.onnx, or immich's layout)")
    found = []
    for kind, key in (("vision", "vision_model"), ("text", "text_model")):
        if not files.get(key):
            continue
        with goal.Graph(files[key]) as graph:
            inputs = graph.inputs
        if kind == "vision":
            pixels = next(v.name for v in inputs if v.dtype and v.dtype.startswith("float"))
            found.append(Tower(label, kind, Path(files[key]), folder, {"pixels": pixels}, image=info.image_size,
                               mean=mean, std=std))
        else:
            ints = [v for v in inputs if v.dtype in ("int64", "int32")]
            mask = next((v for v in ints if "mask" in v.name.lower()), None)
            ids = next(v for v in ints if v is not mask)
            static = ids.shape is not None and isinstance(ids.shape[1], int)
            found.append(Tower(text_label or label, kind, Path(files[key]), folder,
                               {"ids": ids.name, "mask": mask.name if mask else None},
                               context=info.context_length, static=static, pad=pad))
    return found


def ort_session(path: Path, threads: int) -> ort.InferenceSession:
    """onnxruntime as users run it (all graph optimisations), on the same thread budget."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def text_ids(model: goal.Model, tokens: int) -> list[int]:
    """`tokens` ids (start and end included) of a real caption, from goal's own tokenizer."""
    ids = model.tokenize(data.CAPTION + " " + data.CAPTION + " " + data.CAPTION, truncate=False)
    return ids[:tokens - 1] + [49407]


def feeds_for(tower: Tower, model: goal.Model, lengths: list[int], photos) -> dict[str, np.ndarray]:
    """A batch for the tower: texts of `lengths` tokens, or len(lengths) photos."""
    if tower.kind == "vision":
        return {tower.names["pixels"]: data.pixel_batch(photos, len(lengths), tower.image, tower.mean, tower.std)}
    width = tower.context if tower.static else max(lengths)
    rows = [data.text_feeds(text_ids(model, n), width, tower.pad, tower.names) for n in lengths]
    return {name: np.concatenate([r[name] for r in rows]) for name in rows[0]}


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.reshape(len(a), -1).astype(np.float64), b.reshape(len(b), -1).astype(np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def check(tower: Tower, threads: int, photos) -> dict:
    """goal.Graph vs onnxruntime on one batch of two; raises when an embedding output (rank 2)
    has a row with cosine below COSINE_FLOOR. Also compares goal.Model's end-to-end embeddings
    (its tokenizer / preprocessing) with onnxruntime's on HF-tokenizer ids / PIL pixels."""
    session = ort_session(tower.path, threads)
    with goal.Model(tower.folder, threads=threads) as model, goal.Graph(tower.path, threads=threads) as graph:
        lengths = [2, 2] if tower.kind == "vision" else [min(tower.context, 40), 12]
        feeds = feeds_for(tower, model, lengths, photos)
        theirs = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
        ours = graph.run(feeds)
        result = {"outputs": {}}
        for name, expected in theirs.items():
            if expected.dtype.kind != "f":
                continue
            cos = float(_cosines(ours[name], expected).min())
            result["outputs"][name] = {"min_cosine": cos, "max_abs_diff": float(np.abs(ours[name] - expected).max())}
            if expected.ndim == 2 and cos < COSINE_FLOOR:
                raise RuntimeError(f"{tower.path}: goal and onnxruntime disagree on '{name}' (cosine {cos:.6f})")
        embeds = next((n for n, a in theirs.items() if a.ndim == 2 and a.dtype.kind == "f"), None)
        result["end_to_end_cosine"] = _end_to_end(tower, model, session, embeds, photos)
    return result


def _end_to_end(tower, model, session, embeds, photos) -> float | None:
    if embeds is None:
        return None
    if tower.kind == "vision":
        ours = model.encode_image([str(p) for p in photos[:2]])
        feeds = {tower.names["pixels"]: data.pixel_batch(photos, 2, tower.image, tower.mean, tower.std)}
    else:
        hf = hf_tokenizer(tower.folder)
        if hf is None:
            return None
        count = lambda text: len(hf.encode(text).ids)  # noqa: E731
        texts = [data.caption_of(count, min(tower.context, 40)), data.caption_of(count, 12)]
        ours = model.encode_text(texts)
        encoded = [hf.encode(t).ids for t in texts]
        width = tower.context if tower.static else max(map(len, encoded))
        rows = [data.text_feeds(ids, width, tower.pad, tower.names) for ids in encoded]
        feeds = {name: np.concatenate([r[name] for r in rows]) for name in rows[0]}
    theirs = session.run([embeds], feeds)[0]
    return float(_cosines(ours, theirs).min())


def hf_tokenizer(folder: Path):
    path = Path(folder) / "tokenizer.json"
    if not path.exists():
        return None
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(path))


def checked(tower: Tower, threads: int, photos, cache_result: bool) -> dict:
    """check(), remembered in the folder (bench_check_<kind>.json) for made folders."""
    stamp = tower.folder / f"bench_check_{tower.kind}.json"
    if cache_result and stamp.exists():
        return json.loads(stamp.read_text())
    result = check(tower, threads, photos)
    if cache_result:
        stamp.write_text(json.dumps(result, indent=2))
    return result
