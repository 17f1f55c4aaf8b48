/*
 * goal.h — the C interface of libgoal.
 *
 * libgoal runs CLIP-family models exported to ONNX on the CPU and matches images with long,
 * detailed text. This header is the whole contract: nothing outside it is API.
 *
 * Usage:
 *
 *     goal_graph *graph = NULL;
 *     if (goal_graph_open("text_model.onnx", NULL, &graph) != GOAL_OK) {
 *         fprintf(stderr, "goal: %s\n", goal_last_error());
 *         return 1;
 *     }
 *     size_t n = 0;
 *     goal_graph_value_count(graph, GOAL_IO_INPUT, &n);
 *     for (size_t i = 0; i < n; i++) {
 *         const char *name; goal_dtype dtype; int32_t rank;
 *         goal_graph_value_info(graph, GOAL_IO_INPUT, i, &name, &dtype, &rank);
 *         printf("input %s\n", name);
 *     }
 *     goal_graph_free(graph);
 *
 * Conventions, for every function:
 *   - The return value is a goal_status. On failure goal_last_error() describes what was wrong.
 *   - Out-parameters are cleared (0 or NULL) on failure.
 *   - Inputs are borrowed for the duration of the call; the library keeps no pointer to them.
 *   - Strings are UTF-8 and NUL-terminated. A `const char *` handed out by the library is owned by
 *     the object it came from and stays valid until that object is freed.
 *   - Every object has a _free function, which accepts NULL.
 *   - Handles are checked: passing a handle that was already freed, or one of another kind (a
 *     goal_image where a goal_model belongs), fails with GOAL_ERR_INVALID_ARGUMENT instead of
 *     touching freed memory -- unless the address has meanwhile been reused for a new object of
 *     the same kind, which no library can tell. _free ignores such handles (and NULL).
 *   - Nothing the library does on bad input ends the process: bad input is a status.
 *
 * Thread safety is stated per object below. goal_last_error() is per thread.
 */
#ifndef GOAL_H
#define GOAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Export macro ============================================================================ */

#if defined(_WIN32)
#  define GOAL_API __declspec(dllimport)
#elif defined(__GNUC__) || defined(__clang__)
#  define GOAL_API __attribute__((visibility("default")))
#else
#  define GOAL_API
#endif

/* ==== Version ================================================================================= */

#define GOAL_VERSION_MAJOR 0
#define GOAL_VERSION_MINOR 1
#define GOAL_VERSION_PATCH 0
#define GOAL_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, for comparisons in #if. */
#define GOAL_VERSION_NUMBER (GOAL_VERSION_MAJOR * 10000 + GOAL_VERSION_MINOR * 100 + GOAL_VERSION_PATCH)

/* The version of the library actually loaded, which may differ from the header compiled against.
 * The string is static. Thread-safe. */
GOAL_API const char *goal_version(void);
/* GOAL_VERSION_NUMBER of the loaded library. Thread-safe. */
GOAL_API uint32_t goal_version_number(void);

/* ==== Status codes ============================================================================ */

/* Every value is pinned forever; new codes are only ever added at the end. */
typedef int32_t goal_status;
enum {
    GOAL_OK = 0,
    GOAL_ERR_INVALID_ARGUMENT = 1,  /* a NULL pointer, an unknown option or enum value */
    GOAL_ERR_OUT_OF_MEMORY = 2,
    GOAL_ERR_INDEX_OUT_OF_RANGE = 3,/* an index past the end of what it indexes */
    GOAL_ERR_NOT_FOUND = 4,         /* the file does not exist */
    GOAL_ERR_IO = 5,                /* it exists but cannot be read (permissions, a folder, ...) */
    GOAL_ERR_NOT_ONNX = 6,          /* not an ONNX model, or a damaged one */
    GOAL_ERR_TRUNCATED = 7,         /* a file that stops before its end: an ONNX model, an image, an index */
    GOAL_ERR_INVALID_MODEL = 8,     /* parsed, but inconsistent (libonnx's checker text included) */
    GOAL_ERR_EXTERNAL_DATA = 9,     /* an external-data file is missing, unreadable or too short */
    GOAL_ERR_PATH_ESCAPE = 10,      /* an external-data location points outside the model's folder */
    GOAL_ERR_UNSUPPORTED = 11,      /* valid input this library does not handle (an opset, an element
                                     * type, an index file of a newer format version) */
    GOAL_ERR_INTERNAL = 12,         /* a bug in libgoal; please report it with the message */
    GOAL_ERR_BUFFER_TOO_SMALL = 13, /* a caller's buffer is too small; the size needed is reported */
    GOAL_ERR_CORRUPT = 14           /* a damaged file, or not the kind it should be: an index file with a
                                     * wrong magic, a checksum mismatch or inconsistent sizes */
};

/* A short, static, English description of a status ("file not found"). Unknown values give
 * "unknown status". Thread-safe. */
GOAL_API const char *goal_status_string(goal_status status);

/* What went wrong in the calling thread's most recent failed call, in one or more sentences; ""
 * if nothing has failed yet. Calls that succeed leave it as it was. The pointer stays valid until
 * the next failing call on the same thread. Thread-safe (each thread has its own). */
GOAL_API const char *goal_last_error(void);

/* ==== Element types =========================================================================== */

/* Tensor element types, numbered as ONNX's TensorProto.DataType. Pinned. */
typedef int32_t goal_dtype;
enum {
    GOAL_DTYPE_UNDEFINED = 0, /* also: a value that is not a tensor (a sequence or a map) */
    GOAL_DTYPE_FLOAT32 = 1,
    GOAL_DTYPE_UINT8 = 2,
    GOAL_DTYPE_INT8 = 3,
    GOAL_DTYPE_UINT16 = 4,
    GOAL_DTYPE_INT16 = 5,
    GOAL_DTYPE_INT32 = 6,
    GOAL_DTYPE_INT64 = 7,
    GOAL_DTYPE_STRING = 8,
    GOAL_DTYPE_BOOL = 9,
    GOAL_DTYPE_FLOAT16 = 10,
    GOAL_DTYPE_FLOAT64 = 11,
    GOAL_DTYPE_UINT32 = 12,
    GOAL_DTYPE_UINT64 = 13,
    GOAL_DTYPE_COMPLEX64 = 14,
    GOAL_DTYPE_COMPLEX128 = 15,
    GOAL_DTYPE_BFLOAT16 = 16
    /* Other ONNX numbers (float8, int4, ...) may be reported as they are. */
};

/* ==== Options ================================================================================= */

/* A bag of settings for opening things. Create, set what differs from the defaults, pass it to
 * an _open function (which copies what it needs), free it. Not thread-safe: use one options
 * object from one thread at a time; it may be reused for any number of opens. */
typedef struct goal_options goal_options;

/* Option keys. Pinned. */
typedef int32_t goal_option;
enum {
    /* Run libonnx's checker (1, default) or not (0). A model newer than libonnx (IR > 8 or
     * ai.onnx opset > 17) is checked as far as libonnx can and its objections become diagnostics;
     * any other model is refused with GOAL_ERR_INVALID_MODEL if the checker objects. */
    GOAL_OPTION_CHECK_MODEL = 1,
    /* Run libonnx's shape inference (1, default) or not (0). */
    GOAL_OPTION_INFER_SHAPES = 2,
    /* Convert models below the supported opset range with libonnx's version converter (1,
     * default), or refuse them with GOAL_ERR_UNSUPPORTED (0). */
    GOAL_OPTION_CONVERT_OPSET = 3,
    /* Threads one run of a graph may use, shared by BLAS and every other kernel: 0 (default) for
     * one per core, else 1–1024. libgoal sets OpenBLAS itself to one thread, process-wide, and
     * splits large products across its own threads. */
    GOAL_OPTION_THREADS = 4,
    /* Replace operator patterns by fused kernels (1, default), or run every node as the file
     * has it (0). Results agree within float rounding. */
    GOAL_OPTION_FUSE = 5,
    /* Models: the conventions text and images are prepared with. GOAL_CONVENTION_AUTO (default)
     * follows the folder: open_clip_config.json or immich's textual/ + visual/ layout mean
     * GOAL_CONVENTION_OPENAI, anything else GOAL_CONVENTION_HUGGINGFACE. See goal_model_open. */
    GOAL_OPTION_CONVENTION = 6,
    /* Models: what happens to a text longer than the context, one of GOAL_LONG_TEXT_*. */
    GOAL_OPTION_LONG_TEXT = 7,
    /* Models: texts or images per run of a tower, 1–4096 (default 16). */
    GOAL_OPTION_BATCH_SIZE = 8,
    /* Limits, each at least 1. What is above one fails with a status naming it, before memory
     * for it is asked for; none of them changes results below it. */
    /* The most elements one tensor may have, whether the model's shapes or the inputs make it
     * (default 2^31, 8 GiB of float32): above it, GOAL_ERR_OUT_OF_MEMORY at open (for constants
     * the graph computes) or at the run. */
    GOAL_OPTION_MAX_TENSOR_ELEMENTS = 9,
    /* Models: the most pixels (width x height) an image may have, checked from its header
     * before decoding (default 178956970, the size Pillow refuses as a decompression bomb):
     * above it, GOAL_ERR_INVALID_ARGUMENT naming the image. */
    GOAL_OPTION_MAX_IMAGE_PIXELS = 10,
    /* Models: the most UTF-8 bytes a text may have (default 1 MiB): above it,
     * GOAL_ERR_INVALID_ARGUMENT before it is tokenized. */
    GOAL_OPTION_MAX_TEXT_BYTES = 11,

    /* String options (goal_options_set_string), for models. Each names one file explicitly; it
     * overrides what goal_model_open would find in the folder, and with a NULL path to
     * goal_model_open the files named here are the whole model. */
    /* The graph of the text tower (or of both towers). */
    GOAL_OPTION_TEXT_MODEL = 100,
    /* The graph of the image tower (or of both towers). */
    GOAL_OPTION_VISION_MODEL = 101,
    /* The tokenizer: a tokenizer.json, a vocab.json with merges.txt in the same folder, or
     * OpenAI's bpe_simple_vocab_16e6.txt.gz. */
    GOAL_OPTION_TOKENIZER = 102,
    /* The preprocessing: preprocessor_config.json (Hugging Face), preprocess_cfg.json (immich) or
     * open_clip_config.json. */
    GOAL_OPTION_PREPROCESSOR_CONFIG = 103,
    /* Sizes a graph leaves symbolic: config.json (Hugging Face) or open_clip_config.json. */
    GOAL_OPTION_MODEL_CONFIG = 104
};

/* Values of GOAL_OPTION_CONVENTION and of GOAL_MODEL_CONVENTION. Pinned.
 *   Hugging Face: tokenizer.json semantics (NFC, whitespace collapsed, lower-case), sequences
 *     padded with the end token plus an attention mask, centre crop offset rounded down, and
 *     transparency (an alpha channel, a PNG tRNS chunk) composited over white, as
 *     CLIPTokenizerFast and CLIPImageProcessor (its convert_to_rgb) do.
 *   OpenAI: open_clip's tokenizer (ftfy fixes, HTML unescaped twice, lower-case), sequences
 *     padded with 0, centre crop offset rounded half to even (torchvision's CenterCrop), and
 *     transparency dropped (PIL's convert("RGB")). */
enum {
    GOAL_CONVENTION_AUTO = 0,
    GOAL_CONVENTION_HUGGINGFACE = 1,
    GOAL_CONVENTION_OPENAI = 2
};

/* Values of GOAL_OPTION_LONG_TEXT. Pinned. */
enum {
    /* Keep the first tokens and the end token (default; what the references do). */
    GOAL_LONG_TEXT_TRUNCATE = 0,
    /* Refuse the text with GOAL_ERR_INVALID_ARGUMENT. */
    GOAL_LONG_TEXT_FAIL = 1,
    /* Split a text that does not fit into sentences, encode each (truncated if it alone is too
     * long), average their normalised embeddings and normalise the mean. */
    GOAL_LONG_TEXT_SENTENCES = 2
};

/* A new options object holding every default. *out_options is NULL on failure. */
GOAL_API goal_status goal_options_new(goal_options **out_options);
/* Frees an options object; NULL is accepted. */
GOAL_API void goal_options_free(goal_options *options);
/* Sets one option. GOAL_ERR_INVALID_ARGUMENT for an unknown key or a value outside its range. */
GOAL_API goal_status goal_options_set_int(goal_options *options, goal_option key, int64_t value);
/* Reads one option's current value. */
GOAL_API goal_status goal_options_get_int(const goal_options *options, goal_option key, int64_t *out_value);
/* Sets a string option (a path); NULL unsets it, an empty string is GOAL_ERR_INVALID_ARGUMENT.
 * The options object keeps a copy. */
GOAL_API goal_status goal_options_set_string(goal_options *options, goal_option key, const char *value);
/* Reads a string option: *out_value is NULL when unset, else owned by the options object and
 * valid until the option is set again or the object is freed. */
GOAL_API goal_status goal_options_get_string(const goal_options *options, goal_option key, const char **out_value);

/* ==== Graphs: one ONNX file ==================================================================== */

/* One ONNX model file, parsed and checked with libonnx, its weights resolved (external data is
 * memory-mapped), prepared to run: operators checked, constants folded. Immutable once open:
 * every goal_graph_* function below, goal_graph_run included, may be called on the same graph
 * from any number of threads at once. goal_graph_free must not race with them. */
typedef struct goal_graph goal_graph;

/* Whether goal_graph_value_* functions speak of the graph's inputs or its outputs. */
typedef int32_t goal_io;
enum { GOAL_IO_INPUT = 0, GOAL_IO_OUTPUT = 1 };

/* The ai.onnx opsets the engine implements, inclusive (13 and 21 in this version). Models below
 * the range are converted when GOAL_OPTION_CONVERT_OPSET allows; models above it are refused.
 * Thread-safe. */
GOAL_API goal_status goal_supported_opsets(int64_t *out_min, int64_t *out_max);

/* Opens the ONNX file at `path` (UTF-8). `options` may be NULL for the defaults. External data is
 * read relative to the file's folder; a location outside it is refused. Failures and their
 * statuses: GOAL_ERR_NOT_FOUND, GOAL_ERR_IO, GOAL_ERR_NOT_ONNX, GOAL_ERR_TRUNCATED,
 * GOAL_ERR_INVALID_MODEL, GOAL_ERR_EXTERNAL_DATA, GOAL_ERR_PATH_ESCAPE, GOAL_ERR_UNSUPPORTED (an
 * opset out of range, or operators libgoal does not run: the message lists them with their
 * nodes, so a model that opens never stops at run time for want of an operator).
 * On success the caller owns *out_graph and frees it with goal_graph_free. */
GOAL_API goal_status goal_graph_open(const char *path, const goal_options *options, goal_graph **out_graph);
/* Frees a graph and everything it handed out; NULL is accepted. */
GOAL_API void goal_graph_free(goal_graph *graph);

/* The file's IR version (ModelProto.ir_version). */
GOAL_API goal_status goal_graph_ir_version(const goal_graph *graph, int64_t *out_ir_version);
/* The exporter's name and version as the file records them ("" when absent). Either out-pointer
 * may be NULL. The strings are owned by the graph. */
GOAL_API goal_status goal_graph_producer(const goal_graph *graph, const char **out_name, const char **out_version);

/* The opsets the file imports, as it declares them (before any conversion). The default domain
 * is reported as "ai.onnx". */
GOAL_API goal_status goal_graph_opset_count(const goal_graph *graph, size_t *out_count);
GOAL_API goal_status goal_graph_opset(const goal_graph *graph, size_t index, const char **out_domain,
                                      int64_t *out_version);

/* The graph's inputs (those a caller must feed; initializers the file also lists as inputs are
 * left out, as onnxruntime does) or outputs, as the file declares them. */
GOAL_API goal_status goal_graph_value_count(const goal_graph *graph, goal_io io, size_t *out_count);
/* Name, element type and rank of one input or output. *out_rank is -1 when the file declares no
 * shape. Any out-pointer may be NULL. */
GOAL_API goal_status goal_graph_value_info(const goal_graph *graph, goal_io io, size_t index,
                                           const char **out_name, goal_dtype *out_dtype, int32_t *out_rank);
/* One axis of an input's or output's shape: a fixed size (*out_size >= 0, *out_symbol NULL), a
 * symbolic size (*out_size == -1, *out_symbol its name, e.g. "batch_size") or an unknown one
 * (*out_size == -1, *out_symbol NULL). Either out-pointer may be NULL. */
GOAL_API goal_status goal_graph_value_dim(const goal_graph *graph, goal_io io, size_t index, size_t axis,
                                          int64_t *out_size, const char **out_symbol);

/* How many nodes and initializers the file's main graph holds (before any opset conversion). */
GOAL_API goal_status goal_graph_node_count(const goal_graph *graph, size_t *out_count);
GOAL_API goal_status goal_graph_initializer_count(const goal_graph *graph, size_t *out_count);

/* ==== Running graphs ========================================================================== */

/* The outputs of one run: named tensors, owned by the object, freed with goal_results_free.
 * Read-only after the run: may be read from any number of threads at once. */
typedef struct goal_results goal_results;

/* Runs the graph once.
 *
 * Inputs: `input_count` tensors, each a name, an element type, a rank and shape, and row-major
 * element data; all borrowed for the call. Every graph input must be given once, with the type
 * the model declares, its rank and its fixed sizes; a symbolic size (such as "batch") must be the
 * same in every input that names it. A mistake is GOAL_ERR_INVALID_ARGUMENT naming the input and
 * what was expected. Float16 and bfloat16 inputs are computed in float32.
 *
 * Outputs: `output_names` lists the values wanted, graph outputs or any intermediate value of the
 * file by name; with `output_count` 0 (and `output_names` NULL) the graph's outputs. Each is
 * returned with the element type the model gives it.
 *
 * On success the caller owns *out_results. */
GOAL_API goal_status goal_graph_run(const goal_graph *graph, size_t input_count, const char *const *input_names,
                                    const goal_dtype *input_dtypes, const int32_t *input_ranks,
                                    const int64_t *const *input_shapes, const void *const *input_data,
                                    size_t output_count, const char *const *output_names,
                                    goal_results **out_results);
/* Frees results; NULL is accepted. */
GOAL_API void goal_results_free(goal_results *results);
/* How many tensors the results hold (as many as were asked for). */
GOAL_API goal_status goal_results_count(const goal_results *results, size_t *out_count);
/* Name, element type and rank of result `index`. Any out-pointer may be NULL. */
GOAL_API goal_status goal_results_info(const goal_results *results, size_t index, const char **out_name,
                                       goal_dtype *out_dtype, int32_t *out_rank);
/* The size of result `index` along `axis`. */
GOAL_API goal_status goal_results_dim(const goal_results *results, size_t index, size_t axis, int64_t *out_size);
/* Copies result `index`'s elements, row-major, into `buffer` of `capacity` bytes. *out_size (if
 * not NULL) is set to the bytes the result needs, also when the status is
 * GOAL_ERR_BUFFER_TOO_SMALL (then nothing is copied; `buffer` may be NULL to ask the size). */
GOAL_API goal_status goal_results_copy(const goal_results *results, size_t index, void *buffer, size_t capacity,
                                       size_t *out_size);

/* ==== Models ================================================================================= */

/* A CLIP model: tokenizer, preprocessing, and a text tower, an image tower or both. Immutable once
 * open: every goal_model_* function may be called on the same model from any number of threads
 * at once. goal_model_free must not race with them. */
typedef struct goal_model goal_model;

/* Opens a model folder, or one .onnx file (the rest is looked for in its folder), or, with
 * `path` NULL, exactly the files named by the GOAL_OPTION_* string options.
 *
 * In a folder it finds: the graphs (text_model.onnx + vision_model.onnx as Hugging Face optimum
 * names them, also under onnx/; immich's textual/model.onnx + visual/model.onnx; or one
 * model.onnx holding both towers), the tokenizer (tokenizer.json, or vocab.json + merges.txt, or
 * bpe_simple_vocab_16e6.txt.gz; also under textual/ and onnx/), the preprocessing
 * (preprocessor_config.json, visual/preprocess_cfg.json or open_clip_config.json, else OpenAI
 * CLIP's defaults) and config.json or open_clip_config.json.
 *
 * The context length, embedding size, image size and patch size come from the graphs; a config
 * file is consulted only for what a graph leaves symbolic. A folder with one tower opens; the
 * other tower's functions then fail with GOAL_ERR_UNSUPPORTED. Something missing is
 * GOAL_ERR_NOT_FOUND naming what was looked for; the graphs fail as goal_graph_open does. */
GOAL_API goal_status goal_model_open(const char *path, const goal_options *options, goal_model **out_model);
GOAL_API void goal_model_free(goal_model *model);

/* Facts about a model, read with goal_model_get_int. Pinned. */
typedef int32_t goal_model_key;
enum {
    /* Width of the joint embedding space. */
    GOAL_MODEL_DIM = 1,
    /* Text positions, start and end tokens included (77, 248, ...); 0 without a text tower. */
    GOAL_MODEL_CONTEXT_LENGTH = 2,
    /* Side of the square image the image tower takes; 0 without one. */
    GOAL_MODEL_IMAGE_SIZE = 3,
    /* Side of a patch; 0 for towers without a patch grid (ResNets) or without an image tower. */
    GOAL_MODEL_PATCH_SIZE = 4,
    /* The convention in use: GOAL_CONVENTION_HUGGINGFACE or GOAL_CONVENTION_OPENAI. */
    GOAL_MODEL_CONVENTION = 5,
    /* 1 if the model has a text tower, else 0. */
    GOAL_MODEL_HAS_TEXT = 6,
    /* 1 if the model has an image tower, else 0. */
    GOAL_MODEL_HAS_IMAGE = 7
};
GOAL_API goal_status goal_model_get_int(const goal_model *model, goal_model_key key, int64_t *out_value);
/* The file a model uses for GOAL_OPTION_TEXT_MODEL, _VISION_MODEL, _TOKENIZER,
 * _PREPROCESSOR_CONFIG or _MODEL_CONFIG; *out_path is NULL when it uses none (for a vocab.json
 * tokenizer, the vocab.json). Owned by the model. */
GOAL_API goal_status goal_model_file(const goal_model *model, goal_option key, const char **out_path);

/* Pass as a text length to mean "NUL-terminated". */
#define GOAL_NUL_TERMINATED ((size_t)-1)

/* ---- Text --------------------------------------------------------------------------------------
 * Texts are UTF-8, `length` bytes (or GOAL_NUL_TERMINATED); invalid UTF-8 is
 * GOAL_ERR_INVALID_ARGUMENT. Spelled-out special tokens ("<|endoftext|>") in a text are ordinary
 * text. */

/* The token ids of a text with the start (49406) and end (49407) tokens, unpadded, at most
 * `max_tokens` of them with the end token kept last (0: no limit; 1 is GOAL_ERR_INVALID_ARGUMENT,
 * as it leaves no room for both special tokens). `out_spans`, if not NULL,
 * receives two byte offsets per token, [start, end) in the text (the start token's span is empty
 * at 0, the end token's empty at the end of the text). `capacity` counts tokens; *out_count is
 * the number of tokens, also with GOAL_ERR_BUFFER_TOO_SMALL (then nothing is written; `out_ids`
 * may be NULL to ask the count). */
GOAL_API goal_status goal_model_tokenize(const goal_model *model, const char *text, size_t length,
                                         size_t max_tokens, int32_t *out_ids, int64_t *out_spans,
                                         size_t capacity, size_t *out_count);

/* The ids of `count` texts at once (as goal_model_tokenize, without spans), tokenized on several
 * threads: laid end to end in `out_ids` (`capacity` counts ids), text i's from out_offsets[i]
 * to out_offsets[i + 1] (`out_offsets` holds count + 1 values). *out_total is the number of ids,
 * also with GOAL_ERR_BUFFER_TOO_SMALL (then nothing is written). `lengths` may be NULL when
 * every text is NUL-terminated. A failure names the text's index. */
GOAL_API goal_status goal_model_tokenize_batch(const goal_model *model, size_t count, const char *const *texts,
                                               const size_t *lengths, size_t max_tokens, int32_t *out_ids,
                                               size_t capacity, size_t *out_offsets, size_t *out_total);

/* L2-normalised embeddings of `count` texts into `out_embeddings`, count x dim floats row by row
 * (`capacity` counts floats). `lengths` may be NULL when every text is NUL-terminated. A text
 * longer than the context follows GOAL_OPTION_LONG_TEXT. */
GOAL_API goal_status goal_model_encode_text(const goal_model *model, size_t count, const char *const *texts,
                                            const size_t *lengths, float *out_embeddings, size_t capacity);

/* ---- Images ------------------------------------------------------------------------------------
 * JPEG and PNG are decoded as PIL's Image.open(f).convert("RGB") does (gray replicated, palette
 * expanded, 16-bit samples cut to 8 as PIL does; EXIF orientation and colour profiles ignored),
 * transparency handled by the model's convention (see GOAL_OPTION_CONVENTION),
 * then resized on the short side with PIL's bicubic filter, centre-cropped, scaled by 1/255 and
 * normalised with the model's mean and std. Raw pixels are 8 bits per channel, 1 (gray), 3 (RGB)
 * or 4 (RGBA) channels, rows `stride` bytes apart.
 * Failures name the image's index: a missing file GOAL_ERR_NOT_FOUND, an unreadable one
 * GOAL_ERR_IO, data that is neither JPEG nor PNG GOAL_ERR_UNSUPPORTED, a file cut short
 * GOAL_ERR_TRUNCATED, damaged data or bad pixel arguments GOAL_ERR_INVALID_ARGUMENT. With
 * `count` 0, `out_embeddings` may be NULL. */

GOAL_API goal_status goal_model_encode_image_files(const goal_model *model, size_t count, const char *const *paths,
                                                   float *out_embeddings, size_t capacity);
/* Encoded JPEG or PNG files held in memory: `data[i]` of `sizes[i]` bytes. */
GOAL_API goal_status goal_model_encode_image_memory(const goal_model *model, size_t count, const void *const *data,
                                                    const size_t *sizes, float *out_embeddings, size_t capacity);
GOAL_API goal_status goal_model_encode_image_pixels(const goal_model *model, size_t count,
                                                    const uint8_t *const *pixels, const int32_t *widths,
                                                    const int32_t *heights, const size_t *strides,
                                                    const int32_t *channels, float *out_embeddings,
                                                    size_t capacity);

/* ---- Token-level embeddings --------------------------------------------------------------------
 * For a text, one embedding per token of its sequence (start and end included, truncated to the
 * context), with the ids and byte spans of goal_model_tokenize. For an image, one per patch,
 * row by row over the grid; the class token is left out. Each is the tower's token state passed
 * through the tower's own head (final LayerNorm and projection, found in the graph, so exports
 * that only output the pooled embedding work too) and L2-normalised. CLIP text towers pool at
 * the end token, so its row equals the text's global embedding (under GOAL_LONG_TEXT_TRUNCATE, or
 * for a text that fits). Read-only after creation: may be read from any number of threads at
 * once. */
typedef struct goal_tokens goal_tokens;

GOAL_API goal_status goal_model_text_tokens(const goal_model *model, const char *text, size_t length,
                                            goal_tokens **out_tokens);
GOAL_API goal_status goal_model_image_tokens_file(const goal_model *model, const char *path, goal_tokens **out_tokens);
GOAL_API goal_status goal_model_image_tokens_memory(const goal_model *model, const void *data, size_t size,
                                                    goal_tokens **out_tokens);
GOAL_API goal_status goal_model_image_tokens_pixels(const goal_model *model, const uint8_t *pixels, int32_t width,
                                                    int32_t height, size_t stride, int32_t channels,
                                                    goal_tokens **out_tokens);
GOAL_API void goal_tokens_free(goal_tokens *tokens);
/* Number of tokens, embedding width, and for an image the grid (rows x columns = count; both 0
 * for a text). Any out-pointer may be NULL. */
GOAL_API goal_status goal_tokens_shape(const goal_tokens *tokens, size_t *out_count, size_t *out_dim,
                                       int64_t *out_rows, int64_t *out_columns);
/* The embeddings, count x dim floats row by row, owned by `tokens`. */
GOAL_API goal_status goal_tokens_embeddings(const goal_tokens *tokens, const float **out_embeddings);
/* For a text: count ids and 2 x count byte offsets, owned by `tokens`; NULL for an image. Either
 * out-pointer may be NULL. */
GOAL_API goal_status goal_tokens_text(const goal_tokens *tokens, const int32_t **out_ids, const int64_t **out_spans);

/* ==== Images as objects ======================================================================= */

/* An image to match regions in: a file's or a buffer's bytes, or raw pixels, copied. It is
 * decoded when a model uses it, with that model's convention for transparency (a file that is
 * not a JPEG or PNG fails then, naming the image). Immutable: may be shared between threads. */
typedef struct goal_image goal_image;

/* Reads the file's bytes now: GOAL_ERR_NOT_FOUND or GOAL_ERR_IO if it cannot. */
GOAL_API goal_status goal_image_from_file(const char *path, goal_image **out_image);
GOAL_API goal_status goal_image_from_memory(const void *data, size_t size, goal_image **out_image);
/* 8-bit pixels, 1, 3 or 4 channels, rows `stride` bytes apart. */
GOAL_API goal_status goal_image_from_pixels(const uint8_t *pixels, int32_t width, int32_t height, size_t stride,
                                            int32_t channels, goal_image **out_image);
GOAL_API void goal_image_free(goal_image *image);

/* ==== Local matching: sentences, regions, late interaction, LISM, heatmaps ====================== */

/* The sentences of a caption: 4 values per sentence in `out_spans` (byte start, byte end, token
 * start, token end), tokens counted in the caption's whole tokenisation with the start token at
 * 0 (an empty token range when the sentence has no token). A sentence ends at . ! or ? followed
 * by a space or the end, except after an abbreviation (Mr., e.g.), an initial, or inside an
 * ellipsis that the sentence carries on after; decimals never split. `naive` 1 splits at every
 * "." as the GOAL paper's code does. `capacity` counts sentences; *out_count is the number of
 * sentences, also with GOAL_ERR_BUFFER_TOO_SMALL (`out_spans` may then be NULL). */
GOAL_API goal_status goal_model_sentences(const goal_model *model, const char *text, size_t length, int32_t naive,
                                          int64_t *out_spans, size_t capacity, size_t *out_count);

/* How a region becomes an embedding. Pinned. */
typedef int32_t goal_region_mode;
enum {
    /* Cut the box from the original image (background kept, no padding) and encode the crop. */
    GOAL_REGION_CROP = 0,
    /* Average the last-layer patch states inside the box (before the tower's final LayerNorm),
     * then apply the tower's head: one vision pass for any number of boxes. The box is mapped
     * through the real resize and centre crop onto the patch grid; the part outside the crop
     * window is clipped, and a box with no patch left is GOAL_ERR_INVALID_ARGUMENT. */
    GOAL_REGION_POOLED = 1
};

/* L2-normalised embeddings of `count` boxes of one image, each 4 doubles (x0, y0, x1, y1) in
 * the image's original pixels, into count x dim floats. */
GOAL_API goal_status goal_model_region_embeddings(const goal_model *model, const goal_image *image, size_t count,
                                                  const double *boxes, goal_region_mode mode,
                                                  float *out_embeddings, size_t capacity);

/* FILIP's late interaction of a text's tokens (start and end tokens left out) with an image's
 * patches, both projected and normalised: text to image is the mean over tokens of each
 * token's best cosine with a patch, image to text the mean over patches of each patch's best
 * cosine with a token. Either out-pointer may be NULL. */
GOAL_API goal_status goal_model_late_interaction(const goal_model *model, const char *text, size_t length,
                                                 const goal_image *image, float *out_text_to_image,
                                                 float *out_image_to_text);

/* Settings of a LISM run: a plain object like goal_options (not thread-safe; copied by
 * goal_model_lism). The defaults are FAST-GOAL's FLISM: the whole image (region 0) and the
 * spatial division (four quadrants and the centre box), pooled mode, standalone sentences,
 * each sentence matched to its best region. */
typedef struct goal_lism_options goal_lism_options;
typedef int32_t goal_lism_key;
enum {
    GOAL_LISM_MODE = 1,                 /* goal_region_mode (default GOAL_REGION_POOLED) */
    GOAL_LISM_SPATIAL_DIVISION = 2,     /* 1 (default) or 0 */
    GOAL_LISM_SENTENCE_MODE = 3,        /* GOAL_SENTENCE_STANDALONE (default) or GOAL_SENTENCE_SPAN_POOLED */
    GOAL_LISM_NAIVE_SENTENCES = 4,      /* 1: split at every "." (the paper's code); default 0 */
    GOAL_LISM_ONE_TO_ONE = 5,           /* 1: each sentence a different region (Hungarian); default 0 */
    GOAL_LISM_BEST_EXCLUDES_WHOLE_IMAGE = 6, /* 1: the best pair never uses region 0; default 0 */
    GOAL_LISM_GRID = 7,                 /* set_int adds an n x n grid of regions (n 1–16) */
    GOAL_LISM_MIN_SCORE = 8,            /* set_double: drop matches below it (NAN: none, default) */
    GOAL_LISM_MASK_AREA_MIN = 9,        /* set_double: masks covering less of the image are left out (0.01) */
    GOAL_LISM_MASK_AREA_MAX = 10,       /* set_double: ... or more (0.80) */
    GOAL_LISM_MAX_REGIONS = 11,         /* set_int: runs with more regions fail before encoding (1024) */
    GOAL_LISM_MAX_SENTENCES = 12        /* set_int: captions with more sentences fail likewise (512) */
};
enum {
    /* Encode each sentence as a text of its own. */
    GOAL_SENTENCE_STANDALONE = 0,
    /* Average the caption's token states over the sentence's tokens, then apply the text head;
     * a sentence beyond the caption's context is encoded standalone. */
    GOAL_SENTENCE_SPAN_POOLED = 1
};
GOAL_API goal_status goal_lism_options_new(goal_lism_options **out_options);
GOAL_API void goal_lism_options_free(goal_lism_options *options);
GOAL_API goal_status goal_lism_options_set_int(goal_lism_options *options, goal_lism_key key, int64_t value);
GOAL_API goal_status goal_lism_options_set_double(goal_lism_options *options, goal_lism_key key, double value);
/* Adds regions from any detector: `count` boxes of 4 doubles (x0, y0, x1, y1), original pixels. */
GOAL_API goal_status goal_lism_options_add_boxes(goal_lism_options *options, size_t count, const double *boxes);
/* Adds a binary mask (nonzero inside), width x height bytes with rows `stride` apart; it must
 * have the image's size. Its tight box becomes a region if the mask's area is in range. */
GOAL_API goal_status goal_lism_options_add_mask(goal_lism_options *options, int32_t width, int32_t height,
                                                size_t stride, const uint8_t *bits);

/* The result of one LISM run. Read-only: may be read from any number of threads at once. */
typedef struct goal_lism goal_lism;

/* Local image-sentence matching (GOAL's LISM; with the default regions, FAST-GOAL's FLISM) of
 * an image and its caption. `options` may be NULL for the defaults. Scores are 100 x cosine. */
GOAL_API goal_status goal_model_lism(const goal_model *model, const goal_image *image, const char *caption,
                                     size_t length, const goal_lism_options *options, goal_lism **out_lism);
GOAL_API void goal_lism_free(goal_lism *lism);
/* Numbers of regions, sentences and matches (one per sentence that got a region). */
GOAL_API goal_status goal_lism_counts(const goal_lism *lism, size_t *out_regions, size_t *out_sentences,
                                      size_t *out_matches);

/* Where a region came from. Pinned. */
typedef int32_t goal_region_source;
enum {
    GOAL_SOURCE_WHOLE_IMAGE = 0,
    GOAL_SOURCE_QUADRANT = 1,   /* index 0–3: top left, top right, bottom left, bottom right */
    GOAL_SOURCE_CENTRE = 2,
    GOAL_SOURCE_GRID = 3,       /* index = n * 10000 + row * 100 + column */
    GOAL_SOURCE_BOX = 4,        /* index of the caller's box */
    GOAL_SOURCE_MASK = 5        /* index of the caller's mask */
};
/* Region `index`: its box (4 doubles, original pixels) and where it came from. */
GOAL_API goal_status goal_lism_region(const goal_lism *lism, size_t index, double *out_box,
                                      goal_region_source *out_source, int64_t *out_source_index);
/* Sentence `index`: byte range in the caption and token range (as goal_model_sentences). */
GOAL_API goal_status goal_lism_sentence(const goal_lism *lism, size_t index, int64_t *out_span);
/* The score matrix, sentences x regions floats row by row, owned by `lism`. */
GOAL_API goal_status goal_lism_scores(const goal_lism *lism, const float **out_scores);
/* Match `index`: the sentence, its region and the score. */
GOAL_API goal_status goal_lism_match(const goal_lism *lism, size_t index, size_t *out_sentence, size_t *out_region,
                                     float *out_score);
/* The best pair; *out_found is 0 when no pair qualifies (every score below the minimum). */
GOAL_API goal_status goal_lism_best(const goal_lism *lism, int32_t *out_found, size_t *out_sentence,
                                    size_t *out_region, float *out_score);

/* ---- Heatmaps ----------------------------------------------------------------------------------
 * Where a text matches an image: the cosine between the text's global embedding (as
 * goal_model_encode_text makes it) and each patch embedding (as goal_model_image_tokens_* makes
 * them) gives a rows x columns grid, spread over the ORIGINAL image's pixels through the real
 * resize and centre crop. Pixel (x, y) is taken at its centre, u = (x + 0.5) * resized width /
 * width - crop x (v likewise); it is inside the crop window when 0 <= u < crop size and
 * 0 <= v < crop size. Pixels outside were cut away before the model saw the image and get NaN.
 * Inside, the value is bilinear between the nearest patch centres ((c + 0.5) * patch size,
 * (r + 0.5) * patch size), at (u / patch size - 0.5, v / patch size - 0.5) clamped to
 * [0, columns - 1] x [0, rows - 1]: the half-patch band along the window's edges repeats the
 * edge patches. */

/* The heatmap of `text` over `image`, height x width floats row by row (the image's own size),
 * NaN outside the crop window. `capacity` counts floats; with fewer than width x height the
 * result is GOAL_ERR_BUFFER_TOO_SMALL with *out_width and *out_height set (then nothing is
 * written and no tower runs: `out_map` may be NULL with `capacity` 0 to ask the size). Either
 * size pointer may be NULL. */
GOAL_API goal_status goal_model_heatmap(const goal_model *model, const goal_image *image, const char *text,
                                        size_t length, float *out_map, size_t capacity, int32_t *out_width,
                                        int32_t *out_height);
/* The heatmap drawn over the image, written to `path` as an 8-bit RGB PNG of the image's size.
 * Inside the crop window each pixel is blended with a colour of the value normalised by the
 * map's finite minimum and maximum (0.5 when they are equal), on a scale from dark blue (low)
 * through red and orange to pale yellow (high), brightness rising throughout. Outside the
 * window each pixel is blended with its own grey, (299 R + 587 G + 114 B + 500) / 1000 in
 * integer arithmetic, so the cut-away margin shows desaturated, never tinted. Every channel is
 * round((1 - opacity) * pixel + opacity * colour), halves away from zero: `opacity` 0 leaves
 * the image's pixels as decoded, 1 shows only the colours (0.5 is a good start); outside
 * [0, 1] or NaN is GOAL_ERR_INVALID_ARGUMENT. The PNG is written to a temporary file in the
 * same folder and renamed over `path` once complete, so a failed write leaves nothing behind:
 * a path that cannot be written (a missing folder, no permission, a folder of that name) is
 * GOAL_ERR_IO naming it. With `out_map` not NULL, the map of goal_model_heatmap is also copied
 * there (`capacity` floats, checked before any tower runs), so one tower run gives both. */
GOAL_API goal_status goal_model_heatmap_png(const goal_model *model, const goal_image *image, const char *text,
                                            size_t length, double opacity, const char *path, float *out_map,
                                            size_t capacity);

/* ==== Embedding index ========================================================================= */

/* An exact index of embeddings: float32 vectors of one dimension, each with an int64 id, searched
 * by cosine similarity. Vectors are L2-normalised when added and queries when searched, so a
 * score is the cosine of the two, from -1 to 1. Search is exhaustive: BLAS scores every stored
 * vector to find each query's candidates (all vectors within float rounding of its k-th best),
 * which are then scored again in double precision and rounded to float. Results are ordered by
 * score, highest first, and equal scores by id, lowest first; they depend only on the query and
 * the stored vectors, not on the number of threads, the other queries of the call or the order
 * vectors were added in (equal vectors always score equally).
 *
 * Ids are 0 to INT64_MAX - 1, unique within an index. goal_index_add without ids gives the next
 * ids after the largest the index has ever held (removed ids are not given out again).
 *
 * Thread safety: goal_index_search, goal_index_save, goal_index_count and goal_index_dim may be
 * called on one index from any number of threads at once; goal_index_add and goal_index_remove
 * take the index alone (they wait for the calls in progress, and calls made meanwhile wait for
 * them). goal_index_free must not race with any of them.
 *
 * Files (the format is docs/INDEX_FORMAT.md: versioned, sizes checked, CRC-32 of every byte):
 * goal_index_save writes a temporary file in the same folder, flushes it to disk and renames it
 * over the path, so a crash leaves the old file or the new one, never part of one.
 * goal_index_load maps the file into memory and searches the vectors in place, without copying
 * them (the first add or remove copies them). A file must not be changed in place while an index
 * loaded from it is alive; replacing it by rename, as goal_index_save does, is safe. */
typedef struct goal_index goal_index;

/* The largest dimension an index may have. */
#define GOAL_INDEX_MAX_DIM 1048576

/* A new, empty index of `dim`-dimensional vectors, 1 to GOAL_INDEX_MAX_DIM. On success the
 * caller owns *out_index and frees it with goal_index_free. */
GOAL_API goal_status goal_index_new(size_t dim, goal_index **out_index);
/* Frees an index; NULL is accepted. */
GOAL_API void goal_index_free(goal_index *index);

/* Adds `count` vectors of `dim` floats, row by row (`dim` must be the index's), with the `count`
 * ids in `ids`, or with `ids` NULL the next free ids in order. *out_first_id (the pointer may be
 * NULL) is the first vector's id: with `ids` NULL the vectors get *out_first_id,
 * *out_first_id + 1, ...; with `count` 0 it is the next free id (and `vectors` may be NULL).
 * Everything is added or nothing: a NaN or infinite value, a vector of zeros, an id below 0 or
 * equal to INT64_MAX, an id given twice or already in the index, or more vectors than ids left
 * is GOAL_ERR_INVALID_ARGUMENT naming the vector or the id. */
GOAL_API goal_status goal_index_add(goal_index *index, const float *vectors, size_t count, size_t dim,
                                    const int64_t *ids, int64_t *out_first_id);

/* Removes the vectors with the `count` ids in `ids` (an id listed twice is removed once). If any
 * id is not in the index nothing is removed, and the status is GOAL_ERR_INVALID_ARGUMENT with a
 * message listing the unknown ids. With `count` 0, `ids` may be NULL. */
GOAL_API goal_status goal_index_remove(goal_index *index, const int64_t *ids, size_t count);

/* The number of vectors the index holds. */
GOAL_API goal_status goal_index_count(const goal_index *index, size_t *out_count);
/* The index's dimension. */
GOAL_API goal_status goal_index_dim(const goal_index *index, size_t *out_dim);

/* The `k` stored vectors most similar to each of `count` queries of `dim` floats, row by row
 * (`dim` must be the index's). Query q's results fill places q * k to q * k + k - 1 of
 * `out_scores` (cosines) and `out_ids`, best first. *out_found (the pointer may be NULL) is the
 * number of results each query got, min(k, goal_index_count): when the index holds fewer than k
 * vectors, every query gets all of them, and its remaining places are padded with id -1 and
 * score -INFINITY. `capacity` counts the entries of each output buffer; fewer than count * k is
 * GOAL_ERR_BUFFER_TOO_SMALL (nothing is written); a capacity above INT64_MAX means the caller
 * vouches for the size. Either output may be NULL when it is not wanted. A NaN or infinite
 * value or a query of zeros is GOAL_ERR_INVALID_ARGUMENT naming the query. With `count` 0 or `k`
 * 0 nothing is written, and `queries` and the outputs may be NULL. */
GOAL_API goal_status goal_index_search(const goal_index *index, const float *queries, size_t count, size_t dim,
                                       size_t k, float *out_scores, int64_t *out_ids, size_t capacity,
                                       size_t *out_found);

/* Writes the index to `path` (UTF-8), replacing any file there, atomically as described above.
 * A path that cannot be written (a missing folder, no permission, a folder of that name) is
 * GOAL_ERR_IO naming it. Runs alongside searches; waits for adds and removes. */
GOAL_API goal_status goal_index_save(const goal_index *index, const char *path);

/* Opens an index file written by goal_index_save, memory-mapped. The file is checked before it
 * is used: magic, format version and flags, sizes and offsets against the file's length, the
 * CRC-32 of its bytes, then ids (unique, in range) and rows (finite, unit length). A missing
 * file is GOAL_ERR_NOT_FOUND, one that cannot be read (a folder, no permission) GOAL_ERR_IO, one
 * cut short GOAL_ERR_TRUNCATED, a newer format version or unknown flags GOAL_ERR_UNSUPPORTED,
 * and anything else wrong (not an index file, a checksum mismatch, inconsistent sizes, bad ids
 * or rows) GOAL_ERR_CORRUPT; the message says what was wrong. On success the caller owns
 * *out_index. */
GOAL_API goal_status goal_index_load(const char *path, goal_index **out_index);

/* ==== Diagnostics ============================================================================= */

/* Notes from opening a graph that did not stop it: an IR or opset newer than libonnx's checker
 * and what the checker said about it, an opset conversion, shape inference that stopped early.
 * One sentence each, owned by the graph. */
GOAL_API goal_status goal_graph_diagnostic_count(const goal_graph *graph, size_t *out_count);
GOAL_API goal_status goal_graph_diagnostic(const goal_graph *graph, size_t index, const char **out_text);

#ifdef __cplusplus
}
#endif

#endif /* GOAL_H */
