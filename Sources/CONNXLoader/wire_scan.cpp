// Tells a truncated ONNX file from something that is not ONNX at all, once protobuf has refused
// to parse it. Protobuf only says "failed"; a user deserves to know whether the download stopped
// early or the file is of another kind.
//
// The test: a real ModelProto starts with its ir_version field (protobuf writes fields in number
// order and every exporter sets it), and its top-level fields are well formed up to the point
// where one of them claims more bytes than the file has left.
#include "loader_internal.h"

namespace goal_loader {
namespace {

// ModelProto's fields and their wire types (0 varint, 2 length-delimited).
int expected_wire_type(uint64_t field) {
    switch (field) {
    case 1: case 5: return 0;                       // ir_version, model_version
    case 2: case 3: case 4: case 6: case 7: case 8: // producer_name/version, domain, doc_string, graph, opset_import
    case 14: case 20: case 25: return 2;            // metadata_props, training_info, functions
    default: return -1;
    }
}

const char *field_name(uint64_t field) {
    switch (field) {
    case 1: return "ir_version";
    case 2: return "producer_name";
    case 3: return "producer_version";
    case 4: return "domain";
    case 5: return "model_version";
    case 6: return "doc_string";
    case 7: return "graph";
    case 8: return "opset_import";
    case 14: return "metadata_props";
    case 20: return "training_info";
    case 25: return "functions";
    default: return "an unknown field";
    }
}

// Protobuf refuses messages nested deeper than this (its default recursion limit).
constexpr int nesting_limit = 100;

// How deep messages nest inside `bytes`, if they parse as one message (every field well formed,
// the last ending exactly at the end); -1 if they do not. Length-delimited fields that parse are
// counted as messages, which a string or a raw tensor payload almost never does. Stops looking
// once past the limit, so the work stays bounded.
int nesting_depth(const uint8_t *bytes, uint64_t size, int depth) {
    WireReader r{bytes, size};
    int deepest = depth;
    bool ran_out = false;
    while (r.pos < size) {
        uint64_t tag = 0, length = 0;
        if (!r.varint(tag, ran_out) || (tag >> 3) == 0) return -1;
        switch (tag & 7) {
        case 0: if (!r.varint(length, ran_out)) return -1; break;
        case 1: if (size - r.pos < 8) return -1; r.pos += 8; break;
        case 5: if (size - r.pos < 4) return -1; r.pos += 4; break;
        case 2:
            if (!r.varint(length, ran_out) || length > size - r.pos) return -1;
            if (depth <= nesting_limit) {
                int inner = nesting_depth(bytes + r.pos, length, depth + 1);
                if (inner > deepest) deepest = inner;
            }
            r.pos += length;
            break;
        default: return -1;
        }
    }
    return deepest;
}

}  // namespace

ox_code classify_unparsable(const uint8_t *bytes, uint64_t size, std::string &reason) {
    if (size == 0) {
        reason = "the file is empty";
        return OX_NOT_ONNX;
    }
    WireReader r{bytes, size};
    uint64_t tag = 0, ir = 0;
    bool ran_out = false;
    // The first field must be a plausible ir_version; anything else is another kind of file.
    if (!r.varint(tag, ran_out) || tag != 0x08 || !r.varint(ir, ran_out) || ir == 0 || ir > 100) {
        reason = "it does not start like an ONNX model (no ir_version field at the start)";
        return OX_NOT_ONNX;
    }
    bool seen_graph = false;
    while (r.pos < size) {
        uint64_t at = r.pos;
        if (!r.varint(tag, ran_out)) {
            if (ran_out) {
                reason = "the file ends in the middle of a field header at byte " + std::to_string(at);
                return OX_TRUNCATED;
            }
            reason = "malformed field header at byte " + std::to_string(at);
            return OX_NOT_ONNX;
        }
        uint64_t field = tag >> 3;
        int wire = (int)(tag & 7);
        int expected = expected_wire_type(field);
        if (field == 0 || (expected >= 0 && wire != expected) || wire == 3 || wire == 4 || wire > 5) {
            reason = "byte " + std::to_string(at) + " is not a valid ModelProto field (the file is damaged)";
            return OX_NOT_ONNX;
        }
        if (field == 7) seen_graph = true;
        uint64_t skip = 0;
        if (wire == 0) {
            uint64_t ignored;
            if (!r.varint(ignored, ran_out)) {
                reason = std::string("the file ends inside ") + field_name(field) + " at byte " + std::to_string(at);
                return ran_out ? OX_TRUNCATED : OX_NOT_ONNX;
            }
            continue;
        } else if (wire == 1) {
            skip = 8;
        } else if (wire == 5) {
            skip = 4;
        } else {
            if (!r.varint(skip, ran_out)) {
                reason = std::string("the file ends inside the length of ") + field_name(field);
                return ran_out ? OX_TRUNCATED : OX_NOT_ONNX;
            }
        }
        if (skip > size - r.pos) {
            reason = std::string("the file is ") + std::to_string(size) + " bytes long, but its " + field_name(field) +
                     " field starting at byte " + std::to_string(at) + " needs " + std::to_string(skip) +
                     " bytes from byte " + std::to_string(r.pos) + " (an interrupted download or copy?)";
            return OX_TRUNCATED;
        }
        r.pos += skip;
    }
    if (!seen_graph) {
        reason = "the file ends after " + std::to_string(size) + " bytes, before the model's graph";
        return OX_TRUNCATED;
    }
    if (nesting_depth(bytes, size, 0) > nesting_limit) {
        reason = "its messages are nested more than " + std::to_string(nesting_limit) +
                 " deep (protobuf's limit; subgraphs of If or Loop nodes nested too deeply)";
        return OX_NOT_ONNX;
    }
    reason = "the top-level structure is intact but a nested message is damaged";
    return OX_NOT_ONNX;
}

}  // namespace goal_loader
