"""goal.Index: an exact embedding index (cosine similarity) over libgoal's goal_index_*."""

from __future__ import annotations

import ctypes
import os

import numpy as np

from . import _capi
from ._errors import InvalidArgumentError
from ._handle import OwnedHandle

_FLOATS = ctypes.POINTER(ctypes.c_float)
_INT64S = ctypes.POINTER(ctypes.c_int64)


class Index(OwnedHandle):
    """An exact index of float32 vectors of one dimension, each with an int64 id, searched by
    cosine similarity (FAISS's IndexIDMap over IndexFlatIP on normalised vectors, as one object).

    Vectors are L2-normalised when added and queries when searched, so scores are cosines.
    Search is exhaustive and its results are ordered by score, then by id for equal scores.
    Arrays go in as (n, dim) and come out as NumPy arrays; anything else array-like is converted
    to C-contiguous float32 (int64 for ids) first.

    Searches and saves may run on many threads at once (the GIL is released during the call);
    add and remove take the index alone. Use it as a context manager, or call close(), to
    release it early.
    """

    _handle_kind = "index"
    _free = staticmethod(_capi.goal_index_free)

    def __init__(self, dim: int):
        self._handle = ctypes.c_void_p()
        _capi.goal_index_new(_size(dim, "dim"), ctypes.byref(self._handle))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Index":
        """Opens a file written by save(). The file is memory-mapped and searched in place; a
        damaged one raises CorruptFileError (or TruncatedModelError, UnsupportedError for a newer
        format, ModelNotFoundError, ReadError), saying what was wrong."""
        self = cls.__new__(cls)
        self._handle = ctypes.c_void_p()
        _capi.goal_index_load(os.fsencode(path), ctypes.byref(self._handle))
        return self

    # ---- plumbing -------------------------------------------------------------------------------

    def __repr__(self) -> str:
        if not self._handle:
            return "goal.Index(closed)"
        return f"goal.Index(dim={self.dim}, count={len(self)})"

    # ---- facts ----------------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        """The dimension of the vectors."""
        value = ctypes.c_size_t()
        _capi.goal_index_dim(self._live(), ctypes.byref(value))
        return value.value

    def __len__(self) -> int:
        value = ctypes.c_size_t()
        _capi.goal_index_count(self._live(), ctypes.byref(value))
        return value.value

    @property
    def ntotal(self) -> int:
        """len(index), by FAISS's name."""
        return len(self)

    # ---- changes --------------------------------------------------------------------------------

    def add(self, vectors, ids=None) -> np.ndarray:
        """Adds (n, dim) vectors (one (dim,) vector counts as a row) with the given ids, or with
        the next free ids when ids is None. Returns the ids as an int64 array. Nothing is added
        when anything is refused (NaN or infinite values, a zero vector, an id given twice or
        already present, ...): InvalidArgumentError says what."""
        rows = self._rows(vectors, "vectors")
        n = rows.shape[0]
        given = None
        if ids is not None:
            given = _ids(ids, "ids")
            if given.shape[0] != n:
                raise InvalidArgumentError(f"{given.shape[0]} ids for {n} vectors")
        first = ctypes.c_int64()
        _capi.goal_index_add(self._live(), rows.ctypes.data_as(_FLOATS), n, rows.shape[1],
                             given.ctypes.data_as(_INT64S) if given is not None else None, ctypes.byref(first))
        if given is not None:
            return given.copy()
        return np.arange(first.value, first.value + n, dtype=np.int64)

    def remove(self, ids) -> None:
        """Removes the vectors with these ids. If any is not in the index nothing is removed and
        InvalidArgumentError lists the unknown ids."""
        given = _ids(ids, "ids")
        _capi.goal_index_remove(self._live(), given.ctypes.data_as(_INT64S), given.shape[0])

    # ---- search ---------------------------------------------------------------------------------

    def search(self, queries, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k stored vectors most similar to each query: (scores, ids), float32 and int64
        arrays of shape (nq, min(k, len(index))), best first (equal scores by lower id). A (dim,)
        query counts as one row: the result is still (1, ...)."""
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
            raise InvalidArgumentError(f"k must be an int, not {type(k).__name__}")
        if k < 0:
            raise InvalidArgumentError(f"k is {k}; it must be 0 or more")
        rows = self._rows(queries, "queries")
        nq = rows.shape[0]
        places = min(int(k), len(self))
        scores = np.empty((nq, places), dtype=np.float32)
        ids = np.empty((nq, places), dtype=np.int64)
        found = ctypes.c_size_t()
        _capi.goal_index_search(self._live(), rows.ctypes.data_as(_FLOATS), nq, rows.shape[1], places,
                                scores.ctypes.data_as(_FLOATS), ids.ctypes.data_as(_INT64S), scores.size,
                                ctypes.byref(found))
        if found.value < places:
            # Vectors removed by another thread since len() leave padding at the end: cut it off.
            scores, ids = scores[:, :found.value].copy(), ids[:, :found.value].copy()
        return scores, ids

    # ---- files ----------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Writes the index to path (docs/INDEX_FORMAT.md) atomically: a temporary file in the
        same folder, flushed to disk, renamed over path."""
        _capi.goal_index_save(self._live(), os.fsencode(path))

    # ---- helpers --------------------------------------------------------------------------------

    def _rows(self, values, what: str) -> np.ndarray:
        array = np.asarray(values)
        if array.dtype.kind not in "fiub":
            raise InvalidArgumentError(f"{what} must be numbers, not {array.dtype}")
        array = np.ascontiguousarray(array, dtype=np.float32)
        if array.ndim == 1:
            array = array.reshape(1, -1)
        if array.ndim != 2:
            raise InvalidArgumentError(f"{what} must be (n, dim) or (dim,), not of shape {array.shape}")
        return array


def _size(value, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidArgumentError(f"{what} must be an int, not {type(value).__name__}")
    if value < 0:
        raise InvalidArgumentError(f"{what} is {value}; it must be 0 or more")
    return int(value)


def _ids(values, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.dtype.kind not in "iu":
        raise InvalidArgumentError(f"{what} must be integers, not {array.dtype}")
    if array.ndim != 1:
        raise InvalidArgumentError(f"{what} must be one-dimensional, not of shape {array.shape}")
    if array.dtype.kind == "u" and array.size and int(array.max()) > np.iinfo(np.int64).max:
        raise InvalidArgumentError(f"{what} hold {int(array.max())}, beyond int64")
    return np.ascontiguousarray(array, dtype=np.int64)
