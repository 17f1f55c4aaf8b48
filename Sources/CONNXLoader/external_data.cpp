// External data (TensorProto.data_location == EXTERNAL): the tensor's bytes live in another file
// named by a "location" relative to the model's folder, at "offset" for "length" bytes.
//
// Locations may not leave that folder: an absolute path or a ".." component is refused, since a
// model file from elsewhere must not make us read arbitrary files. Symbolic links inside the
// folder are followed (Hugging Face's cache links snapshots to blobs that way).
#include "loader_internal.h"

#include <cerrno>
#include <cstring>

namespace goal_loader {
namespace {

bool parse_u64(const std::string &text, uint64_t &out) {
    if (text.empty() || text.size() > 20) return false;
    uint64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        uint64_t next = v * 10 + (uint64_t)(c - '0');
        if (next / 10 != v) return false;
        v = next;
    }
    out = v;
    return true;
}

}  // namespace

bool escapes_folder(const std::string &location) {
    if (location.empty()) return false;
    if (location[0] == '/' || location[0] == '\\') return true;
    if (location.size() >= 2 && location[1] == ':') return true;  // a Windows drive letter
    size_t start = 0;
    while (start <= location.size()) {
        size_t end = location.find_first_of("/\\", start);
        if (end == std::string::npos) end = location.size();
        if (location.compare(start, end - start, "..") == 0 && end - start == 2) return true;
        start = end + 1;
    }
    return false;
}

const void *ExternalData::resolve(const onnx::TensorProto &tensor, uint64_t expected_bytes) {
    const std::string &name = tensor.name();
    std::string location;
    uint64_t offset = 0, length = 0;
    bool has_length = false;
    for (const auto &entry : tensor.external_data()) {
        if (entry.key() == "location") {
            location = entry.value();
        } else if (entry.key() == "offset") {
            if (!parse_u64(entry.value(), offset))
                fail(OX_INVALID_MODEL, "tensor '" + name + "' has an invalid external-data offset '" + entry.value() + "'");
        } else if (entry.key() == "length") {
            if (!parse_u64(entry.value(), length))
                fail(OX_INVALID_MODEL, "tensor '" + name + "' has an invalid external-data length '" + entry.value() + "'");
            has_length = true;
        }
    }
    if (location.empty())
        fail(OX_INVALID_MODEL, "tensor '" + name + "' stores its data externally but names no location");
    if (location.find('\0') != std::string::npos || escapes_folder(location))
        fail(OX_PATH_ESCAPE, "tensor '" + name + "' points its external data at '" + location +
                                 "', outside the model's folder '" + dir_ +
                                 "'; only relative locations inside that folder are read");
    if (has_length && length != expected_bytes)
        fail(OX_EXTERNAL_DATA, "tensor '" + name + "' declares " + std::to_string(length) + " bytes of external data in '" +
                                   location + "', but its type and shape need " + std::to_string(expected_bytes));

    auto found = files_.find(location);
    if (found == files_.end()) {
        std::string path = dir_ + "/" + location;
        auto file = std::make_unique<MappedFile>();
        int err = file->open(path);
        if (err == ENOENT || err == ENOTDIR)
            fail(OX_EXTERNAL_DATA, "tensor '" + name + "' stores its data in '" + location +
                                       "', which is missing (looked for " + path + ")");
        if (err != 0)
            fail(OX_EXTERNAL_DATA, "tensor '" + name + "' stores its data in '" + path + "', which cannot be read: " +
                                       std::strerror(err));
        found = files_.emplace(location, std::move(file)).first;
    }
    const MappedFile &file = *found->second;
    if (offset > file.size() || expected_bytes > file.size() - offset)
        fail(OX_EXTERNAL_DATA, "external-data file '" + location + "' is " + std::to_string(file.size()) +
                                   " bytes long, but tensor '" + name + "' needs bytes " + std::to_string(offset) + "–" +
                                   std::to_string(offset + expected_bytes) + " (is the file truncated?)");
    if (expected_bytes == 0) return nullptr;
    return file.data() + offset;
}

void ExternalData::check_all(const onnx::GraphProto &graph) {
    for (const auto &t : graph.initializer()) {
        if (t.data_location() != onnx::TensorProto::EXTERNAL) continue;
        uint64_t width = element_size(t.data_type());
        if (width == 0) continue;  // refused with its own message when the payload is read
        uint64_t count = 1;
        for (int64_t d : t.dims()) count *= d > 0 ? (uint64_t)d : 0;
        resolve(t, count * width);
    }
    for (const auto &node : graph.node())
        for (const auto &a : node.attribute())
            if (a.type() == onnx::AttributeProto::GRAPH) check_all(a.g());
}

}  // namespace goal_loader
