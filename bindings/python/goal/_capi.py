"""One ctypes declaration per function of include/goal.h, and the header's constants.

Functions returning a goal_status raise the matching GoalError subclass, with the text of
goal_last_error(), instead of returning nonzero. Nothing here owns objects; see graph.py.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, c_char_p, c_double, c_float, c_int32, c_int64, c_size_t, c_uint32, c_void_p

from ._errors import error_for
from ._loader import load_library

lib = load_library()

# Status codes (goal_status). Pinned in the header; tests compare these with it.
GOAL_OK = 0
GOAL_ERR_INVALID_ARGUMENT = 1
GOAL_ERR_OUT_OF_MEMORY = 2
GOAL_ERR_INDEX_OUT_OF_RANGE = 3
GOAL_ERR_NOT_FOUND = 4
GOAL_ERR_IO = 5
GOAL_ERR_NOT_ONNX = 6
GOAL_ERR_TRUNCATED = 7
GOAL_ERR_INVALID_MODEL = 8
GOAL_ERR_EXTERNAL_DATA = 9
GOAL_ERR_PATH_ESCAPE = 10
GOAL_ERR_UNSUPPORTED = 11
GOAL_ERR_INTERNAL = 12
GOAL_ERR_BUFFER_TOO_SMALL = 13
GOAL_ERR_CORRUPT = 14

# Element types (goal_dtype), ONNX's TensorProto.DataType numbers.
GOAL_DTYPE_UNDEFINED = 0
GOAL_DTYPE_FLOAT32 = 1
GOAL_DTYPE_UINT8 = 2
GOAL_DTYPE_INT8 = 3
GOAL_DTYPE_UINT16 = 4
GOAL_DTYPE_INT16 = 5
GOAL_DTYPE_INT32 = 6
GOAL_DTYPE_INT64 = 7
GOAL_DTYPE_STRING = 8
GOAL_DTYPE_BOOL = 9
GOAL_DTYPE_FLOAT16 = 10
GOAL_DTYPE_FLOAT64 = 11
GOAL_DTYPE_UINT32 = 12
GOAL_DTYPE_UINT64 = 13
GOAL_DTYPE_COMPLEX64 = 14
GOAL_DTYPE_COMPLEX128 = 15
GOAL_DTYPE_BFLOAT16 = 16

# Option keys (goal_option).
GOAL_OPTION_CHECK_MODEL = 1
GOAL_OPTION_INFER_SHAPES = 2
GOAL_OPTION_CONVERT_OPSET = 3
GOAL_OPTION_THREADS = 4
GOAL_OPTION_FUSE = 5
GOAL_OPTION_CONVENTION = 6
GOAL_OPTION_LONG_TEXT = 7
GOAL_OPTION_BATCH_SIZE = 8
GOAL_OPTION_MAX_TENSOR_ELEMENTS = 9
GOAL_OPTION_MAX_IMAGE_PIXELS = 10
GOAL_OPTION_MAX_TEXT_BYTES = 11
GOAL_OPTION_TEXT_MODEL = 100
GOAL_OPTION_VISION_MODEL = 101
GOAL_OPTION_TOKENIZER = 102
GOAL_OPTION_PREPROCESSOR_CONFIG = 103
GOAL_OPTION_MODEL_CONFIG = 104

# Conventions and long-text rules.
GOAL_CONVENTION_AUTO = 0
GOAL_CONVENTION_HUGGINGFACE = 1
GOAL_CONVENTION_OPENAI = 2
GOAL_LONG_TEXT_TRUNCATE = 0
GOAL_LONG_TEXT_FAIL = 1
GOAL_LONG_TEXT_SENTENCES = 2

# Model facts (goal_model_key).
GOAL_MODEL_DIM = 1
GOAL_MODEL_CONTEXT_LENGTH = 2
GOAL_MODEL_IMAGE_SIZE = 3
GOAL_MODEL_PATCH_SIZE = 4
GOAL_MODEL_CONVENTION = 5
GOAL_MODEL_HAS_TEXT = 6
GOAL_MODEL_HAS_IMAGE = 7

# Local matching.
GOAL_REGION_CROP = 0
GOAL_REGION_POOLED = 1
GOAL_SENTENCE_STANDALONE = 0
GOAL_SENTENCE_SPAN_POOLED = 1
GOAL_LISM_MODE = 1
GOAL_LISM_SPATIAL_DIVISION = 2
GOAL_LISM_SENTENCE_MODE = 3
GOAL_LISM_NAIVE_SENTENCES = 4
GOAL_LISM_ONE_TO_ONE = 5
GOAL_LISM_BEST_EXCLUDES_WHOLE_IMAGE = 6
GOAL_LISM_GRID = 7
GOAL_LISM_MIN_SCORE = 8
GOAL_LISM_MASK_AREA_MIN = 9
GOAL_LISM_MASK_AREA_MAX = 10
GOAL_LISM_MAX_REGIONS = 11
GOAL_LISM_MAX_SENTENCES = 12
GOAL_SOURCE_WHOLE_IMAGE = 0
GOAL_SOURCE_QUADRANT = 1
GOAL_SOURCE_CENTRE = 2
GOAL_SOURCE_GRID = 3
GOAL_SOURCE_BOX = 4
GOAL_SOURCE_MASK = 5

GOAL_NUL_TERMINATED = ctypes.c_size_t(-1).value

# Embedding index.
GOAL_INDEX_MAX_DIM = 1048576

# goal_io
GOAL_IO_INPUT = 0
GOAL_IO_OUTPUT = 1

goal_status = c_int32
goal_dtype = c_int32
goal_option = c_int32
goal_io = c_int32
goal_model_key = c_int32
handle = c_void_p


def _check(status, func, args):
    if status != GOAL_OK:
        message = lib.goal_last_error().decode("utf-8", "replace")
        raise error_for(status, message)
    return status


def _bind(name, restype, *argtypes):
    func = getattr(lib, name)
    func.restype = restype
    func.argtypes = list(argtypes)
    if restype is goal_status:
        func.errcheck = _check
    BOUND.append(name)
    return func


BOUND: list[str] = []

# Version
goal_version = _bind("goal_version", c_char_p)
goal_version_number = _bind("goal_version_number", c_uint32)
# Status codes
goal_status_string = _bind("goal_status_string", c_char_p, goal_status)
goal_last_error = _bind("goal_last_error", c_char_p)
# Options
goal_options_new = _bind("goal_options_new", goal_status, POINTER(handle))
goal_options_free = _bind("goal_options_free", None, handle)
goal_options_set_int = _bind("goal_options_set_int", goal_status, handle, goal_option, c_int64)
goal_options_get_int = _bind("goal_options_get_int", goal_status, handle, goal_option, POINTER(c_int64))
goal_options_set_string = _bind("goal_options_set_string", goal_status, handle, goal_option, c_char_p)
goal_options_get_string = _bind("goal_options_get_string", goal_status, handle, goal_option, POINTER(c_char_p))
# Graphs
goal_supported_opsets = _bind("goal_supported_opsets", goal_status, POINTER(c_int64), POINTER(c_int64))
goal_graph_open = _bind("goal_graph_open", goal_status, c_char_p, handle, POINTER(handle))
goal_graph_free = _bind("goal_graph_free", None, handle)
goal_graph_ir_version = _bind("goal_graph_ir_version", goal_status, handle, POINTER(c_int64))
goal_graph_producer = _bind("goal_graph_producer", goal_status, handle, POINTER(c_char_p), POINTER(c_char_p))
goal_graph_opset_count = _bind("goal_graph_opset_count", goal_status, handle, POINTER(c_size_t))
goal_graph_opset = _bind("goal_graph_opset", goal_status, handle, c_size_t, POINTER(c_char_p), POINTER(c_int64))
goal_graph_value_count = _bind("goal_graph_value_count", goal_status, handle, goal_io, POINTER(c_size_t))
goal_graph_value_info = _bind("goal_graph_value_info", goal_status, handle, goal_io, c_size_t,
                              POINTER(c_char_p), POINTER(goal_dtype), POINTER(c_int32))
goal_graph_value_dim = _bind("goal_graph_value_dim", goal_status, handle, goal_io, c_size_t, c_size_t,
                              POINTER(c_int64), POINTER(c_char_p))
goal_graph_node_count = _bind("goal_graph_node_count", goal_status, handle, POINTER(c_size_t))
goal_graph_initializer_count = _bind("goal_graph_initializer_count", goal_status, handle, POINTER(c_size_t))
# Running graphs
goal_graph_run = _bind("goal_graph_run", goal_status, handle, c_size_t, POINTER(c_char_p), POINTER(goal_dtype),
                       POINTER(c_int32), POINTER(POINTER(c_int64)), POINTER(c_void_p), c_size_t,
                       POINTER(c_char_p), POINTER(handle))
goal_results_free = _bind("goal_results_free", None, handle)
goal_results_count = _bind("goal_results_count", goal_status, handle, POINTER(c_size_t))
goal_results_info = _bind("goal_results_info", goal_status, handle, c_size_t, POINTER(c_char_p),
                          POINTER(goal_dtype), POINTER(c_int32))
goal_results_dim = _bind("goal_results_dim", goal_status, handle, c_size_t, c_size_t, POINTER(c_int64))
goal_results_copy = _bind("goal_results_copy", goal_status, handle, c_size_t, c_void_p, c_size_t,
                          POINTER(c_size_t))
# Models
goal_model_open = _bind("goal_model_open", goal_status, c_char_p, handle, POINTER(handle))
goal_model_free = _bind("goal_model_free", None, handle)
goal_model_get_int = _bind("goal_model_get_int", goal_status, handle, goal_model_key, POINTER(c_int64))
goal_model_file = _bind("goal_model_file", goal_status, handle, goal_option, POINTER(c_char_p))
goal_model_tokenize = _bind("goal_model_tokenize", goal_status, handle, c_char_p, c_size_t, c_size_t,
                            POINTER(c_int32), POINTER(c_int64), c_size_t, POINTER(c_size_t))
goal_model_tokenize_batch = _bind("goal_model_tokenize_batch", goal_status, handle, c_size_t, POINTER(c_char_p),
                                  POINTER(c_size_t), c_size_t, POINTER(c_int32), c_size_t, POINTER(c_size_t),
                                  POINTER(c_size_t))
goal_model_encode_text = _bind("goal_model_encode_text", goal_status, handle, c_size_t, POINTER(c_char_p),
                               POINTER(c_size_t), POINTER(c_float), c_size_t)
goal_model_encode_image_files = _bind("goal_model_encode_image_files", goal_status, handle, c_size_t,
                                      POINTER(c_char_p), POINTER(c_float), c_size_t)
goal_model_encode_image_memory = _bind("goal_model_encode_image_memory", goal_status, handle, c_size_t,
                                       POINTER(c_void_p), POINTER(c_size_t), POINTER(c_float), c_size_t)
goal_model_encode_image_pixels = _bind("goal_model_encode_image_pixels", goal_status, handle, c_size_t,
                                       POINTER(c_void_p), POINTER(c_int32), POINTER(c_int32), POINTER(c_size_t),
                                       POINTER(c_int32), POINTER(c_float), c_size_t)
goal_model_text_tokens = _bind("goal_model_text_tokens", goal_status, handle, c_char_p, c_size_t, POINTER(handle))
goal_model_image_tokens_file = _bind("goal_model_image_tokens_file", goal_status, handle, c_char_p, POINTER(handle))
goal_model_image_tokens_memory = _bind("goal_model_image_tokens_memory", goal_status, handle, c_void_p, c_size_t,
                                       POINTER(handle))
goal_model_image_tokens_pixels = _bind("goal_model_image_tokens_pixels", goal_status, handle, c_void_p, c_int32,
                                       c_int32, c_size_t, c_int32, POINTER(handle))
goal_tokens_free = _bind("goal_tokens_free", None, handle)
goal_tokens_shape = _bind("goal_tokens_shape", goal_status, handle, POINTER(c_size_t), POINTER(c_size_t),
                          POINTER(c_int64), POINTER(c_int64))
goal_tokens_embeddings = _bind("goal_tokens_embeddings", goal_status, handle, POINTER(POINTER(c_float)))
goal_tokens_text = _bind("goal_tokens_text", goal_status, handle, POINTER(POINTER(c_int32)), POINTER(POINTER(c_int64)))
# Images as objects
goal_image_from_file = _bind("goal_image_from_file", goal_status, c_char_p, POINTER(handle))
goal_image_from_memory = _bind("goal_image_from_memory", goal_status, c_void_p, c_size_t, POINTER(handle))
goal_image_from_pixels = _bind("goal_image_from_pixels", goal_status, c_void_p, c_int32, c_int32, c_size_t, c_int32,
                               POINTER(handle))
goal_image_free = _bind("goal_image_free", None, handle)
# Local matching
goal_model_sentences = _bind("goal_model_sentences", goal_status, handle, c_char_p, c_size_t, c_int32,
                             POINTER(c_int64), c_size_t, POINTER(c_size_t))
goal_model_region_embeddings = _bind("goal_model_region_embeddings", goal_status, handle, handle, c_size_t,
                                     POINTER(c_double), c_int32, POINTER(c_float), c_size_t)
goal_model_late_interaction = _bind("goal_model_late_interaction", goal_status, handle, c_char_p, c_size_t, handle,
                                    POINTER(c_float), POINTER(c_float))
goal_lism_options_new = _bind("goal_lism_options_new", goal_status, POINTER(handle))
goal_lism_options_free = _bind("goal_lism_options_free", None, handle)
goal_lism_options_set_int = _bind("goal_lism_options_set_int", goal_status, handle, c_int32, c_int64)
goal_lism_options_set_double = _bind("goal_lism_options_set_double", goal_status, handle, c_int32, c_double)
goal_lism_options_add_boxes = _bind("goal_lism_options_add_boxes", goal_status, handle, c_size_t, POINTER(c_double))
goal_lism_options_add_mask = _bind("goal_lism_options_add_mask", goal_status, handle, c_int32, c_int32, c_size_t,
                                   c_void_p)
goal_model_lism = _bind("goal_model_lism", goal_status, handle, handle, c_char_p, c_size_t, handle, POINTER(handle))
goal_lism_free = _bind("goal_lism_free", None, handle)
goal_lism_counts = _bind("goal_lism_counts", goal_status, handle, POINTER(c_size_t), POINTER(c_size_t),
                         POINTER(c_size_t))
goal_lism_region = _bind("goal_lism_region", goal_status, handle, c_size_t, POINTER(c_double), POINTER(c_int32),
                         POINTER(c_int64))
goal_lism_sentence = _bind("goal_lism_sentence", goal_status, handle, c_size_t, POINTER(c_int64))
goal_lism_scores = _bind("goal_lism_scores", goal_status, handle, POINTER(POINTER(c_float)))
goal_lism_match = _bind("goal_lism_match", goal_status, handle, c_size_t, POINTER(c_size_t), POINTER(c_size_t),
                        POINTER(c_float))
goal_lism_best = _bind("goal_lism_best", goal_status, handle, POINTER(c_int32), POINTER(c_size_t), POINTER(c_size_t),
                       POINTER(c_float))
goal_model_heatmap = _bind("goal_model_heatmap", goal_status, handle, handle, c_char_p, c_size_t, POINTER(c_float),
                           c_size_t, POINTER(c_int32), POINTER(c_int32))
goal_model_heatmap_png = _bind("goal_model_heatmap_png", goal_status, handle, handle, c_char_p, c_size_t, c_double,
                               c_char_p, POINTER(c_float), c_size_t)
# Embedding index
goal_index_new = _bind("goal_index_new", goal_status, c_size_t, POINTER(handle))
goal_index_free = _bind("goal_index_free", None, handle)
goal_index_add = _bind("goal_index_add", goal_status, handle, POINTER(c_float), c_size_t, c_size_t, POINTER(c_int64),
                       POINTER(c_int64))
goal_index_remove = _bind("goal_index_remove", goal_status, handle, POINTER(c_int64), c_size_t)
goal_index_count = _bind("goal_index_count", goal_status, handle, POINTER(c_size_t))
goal_index_dim = _bind("goal_index_dim", goal_status, handle, POINTER(c_size_t))
goal_index_search = _bind("goal_index_search", goal_status, handle, POINTER(c_float), c_size_t, c_size_t, c_size_t,
                          POINTER(c_float), POINTER(c_int64), c_size_t, POINTER(c_size_t))
goal_index_save = _bind("goal_index_save", goal_status, handle, c_char_p)
goal_index_load = _bind("goal_index_load", goal_status, c_char_p, POINTER(handle))
# Diagnostics
goal_graph_diagnostic_count = _bind("goal_graph_diagnostic_count", goal_status, handle, POINTER(c_size_t))
goal_graph_diagnostic = _bind("goal_graph_diagnostic", goal_status, handle, c_size_t, POINTER(c_char_p))
