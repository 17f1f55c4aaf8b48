"""Retrieval over collections: the papers' recall metrics, datasets of images with captions, and
local re-ranking of a search's top candidates.

Re-ranking (goal.rerank) mixes a candidate's global cosine with a local score on the same scale:

    final = (1 - weight) * global_cosine + weight * local_score

with local_score one of

    "late"  FILIP's token late interaction, the mean of its two directions: over the text's tokens
            (start and end tokens left out) the mean of each token's best cosine with an image
            patch, and over the patches the mean of each patch's best cosine with a token. It is
            goal.Model.local_similarity(text, image), computed in NumPy from the token embeddings
            (model.text_tokens, model.image_tokens) so that each text and image is encoded once.
    "lism"  LISM's sentence-region evidence: each sentence of the caption (model.sentences, each
            encoded on its own) takes its best region among FAST-GOAL's proposals -- the whole
            image, the four quadrants and the centre box [W/4, H/4, 3W/4, 3H/4], embedded by
            pooling the patches of one vision pass (model.region_embeddings, mode "pooled") --
            and the score is the mean over sentences of those best cosines. It equals the mean of
            model.lism(image, caption).scores.max(axis=1) / 100 (LISM prints 100 x cosine; here
            it is a plain cosine, like the global score).

Both are cosines of L2-normalised embeddings, in [-1, 1] like the global cosine; weight 0 keeps
the global order, weight 1 ranks by the local score alone. Equal final scores keep the order the
candidates came in (a search's order).
"""

from __future__ import annotations

import ctypes
import json
import os
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from . import _capi
from ._errors import BufferTooSmallError, InvalidArgumentError

METHODS = ("late", "lism")
DIRECTIONS = ("text_to_image", "image_to_text")
DEFAULT_KS = (1, 5, 25, 50)

IMAGE_KEYS = ("image", "image_path", "image_file", "file_name", "filename")
CAPTION_KEYS = ("caption", "text", "description", "captions")


# ---- local features -----------------------------------------------------------------------------

def text_token_features(model, text: str) -> np.ndarray:
    """(t, dim) float32: the text's token embeddings without the start and end tokens, as FILIP's
    late interaction uses them."""
    tokens = model.text_tokens(text).embeddings[1:-1]
    if len(tokens) == 0:
        raise InvalidArgumentError("the text has no tokens besides the start and end tokens")
    return np.ascontiguousarray(tokens, dtype=np.float32)


def image_patch_features(model, image) -> np.ndarray:
    """(p, dim) float32: the image's patch embeddings."""
    return np.ascontiguousarray(model.image_tokens(image).embeddings, dtype=np.float32)


def sentence_features(model, text: str) -> np.ndarray:
    """(s, dim) float32: each sentence of the text, encoded on its own (LISM's standalone mode)."""
    sentences = model.sentences(text)
    if not sentences:
        raise InvalidArgumentError("the caption has no sentences")
    return model.encode_text([s.text for s in sentences])


def image_size(model, image) -> tuple[int, int]:
    """(width, height) of an image as the library decodes it (nothing is encoded)."""
    from .matching import _Image

    width, height = ctypes.c_int32(), ctypes.c_int32()
    with _Image(image) as handle:
        try:
            # With no room for the map, goal_model_heatmap only decodes and reports the size.
            _capi.goal_model_heatmap(model._live(), handle, b"size", 4, None, 0, ctypes.byref(width),
                                     ctypes.byref(height))
        except BufferTooSmallError:
            pass
    return width.value, height.value


def spatial_regions(width: float, height: float) -> list[tuple[float, float, float, float]]:
    """FAST-GOAL's proposals in LISM's order: whole image, the four quadrants (top left, top right,
    bottom left, bottom right), the centre box."""
    w, h = float(width), float(height)
    return [(0.0, 0.0, w, h), (0.0, 0.0, w / 2, h / 2), (w / 2, 0.0, w, h / 2), (0.0, h / 2, w / 2, h),
            (w / 2, h / 2, w, h), (w / 4, h / 4, 3 * w / 4, 3 * h / 4)]


def region_features(model, image) -> np.ndarray:
    """(6, dim) float32: the pooled embeddings of spatial_regions() of the image (one vision pass)."""
    return model.region_embeddings(image, spatial_regions(*image_size(model, image)), mode="pooled")


def late_scores(text: np.ndarray, images: np.ndarray) -> np.ndarray:
    """FILIP's late interaction of one text's tokens (t, dim) with each of (c, p, dim) images'
    patches (or one image, (p, dim)): the mean of the text-to-image and image-to-text directions,
    one float64 per image."""
    images = np.asarray(images, dtype=np.float32)
    single = images.ndim == 2
    if single:
        images = images[None]
    dots = images @ np.asarray(text, dtype=np.float32).T          # (c, p, t)
    t2i = dots.max(axis=1).astype(np.float64).mean(axis=1)          # each token's best patch
    i2t = dots.max(axis=2).astype(np.float64).mean(axis=1)          # each patch's best token
    scores = (t2i + i2t) / 2
    return scores[0:1] if single else scores


def lism_scores(sentences: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """LISM's evidence of one caption's sentences (s, dim) in each of (c, r, dim) images' regions
    (or one image, (r, dim)): the mean over sentences of the best region's cosine."""
    regions = np.asarray(regions, dtype=np.float32)
    single = regions.ndim == 2
    if single:
        regions = regions[None]
    dots = regions @ np.asarray(sentences, dtype=np.float32).T      # (c, r, s)
    scores = dots.max(axis=1).astype(np.float64).mean(axis=1)
    return scores[0:1] if single else scores


@dataclass(frozen=True)
class LocalMethod:
    """How one local score is made: features of a text, features of an image, and the score of
    one text's features against a stack of images' features."""

    name: str
    text_features: Callable
    image_features: Callable
    score: Callable[[np.ndarray, np.ndarray], np.ndarray]


LOCAL_METHODS = {
    "late": LocalMethod("late", text_token_features, image_patch_features, late_scores),
    "lism": LocalMethod("lism", sentence_features, region_features, lism_scores),
}


def local_method(name: str) -> LocalMethod:
    if name not in LOCAL_METHODS:
        raise InvalidArgumentError(f"method must be one of {', '.join(METHODS)}, not {name!r}")
    return LOCAL_METHODS[name]


def check_weight(weight) -> float:
    try:
        value = float(weight)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"weight must be a number from 0 to 1, not {weight!r}") from None
    if not (0.0 <= value <= 1.0):
        raise InvalidArgumentError(f"weight is {weight}; it must be from 0 to 1")
    return value


def mix(global_scores, local_scores, weight: float) -> np.ndarray:
    """(1 - weight) * global + weight * local, in float64."""
    g = np.asarray(global_scores, dtype=np.float64)
    return g if weight == 0 else (1.0 - weight) * g + weight * np.asarray(local_scores, dtype=np.float64)


def order_by(scores: np.ndarray) -> np.ndarray:
    """Positions sorted by score, highest first; equal scores keep their order."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


# ---- re-ranking ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reranked:
    """A re-ranked candidate list.

    order          positions in the candidates given, best first
    scores         the final scores in that order (final[order])
    final          per candidate, in the order given: (1 - weight) * global + weight * local
    global_scores  per candidate, in the order given (float64)
    local_scores   per candidate, in the order given (float64)
    ids            the ids given, in the new order (None when no ids were given)
    """

    order: np.ndarray
    scores: np.ndarray
    final: np.ndarray
    global_scores: np.ndarray
    local_scores: np.ndarray
    ids: Optional[np.ndarray]
    method: str
    weight: float

    def ranked(self, candidates: Sequence) -> list:
        """The candidates in the new order."""
        return [candidates[i] for i in self.order]


def rerank(model, query, candidates: Sequence, global_scores=None, *, method: str = "late",
           weight: float = 0.5, direction: str = "text_to_image", ids=None) -> Reranked:
    """Re-ranks a search's candidates with a local score (see this module's text for the exact
    formula): final = (1 - weight) * global_cosine + weight * local_score.

    direction "text_to_image": `query` is a text and `candidates` are images (paths, encoded
    bytes or uint8 arrays); "image_to_text": `query` is an image and `candidates` are texts.
    global_scores are the candidates' cosines with the query, as goal.Index.search returns them
    (None: computed here from the global embeddings). method is "late" (FILIP) or "lism".
    ids (e.g. the ids row of Index.search) come back in the new order as `.ids`.
    """
    scorer = local_method(method)
    weight = check_weight(weight)
    if direction not in DIRECTIONS:
        raise InvalidArgumentError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    candidates = list(candidates)
    n = len(candidates)
    text_to_image = direction == "text_to_image"
    if global_scores is None:
        if n:
            q = model.encode_text([query]) if text_to_image else model.encode_image([query])
            c = model.encode_image(candidates) if text_to_image else model.encode_text(candidates)
            global_scores = c.astype(np.float64) @ q[0].astype(np.float64)
        else:
            global_scores = np.zeros(0)
    g = np.asarray(global_scores, dtype=np.float64).reshape(-1)
    if g.shape[0] != n:
        raise InvalidArgumentError(f"{g.shape[0]} global scores for {n} candidates")
    if not np.all(np.isfinite(g)):
        raise InvalidArgumentError("the global scores must be finite")
    given_ids = None
    if ids is not None:
        given_ids = np.asarray(ids).reshape(-1)
        if given_ids.shape[0] != n:
            raise InvalidArgumentError(f"{given_ids.shape[0]} ids for {n} candidates")
    local = np.zeros(n, dtype=np.float64)
    if n:
        if text_to_image:
            features = scorer.text_features(model, query)
            local = scorer.score(features, np.stack([scorer.image_features(model, c) for c in candidates]))
        else:
            features = scorer.image_features(model, query)
            local = np.array([scorer.score(scorer.text_features(model, c), features)[0] for c in candidates])
    final = mix(g, local, weight)
    order = order_by(final)
    return Reranked(order=order, scores=final[order], final=final, global_scores=g, local_scores=local,
                    ids=given_ids[order] if given_ids is not None else None, method=method, weight=weight)


# ---- metrics ------------------------------------------------------------------------------------

def true_ranks(similarity: np.ndarray, truth: Sequence[Sequence[int]] | np.ndarray,
               chunk: int = 512) -> np.ndarray:
    """The 0-based rank of each query's best-placed true item.

    similarity is (queries, items); truth[q] is the index of query q's true item, or a list of
    them (an image with several captions). An item ranks before the true one when it scores
    higher, or equally with a lower index -- the order goal.Index.search gives -- so ties are
    settled the same way everywhere and never in the query's favour by accident.
    """
    s = np.asarray(similarity)
    n, m = s.shape
    sets = [np.atleast_1d(np.asarray(t, dtype=np.int64)) for t in truth]
    if len(sets) != n:
        raise InvalidArgumentError(f"{len(sets)} truths for {n} queries")
    width = max((len(t) for t in sets), default=1)
    ranks = np.empty(n, dtype=np.int64)
    positions = np.arange(m)
    for start in range(0, n, chunk):
        block = s[start:start + chunk]
        best = np.full(len(block), np.iinfo(np.int64).max)
        for slot in range(width):
            true = np.array([t[min(slot, len(t) - 1)] for t in sets[start:start + chunk]], dtype=np.int64)
            score = block[np.arange(len(block)), true][:, None]
            before = (block > score) | ((block == score) & (positions[None, :] < true[:, None]))
            best = np.minimum(best, before.sum(axis=1))
        ranks[start:start + chunk] = best
    return ranks


def recalls(ranks: np.ndarray, ks: Iterable[int]) -> dict[str, float]:
    """{"R@k": percentage of queries whose true item is within the first k} for each k."""
    ranks = np.asarray(ranks)
    return {f"R@{k}": float(100.0 * np.mean(ranks < k)) if len(ranks) else 0.0 for k in ks}


def top_candidates(similarity: np.ndarray, count: int, chunk: int = 512) -> np.ndarray:
    """(queries, count) item indices, best first, equal scores by lower index (as true_ranks
    counts them)."""
    s = np.asarray(similarity)
    count = min(count, s.shape[1])
    out = np.empty((s.shape[0], count), dtype=np.int64)
    for start in range(0, s.shape[0], chunk):
        out[start:start + chunk] = np.argsort(-s[start:start + chunk], axis=1, kind="stable")[:, :count]
    return out


def reranked_ranks(similarity: np.ndarray, truth, candidates: np.ndarray, local: np.ndarray,
                   weight: float, global_ranks: Optional[np.ndarray] = None) -> np.ndarray:
    """true_ranks after re-ranking each query's candidates (its first C items, candidates[q]) by
    mix(global, local[q], weight); items after the first C keep their places, so a true item
    outside the candidates keeps its global rank."""
    s = np.asarray(similarity)
    if global_ranks is None:
        global_ranks = true_ranks(s, truth)
    ranks = np.array(global_ranks, dtype=np.int64)
    for q in range(s.shape[0]):
        true = set(np.atleast_1d(np.asarray(truth[q])).tolist())
        cands = candidates[q]
        final = mix(s[q, cands], local[q], weight)
        for place, position in enumerate(order_by(final)):
            if int(cands[position]) in true:
                ranks[q] = place
                break
    return ranks


# ---- datasets -----------------------------------------------------------------------------------

class DatasetError(ValueError):
    """A dataset file that cannot be used, with the entry at fault named."""


@dataclass(frozen=True)
class Dataset:
    """Images with captions, for the papers' protocol.

    captions        every caption, in file order
    images          every distinct image file (resolved paths), in order of first appearance
    caption_image   for each caption, the index of its image in `images`
    image_captions  for each image, the indices of its captions
    """

    path: str
    captions: list[str]
    images: list[str]
    caption_image: np.ndarray
    image_captions: list[list[int]]


def _first(record: dict, keys: Sequence[str]):
    for key in keys:
        if key in record:
            return record[key]
    return None


def read_records(path: str) -> tuple[list, str]:
    """The entries of a dataset file and what to call one in messages ("entry" or "line").

    A JSON list (or an object whose one list value is the list), else JSON Lines: one object per
    non-blank line."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path}: not UTF-8 (byte {error.start})") from None
    stripped = text.lstrip()
    if stripped.startswith("[") or stripped.startswith("{"):
        try:
            whole = json.loads(text)
        except json.JSONDecodeError:
            whole = None  # JSON Lines begin with "{" too
        if isinstance(whole, list):
            return [(i + 1, record) for i, record in enumerate(whole)], "entry"
        if isinstance(whole, dict):
            lists = [value for value in whole.values() if isinstance(value, list)]
            if len(lists) == 1 and not any(key in whole for key in CAPTION_KEYS + IMAGE_KEYS):
                return [(i + 1, record) for i, record in enumerate(lists[0])], "entry"
        if stripped.startswith("[") and whole is None:
            try:
                json.loads(text)
            except json.JSONDecodeError as error:
                raise DatasetError(f"{path}: not JSON ({error.msg}, line {error.lineno} column {error.colno})") from None
    records = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            raise DatasetError(f"{path} line {number}: not JSON ({error.msg}, column {error.colno})") from None
    return records, "line"


def load_dataset(path: str | os.PathLike, images_root: str | os.PathLike | None = None) -> Dataset:
    """Reads a dataset of {"image": PATH, "caption": TEXT} objects, as a JSON list or JSON Lines.

    The image may also be under "image_path", "image_file", "file_name" or "filename"; the caption
    under "text", "description" or "captions", and it may be a list of captions of that image. A
    relative image path starts from `images_root`, else from the dataset file's folder. An image
    named by several entries is one image with several captions. Anything missing or of the
    wrong type raises DatasetError naming the entry."""
    path = os.fspath(path)
    root = os.fspath(images_root) if images_root is not None else os.path.dirname(os.path.abspath(path))
    records, unit = read_records(path)
    captions: list[str] = []
    images: list[str] = []
    where: dict[str, int] = {}
    caption_image: list[int] = []
    for number, record in records:
        place = f"{path} {unit} {number}"
        if not isinstance(record, dict):
            raise DatasetError(f"{place}: not a JSON object")
        image = _first(record, IMAGE_KEYS)
        if not isinstance(image, str) or not image:
            raise DatasetError(f"{place}: no image path (" + ", ".join(f'"{k}"' for k in IMAGE_KEYS) + ")")
        caption = _first(record, CAPTION_KEYS)
        texts = caption if isinstance(caption, list) else [caption]
        if not texts or not all(isinstance(t, str) for t in texts):
            raise DatasetError(f"{place}: no caption (" + ", ".join(f'"{k}"' for k in CAPTION_KEYS)
                               + "; a string or a list of strings)")
        if any(not t.strip() for t in texts):
            raise DatasetError(f"{place}: an empty caption")
        resolved = os.path.normpath(os.path.join(root, image))
        if resolved not in where:
            where[resolved] = len(images)
            images.append(resolved)
        for t in texts:
            captions.append(t)
            caption_image.append(where[resolved])
    if not captions:
        raise DatasetError(f"{path}: no entries")
    owners = np.array(caption_image, dtype=np.int64)
    image_captions: list[list[int]] = [[] for _ in images]
    for i, j in enumerate(caption_image):
        image_captions[j].append(i)
    return Dataset(path=path, captions=captions, images=images, caption_image=owners,
                   image_captions=image_captions)


def clipped_ks(ks: Sequence[int], count: int) -> dict[str, int]:
    """{"R@k": count} for every k above the number of items ranked (it then covers them all)."""
    return {f"R@{k}": count for k in ks if k > count}
