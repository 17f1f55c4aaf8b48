/* libFuzzer harness: opening models from hostile files, through the C ABI.
 *
 * Input: one selector byte, then the bytes of one file. The low 3 bits of the selector choose
 * which file of a model the bytes become; the other files are real fixtures, linked into a
 * scratch folder made once per process:
 *   0  an .onnx file for goal_graph_open (the high bits choose the open options, and whether an
 *      opened graph is run once on small inputs)
 *   1  a model.onnx given to goal_model_open as the file, beside a tiny tokenizer and HF's
 *      preprocessing config and config.json
 *   2  preprocessor_config.json of a folder with an HF vision tower
 *   3  config.json of a folder with an HF text tower (tiny tokenizer) and vision tower
 *   4  open_clip_config.json of a folder in immich's layout (vision tower only)
 *   5  tokenizer.json of a folder with an HF text tower (and config.json)
 *   6  vocab.json, beside the tiny merges.txt
 *   7  merges.txt, beside the tiny vocab.json
 * A graph run feeds values chosen by a hash of the input: zeros, ones, -1, ids past a 1000-token
 * vocabulary, the largest and smallest int64, NaN, infinities. 
 * An opened model is then used: its facts read, a text tokenized and encoded, a small image
 * encoded, token embeddings taken. Checked: only pinned statuses, never GOAL_ERR_INTERNAL, and
 * out-parameters cleared on failure. Seeds (made by tools/fuzz.sh): the fixtures' models,
 * broken models and config files, each behind the selector byte that uses it. */
#include <errno.h>
#include <sys/stat.h>

#include "fuzz_common.h"

static char scratch[4096];

static void link_fixture(const char *relative, const char *as) {
    char target[4096], path[4096];
    snprintf(target, sizeof target, "%s", fuzz_fixture(relative));
    if (target[0] != '/') {
        char cwd[2048];
        if (!getcwd(cwd, sizeof cwd)) abort();
        snprintf(target, sizeof target, "%s/%s", cwd, fuzz_fixture(relative));
    }
    snprintf(path, sizeof path, "%s/%s", scratch, as);
    unlink(path);
    if (symlink(target, path) != 0) {
        fprintf(stderr, "fuzz: cannot link %s: %s\n", path, strerror(errno));
        abort();
    }
}

static void make_folder(const char *relative) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", scratch, relative);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) abort();
}

static void cleanup(void) {
    char command[4200];
    snprintf(command, sizeof command, "rm -rf '%s'", scratch);
    if (system(command) != 0) fprintf(stderr, "fuzz: could not remove %s\n", scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/goal-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(scratch)) abort();
    atexit(cleanup);
    const char *folders[] = {"graph", "single", "pre", "config", "immich", "immich/visual", "tok", "vocab", "merges"};
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) make_folder(folders[i]);
    link_fixture("fuzz/tokenizer_tiny/tokenizer.json", "single/tokenizer.json");
    link_fixture("folders/hf_ts/preprocessor_config.json", "single/preprocessor_config.json");
    /* The context length of fixtures/models/hf_text_ts, whose sequence axis is symbolic. */
    link_fixture("folders/hf_ts/config.json", "single/config.json");
    link_fixture("folders/hf_ts/config.json", "tok/config.json");
    link_fixture("folders/hf_ts/config.json", "vocab/config.json");
    link_fixture("folders/hf_ts/config.json", "merges/config.json");
    link_fixture("folders/hf_ts/vision_model.onnx", "pre/vision_model.onnx");
    link_fixture("models/hf_text_ts/model.onnx", "config/text_model.onnx");
    link_fixture("folders/hf_ts/vision_model.onnx", "config/vision_model.onnx");
    link_fixture("fuzz/tokenizer_tiny/tokenizer.json", "config/tokenizer.json");
    link_fixture("folders/openclip_immich/visual/model.onnx", "immich/visual/model.onnx");
    link_fixture("models/hf_text_ts/model.onnx", "tok/text_model.onnx");
    link_fixture("models/hf_text_ts/model.onnx", "vocab/text_model.onnx");
    link_fixture("fuzz/tokenizer_tiny/merges.txt", "vocab/merges.txt");
    link_fixture("models/hf_text_ts/model.onnx", "merges/text_model.onnx");
    link_fixture("fuzz/tokenizer_tiny/vocab.json", "merges/vocab.json");
    return 0;
}

static void write_file(const char *relative, const uint8_t *data, size_t size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", scratch, relative);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
}

static const char *scratch_path(const char *relative) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", scratch, relative);
    return path;
}

/* Every fact of an opened graph, and for a small one a run on hostile values. */
static void use_graph(goal_graph *graph, int run, const uint8_t *hash_data, size_t hash_size) {
    int64_t value = 0;
    const char *name = NULL, *version = NULL;
    size_t count = 0;
    FUZZ_ASSERT(goal_graph_ir_version(graph, &value) == GOAL_OK);
    FUZZ_ASSERT(goal_graph_producer(graph, &name, &version) == GOAL_OK && name && version);
    FUZZ_ASSERT(goal_graph_opset_count(graph, &count) == GOAL_OK);
    for (size_t i = 0; i <= count; i++) {
        goal_status s = goal_graph_opset(graph, i, &name, &value);
        FUZZ_ASSERT(i < count ? s == GOAL_OK && name : s == GOAL_ERR_INDEX_OUT_OF_RANGE);
    }
    FUZZ_ASSERT(goal_graph_node_count(graph, &count) == GOAL_OK);
    FUZZ_ASSERT(goal_graph_initializer_count(graph, &count) == GOAL_OK);
    FUZZ_ASSERT(goal_graph_diagnostic_count(graph, &count) == GOAL_OK);
    for (size_t i = 0; i < count; i++) FUZZ_ASSERT(goal_graph_diagnostic(graph, i, &name) == GOAL_OK && name);

    enum { MAX_INPUTS = 8, MAX_RANK = 6 };
    const char *names[MAX_INPUTS];
    goal_dtype dtypes[MAX_INPUTS];
    int32_t ranks[MAX_INPUTS];
    int64_t shapes[MAX_INPUTS][MAX_RANK];
    const int64_t *shape_pointers[MAX_INPUTS];
    const void *data[MAX_INPUTS];
    size_t inputs = 0, outputs = 0;
    FUZZ_ASSERT(goal_graph_value_count(graph, GOAL_IO_INPUT, &inputs) == GOAL_OK);
    FUZZ_ASSERT(goal_graph_value_count(graph, GOAL_IO_OUTPUT, &outputs) == GOAL_OK);
    for (int io = 0; io < 2; io++) {
        size_t n = io == GOAL_IO_INPUT ? inputs : outputs;
        for (size_t i = 0; i < n; i++) {
            goal_dtype dtype = 0;
            int32_t rank = 0;
            FUZZ_ASSERT(goal_graph_value_info(graph, io, i, &name, &dtype, &rank) == GOAL_OK && name && rank >= -1);
            for (int32_t axis = 0; axis < rank; axis++) {
                int64_t size = 0;
                const char *symbol = NULL;
                FUZZ_ASSERT(goal_graph_value_dim(graph, io, i, (size_t)axis, &size, &symbol) == GOAL_OK);
                FUZZ_ASSERT(size >= -1);
                if (symbol) FUZZ_ASSERT(size == -1);
            }
            FUZZ_ASSERT(goal_graph_value_dim(graph, io, i, rank > 0 ? (size_t)rank : 0, &value, &name) != GOAL_OK);
        }
        FUZZ_ASSERT(goal_graph_value_info(graph, io, n, &name, NULL, NULL) == GOAL_ERR_INDEX_OUT_OF_RANGE && !name);
    }
    if (!run || inputs > MAX_INPUTS) return;

    /* Feeds: each input with its declared type and rank, symbolic axes 1, at most 4096 elements,
     * filled with hostile values (the same buffer serves every element type). */
    static uint8_t values[4096 * 8];
    {
        static const int64_t ints[8] = {0, 1, -1, 7, 999, 1000, 49407, INT64_MIN};
        static const float floats[8] = {0.0f, 1.0f, -1.0f, NAN, INFINITY, -INFINITY, 1e30f, -0.0f};
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < hash_size; i++) h = (h ^ hash_data[i]) * 16777619u;
        int kind = h % 3;
        for (size_t i = 0; i < 4096; i++) {
            size_t k = (h >> 2) + i * ((h >> 8) % 7 + 1);
            if (kind == 0) memset(values + 8 * i, 0, 8);
            else if (kind == 1) memcpy(values + 8 * i, &ints[k % 8], 8);
            else {
                memcpy(values + 8 * i, &floats[k % 8], 4);
                memcpy(values + 8 * i + 4, &floats[(k + 1) % 8], 4);
            }
        }
    }
    for (size_t i = 0; i < inputs; i++) {
        goal_graph_value_info(graph, GOAL_IO_INPUT, i, &names[i], &dtypes[i], &ranks[i]);
        if (ranks[i] < 0 || ranks[i] > MAX_RANK) return;
        int64_t elements = 1;
        for (int32_t axis = 0; axis < ranks[i]; axis++) {
            int64_t size = -1;
            goal_graph_value_dim(graph, GOAL_IO_INPUT, i, (size_t)axis, &size, NULL);
            shapes[i][axis] = size < 0 ? 1 : size;
            if (shapes[i][axis] > 4096) return;
            elements *= shapes[i][axis];
            if (elements > 4096) return;
        }
        shape_pointers[i] = shapes[i];
        data[i] = values;
    }
    goal_results *results = NULL;
    goal_status s = goal_graph_run(graph, inputs, names, dtypes, ranks, shape_pointers, data, 0, NULL, &results);
    FUZZ_STATUS(s);
    if (s != GOAL_OK) {
        FUZZ_ASSERT(results == NULL);
        return;
    }
    size_t n = 0;
    FUZZ_ASSERT(goal_results_count(results, &n) == GOAL_OK && n == outputs);
    for (size_t i = 0; i < n; i++) {
        size_t bytes = 0;
        s = goal_results_copy(results, i, NULL, 0, &bytes);
        FUZZ_ASSERT(s == GOAL_OK || s == GOAL_ERR_BUFFER_TOO_SMALL);
        if (bytes && bytes <= (1 << 20)) {
            void *buffer = malloc(bytes);
            FUZZ_ASSERT(goal_results_copy(results, i, buffer, bytes, &bytes) == GOAL_OK);
            free(buffer);
        }
    }
    goal_results_free(results);
}

/* What a caller does with a model it opened. */
static void use_model(goal_model *model) {
    int64_t facts[8] = {0};
    for (int key = GOAL_MODEL_DIM; key <= GOAL_MODEL_HAS_IMAGE; key++) FUZZ_ASSERT(goal_model_get_int(model, key, &facts[key]) == GOAL_OK);
    for (int key = GOAL_OPTION_TEXT_MODEL; key <= GOAL_OPTION_MODEL_CONFIG; key++) {
        const char *path = NULL;
        FUZZ_ASSERT(goal_model_file(model, key, &path) == GOAL_OK);
    }
    int64_t dim = facts[GOAL_MODEL_DIM];
    FUZZ_ASSERT(dim >= 0 && dim <= 1 << 20);
    float *embedding = malloc(sizeof(float) * (size_t)(dim > 0 ? dim : 1));
    goal_tokens *tokens = NULL;
    if (facts[GOAL_MODEL_HAS_TEXT]) {
        const char *text = "A red circle. Then, a longer sentence with punctuation!";
        size_t count = 0;
        FUZZ_STATUS(goal_model_tokenize(model, text, GOAL_NUL_TERMINATED, 0, NULL, NULL, 0, &count));
        FUZZ_STATUS(goal_model_encode_text(model, 1, &text, NULL, embedding, (size_t)dim));
        FUZZ_STATUS(goal_model_text_tokens(model, text, GOAL_NUL_TERMINATED, &tokens));
        goal_tokens_free(tokens);
        tokens = NULL;
    } else {
        const char *text = "a";
        FUZZ_ASSERT(goal_model_encode_text(model, 1, &text, NULL, embedding, (size_t)dim) == GOAL_ERR_UNSUPPORTED);
    }
    uint8_t pixels[12 * 10 * 3];
    for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (uint8_t)(i * 7);
    const uint8_t *items[1] = {pixels};
    int32_t width = 12, height = 10, channels = 3;
    size_t stride = 36;
    goal_status s = goal_model_encode_image_pixels(model, 1, items, &width, &height, &stride, &channels, embedding, (size_t)dim);
    FUZZ_STATUS(s);
    if (!facts[GOAL_MODEL_HAS_IMAGE]) FUZZ_ASSERT(s == GOAL_ERR_UNSUPPORTED);
    else {
        FUZZ_STATUS(goal_model_image_tokens_pixels(model, pixels, width, height, stride, channels, &tokens));
        goal_tokens_free(tokens);
    }
    free(embedding);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    uint8_t selector = data[0];
    data++;
    size--;
    goal_options *options = NULL;
    FUZZ_ASSERT(goal_options_new(&options) == GOAL_OK);
    FUZZ_ASSERT(goal_options_set_int(options, GOAL_OPTION_THREADS, 1) == GOAL_OK);
    goal_status s;
    switch (selector & 7) {
    case 0: {
        goal_options_set_int(options, GOAL_OPTION_CHECK_MODEL, (selector >> 3) & 1);
        goal_options_set_int(options, GOAL_OPTION_INFER_SHAPES, (selector >> 4) & 1);
        goal_options_set_int(options, GOAL_OPTION_CONVERT_OPSET, (selector >> 5) & 1);
        goal_options_set_int(options, GOAL_OPTION_FUSE, (selector >> 6) & 1);
        write_file("graph/model.onnx", data, size);
        goal_graph *graph = (goal_graph *)&s;  /* must be cleared on failure */
        s = goal_graph_open(scratch_path("graph/model.onnx"), options, &graph);
        FUZZ_STATUS(s);
        if (s == GOAL_OK) {
            use_graph(graph, selector >> 7, data, size);
            goal_graph_free(graph);
        } else {
            FUZZ_ASSERT(graph == NULL);
        }
        goal_options_free(options);
        return 0;
    }
    case 1: write_file("single/model.onnx", data, size); break;
    case 2: write_file("pre/preprocessor_config.json", data, size); break;
    case 3: write_file("config/config.json", data, size); break;
    case 4: write_file("immich/open_clip_config.json", data, size); break;
    case 5: write_file("tok/tokenizer.json", data, size); break;
    case 6: write_file("vocab/vocab.json", data, size); break;
    default: write_file("merges/merges.txt", data, size); break;
    }
    static const char *const opened[8] = {NULL, "single/model.onnx", "pre", "config", "immich", "tok", "vocab", "merges"};
    goal_model *model = (goal_model *)&s;  /* must be cleared on failure */
    s = goal_model_open(scratch_path(opened[selector & 7]), options, &model);
    FUZZ_STATUS(s);
    if (s == GOAL_OK) {
        use_model(model);
        goal_model_free(model);
    } else {
        FUZZ_ASSERT(model == NULL);
    }
    goal_options_free(options);
    return 0;
}
