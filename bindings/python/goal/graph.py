"""goal.Graph: one ONNX file, opened and checked by libgoal, with its signature."""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import Mapping, Sequence, Union

import numpy as np

from . import _capi
from ._errors import InvalidArgumentError, UnsupportedError
from ._handle import OwnedHandle

# NumPy's names for the ONNX element types ("bfloat16" has none in NumPy itself).
_DTYPE_NAMES = {
    _capi.GOAL_DTYPE_FLOAT32: "float32",
    _capi.GOAL_DTYPE_UINT8: "uint8",
    _capi.GOAL_DTYPE_INT8: "int8",
    _capi.GOAL_DTYPE_UINT16: "uint16",
    _capi.GOAL_DTYPE_INT16: "int16",
    _capi.GOAL_DTYPE_INT32: "int32",
    _capi.GOAL_DTYPE_INT64: "int64",
    _capi.GOAL_DTYPE_STRING: "str",
    _capi.GOAL_DTYPE_BOOL: "bool",
    _capi.GOAL_DTYPE_FLOAT16: "float16",
    _capi.GOAL_DTYPE_FLOAT64: "float64",
    _capi.GOAL_DTYPE_UINT32: "uint32",
    _capi.GOAL_DTYPE_UINT64: "uint64",
    _capi.GOAL_DTYPE_COMPLEX64: "complex64",
    _capi.GOAL_DTYPE_COMPLEX128: "complex128",
    _capi.GOAL_DTYPE_BFLOAT16: "bfloat16",
}

_GOAL_DTYPES = {name: code for code, name in _DTYPE_NAMES.items() if name != "str"}

Dim = Union[int, str, None]


def _numpy_dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        try:
            import ml_dtypes  # NumPy itself has no bfloat16
        except ImportError as error:
            raise UnsupportedError("bfloat16 results need the ml_dtypes package") from error
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


@dataclass(frozen=True)
class ValueInfo:
    """A graph input or output as the file declares it.

    `dtype` is NumPy's name of the element type ("float32", "int64", ...), or None for values
    that are not tensors. `shape` holds an int per fixed axis, the symbol's name for a symbolic
    one ("batch_size") and None for an axis with neither; it is None when no shape is declared.
    """

    name: str
    dtype: str | None
    shape: tuple[Dim, ...] | None


def supported_opsets() -> tuple[int, int]:
    """The ai.onnx opsets the engine implements, inclusive."""
    low, high = ctypes.c_int64(), ctypes.c_int64()
    _capi.goal_supported_opsets(ctypes.byref(low), ctypes.byref(high))
    return low.value, high.value


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8") if raw is not None else ""


class Graph(OwnedHandle):
    """An ONNX model file, parsed and checked with libonnx, its weights resolved.

    Everything about the signature is read once at open, so the attributes stay readable after
    close(). Use it as a context manager, or call close(), to release the weights early.
    """

    _handle_kind = "graph"
    _free = staticmethod(_capi.goal_graph_free)

    def __init__(self, path: str | os.PathLike, *, check: bool = True, infer_shapes: bool = True,
                 convert_opset: bool = True, threads: int = 0, fuse: bool = True,
                 max_tensor_elements: int | None = None):
        self.path = os.fspath(path)
        self._handle = ctypes.c_void_p()
        options = ctypes.c_void_p()
        _capi.goal_options_new(ctypes.byref(options))
        try:
            _capi.goal_options_set_int(options, _capi.GOAL_OPTION_CHECK_MODEL, int(check))
            _capi.goal_options_set_int(options, _capi.GOAL_OPTION_INFER_SHAPES, int(infer_shapes))
            _capi.goal_options_set_int(options, _capi.GOAL_OPTION_CONVERT_OPSET, int(convert_opset))
            _capi.goal_options_set_int(options, _capi.GOAL_OPTION_THREADS, int(threads))
            _capi.goal_options_set_int(options, _capi.GOAL_OPTION_FUSE, int(fuse))
            if max_tensor_elements is not None:  # None keeps the library's default, 2**31
                _capi.goal_options_set_int(options, _capi.GOAL_OPTION_MAX_TENSOR_ELEMENTS, int(max_tensor_elements))
            _capi.goal_graph_open(os.fsencode(self.path), options, ctypes.byref(self._handle))
        finally:
            _capi.goal_options_free(options)
        self.ir_version = self._ir_version()
        self.producer_name, self.producer_version = self._producer()
        self.opsets = self._opsets()
        self.inputs = self._values(_capi.GOAL_IO_INPUT)
        self.outputs = self._values(_capi.GOAL_IO_OUTPUT)
        self.node_count = self._count(_capi.goal_graph_node_count)
        self.initializer_count = self._count(_capi.goal_graph_initializer_count)
        self.diagnostics = self._diagnostics()

    def run(self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Runs the graph on `feeds` (input name -> array) and returns {name: array} for the
        graph's outputs, or for exactly the values named in `outputs` (intermediates included)."""
        self._live()
        names = list(feeds)
        # np.ascontiguousarray would turn a 0-d array into a 1-d one; require() keeps the rank.
        arrays = [np.require(feeds[name], requirements="C") for name in names]
        n = len(names)
        c_names = (ctypes.c_char_p * max(n, 1))(*[name.encode("utf-8") for name in names])
        dtypes = (ctypes.c_int32 * max(n, 1))()
        ranks = (ctypes.c_int32 * max(n, 1))()
        shapes = (ctypes.POINTER(ctypes.c_int64) * max(n, 1))()
        data = (ctypes.c_void_p * max(n, 1))()
        keep = []
        for i, (name, array) in enumerate(zip(names, arrays)):
            code = _GOAL_DTYPES.get(array.dtype.name)
            if code is None:
                raise InvalidArgumentError(f"input '{name}' has dtype {array.dtype}, which libgoal does not take")
            dims = (ctypes.c_int64 * max(array.ndim, 1))(*array.shape)
            keep.append(dims)
            dtypes[i], ranks[i], shapes[i] = code, array.ndim, dims
            data[i] = array.ctypes.data if array.size else None
        wanted = list(outputs) if outputs is not None else []
        c_outputs = (ctypes.c_char_p * max(len(wanted), 1))(*[w.encode("utf-8") for w in wanted])
        results = ctypes.c_void_p()
        _capi.goal_graph_run(self._handle, n, c_names, dtypes, ranks, shapes, data, len(wanted),
                             c_outputs if wanted else None, ctypes.byref(results))
        try:
            return self._collect(results)
        finally:
            _capi.goal_results_free(results)

    @staticmethod
    def _collect(results) -> dict[str, np.ndarray]:
        count = ctypes.c_size_t()
        _capi.goal_results_count(results, ctypes.byref(count))
        name, dtype, rank, size = ctypes.c_char_p(), ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int64()
        collected = {}
        for i in range(count.value):
            _capi.goal_results_info(results, i, ctypes.byref(name), ctypes.byref(dtype), ctypes.byref(rank))
            shape = []
            for axis in range(rank.value):
                _capi.goal_results_dim(results, i, axis, ctypes.byref(size))
                shape.append(size.value)
            array = np.empty(shape, dtype=_numpy_dtype(_DTYPE_NAMES[dtype.value]))
            _capi.goal_results_copy(results, i, array.ctypes.data, array.nbytes, None)
            collected[_text(name.value)] = array
        return collected

    def __repr__(self) -> str:
        def show(values):
            return ", ".join(f"{v.name}: {v.dtype}{list(v.shape) if v.shape is not None else ''}" for v in values)

        return f"Graph({self.path!r}, inputs=[{show(self.inputs)}], outputs=[{show(self.outputs)}])"

    def _count(self, function, *args) -> int:
        count = ctypes.c_size_t()
        function(self._handle, *args, ctypes.byref(count))
        return count.value

    def _ir_version(self) -> int:
        value = ctypes.c_int64()
        _capi.goal_graph_ir_version(self._handle, ctypes.byref(value))
        return value.value

    def _producer(self) -> tuple[str, str]:
        name, version = ctypes.c_char_p(), ctypes.c_char_p()
        _capi.goal_graph_producer(self._handle, ctypes.byref(name), ctypes.byref(version))
        return _text(name.value), _text(version.value)

    def _opsets(self) -> dict[str, int]:
        opsets = {}
        domain, version = ctypes.c_char_p(), ctypes.c_int64()
        for i in range(self._count(_capi.goal_graph_opset_count)):
            _capi.goal_graph_opset(self._handle, i, ctypes.byref(domain), ctypes.byref(version))
            opsets[_text(domain.value)] = version.value
        return opsets

    def _values(self, io: int) -> list[ValueInfo]:
        values = []
        name, dtype, rank = ctypes.c_char_p(), ctypes.c_int32(), ctypes.c_int32()
        size, symbol = ctypes.c_int64(), ctypes.c_char_p()
        for i in range(self._count(_capi.goal_graph_value_count, io)):
            _capi.goal_graph_value_info(self._handle, io, i, ctypes.byref(name), ctypes.byref(dtype),
                                        ctypes.byref(rank))
            shape = None
            if rank.value >= 0:
                dims = []
                for axis in range(rank.value):
                    _capi.goal_graph_value_dim(self._handle, io, i, axis, ctypes.byref(size), ctypes.byref(symbol))
                    dims.append(size.value if size.value >= 0 else (_text(symbol.value) if symbol.value else None))
                shape = tuple(dims)
            values.append(ValueInfo(_text(name.value), _DTYPE_NAMES.get(dtype.value), shape))
        return values

    def _diagnostics(self) -> list[str]:
        text = ctypes.c_char_p()
        found = []
        for i in range(self._count(_capi.goal_graph_diagnostic_count)):
            _capi.goal_graph_diagnostic(self._handle, i, ctypes.byref(text))
            found.append(_text(text.value))
        return found
