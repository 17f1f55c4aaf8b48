// Opening a model without copying its weights. Protobuf's parser copies every raw_data payload
// into a string of its own: for a CLIP tower of 250-350 MB that copy, with the page faults of
// its fresh memory, was two thirds of the time to open the model. Here the file is mapped
// instead, and a copy of its messages without the large payloads (a "skeleton", a few hundred
// KB) is given to the parser. Each payload left out becomes an external-data reference to the
// model file itself, at the payload's offset, which the external-data code already resolves
// into the mapping: the rest of the loader, the checker included, sees an ordinary model whose
// weights live in a file next to it.
//
// Only the top-level initializers' raw_data of at least `smallest_mapped` bytes are left out,
// and only where their size is what the tensor's type and shape need (a tensor that is wrong
// stays in the message, for the ordinary message about it): small tensors such as shapes, which
// shape inference and the opset converter may read, stay inside the message. Anything this reader does not expect (a damaged field, a graph field that
// appears twice, a tensor already external) makes it give up, and the file is parsed the
// ordinary way, which also gives the ordinary error messages.
#include "loader_internal.h"

namespace goal_loader {
namespace {

constexpr uint64_t smallest_mapped = 4096;

// Field numbers in onnx.proto.
enum : uint64_t {
    model_graph = 7,
    graph_initializer = 5,
    tensor_dims = 1,
    tensor_data_type = 2,
    tensor_raw_data = 9,
    tensor_external_data = 13,
    tensor_data_location = 14,
    entry_key = 1,
    entry_value = 2,
};

struct Field {
    uint64_t number = 0;
    int wire = 0;
    uint64_t value = 0;                // a varint field's value
    uint64_t start = 0, end = 0;        // the whole field, tag included
    uint64_t payload = 0, length = 0;  // a length-delimited field's contents
};

// Reads the next field; false if it is malformed or of a wire type protobuf no longer writes.
bool next_field(WireReader &r, Field &f) {
    bool ran_out = false;
    uint64_t tag = 0;
    f.start = r.pos;
    if (!r.varint(tag, ran_out)) return false;
    f.number = tag >> 3;
    f.wire = (int)(tag & 7);
    if (f.number == 0) return false;
    switch (f.wire) {
    case 0:
        if (!r.varint(f.value, ran_out)) return false;
        break;
    case 1:
        if (r.size - r.pos < 8) return false;
        r.pos += 8;
        break;
    case 5:
        if (r.size - r.pos < 4) return false;
        r.pos += 4;
        break;
    case 2:
        if (!r.varint(f.length, ran_out) || f.length > r.size - r.pos) return false;
        f.payload = r.pos;
        r.pos += f.length;
        break;
    default: return false;
    }
    f.end = r.pos;
    return true;
}

void put_varint(std::string &out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back((char)(v | 0x80));
        v >>= 7;
    }
    out.push_back((char)v);
}

void put_bytes(std::string &out, uint64_t field, const void *data, uint64_t size) {
    put_varint(out, field << 3 | 2);
    put_varint(out, size);
    out.append(static_cast<const char *>(data), size);
}

void put_entry(std::string &out, const std::string &key, const std::string &value) {
    std::string entry;
    put_bytes(entry, entry_key, key.data(), key.size());
    put_bytes(entry, entry_value, value.data(), value.size());
    put_bytes(out, tensor_external_data, entry.data(), entry.size());
}

// The TensorProto at bytes [at, at + size) of the file, with a large raw_data replaced by a
// reference to `location`; `mapped` says whether it was.
bool tensor(const uint8_t *file, uint64_t at, uint64_t size, const std::string &location, std::string &out,
            bool &mapped) {
    WireReader r{file + at, size};
    Field f, raw;
    int raw_fields = 0;
    bool external = false, sized = true;
    uint64_t type = 0, count = 1;
    auto dimension = [&](uint64_t d) {
        if (d > 0 && count > UINT64_MAX / 8 / d) sized = false;  // more than can exist: not ours to judge
        count *= d;
    };
    while (r.pos < size) {
        if (!next_field(r, f)) return false;
        if (f.number == tensor_raw_data && f.wire == 2) raw_fields++, raw = f;
        if (f.number == tensor_external_data || f.number == tensor_data_location) external = true;
        if (f.number == tensor_data_type && f.wire == 0) type = f.value;
        if (f.number == tensor_dims && f.wire == 0) dimension(f.value);
        if (f.number == tensor_dims && f.wire == 2) {  // packed
            WireReader dims{file + at + f.payload, f.length};
            uint64_t d = 0;
            bool ran_out = false;
            while (dims.pos < dims.size) {
                if (!dims.varint(d, ran_out)) return false;
                dimension(d);
            }
        }
    }
    // A negative dimension arrives as a huge varint and fails the size test below.
    uint64_t width = type <= INT32_MAX ? element_size((int32_t)type) : 0;
    mapped = raw_fields == 1 && !external && raw.length >= smallest_mapped && sized && width > 0 &&
             count <= UINT64_MAX / width && count * width == raw.length;
    if (!mapped) {
        out.append(reinterpret_cast<const char *>(file + at), size);
        return true;
    }
    out.append(reinterpret_cast<const char *>(file + at), raw.start);
    out.append(reinterpret_cast<const char *>(file + at + raw.end), size - raw.end);
    put_entry(out, "location", location);
    put_entry(out, "offset", std::to_string(at + raw.payload));
    put_entry(out, "length", std::to_string(raw.length));
    put_varint(out, tensor_data_location << 3 | 0);
    put_varint(out, 1);  // TensorProto.EXTERNAL
    return true;
}

bool graph(const uint8_t *file, uint64_t at, uint64_t size, const std::string &location, std::string &out,
           std::vector<bool> &mapped) {
    WireReader r{file + at, size};
    Field f;
    std::string rewritten;
    while (r.pos < size) {
        if (!next_field(r, f)) return false;
        if (f.number != graph_initializer || f.wire != 2) {
            out.append(reinterpret_cast<const char *>(file + at + f.start), f.end - f.start);
            continue;
        }
        bool was_mapped = false;
        rewritten.clear();
        if (!tensor(file, at + f.payload, f.length, location, rewritten, was_mapped)) return false;
        put_bytes(out, graph_initializer, rewritten.data(), rewritten.size());
        mapped.push_back(was_mapped);
    }
    return true;
}

}  // namespace

bool skeleton_of(const uint8_t *file, uint64_t size, const std::string &location, std::string &skeleton,
                 std::vector<bool> &mapped) {
    skeleton.clear();
    mapped.clear();
    WireReader r{file, size};
    Field f;
    int graphs = 0;
    std::string rewritten;
    while (r.pos < size) {
        if (!next_field(r, f)) return false;
        if (f.number != model_graph || f.wire != 2) {
            skeleton.append(reinterpret_cast<const char *>(file + f.start), f.end - f.start);
            continue;
        }
        // Protobuf merges repeated occurrences of a message field; this reader does not.
        if (++graphs > 1) return false;
        if (!graph(file, f.payload, f.length, location, rewritten, mapped)) return false;
        put_bytes(skeleton, model_graph, rewritten.data(), rewritten.size());
    }
    for (bool m : mapped)
        if (m) return true;
    return false;  // nothing to leave out: the ordinary parse is as quick
}

}  // namespace goal_loader
