"""goal: match images with long, detailed text using CLIP-family ONNX models.

Python bindings over libgoal's C interface (ctypes; no compiled extension). Set GOAL_LIBRARY
to use a particular libgoal.so.
"""

from . import _capi
from ._errors import (
    BufferTooSmallError,
    CorruptFileError,
    ExternalDataError,
    GoalError,
    IndexOutOfRangeError,
    InternalError,
    InvalidArgumentError,
    InvalidModelError,
    ModelNotFoundError,
    NotONNXError,
    OutOfMemoryError,
    PathEscapeError,
    ReadError,
    TruncatedModelError,
    UnsupportedError,
)
from ._default import default_model_path
from .graph import Graph, ValueInfo, supported_opsets
from .index import Index
from .matching import LISMResult, Match, Region, Sentence
from .model import ImageTokens, Model, ModelInfo, TextTokens
from .retrieval import Reranked, rerank

__version__ = "0.1.0"


def library_version() -> str:
    """The version of the libgoal.so actually loaded."""
    return _capi.goal_version().decode("ascii")


__all__ = [
    "Index",
    "Model",
    "rerank",
    "Reranked",
    "ModelInfo",
    "TextTokens",
    "ImageTokens",
    "Sentence",
    "Region",
    "Match",
    "LISMResult",
    "Graph",
    "ValueInfo",
    "supported_opsets",
    "library_version",
    "default_model_path",
    "GoalError",
    "InvalidArgumentError",
    "OutOfMemoryError",
    "IndexOutOfRangeError",
    "ModelNotFoundError",
    "ReadError",
    "NotONNXError",
    "TruncatedModelError",
    "InvalidModelError",
    "ExternalDataError",
    "PathEscapeError",
    "UnsupportedError",
    "InternalError",
    "BufferTooSmallError",
    "CorruptFileError",
]
