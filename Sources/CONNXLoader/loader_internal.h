// Shared pieces of the loader's C++ files. Not seen by Swift.
#pragma once

// libonnx's version converter has a member named DEBUG, which SwiftPM's debug builds define as a
// macro (-DDEBUG=1). Nothing here needs the macro, so it goes before any libonnx header.
#undef DEBUG

#include "onnx_loader.h"

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace goal_loader {

// Every failure inside the loader is thrown as one of these and turned into (code, message)
// at the C boundary; nothing else crosses it.
struct LoadError {
    ox_code code;
    std::string message;
};

[[noreturn]] inline void fail(ox_code code, std::string message) {
    throw LoadError{code, std::move(message)};
}

// A read-only memory map of a whole file. An empty file maps to (nullptr, 0).
class MappedFile {
public:
    // Returns 0 or an errno value (EISDIR for a directory).
    int open(const std::string &path);
    ~MappedFile();
    const uint8_t *data() const { return data_; }
    uint64_t size() const { return size_; }

private:
    const uint8_t *data_ = nullptr;
    uint64_t size_ = 0;
};

// Reads protobuf's wire format from a buffer, for the few places that look at a file's bytes
// before (or instead of) protobuf's own parser.
struct WireReader {
    const uint8_t *p;
    uint64_t size;
    uint64_t pos = 0;

    // false when the varint runs past the end of the buffer or beyond 10 bytes.
    bool varint(uint64_t &out, bool &ran_out) {
        out = 0;
        ran_out = false;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos >= size) {
                ran_out = true;
                return false;
            }
            uint8_t b = p[pos++];
            out |= (uint64_t)(b & 0x7f) << shift;
            if (!(b & 0x80)) return true;
        }
        return false;
    }
};

// Why a buffer failed to parse as a ModelProto: OX_TRUNCATED or OX_NOT_ONNX, with a reason.
ox_code classify_unparsable(const uint8_t *bytes, uint64_t size, std::string &reason);

// Drops the whole pages inside [data, data + size) of a file mapping from memory (they are read
// from the file again if touched). Returns whether any were.
bool drop_pages(const void *data, uint64_t size);

// A copy of the ModelProto in `file` whose large top-level initializer payloads are left out and
// named instead as external data at their offsets in the file itself, found under `location`;
// mapped[i] says whether initializer i was. False when the file has nothing to leave out or is
// not read the way this expects: the caller then parses the file itself. See mapped_payloads.cpp.
bool skeleton_of(const uint8_t *file, uint64_t size, const std::string &location, std::string &skeleton,
                 std::vector<bool> &mapped);

// Whether an external-data location would leave the model's folder (absolute, or with "..").
bool escapes_folder(const std::string &location);

// Finds, maps and bounds-checks external-data files next to a model. Each file is mapped once
// and stays mapped for the resolver's lifetime.
class ExternalData {
public:
    explicit ExternalData(std::string model_dir) : dir_(std::move(model_dir)) {}
    // The payload of an external tensor that needs exactly `expected_bytes` bytes.
    const void *resolve(const onnx::TensorProto &tensor, uint64_t expected_bytes);
    // Checks every external initializer of a graph and its subgraphs: location, file, size.
    void check_all(const onnx::GraphProto &graph);

private:
    std::string dir_;
    std::map<std::string, std::unique_ptr<MappedFile>> files_;
};

// Bytes per element of the initializer types the engine carries; 0 for any other type.
uint64_t element_size(int32_t elem_type);
// ONNX's name of an element type ("FLOAT", "INT64", ...) for messages.
std::string element_type_name(int32_t elem_type);

struct Payload {
    const void *data;
    uint64_t size;
    bool external;
};

// The packed little-endian payload of an initializer. Typed repeated fields are repacked into a
// buffer appended to `owned`, whose addresses stay stable.
Payload tensor_payload(const onnx::TensorProto &tensor, ExternalData &external, std::deque<std::string> &owned);

// Builds the flat views of a graph and its subgraphs, resolving every tensor payload (initializers
// and tensor attributes). Owns everything the views point at.
class GraphViews {
public:
    GraphViews(ExternalData &external) : external_(external) {}
    const ox_graph *build(const onnx::GraphProto &graph);
    // Frees the copy of a payload made here (see tensor_payload) that starts at `data`; false if
    // there is none.
    bool free_copy(const void *data);

private:
    ox_tensor tensor_view(const onnx::TensorProto &tensor);
    ox_attribute attribute_view(const onnx::AttributeProto &attribute);
    template <typename T> const T *keep(std::vector<T> items);

    ExternalData &external_;
    std::deque<std::string> repacked_;
    std::deque<ox_graph> graphs_;
    std::deque<ox_tensor> tensors_;
    std::deque<std::vector<ox_node>> nodes_;
    std::deque<std::vector<ox_attribute>> attributes_;
    std::deque<std::vector<ox_tensor>> tensor_lists_;
    std::deque<std::vector<const char *>> names_;
    std::deque<std::vector<int64_t>> ints_;
    std::deque<std::vector<float>> floats_;
    std::deque<std::vector<int32_t>> types_;
    std::deque<std::vector<ox_dim>> dims_;
    std::deque<std::vector<const ox_dim *>> dim_lists_;
};

}  // namespace goal_loader
