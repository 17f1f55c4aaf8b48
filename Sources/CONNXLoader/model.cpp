// The open pipeline: read → parse → convert old opsets → check → resolve payloads → infer shapes,
// and the flat views the Swift side reads.
#include "loader_internal.h"

#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include <cerrno>
#include <mutex>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <new>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <vector>

using namespace goal_loader;

struct ox_model {
    onnx::ModelProto proto;
    std::deque<std::string> strings;  // names and symbols the views point at
    std::vector<ox_opset> opsets;
    std::deque<std::vector<ox_dim>> dims;
    std::vector<ox_value> inputs, outputs;
    std::unique_ptr<ExternalData> external;
    std::unique_ptr<GraphViews> views;
    const ox_graph *graph = nullptr;
    std::vector<std::string> diagnostics;
    const char *producer_name = "";
    const char *producer_version = "";
    size_t declared_nodes = 0;  // before any opset conversion, which may add nodes
    std::mutex release_lock;    // ox_model_release_data may be called from several threads
    // Per top-level initializer: whether its payload was left in the mapped model file (see
    // mapped_payloads.cpp) rather than parsed into the proto.
    std::vector<bool> mapped_from_file;

    const char *keep(const std::string &s) {
        strings.push_back(s);
        return strings.back().c_str();
    }
};

namespace {

bool is_default_domain(const std::string &domain) { return domain.empty() || domain == "ai.onnx"; }

int64_t default_opset(const onnx::ModelProto &proto) {
    for (const auto &op : proto.opset_import())
        if (is_default_domain(op.domain())) return op.version();
    return -1;
}

std::string folder_of(const std::string &path) {
    size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

ox_value snapshot_value(ox_model &m, const onnx::ValueInfoProto &info) {
    ox_value v{m.keep(info.name()), 0, -1, nullptr};
    if (!info.type().has_tensor_type()) return v;
    const auto &tensor = info.type().tensor_type();
    v.elem_type = tensor.elem_type();
    if (!tensor.has_shape()) return v;
    m.dims.emplace_back();
    auto &dims = m.dims.back();
    for (const auto &d : tensor.shape().dim()) {
        if (d.has_dim_value()) dims.push_back(ox_dim{d.dim_value(), nullptr});
        else if (d.has_dim_param() && !d.dim_param().empty()) dims.push_back(ox_dim{-1, m.keep(d.dim_param())});
        else dims.push_back(ox_dim{-1, nullptr});
    }
    v.rank = (int32_t)dims.size();
    v.dims = dims.data();
    return v;
}

void snapshot_signature(ox_model &m) {
    const auto &proto = m.proto;
    m.producer_name = m.keep(proto.producer_name());
    m.producer_version = m.keep(proto.producer_version());
    for (const auto &op : proto.opset_import()) m.opsets.push_back(ox_opset{m.keep(op.domain()), op.version()});
    const auto &graph = proto.graph();
    std::set<std::string> initializer_names;
    for (const auto &t : graph.initializer()) initializer_names.insert(t.name());
    // Since IR 4 an initializer may also be listed as an input (a default a caller can override);
    // like onnxruntime, we report only the inputs a caller must feed.
    for (const auto &in : graph.input())
        if (!initializer_names.count(in.name())) m.inputs.push_back(snapshot_value(m, in));
    for (const auto &out : graph.output()) m.outputs.push_back(snapshot_value(m, out));
    m.declared_nodes = (size_t)graph.node_size();
}

void convert_opset(ox_model &m, const ox_options &options) {
    int64_t version = default_opset(m.proto);
    if (version < 0) return;  // only other domains (ai.onnx.ml, ...): nothing of ai.onnx to convert
    if (version > options.opset_max)
        fail(OX_UNSUPPORTED, "the model uses opset " + std::to_string(version) + " of ai.onnx; supported are opsets " +
                                 std::to_string(options.opset_min) + "–" + std::to_string(options.opset_max) +
                                 " (export again with opset_version=" + std::to_string(options.opset_max) + " or lower)");
    if (version >= options.opset_min) return;
    std::string range = std::to_string(options.opset_min) + "–" + std::to_string(options.opset_max);
    if (!options.convert_opset)
        fail(OX_UNSUPPORTED, "the model uses opset " + std::to_string(version) + " of ai.onnx; supported are opsets " +
                                 range + " and opset conversion is turned off");
    try {
        m.proto = onnx::version_conversion::ConvertVersion(m.proto, (int)options.opset_min);
    } catch (const std::exception &e) {
        fail(OX_UNSUPPORTED, "the model uses opset " + std::to_string(version) + " of ai.onnx; supported are opsets " +
                                 range + ", and libonnx's version converter could not convert it: " + e.what());
    }
    m.diagnostics.push_back("converted from opset " + std::to_string(version) + " to opset " +
                            std::to_string(options.opset_min) + " of ai.onnx with libonnx's version converter");
}

// libonnx's check_model(ModelProto) as a function of our own, for two reasons: its context has no
// model folder, so it looks for external data relative to the current directory; and it refuses
// any IR newer than it knows. Here the folder is set and the IR is capped at what it knows.
void check_with_libonnx(const onnx::ModelProto &proto, const std::string &folder, int64_t checked_ir) {
    namespace checker = onnx::checker;
    std::set<std::string> keys;
    for (const auto &entry : proto.metadata_props())
        if (!keys.insert(entry.key()).second)
            throw std::runtime_error("metadata_props has the key '" + entry.key() + "' twice");
    std::unordered_map<std::string, int> imports;
    for (const auto &op : proto.opset_import()) imports[op.domain()] = (int)op.version();
    if (imports.empty()) throw std::runtime_error("the model imports no opset");
    checker::CheckerContext context;
    context.set_ir_version((int)checked_ir);
    context.set_opset_imports(imports);
    context.set_model_dir(folder);
    checker::LexicalScopeContext scope;
    checker::check_graph(proto.graph(), context, scope);
    if (checked_ir >= 8) checker::check_model_local_functions(proto, context, scope);
}

// libonnx 1.12 predates current exporters (torch's dynamo exporter writes IR 10 and opset 18+):
// its checker knows neither and checks newer ops against older schemas. So a model newer than
// libonnx is checked as far as libonnx can and what it reports becomes a diagnostic; only a model
// libonnx fully understands is refused on the checker's word.
void run_checker(ox_model &m, const std::string &folder) {
    const int64_t checker_ir = ox_checker_ir_version();
    const int64_t registry_opset = ox_registry_opset_max();
    const int64_t ir = m.proto.ir_version();
    const int64_t opset = default_opset(m.proto);
    const bool newer_ir = ir > checker_ir;
    const bool newer_opset = opset > registry_opset;
    if (newer_ir)
        m.diagnostics.push_back("IR version " + std::to_string(ir) + " is newer than libonnx's checker (IR " +
                                std::to_string(checker_ir) + "); the model was checked as IR " + std::to_string(checker_ir));
    if (newer_opset)
        m.diagnostics.push_back("opset " + std::to_string(opset) + " of ai.onnx is newer than libonnx's schemas (up to " +
                                std::to_string(registry_opset) + "); nodes were checked against the newest schemas it has");
    try {
        check_with_libonnx(m.proto, folder, newer_ir ? checker_ir : ir);
    } catch (const std::exception &e) {
        if (!newer_ir && !newer_opset) fail(OX_INVALID_MODEL, std::string("libonnx's checker refused the model: ") + e.what());
        m.diagnostics.push_back(std::string("libonnx's checker, which predates this model, reported: ") + e.what());
    }
}

// What must hold for any graph we load, whatever the checker could say: every value a node or
// output reads is defined before it is read, and no value is defined twice.
void check_structure(const ox_model &m) {
    const auto &graph = m.proto.graph();
    std::set<std::string> defined;
    auto define = [&](const std::string &name, const char *what) {
        if (!defined.insert(name).second)
            fail(OX_INVALID_MODEL, std::string("value '") + name + "' is defined twice (again as " + what + ")");
    };
    for (const auto &t : graph.initializer()) define(t.name(), "an initializer");
    for (const auto &in : graph.input())
        if (!defined.count(in.name())) define(in.name(), "a graph input");
    for (int i = 0; i < graph.node_size(); i++) {
        const auto &node = graph.node(i);
        for (const auto &name : node.input())
            if (!name.empty() && !defined.count(name))
                fail(OX_INVALID_MODEL, "node '" + node.name() + "' (" + node.op_type() + ") reads '" + name +
                                           "', which no earlier node, input or initializer defines");
        for (const auto &name : node.output())
            if (!name.empty()) define(name, ("an output of node '" + node.name() + "'").c_str());
    }
    for (const auto &out : graph.output())
        if (!defined.count(out.name()))
            fail(OX_INVALID_MODEL, "graph output '" + out.name() + "' is produced by no node, input or initializer");
}

void infer_shapes(ox_model &m) {
    try {
        onnx::shape_inference::InferShapes(m.proto);
    } catch (const std::exception &e) {
        m.diagnostics.push_back(std::string("shape inference stopped early: ") + e.what());
    }
}

// Builds the graph views, which resolves every payload: initializers (external data included)
// and tensor attributes such as Constant's value, in subgraphs too.
void resolve_graph(ox_model &m, const std::string &folder) {
    const auto &graph = m.proto.graph();
    if (graph.sparse_initializer_size() > 0)
        fail(OX_UNSUPPORTED, "sparse initializer '" + graph.sparse_initializer(0).values().name() + "' is not supported");
    m.external = std::make_unique<ExternalData>(folder);
    m.views = std::make_unique<GraphViews>(*m.external);
    m.graph = m.views->build(graph);
}

// Parses the model from a skeleton of its mapped file, its large payloads left in the file (see
// mapped_payloads.cpp). False, with nothing kept, when that does not apply.
bool parse_skeleton(ox_model &m, const std::string &path) {
    std::string name = path.substr(path.find_last_of('/') + 1);
    if (name.empty() || name.find('\0') != std::string::npos || escapes_folder(name)) return false;
    MappedFile file;
    if (file.open(path) != 0 || file.size() == 0) return false;
    std::string skeleton;
    std::vector<bool> mapped;
    if (!skeleton_of(file.data(), file.size(), name, skeleton, mapped)) return false;
    if (!m.proto.ParseFromString(skeleton) || !m.proto.has_graph() ||
        (size_t)m.proto.graph().initializer_size() != mapped.size()) {
        m.proto.Clear();
        return false;
    }
    m.mapped_from_file = std::move(mapped);
    return true;
}

void open_model(ox_model &m, const std::string &path, const ox_options &options) {
    {
        // A file whose weights are inside it is mapped, and parsed without them (parse_skeleton).
        // Any other is read through a small buffer: the protobuf message copies every payload,
        // and a mapping of the whole file alongside it would double the peak memory of opening.
        // A file that fails to parse is mapped, to say why.
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (err == ENOENT || err == ENOTDIR) fail(OX_NOT_FOUND, "no such file: " + path);
            fail(OX_IO, "cannot read " + path + ": " + std::strerror(err));
        }
        struct stat st;
        if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
            bool folder = S_ISDIR(st.st_mode);
            ::close(fd);
            if (folder) fail(OX_IO, path + " is a folder, not an ONNX file");
            fail(OX_IO, "cannot read " + path + ": " + std::strerror(errno));
        }
        if ((uint64_t)st.st_size > (uint64_t)INT_MAX) {
            ::close(fd);
            fail(OX_UNSUPPORTED, path + " is over 2 GiB, more than one protobuf message can hold; "
                                        "save the weights as external data");
        }
        bool parsed = parse_skeleton(m, path);
        if (!parsed) {
            google::protobuf::io::FileInputStream stream(fd, 1 << 20);
            parsed = st.st_size > 0 && m.proto.ParseFromZeroCopyStream(&stream) && stream.GetErrno() == 0;
        }
        ::close(fd);
        if (!parsed || !m.proto.has_graph()) {
            MappedFile file;
            int err = file.open(path);
            if (err != 0) fail(OX_IO, "cannot read " + path + ": " + std::strerror(err));
            std::string reason;
            ox_code code = classify_unparsable(file.data(), file.size(), reason);
            fail(code, path + (code == OX_TRUNCATED ? " is a truncated ONNX file: " : " is not an ONNX model: ") + reason);
        }
    }
    if (m.proto.ir_version() < 3)
        fail(OX_UNSUPPORTED, "IR version " + std::to_string(m.proto.ir_version()) +
                                 " predates opset imports (IR 3); export the model again with a current exporter");
    snapshot_signature(m);
    convert_opset(m, options);
    const std::string folder = folder_of(path);
    // A missing or escaping data file deserves its own status, before the checker trips on it.
    ExternalData(folder).check_all(m.proto.graph());
    if (options.check_model) run_checker(m, folder);
    check_structure(m);
    if (options.infer_shapes) infer_shapes(m);
    // Last: the views point into the proto, which nothing changes after this.
    resolve_graph(m, folder);
    // To the caller a payload left in the model file is no external data: the file holds it.
    ox_tensor *views = const_cast<ox_tensor *>(m.graph->initializers);
    for (size_t i = 0; i < m.mapped_from_file.size() && i < m.graph->initializer_count; i++)
        if (m.mapped_from_file[i]) views[i].is_external = 0;
}

char *copy_message(const std::string &text) {
    char *out = static_cast<char *>(std::malloc(text.size() + 1));
    if (out) std::memcpy(out, text.c_str(), text.size() + 1);
    return out;
}

}  // namespace

extern "C" {

ox_code ox_model_open(const char *path, const ox_options *options, ox_model **out_model, char **out_message) {
    *out_model = nullptr;
    *out_message = nullptr;
    ox_model *m = nullptr;
    try {
        m = new ox_model();
        open_model(*m, path, *options);
        *out_model = m;
        return OX_OK;
    } catch (const LoadError &e) {
        delete m;
        *out_message = copy_message(e.message);
        return e.code;
    } catch (const std::bad_alloc &) {
        delete m;
        *out_message = copy_message(std::string("out of memory while loading ") + path);
        return OX_OUT_OF_MEMORY;
    } catch (const std::exception &e) {
        delete m;
        *out_message = copy_message(std::string("unexpected error while loading ") + path + ": " + e.what());
        return OX_INTERNAL;
    } catch (...) {
        delete m;
        *out_message = copy_message(std::string("unexpected error while loading ") + path);
        return OX_INTERNAL;
    }
}

void ox_message_free(char *message) { std::free(message); }
void ox_model_free(ox_model *model) { delete model; }

int64_t ox_checker_ir_version(void) { return onnx::Version::IR_VERSION; }

int64_t ox_registry_opset_max(void) {
    const auto &ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
    auto found = ranges.find(onnx::ONNX_DOMAIN);
    return found == ranges.end() ? 0 : found->second.second;
}

int64_t ox_model_ir_version(const ox_model *m) { return m->proto.ir_version(); }
const char *ox_model_producer_name(const ox_model *m) { return m->producer_name; }
const char *ox_model_producer_version(const ox_model *m) { return m->producer_version; }
size_t ox_model_opset_count(const ox_model *m) { return m->opsets.size(); }
const ox_opset *ox_model_opsets(const ox_model *m) { return m->opsets.data(); }
size_t ox_model_input_count(const ox_model *m) { return m->inputs.size(); }
const ox_value *ox_model_inputs(const ox_model *m) { return m->inputs.data(); }
size_t ox_model_output_count(const ox_model *m) { return m->outputs.size(); }
const ox_value *ox_model_outputs(const ox_model *m) { return m->outputs.data(); }
size_t ox_model_node_count(const ox_model *m) { return m->declared_nodes; }
size_t ox_model_initializer_count(const ox_model *m) { return m->graph->initializer_count; }
const ox_tensor *ox_model_initializers(const ox_model *m) { return m->graph->initializers; }
const ox_graph *ox_model_graph(const ox_model *m) { return m->graph; }

int ox_model_release_data(ox_model *m, const void *data) {
    if (!m || !m->graph || !data) return 0;
    std::lock_guard<std::mutex> hold(m->release_lock);
    // The views are the loader's own; only their const-ness as seen by callers is in the way.
    ox_tensor *views = const_cast<ox_tensor *>(m->graph->initializers);
    for (size_t i = 0; i < m->graph->initializer_count; i++) {
        ox_tensor &view = views[i];
        if (view.data != data || view.byte_size == 0) continue;
        if (view.is_external || (i < m->mapped_from_file.size() && m->mapped_from_file[i])) {
            // An aligned copy of a payload the file holds at an odd offset is freed; a payload
            // read in place loses its whole pages (those at either end may hold neighbours).
            if (!m->views->free_copy(data)) return drop_pages(data, view.byte_size) ? 1 : 0;
            view.data = nullptr;
            view.byte_size = 0;
            return 1;
        }
        for (auto &tensor : *m->proto.mutable_graph()->mutable_initializer()) {
            if (!tensor.has_raw_data() || tensor.raw_data().data() != data) continue;
            std::string().swap(*tensor.mutable_raw_data());
            view.data = nullptr;
            view.byte_size = 0;
            return 1;
        }
        return 0;
    }
    return 0;
}
size_t ox_model_diagnostic_count(const ox_model *m) { return m->diagnostics.size(); }
const char *ox_model_diagnostic(const ox_model *m, size_t i) { return m->diagnostics[i].c_str(); }

}  // extern "C"
