"""Local matching on a goal.Model: sentences, region embeddings, late interaction, LISM/FLISM,
heatmaps.

These are methods of goal.Model (attached in model.py); this module holds them and their result
types so that model.py stays about encoding.
"""

from __future__ import annotations

import ctypes
import math
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import _capi
from ._errors import BufferTooSmallError, InvalidArgumentError

_REGION_MODES = {"crop": _capi.GOAL_REGION_CROP, "pooled": _capi.GOAL_REGION_POOLED}
_SENTENCE_MODES = {"standalone": _capi.GOAL_SENTENCE_STANDALONE, "span_pooled": _capi.GOAL_SENTENCE_SPAN_POOLED}
_SOURCES = {
    _capi.GOAL_SOURCE_WHOLE_IMAGE: "whole_image",
    _capi.GOAL_SOURCE_QUADRANT: "quadrant",
    _capi.GOAL_SOURCE_CENTRE: "centre",
    _capi.GOAL_SOURCE_GRID: "grid",
    _capi.GOAL_SOURCE_BOX: "box",
    _capi.GOAL_SOURCE_MASK: "mask",
}


class Sentence(tuple):
    """A sentence of a caption: a (text, start, end) tuple, [start, end) in characters of the
    caption, with `.tokens`, its [first, last + 1) among the caption's tokens (start token at 0;
    empty when the sentence has no token)."""

    def __new__(cls, text: str, start: int, end: int, tokens: tuple[int, int]):
        self = super().__new__(cls, (text, start, end))
        self.tokens = tokens
        return self

    text = property(lambda self: self[0])
    start = property(lambda self: self[1])
    end = property(lambda self: self[2])

    def __repr__(self) -> str:
        return f"Sentence(text={self.text!r}, start={self.start}, end={self.end}, tokens={self.tokens})"

    def __reduce__(self):
        return (Sentence, (self.text, self.start, self.end, self.tokens))


@dataclass(frozen=True)
class Region:
    """A candidate region: its box (x0, y0, x1, y1) in original pixels and where it came from
    ("whole_image", "quadrant", "centre", "grid", "box" or "mask", with an index; a grid's is
    (n, row, column))."""

    box: tuple[float, float, float, float]
    source: str
    index: int | tuple[int, int, int]


@dataclass(frozen=True)
class Match:
    sentence_index: int
    region_index: int
    box: tuple[float, float, float, float]
    score: float
    sentence: str


@dataclass(frozen=True)
class LISMResult:
    """regions, sentences, scores (sentences x regions, 100 x cosine), matches (one per sentence
    that got a region) and the best pair (None when none qualifies)."""

    regions: list[Region]
    sentences: list[Sentence]
    scores: np.ndarray
    matches: list[Match]
    best: Match | None


class _Image:
    """A goal_image for one call: from a path, encoded bytes or a uint8 array."""

    def __init__(self, image):
        from .model import _kind, _pixels

        self.handle = ctypes.c_void_p()
        kind = _kind(image, 0)
        if kind == "path":
            _capi.goal_image_from_file(os.fsencode(image), ctypes.byref(self.handle))
        elif kind == "bytes":
            blob = bytes(image)
            _capi.goal_image_from_memory(blob, len(blob), ctypes.byref(self.handle))
        else:
            a = _pixels(image, 0)
            _capi.goal_image_from_pixels(a.ctypes.data, a.shape[1], a.shape[0], a.strides[0], a.shape[2],
                                         ctypes.byref(self.handle))

    def __enter__(self):
        return self.handle

    def __exit__(self, *exc):
        _capi.goal_image_free(self.handle)


def _boxes(boxes, what="boxes") -> np.ndarray:
    array = np.ascontiguousarray(np.asarray(boxes, dtype=np.float64).reshape(-1, 4) if len(boxes) else
                                 np.zeros((0, 4), dtype=np.float64))
    return array


def _char_spans(text: str | bytes, spans):
    from .model import _char_offsets

    if isinstance(text, str):
        to_char = _char_offsets(text)
        return [(to_char[a], to_char[b]) for a, b in spans]
    return list(spans)


def _sentence_list(text, raw: np.ndarray) -> list[Sentence]:
    chars = _char_spans(text, [(int(r[0]), int(r[1])) for r in raw])
    return [Sentence(text=text[a:b], start=a, end=b, tokens=(int(r[2]), int(r[3]))) for (a, b), r in zip(chars, raw)]


def sentences(self, caption: str, naive: bool = False) -> list[Sentence]:
    """The caption's sentences (see Sentence); naive=True splits at every "." as the GOAL
    paper's code does."""
    from .model import _utf8

    data = _utf8(caption, "caption")
    count = ctypes.c_size_t()
    try:
        _capi.goal_model_sentences(self._live(), data, len(data), int(naive), None, 0, ctypes.byref(count))
    except BufferTooSmallError:
        pass
    raw = np.zeros((max(count.value, 1), 4), dtype=np.int64)
    _capi.goal_model_sentences(self._live(), data, len(data), int(naive),
                               raw.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), count.value, ctypes.byref(count))
    return _sentence_list(caption, raw[: count.value])


def region_embeddings(self, image, boxes: Sequence[Sequence[float]], mode: str = "pooled") -> np.ndarray:
    """(k, dim) normalised embeddings of boxes (x0, y0, x1, y1 in original pixels) of an image:
    "pooled" averages patch states in one vision pass (TSL), "crop" encodes each crop (LISM)."""
    if mode not in _REGION_MODES:
        raise InvalidArgumentError(f"mode must be 'pooled' or 'crop', not {mode!r}")
    array = _boxes(boxes)
    out = np.empty((len(array), self.info.dim), dtype=np.float32)
    with _Image(image) as handle:
        _capi.goal_model_region_embeddings(self._live(), handle, len(array),
                                           array.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                                           _REGION_MODES[mode], out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                           out.size)
    return out


def late_interaction(self, text: str, image) -> tuple[float, float]:
    """FILIP's late interaction: (text to image, image to text), each a mean of best cosines."""
    from .model import _utf8

    data = _utf8(text, "text")
    t2i, i2t = ctypes.c_float(), ctypes.c_float()
    with _Image(image) as handle:
        _capi.goal_model_late_interaction(self._live(), data, len(data), handle, ctypes.byref(t2i), ctypes.byref(i2t))
    return t2i.value, i2t.value


def local_similarity(self, text: str, image) -> float:
    """The mean of the two directions of late_interaction."""
    t2i, i2t = late_interaction(self, text, image)
    return (t2i + i2t) / 2


def lism(self, image, caption: str, boxes=None, masks=None, mode: str = "pooled", one_to_one: bool = False,
         min_score: float | None = None, grid=None, sentence_mode: str = "standalone",
         naive_sentences: bool = False, spatial_division: bool = True,
         best_excludes_whole_image: bool = False, max_regions: int | None = None,
         max_sentences: int | None = None) -> LISMResult:
    """Local image-sentence matching. Regions: the whole image (region 0), FAST-GOAL's spatial
    division (unless spatial_division=False), `grid` (an int or ints: n x n cells), `boxes`
    from any detector and the tight boxes of binary `masks` (H x W arrays) covering 1 %-80 % of
    the image. Each sentence takes its best region (or a distinct one with one_to_one). Runs
    with more than `max_regions` regions (default 1024) or `max_sentences` sentences (512)
    raise before anything is encoded."""
    from .model import _utf8

    if mode not in _REGION_MODES:
        raise InvalidArgumentError(f"mode must be 'pooled' or 'crop', not {mode!r}")
    if sentence_mode not in _SENTENCE_MODES:
        raise InvalidArgumentError(f"sentence_mode must be one of {sorted(_SENTENCE_MODES)}, not {sentence_mode!r}")
    data = _utf8(caption, "caption")
    options = ctypes.c_void_p()
    _capi.goal_lism_options_new(ctypes.byref(options))
    result = ctypes.c_void_p()
    try:
        set_int = lambda key, value: _capi.goal_lism_options_set_int(options, key, int(value))  # noqa: E731
        set_int(_capi.GOAL_LISM_MODE, _REGION_MODES[mode])
        set_int(_capi.GOAL_LISM_SPATIAL_DIVISION, spatial_division)
        set_int(_capi.GOAL_LISM_SENTENCE_MODE, _SENTENCE_MODES[sentence_mode])
        set_int(_capi.GOAL_LISM_NAIVE_SENTENCES, naive_sentences)
        set_int(_capi.GOAL_LISM_ONE_TO_ONE, one_to_one)
        set_int(_capi.GOAL_LISM_BEST_EXCLUDES_WHOLE_IMAGE, best_excludes_whole_image)
        if max_regions is not None:
            set_int(_capi.GOAL_LISM_MAX_REGIONS, max_regions)
        if max_sentences is not None:
            set_int(_capi.GOAL_LISM_MAX_SENTENCES, max_sentences)
        for n in ([grid] if isinstance(grid, int) else list(grid or [])):
            set_int(_capi.GOAL_LISM_GRID, n)
        _capi.goal_lism_options_set_double(options, _capi.GOAL_LISM_MIN_SCORE,
                                           math.nan if min_score is None else float(min_score))
        if boxes is not None and len(boxes):
            array = _boxes(boxes)
            _capi.goal_lism_options_add_boxes(options, len(array), array.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
        for i, mask in enumerate(masks or []):
            m = np.ascontiguousarray(np.asarray(mask) != 0, dtype=np.uint8)
            if m.ndim != 2:
                raise InvalidArgumentError(f"mask {i} has shape {m.shape}; an H x W array was expected")
            _capi.goal_lism_options_add_mask(options, m.shape[1], m.shape[0], m.strides[0], m.ctypes.data)
        with _Image(image) as handle:
            _capi.goal_model_lism(self._live(), handle, data, len(data), options, ctypes.byref(result))
        return _collect(result, caption)
    finally:
        _capi.goal_lism_options_free(options)
        _capi.goal_lism_free(result)


def heatmap(self, image, text: str, path=None, opacity: float = 0.5) -> np.ndarray:
    """Where `text` matches `image`: the (H, W) float32 cosine map between the text's embedding
    and the patch embeddings, spread bilinearly over the original image's pixels; NaN where the
    centre crop cut the image away. With `path`, also writes the map blended over the image
    (`opacity` 0-1) as an RGB PNG of the image's size. See goal_model_heatmap in goal.h for the
    exact rules."""
    from .model import _utf8

    data = _utf8(text, "text")
    width, height = ctypes.c_int32(), ctypes.c_int32()
    with _Image(image) as handle:
        # Asking the size only decodes the image; no tower runs.
        try:
            _capi.goal_model_heatmap(self._live(), handle, data, len(data), None, 0, ctypes.byref(width),
                                     ctypes.byref(height))
        except BufferTooSmallError:
            pass
        out = np.empty((height.value, width.value), dtype=np.float32)
        pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        if path is None:
            _capi.goal_model_heatmap(self._live(), handle, data, len(data), pointer, out.size, ctypes.byref(width),
                                     ctypes.byref(height))
        else:
            # One tower run gives the PNG and the map.
            _capi.goal_model_heatmap_png(self._live(), handle, data, len(data), float(opacity), os.fsencode(path),
                                         pointer, out.size)
    return out


def _collect(result, caption) -> LISMResult:
    n_regions, n_sentences, n_matches = ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_size_t()
    _capi.goal_lism_counts(result, ctypes.byref(n_regions), ctypes.byref(n_sentences), ctypes.byref(n_matches))
    regions = []
    box = (ctypes.c_double * 4)()
    source, index = ctypes.c_int32(), ctypes.c_int64()
    for i in range(n_regions.value):
        _capi.goal_lism_region(result, i, box, ctypes.byref(source), ctypes.byref(index))
        kind = _SOURCES.get(source.value, "unknown")
        at = index.value
        regions.append(Region(box=tuple(box), source=kind,
                              index=(at // 10000, at // 100 % 100, at % 100) if kind == "grid" else at))
    raw = np.zeros((n_sentences.value, 4), dtype=np.int64)
    span = (ctypes.c_int64 * 4)()
    for i in range(n_sentences.value):
        _capi.goal_lism_sentence(result, i, span)
        raw[i] = list(span)
    sentence_list = _sentence_list(caption, raw)
    pointer = ctypes.POINTER(ctypes.c_float)()
    _capi.goal_lism_scores(result, ctypes.byref(pointer))
    scores = np.ctypeslib.as_array(pointer, shape=(n_sentences.value, n_regions.value)).copy() \
        if n_sentences.value and n_regions.value else np.zeros((n_sentences.value, n_regions.value), np.float32)
    s, r, score = ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_float()

    def match(si, ri, value):
        return Match(sentence_index=si, region_index=ri, box=regions[ri].box, score=value,
                     sentence=sentence_list[si].text)

    matches = []
    for i in range(n_matches.value):
        _capi.goal_lism_match(result, i, ctypes.byref(s), ctypes.byref(r), ctypes.byref(score))
        matches.append(match(s.value, r.value, score.value))
    found = ctypes.c_int32()
    _capi.goal_lism_best(result, ctypes.byref(found), ctypes.byref(s), ctypes.byref(r), ctypes.byref(score))
    best = match(s.value, r.value, score.value) if found.value else None
    return LISMResult(regions=regions, sentences=sentence_list, scores=scores, matches=matches, best=best)
