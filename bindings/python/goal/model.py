"""goal.Model: a CLIP model folder opened by libgoal, with NumPy in and out."""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import Iterable, Sequence, Union

import numpy as np

from . import _capi
from ._default import default_model_path
from ._errors import BufferTooSmallError, InvalidArgumentError
from ._handle import OwnedHandle

ImageInput = Union[str, os.PathLike, bytes, bytearray, memoryview, np.ndarray]

_CONVENTIONS = {
    "auto": _capi.GOAL_CONVENTION_AUTO,
    "huggingface": _capi.GOAL_CONVENTION_HUGGINGFACE,
    "openai": _capi.GOAL_CONVENTION_OPENAI,
}
_LONG_TEXT = {
    "truncate": _capi.GOAL_LONG_TEXT_TRUNCATE,
    "fail": _capi.GOAL_LONG_TEXT_FAIL,
    "sentences": _capi.GOAL_LONG_TEXT_SENTENCES,
}
_FILES = {
    "text_model": _capi.GOAL_OPTION_TEXT_MODEL,
    "vision_model": _capi.GOAL_OPTION_VISION_MODEL,
    "tokenizer": _capi.GOAL_OPTION_TOKENIZER,
    "preprocessor_config": _capi.GOAL_OPTION_PREPROCESSOR_CONFIG,
    "model_config": _capi.GOAL_OPTION_MODEL_CONFIG,
}


@dataclass(frozen=True)
class ModelInfo:
    """What a model is: its embedding width, text context (start and end tokens included), the
    side of its square input image and of a patch (0 when there is none), and its convention
    ("huggingface" or "openai")."""

    dim: int
    context_length: int
    image_size: int
    patch_size: int
    convention: str
    has_text: bool
    has_image: bool


@dataclass(frozen=True)
class TextTokens:
    """Token-level embeddings of a text: one row per token of its sequence, start and end tokens
    included. `spans[i]` is token i's (start, end) in the text, in characters of the str."""

    text: str
    ids: np.ndarray
    spans: list[tuple[int, int]]
    embeddings: np.ndarray


@dataclass(frozen=True)
class ImageTokens:
    """Patch embeddings of an image, one row per patch, row by row over a `grid` of
    (rows, columns) patches."""

    grid: tuple[int, int]
    embeddings: np.ndarray


def _utf8(text: str | bytes, what: str) -> bytes:
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text)
    if not isinstance(text, str):
        raise InvalidArgumentError(f"{what} must be a str or UTF-8 bytes, not {type(text).__name__}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidArgumentError(f"{what} cannot be encoded as UTF-8: {error}") from None


def _char_offsets(text: str) -> dict[int, int]:
    """Byte offset -> character offset, at every character boundary of `text`."""
    offsets = {0: 0}
    at = 0
    for i, ch in enumerate(text):
        at += len(ch.encode("utf-8", "surrogatepass"))
        offsets[at] = i + 1
    return offsets


class Model(OwnedHandle):
    """A CLIP model: a folder as Hugging Face optimum or immich lay it out, one .onnx file, or
    the files named one by one (text_model=, vision_model=, tokenizer=, ...). With none of
    these, the default model (see goal.default_model_path()).

    Embeddings come back as float32 arrays, L2-normalised per row. A Model may be used from any
    number of threads at once. Use it as a context manager, or call close(), to release it early.

    Limits (None keeps the library's default; what exceeds one raises before memory is taken):
    max_image_pixels (width x height, default Pillow's decompression-bomb size 178,956,970),
    max_text_bytes (UTF-8 bytes per text, default 1 MiB), max_tensor_elements (per tensor of a
    run, default 2**31).
    """

    _handle_kind = "model"
    _free = staticmethod(_capi.goal_model_free)

    def __init__(self, path: str | os.PathLike | None = None, *, text_model=None, vision_model=None,
                 tokenizer=None, preprocessor_config=None, model_config=None, convention: str = "auto",
                 long_text: str = "truncate", batch_size: int = 16, threads: int = 0, fuse: bool = True,
                 check: bool = True, max_image_pixels: int | None = None, max_text_bytes: int | None = None,
                 max_tensor_elements: int | None = None):
        if convention not in _CONVENTIONS:
            raise InvalidArgumentError(f"convention must be one of {sorted(_CONVENTIONS)}, not {convention!r}")
        if long_text not in _LONG_TEXT:
            raise InvalidArgumentError(f"long_text must be one of {sorted(_LONG_TEXT)}, not {long_text!r}")
        given = dict(text_model=text_model, vision_model=vision_model, tokenizer=tokenizer,
                     preprocessor_config=preprocessor_config, model_config=model_config)
        if path is None and all(value is None for value in given.values()):
            path = default_model_path()
        self.path = os.fspath(path) if path is not None else None
        self._handle = ctypes.c_void_p()
        options = ctypes.c_void_p()
        _capi.goal_options_new(ctypes.byref(options))
        try:
            _capi.goal_options_set_int(options, _capi.GOAL_OPTION_CONVENTION, _CONVENTIONS[convention])
            _capi.goal_options_set_int(options, _capi.GOAL_OPTION_LONG_TEXT, _LONG_TEXT[long_text])
            _capi.goal_options_set_int(options, _capi.GOAL_OPTION_BATCH_SIZE, int(batch_size))
            _capi.goal_options_set_int(options, _capi.GOAL_OPTION_THREADS, int(threads))
            _capi.goal_options_set_int(options, _capi.GOAL_OPTION_FUSE, int(fuse))
            _capi.goal_options_set_int(options, _capi.GOAL_OPTION_CHECK_MODEL, int(check))
            limits = {_capi.GOAL_OPTION_MAX_IMAGE_PIXELS: max_image_pixels,
                      _capi.GOAL_OPTION_MAX_TEXT_BYTES: max_text_bytes,
                      _capi.GOAL_OPTION_MAX_TENSOR_ELEMENTS: max_tensor_elements}
            for key, value in limits.items():
                if value is not None:  # None keeps the library's default
                    _capi.goal_options_set_int(options, key, int(value))
            for name, value in given.items():
                if value is not None:
                    _capi.goal_options_set_string(options, _FILES[name], os.fsencode(value))
            _capi.goal_model_open(os.fsencode(self.path) if self.path is not None else None, options,
                                  ctypes.byref(self._handle))
        finally:
            _capi.goal_options_free(options)
        self.info = ModelInfo(
            dim=self._int(_capi.GOAL_MODEL_DIM),
            context_length=self._int(_capi.GOAL_MODEL_CONTEXT_LENGTH),
            image_size=self._int(_capi.GOAL_MODEL_IMAGE_SIZE),
            patch_size=self._int(_capi.GOAL_MODEL_PATCH_SIZE),
            convention="openai" if self._int(_capi.GOAL_MODEL_CONVENTION) == _capi.GOAL_CONVENTION_OPENAI
            else "huggingface",
            has_text=bool(self._int(_capi.GOAL_MODEL_HAS_TEXT)),
            has_image=bool(self._int(_capi.GOAL_MODEL_HAS_IMAGE)),
        )
        #: The files in use, by role (None where the model uses none).
        self.files = {name: self._file(key) for name, key in _FILES.items()}

    # ---- plumbing -------------------------------------------------------------------------------

    def _int(self, key: int) -> int:
        value = ctypes.c_int64()
        _capi.goal_model_get_int(self._live(), key, ctypes.byref(value))
        return value.value

    def _file(self, key: int) -> str | None:
        raw = ctypes.c_char_p()
        _capi.goal_model_file(self._live(), key, ctypes.byref(raw))
        return os.fsdecode(raw.value) if raw.value is not None else None

    def __repr__(self) -> str:
        return f"goal.Model({self.path!r}, {self.info})"

    # ---- text -----------------------------------------------------------------------------------

    def tokenize(self, text: str | bytes, truncate: bool = True) -> list[int]:
        """Token ids with the start and end tokens, unpadded; cut to the context length (the
        end token kept last) unless truncate is False."""
        data = _utf8(text, "text")
        limit = self.info.context_length if truncate else 0
        count = ctypes.c_size_t()
        try:
            _capi.goal_model_tokenize(self._live(), data, len(data), limit, None, None, 0, ctypes.byref(count))
        except BufferTooSmallError:
            pass  # the usual answer to "how many?": count is set
        ids = (ctypes.c_int32 * max(count.value, 1))()
        _capi.goal_model_tokenize(self._live(), data, len(data), limit, ids, None, count.value, ctypes.byref(count))
        return list(ids[: count.value])

    def tokenize_batch(self, texts: Sequence[str], truncate: bool = True) -> list[list[int]]:
        """tokenize() of many texts at once, on several threads."""
        data = [_utf8(t, f"text {i}") for i, t in enumerate(texts)]
        n = len(data)
        limit = self.info.context_length if truncate else 0
        c_texts = (ctypes.c_char_p * max(n, 1))(*data)
        lengths = (ctypes.c_size_t * max(n, 1))(*[len(d) for d in data])
        offsets = np.zeros(n + 1, dtype=np.uintp)
        total = ctypes.c_size_t()
        # Room for every byte as a token is nearly always enough; if not, the call says how much.
        capacity = sum(len(d) for d in data) + 2 * n
        while True:
            ids = np.zeros(max(capacity, 1), dtype=np.int32)
            try:
                _capi.goal_model_tokenize_batch(self._live(), n, c_texts, lengths, limit,
                                                ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), capacity,
                                                offsets.ctypes.data_as(ctypes.POINTER(ctypes.c_size_t)),
                                                ctypes.byref(total))
                break
            except BufferTooSmallError:
                capacity = total.value
        return [ids[offsets[i]:offsets[i + 1]].tolist() for i in range(n)]

    def encode_text(self, texts: str | Sequence[str]) -> np.ndarray:
        """(n, dim) float32 embeddings of the texts (a single str counts as one)."""
        if isinstance(texts, (str, bytes)):
            texts = [texts]
        data = [_utf8(t, f"text {i}") for i, t in enumerate(texts)]
        n = len(data)
        out = np.empty((n, self.info.dim), dtype=np.float32)
        c_texts = (ctypes.c_char_p * max(n, 1))(*data)
        lengths = (ctypes.c_size_t * max(n, 1))(*[len(d) for d in data])
        _capi.goal_model_encode_text(self._live(), n, c_texts, lengths, _floats(out), out.size)
        return out

    def text_tokens(self, text: str) -> TextTokens:
        """Projected, normalised embeddings of every token of the text, with ids and spans."""
        data = _utf8(text, "text")
        handle = ctypes.c_void_p()
        _capi.goal_model_text_tokens(self._live(), data, len(data), ctypes.byref(handle))
        try:
            count, dim, _, _ = _token_shape(handle)
            ids_p, spans_p = ctypes.POINTER(ctypes.c_int32)(), ctypes.POINTER(ctypes.c_int64)()
            _capi.goal_tokens_text(handle, ctypes.byref(ids_p), ctypes.byref(spans_p))
            ids = np.ctypeslib.as_array(ids_p, shape=(count,)).copy()
            byte_spans = np.ctypeslib.as_array(spans_p, shape=(count, 2)).copy()
            embeddings = _token_embeddings(handle, count, dim)
        finally:
            _capi.goal_tokens_free(handle)
        if isinstance(text, str):
            to_char = _char_offsets(text)
            spans = [(to_char[int(a)], to_char[int(b)]) for a, b in byte_spans]
        else:
            spans = [(int(a), int(b)) for a, b in byte_spans]
        return TextTokens(text=text, ids=ids, spans=spans, embeddings=embeddings)

    # ---- images ---------------------------------------------------------------------------------

    def encode_image(self, images: ImageInput | Iterable[ImageInput]) -> np.ndarray:
        """(n, dim) float32 embeddings of images given as paths, encoded JPEG/PNG bytes, or uint8
        arrays (H x W gray, H x W x 1/3/4); a single path, bytes or array counts as one."""
        if isinstance(images, (str, os.PathLike, bytes, bytearray, memoryview)) or (
                isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim in (2, 3)):
            images = [images]
        images = list(images)
        out = np.empty((len(images), self.info.dim), dtype=np.float32)
        # Consecutive images of one kind go through one call.
        start = 0
        while start < len(images):
            kind = _kind(images[start], start)
            end = start
            while end < len(images) and _kind(images[end], end) == kind:
                end += 1
            self._encode_run(kind, images[start:end], out[start:end], start)
            start = end
        return out

    def _encode_run(self, kind: str, images: list, out: np.ndarray, offset: int) -> None:
        n = len(images)
        if kind == "path":
            paths = (ctypes.c_char_p * n)(*[os.fsencode(p) for p in images])
            _capi.goal_model_encode_image_files(self._live(), n, paths, _floats(out), out.size)
        elif kind == "bytes":
            blobs = [bytes(b) for b in images]
            data = (ctypes.c_void_p * n)(*[ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p) for b in blobs])
            sizes = (ctypes.c_size_t * n)(*[len(b) for b in blobs])
            _capi.goal_model_encode_image_memory(self._live(), n, data, sizes, _floats(out), out.size)
        else:
            arrays = [_pixels(a, offset + i) for i, a in enumerate(images)]
            data = (ctypes.c_void_p * n)(*[a.ctypes.data for a in arrays])
            widths = (ctypes.c_int32 * n)(*[a.shape[1] for a in arrays])
            heights = (ctypes.c_int32 * n)(*[a.shape[0] for a in arrays])
            strides = (ctypes.c_size_t * n)(*[a.strides[0] for a in arrays])
            channels = (ctypes.c_int32 * n)(*[a.shape[2] for a in arrays])
            _capi.goal_model_encode_image_pixels(self._live(), n, data, widths, heights, strides, channels,
                                                 _floats(out), out.size)

    def image_tokens(self, image: ImageInput) -> ImageTokens:
        """Projected, normalised embeddings of every patch of the image."""
        handle = ctypes.c_void_p()
        kind = _kind(image, 0)
        if kind == "path":
            _capi.goal_model_image_tokens_file(self._live(), os.fsencode(image), ctypes.byref(handle))
        elif kind == "bytes":
            blob = bytes(image)
            _capi.goal_model_image_tokens_memory(self._live(), blob, len(blob), ctypes.byref(handle))
        else:
            a = _pixels(image, 0)
            _capi.goal_model_image_tokens_pixels(self._live(), a.ctypes.data, a.shape[1], a.shape[0],
                                                 a.strides[0], a.shape[2], ctypes.byref(handle))
        try:
            count, dim, rows, columns = _token_shape(handle)
            embeddings = _token_embeddings(handle, count, dim)
        finally:
            _capi.goal_tokens_free(handle)
        return ImageTokens(grid=(rows, columns), embeddings=embeddings)


def _floats(array: np.ndarray):
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def _kind(image, index: int) -> str:
    if isinstance(image, (str, os.PathLike)):
        return "path"
    if isinstance(image, (bytes, bytearray, memoryview)):
        return "bytes"
    if isinstance(image, np.ndarray):
        return "array"
    raise InvalidArgumentError(f"image {index} is a {type(image).__name__}; give a path, encoded bytes or a uint8 array")


def _pixels(array: np.ndarray, index: int) -> np.ndarray:
    if array.dtype != np.uint8:
        raise InvalidArgumentError(f"image {index} has dtype {array.dtype}; pixels must be uint8")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise InvalidArgumentError(f"image {index} has shape {array.shape}; H x W or H x W x 1/3/4 was expected")
    # Rows may be padded (a stride), but pixels within a row must be packed.
    if array.strides[2] != 1 or array.strides[1] != array.shape[2] or array.strides[0] < 0:
        array = np.ascontiguousarray(array)
    return array


def _token_shape(handle) -> tuple[int, int, int, int]:
    count, dim = ctypes.c_size_t(), ctypes.c_size_t()
    rows, columns = ctypes.c_int64(), ctypes.c_int64()
    _capi.goal_tokens_shape(handle, ctypes.byref(count), ctypes.byref(dim), ctypes.byref(rows), ctypes.byref(columns))
    return count.value, dim.value, rows.value, columns.value


def _token_embeddings(handle, count: int, dim: int) -> np.ndarray:
    pointer = ctypes.POINTER(ctypes.c_float)()
    _capi.goal_tokens_embeddings(handle, ctypes.byref(pointer))
    if count * dim == 0:
        return np.zeros((count, dim), dtype=np.float32)
    return np.ctypeslib.as_array(pointer, shape=(count, dim)).copy()


# Local matching lives in matching.py; these make it part of the Model's interface.
from . import matching as _matching  # noqa: E402

Model.sentences = _matching.sentences
Model.region_embeddings = _matching.region_embeddings
Model.late_interaction = _matching.late_interaction
Model.local_similarity = _matching.local_similarity
Model.lism = _matching.lism
Model.heatmap = _matching.heatmap
