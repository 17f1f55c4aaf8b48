// Flat C views of a GraphProto for the Swift engine: nodes with their attributes, initializers
// with their payloads, subgraphs of control-flow nodes, and the element types shape inference
// found. The views point into the ModelProto (names) and into storage owned here.
#include "loader_internal.h"

#include <set>

namespace goal_loader {

template <typename T> const T *GraphViews::keep(std::vector<T> items) {
    if constexpr (std::is_same_v<T, ox_node>) {
        nodes_.push_back(std::move(items));
        return nodes_.back().data();
    } else if constexpr (std::is_same_v<T, ox_attribute>) {
        attributes_.push_back(std::move(items));
        return attributes_.back().data();
    } else if constexpr (std::is_same_v<T, ox_tensor>) {
        tensor_lists_.push_back(std::move(items));
        return tensor_lists_.back().data();
    } else if constexpr (std::is_same_v<T, const char *>) {
        names_.push_back(std::move(items));
        return names_.back().data();
    } else if constexpr (std::is_same_v<T, int64_t>) {
        ints_.push_back(std::move(items));
        return ints_.back().data();
    } else if constexpr (std::is_same_v<T, float>) {
        floats_.push_back(std::move(items));
        return floats_.back().data();
    } else {
        types_.push_back(std::move(items));
        return types_.back().data();
    }
}

bool GraphViews::free_copy(const void *data) {
    for (auto &copy : repacked_) {
        if (copy.empty() || copy.data() != data) continue;
        std::string().swap(copy);
        return true;
    }
    return false;
}

ox_tensor GraphViews::tensor_view(const onnx::TensorProto &t) {
    Payload p = tensor_payload(t, external_, repacked_);
    std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
    int32_t rank = (int32_t)dims.size();
    return ox_tensor{t.name().c_str(), t.data_type(), rank, keep(std::move(dims)), p.data, p.size, p.external ? 1 : 0};
}

ox_attribute GraphViews::attribute_view(const onnx::AttributeProto &a) {
    ox_attribute v{};
    v.name = a.name().c_str();
    v.type = a.type();
    switch (a.type()) {
    case onnx::AttributeProto::FLOAT: v.f = a.f(); break;
    case onnx::AttributeProto::INT: v.i = a.i(); break;
    case onnx::AttributeProto::STRING:
        v.s = a.s().data();
        v.s_size = a.s().size();
        break;
    case onnx::AttributeProto::TENSOR:
        tensors_.push_back(tensor_view(a.t()));
        v.tensor = &tensors_.back();
        break;
    case onnx::AttributeProto::GRAPH: v.graph = build(a.g()); break;
    case onnx::AttributeProto::FLOATS:
        v.count = (size_t)a.floats_size();
        v.floats = keep(std::vector<float>(a.floats().begin(), a.floats().end()));
        break;
    case onnx::AttributeProto::INTS:
        v.count = (size_t)a.ints_size();
        v.ints = keep(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
        break;
    case onnx::AttributeProto::STRINGS: {
        std::vector<const char *> strings;
        for (const auto &s : a.strings()) strings.push_back(s.c_str());
        v.count = strings.size();
        v.strings = keep(std::move(strings));
        break;
    }
    default: break;  // TENSORS, GRAPHS, SPARSE_*, TYPE_PROTO(S): no operator we run uses them
    }
    return v;
}

const ox_graph *GraphViews::build(const onnx::GraphProto &g) {
    ox_graph view{};
    std::vector<ox_tensor> initializers;
    std::set<std::string> initializer_names;
    for (const auto &t : g.initializer()) {
        initializers.push_back(tensor_view(t));
        initializer_names.insert(t.name());
    }
    view.initializer_count = initializers.size();
    view.initializers = keep(std::move(initializers));

    std::vector<ox_node> nodes;
    for (const auto &n : g.node()) {
        ox_node node{};
        node.name = n.name().c_str();
        node.op_type = n.op_type().c_str();
        node.domain = n.domain().c_str();
        std::vector<const char *> inputs, outputs;
        for (const auto &name : n.input()) inputs.push_back(name.c_str());
        for (const auto &name : n.output()) outputs.push_back(name.c_str());
        node.input_count = inputs.size();
        node.inputs = keep(std::move(inputs));
        node.output_count = outputs.size();
        node.outputs = keep(std::move(outputs));
        std::vector<ox_attribute> attributes;
        for (const auto &a : n.attribute()) attributes.push_back(attribute_view(a));
        node.attribute_count = attributes.size();
        node.attributes = keep(std::move(attributes));
        nodes.push_back(node);
    }
    view.node_count = nodes.size();
    view.nodes = keep(std::move(nodes));

    std::vector<const char *> inputs, outputs, typed;
    std::vector<int32_t> types, ranks;
    std::vector<const ox_dim *> dims;
    for (const auto &v : g.input())
        if (!initializer_names.count(v.name())) inputs.push_back(v.name().c_str());
    for (const auto &v : g.output()) outputs.push_back(v.name().c_str());
    auto note_type = [&](const onnx::ValueInfoProto &v) {
        if (v.type().has_tensor_type() && v.type().tensor_type().elem_type() != 0) {
            const auto &tensor = v.type().tensor_type();
            typed.push_back(v.name().c_str());
            types.push_back(tensor.elem_type());
            std::vector<ox_dim> shape;
            for (const auto &d : tensor.shape().dim()) {
                if (d.has_dim_value()) shape.push_back(ox_dim{d.dim_value(), nullptr});
                else shape.push_back(ox_dim{-1, d.has_dim_param() && !d.dim_param().empty() ? d.dim_param().c_str() : nullptr});
            }
            ranks.push_back(tensor.has_shape() ? (int32_t)shape.size() : -1);
            dims_.push_back(std::move(shape));
            dims.push_back(dims_.back().data());
        }
    };
    for (const auto &v : g.input()) note_type(v);
    for (const auto &v : g.output()) note_type(v);
    for (const auto &v : g.value_info()) note_type(v);
    view.input_count = inputs.size();
    view.inputs = keep(std::move(inputs));
    view.output_count = outputs.size();
    view.outputs = keep(std::move(outputs));
    view.typed_count = typed.size();
    view.typed_names = keep(std::move(typed));
    view.typed_types = keep(std::move(types));
    view.typed_ranks = keep(std::move(ranks));
    dim_lists_.push_back(std::move(dims));
    view.typed_dims = dim_lists_.back().data();

    graphs_.push_back(view);
    return &graphs_.back();
}

}  // namespace goal_loader
