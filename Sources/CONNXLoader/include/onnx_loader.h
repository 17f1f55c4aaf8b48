// A flat C view of one ONNX model file, parsed and checked with libonnx.
//
// This is the only door between libonnx's C++ world and the Swift engine: everything crosses
// as plain structs and pointers owned by an `ox_model`, valid until `ox_model_free`.
// Nothing here is part of libgoal's public ABI.
#ifndef GOAL_ONNX_LOADER_H
#define GOAL_ONNX_LOADER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ox_code {
    OX_OK = 0,
    OX_NOT_FOUND,       // the model file does not exist
    OX_IO,              // it exists but cannot be read (permissions, a directory, an I/O error)
    OX_NOT_ONNX,        // not an ONNX protobuf, or a damaged one
    OX_TRUNCATED,       // an ONNX protobuf that stops before its end
    OX_INVALID_MODEL,   // parsed, but libonnx's checker or our own consistency checks refused it
    OX_EXTERNAL_DATA,   // an external-data file is missing, unreadable or too short
    OX_PATH_ESCAPE,     // an external-data location points outside the model's folder
    OX_UNSUPPORTED,     // valid ONNX that this library does not handle (opset, element type, ...)
    OX_OUT_OF_MEMORY,
    OX_INTERNAL,
} ox_code;

typedef struct ox_options {
    int32_t check_model;    // run libonnx's checker
    int32_t infer_shapes;   // run libonnx's shape inference (fills value_info for intermediates)
    int32_t convert_opset;  // convert default-domain opsets below opset_min with libonnx's converter
    int64_t opset_min;      // supported range of the default (ai.onnx) domain
    int64_t opset_max;
} ox_options;

// One dimension of a declared shape: a fixed size (value >= 0), a symbol (value -1, symbol set)
// or unknown (value -1, symbol NULL).
typedef struct ox_dim {
    int64_t value;
    const char *symbol;
} ox_dim;

// A graph input or output as the file declares it. rank is -1 when the shape is absent;
// elem_type is ONNX's TensorProto.DataType number, 0 for non-tensor values.
typedef struct ox_value {
    const char *name;
    int32_t elem_type;
    int32_t rank;
    const ox_dim *dims;
} ox_value;

// An initializer of the main graph with its payload as packed little-endian elements, wherever
// they live: inside the parsed protobuf, in a buffer repacked from typed fields, or in a
// memory-mapped external-data file.
typedef struct ox_tensor {
    const char *name;
    int32_t elem_type;
    int32_t rank;
    const int64_t *dims;
    const void *data;
    uint64_t byte_size;
    int32_t is_external;
} ox_tensor;

typedef struct ox_opset {
    const char *domain;  // "" is the default ai.onnx domain, as in the file
    int64_t version;
} ox_opset;

typedef struct ox_graph ox_graph;

// A node attribute. `type` is ONNX's AttributeProto.AttributeType number; the fields that type
// uses are set (FLOAT f, INT i, STRING s/s_size, TENSOR tensor, GRAPH graph, FLOATS floats/count,
// INTS ints/count, STRINGS strings/count).
typedef struct ox_attribute {
    const char *name;
    int32_t type;
    float f;
    int64_t i;
    const char *s;
    size_t s_size;
    size_t count;
    const float *floats;
    const int64_t *ints;
    const char *const *strings;
    const ox_tensor *tensor;
    const ox_graph *graph;
} ox_attribute;

// A node; an empty input name ("") is an omitted optional input.
typedef struct ox_node {
    const char *name;
    const char *op_type;
    const char *domain;
    size_t input_count;
    const char *const *inputs;
    size_t output_count;
    const char *const *outputs;
    size_t attribute_count;
    const ox_attribute *attributes;
} ox_node;

// A graph ready to execute: after opset conversion and shape inference, nodes in file order,
// every initializer resolved. `typed_*` lists the element type shape inference (or the file)
// gives each value it knows, graph inputs and outputs included.
struct ox_graph {
    size_t node_count;
    const ox_node *nodes;
    size_t initializer_count;
    const ox_tensor *initializers;
    size_t input_count;  // graph inputs a caller feeds (initializers left out)
    const char *const *inputs;
    size_t output_count;
    const char *const *outputs;
    size_t typed_count;
    const char *const *typed_names;
    const int32_t *typed_types;
    const int32_t *typed_ranks;          // -1 when no shape is known
    const ox_dim *const *typed_dims;     // typed_ranks[i] dims each
};

typedef struct ox_model ox_model;

// Opens, parses, converts, checks and resolves one model file. On success *out_model owns
// everything and *out_message is NULL. On failure *out_model is NULL and *out_message is a
// malloc'd description to release with ox_message_free.
ox_code ox_model_open(const char *path, const ox_options *options, ox_model **out_model, char **out_message);
void ox_message_free(char *message);
void ox_model_free(ox_model *model);

// The libonnx this was built against: the newest IR version its checker knows, and the newest
// default-domain opset its schema registry knows.
int64_t ox_checker_ir_version(void);
int64_t ox_registry_opset_max(void);

int64_t ox_model_ir_version(const ox_model *model);
const char *ox_model_producer_name(const ox_model *model);
const char *ox_model_producer_version(const ox_model *model);

// Opset imports as the file declares them, before any conversion.
size_t ox_model_opset_count(const ox_model *model);
const ox_opset *ox_model_opsets(const ox_model *model);

size_t ox_model_input_count(const ox_model *model);  // initializers listed as inputs are left out
const ox_value *ox_model_inputs(const ox_model *model);
size_t ox_model_output_count(const ox_model *model);
const ox_value *ox_model_outputs(const ox_model *model);

size_t ox_model_node_count(const ox_model *model);  // as the file declares it
size_t ox_model_initializer_count(const ox_model *model);
const ox_tensor *ox_model_initializers(const ox_model *model);

// The graph to execute (subgraphs hang off GRAPH attributes).
const ox_graph *ox_model_graph(const ox_model *model);

// Gives back the memory of the top-level initializer whose payload starts at `data`, once the
// caller holds its values in another form and will never read these bytes again. Bytes held in
// memory of the loader's own (a parsed payload, or an aligned copy of one the file holds at an
// odd offset) are freed and the initializer's view then holds no data (byte_size 0); bytes read
// in place from a mapped file, the model's own or an external-data file, are dropped from memory
// (they would be read from the file again if touched). Returns 1 when memory was given back, 0
// when `data` is no such payload or its bytes cannot be given back (values repacked from typed
// fields). Safe to call from several threads at once, for different payloads.
int ox_model_release_data(ox_model *model, const void *data);

// Things worth knowing that did not stop the load (newer IR than the checker, conversions, ...).
size_t ox_model_diagnostic_count(const ox_model *model);
const char *ox_model_diagnostic(const ox_model *model, size_t index);

#ifdef __cplusplus
}
#endif

#endif
