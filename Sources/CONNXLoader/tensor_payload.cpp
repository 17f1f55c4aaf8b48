// Initializer payloads as packed little-endian elements, whichever of ONNX's three encodings the
// exporter chose: raw_data bytes, a typed repeated field, or external data.
#include "loader_internal.h"

#include <cstring>

namespace goal_loader {

using onnx::TensorProto;

uint64_t element_size(int32_t elem_type) {
    switch (elem_type) {
    case TensorProto::FLOAT: return 4;
    case TensorProto::FLOAT16: return 2;
    case TensorProto::BFLOAT16: return 2;
    case TensorProto::DOUBLE: return 8;
    case TensorProto::INT64: return 8;
    case TensorProto::INT32: return 4;
    case TensorProto::INT8: return 1;
    case TensorProto::UINT8: return 1;
    case TensorProto::BOOL: return 1;
    default: return 0;
    }
}

std::string element_type_name(int32_t elem_type) {
    if (TensorProto::DataType_IsValid(elem_type))
        return TensorProto::DataType_Name(static_cast<TensorProto::DataType>(elem_type));
    return "type " + std::to_string(elem_type);
}

namespace {

// Copies a typed repeated field into a packed buffer, narrowing each stored value to the
// element type's width (ONNX stores int8, uint8, bool, float16 and bfloat16 in int32_data).
template <typename Dst, typename Field>
Payload repack(const Field &field, std::deque<std::string> &owned) {
    owned.emplace_back(field.size() * sizeof(Dst), '\0');
    std::string &buffer = owned.back();
    Dst *out = reinterpret_cast<Dst *>(buffer.data());
    for (int i = 0; i < field.size(); i++) out[i] = static_cast<Dst>(field.Get(i));
    return Payload{buffer.data(), (uint64_t)buffer.size(), false};
}

}  // namespace

Payload tensor_payload(const TensorProto &tensor, ExternalData &external, std::deque<std::string> &owned) {
    const std::string &name = tensor.name();
    int32_t type = tensor.data_type();
    uint64_t width = element_size(type);
    if (width == 0)
        fail(OX_UNSUPPORTED, "initializer '" + name + "' has element type " + element_type_name(type) +
                                 "; supported are FLOAT, FLOAT16, BFLOAT16, DOUBLE, INT64, INT32, INT8, UINT8 and BOOL");
    if (tensor.has_segment())
        fail(OX_UNSUPPORTED, "initializer '" + name + "' is split into segments, which are not supported");

    uint64_t count = 1;
    for (int64_t d : tensor.dims()) {
        if (d < 0) fail(OX_INVALID_MODEL, "initializer '" + name + "' has a negative dimension");
        if (d != 0 && count > UINT64_MAX / 8 / (uint64_t)d)
            fail(OX_INVALID_MODEL, "initializer '" + name + "' declares more elements than can exist");
        count *= (uint64_t)d;
    }
    uint64_t bytes = count * width;

    if (tensor.data_location() == TensorProto::EXTERNAL) {
        const void *mapped = external.resolve(tensor, bytes);
        if (reinterpret_cast<uintptr_t>(mapped) % width == 0) return Payload{mapped, bytes, true};
        // An offset that is not a multiple of the element size: kernels need aligned elements.
        // The mapped pages are read once, for the copy, and then dropped from memory, so that
        // the weights are not held twice; ox_model_release_data frees the copy.
        owned.emplace_back(static_cast<const char *>(mapped), (size_t)bytes);
        drop_pages(mapped, bytes);
        return Payload{owned.back().data(), bytes, true};
    }

    if (tensor.has_raw_data()) {
        const std::string &raw = tensor.raw_data();
        if ((uint64_t)raw.size() != bytes)
            fail(OX_INVALID_MODEL, "initializer '" + name + "' holds " + std::to_string(raw.size()) +
                                       " bytes of raw data, but its type and shape need " + std::to_string(bytes));
        return Payload{raw.data(), bytes, false};
    }

    uint64_t stored = 0;
    switch (type) {
    case TensorProto::FLOAT: stored = (uint64_t)tensor.float_data_size(); break;
    case TensorProto::DOUBLE: stored = (uint64_t)tensor.double_data_size(); break;
    case TensorProto::INT64: stored = (uint64_t)tensor.int64_data_size(); break;
    default: stored = (uint64_t)tensor.int32_data_size(); break;
    }
    if (stored != count)
        fail(OX_INVALID_MODEL, "initializer '" + name + "' holds " + std::to_string(stored) +
                                   " values, but its shape needs " + std::to_string(count));
    switch (type) {
    case TensorProto::FLOAT: return repack<float>(tensor.float_data(), owned);
    case TensorProto::DOUBLE: return repack<double>(tensor.double_data(), owned);
    case TensorProto::INT64: return repack<int64_t>(tensor.int64_data(), owned);
    case TensorProto::INT32: return repack<int32_t>(tensor.int32_data(), owned);
    case TensorProto::INT8: return repack<int8_t>(tensor.int32_data(), owned);
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16: return repack<uint16_t>(tensor.int32_data(), owned);
    default: return repack<uint8_t>(tensor.int32_data(), owned);  // UINT8, BOOL
    }
}

}  // namespace goal_loader
