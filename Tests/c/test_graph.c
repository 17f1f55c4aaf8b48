/* The C ABI of goal.h as a C caller sees it: versions, statuses, options, opening graphs and
 * reading their signature, every failure status of goal_graph_open, cleared out-parameters and
 * per-thread error text. Run with the repository's fixtures folder as the only argument. */
#include "goal.h"
#include "check.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

static char fixtures[4096];

static const char *fixture(const char *relative) {
    static char path[8192];
    snprintf(path, sizeof path, "%s/%s", fixtures, relative);
    return path;
}

static void test_version(void) {
    CHECK(strcmp(goal_version(), GOAL_VERSION_STRING) == 0);
    CHECK(goal_version_number() == GOAL_VERSION_NUMBER);
}

static void test_status_strings(void) {
    int s;
    for (s = GOAL_OK; s <= GOAL_ERR_CORRUPT; s++) {
        int t;
        CHECK(strcmp(goal_status_string(s), "unknown status") != 0);
        for (t = GOAL_OK; t < s; t++) CHECK(strcmp(goal_status_string(s), goal_status_string(t)) != 0);
    }
    CHECK(strcmp(goal_status_string(-1), "unknown status") == 0);
    CHECK(strcmp(goal_status_string(GOAL_ERR_CORRUPT + 1), "unknown status") == 0);
}

static void test_options(void) {
    goal_options *options = NULL;
    int64_t value = -7;
    CHECK_STATUS(goal_options_new(&options), GOAL_OK);
    CHECK(options != NULL);
    CHECK_STATUS(goal_options_get_int(options, GOAL_OPTION_CHECK_MODEL, &value), GOAL_OK);
    CHECK(value == 1);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_INFER_SHAPES, 0), GOAL_OK);
    CHECK_STATUS(goal_options_get_int(options, GOAL_OPTION_INFER_SHAPES, &value), GOAL_OK);
    CHECK(value == 0);
    CHECK_STATUS(goal_options_set_int(options, 9999, 1), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "9999");
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_CHECK_MODEL, 2), GOAL_ERR_INVALID_ARGUMENT);
    value = -7;
    CHECK_STATUS(goal_options_get_int(options, 9999, &value), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(value == 0); /* cleared on failure */
    CHECK_STATUS(goal_options_get_int(options, GOAL_OPTION_THREADS, &value), GOAL_OK);
    CHECK(value == 0); /* one per core */
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_THREADS, 2), GOAL_OK);
    CHECK_STATUS(goal_options_get_int(options, GOAL_OPTION_THREADS, &value), GOAL_OK);
    CHECK(value == 2);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_THREADS, 5000), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_THREADS, -1), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_get_int(options, GOAL_OPTION_FUSE, &value), GOAL_OK);
    CHECK(value == 1);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_FUSE, 0), GOAL_OK);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_FUSE, 3), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_set_int(NULL, GOAL_OPTION_CHECK_MODEL, 1), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_new(NULL), GOAL_ERR_INVALID_ARGUMENT);
    goal_options_free(options);
    goal_options_free(NULL);
}

static void test_signature(void) {
    goal_graph *graph = NULL;
    size_t count = 0;
    const char *name = NULL, *symbol = NULL, *version = NULL;
    goal_dtype dtype = 0;
    int32_t rank = 0;
    int64_t size = 0, ir = 0, low = 0, high = 0;

    CHECK_STATUS(goal_supported_opsets(&low, &high), GOAL_OK);
    CHECK(low == 13 && high == 21);

    CHECK_STATUS(goal_graph_open(fixture("models/hf_text_ts/model.onnx"), NULL, &graph), GOAL_OK);
    if (!graph) return;
    /* The exporter was given these names and a symbolic batch axis (tools/make_fixtures.py). */
    CHECK_STATUS(goal_graph_value_count(graph, GOAL_IO_INPUT, &count), GOAL_OK);
    CHECK(count == 2);
    CHECK_STATUS(goal_graph_value_info(graph, GOAL_IO_INPUT, 0, &name, &dtype, &rank), GOAL_OK);
    CHECK(name && strcmp(name, "input_ids") == 0);
    CHECK(dtype == GOAL_DTYPE_INT64);
    CHECK(rank == 2);
    CHECK_STATUS(goal_graph_value_dim(graph, GOAL_IO_INPUT, 0, 0, &size, &symbol), GOAL_OK);
    CHECK(size == -1 && symbol != NULL);
    CHECK_STATUS(goal_graph_value_count(graph, GOAL_IO_OUTPUT, &count), GOAL_OK);
    CHECK(count == 2);
    CHECK_STATUS(goal_graph_value_info(graph, GOAL_IO_OUTPUT, 0, &name, &dtype, NULL), GOAL_OK);
    CHECK(name && strcmp(name, "text_embeds") == 0);
    CHECK(dtype == GOAL_DTYPE_FLOAT32);
    CHECK_STATUS(goal_graph_ir_version(graph, &ir), GOAL_OK);
    CHECK(ir >= 3);
    CHECK_STATUS(goal_graph_producer(graph, &name, &version), GOAL_OK);
    CHECK(name && strcmp(name, "pytorch") == 0 && version != NULL);
    CHECK_STATUS(goal_graph_opset_count(graph, &count), GOAL_OK);
    CHECK(count >= 1);
    CHECK_STATUS(goal_graph_opset(graph, 0, &name, &ir), GOAL_OK);
    CHECK(name && strcmp(name, "ai.onnx") == 0 && ir == 17);
    CHECK_STATUS(goal_graph_node_count(graph, &count), GOAL_OK);
    CHECK(count > 10);
    CHECK_STATUS(goal_graph_initializer_count(graph, &count), GOAL_OK);
    CHECK(count > 0);

    /* Indexes past the end, and bad enum values: a status, the out-parameters cleared. */
    name = "sentinel";
    dtype = 99;
    CHECK_STATUS(goal_graph_value_info(graph, GOAL_IO_INPUT, 2, &name, &dtype, &rank), GOAL_ERR_INDEX_OUT_OF_RANGE);
    CHECK(name == NULL && dtype == 0 && rank == 0);
    CHECK_CONTAINS(goal_last_error(), "index 2");
    CHECK_STATUS(goal_graph_value_dim(graph, GOAL_IO_INPUT, 0, 2, &size, &symbol), GOAL_ERR_INDEX_OUT_OF_RANGE);
    CHECK_STATUS(goal_graph_value_count(graph, 7, &count), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(count == 0);
    CHECK_STATUS(goal_graph_opset(graph, 1000, &name, &ir), GOAL_ERR_INDEX_OUT_OF_RANGE);
    CHECK_STATUS(goal_graph_diagnostic(graph, 1000, &name), GOAL_ERR_INDEX_OUT_OF_RANGE);
    CHECK_STATUS(goal_graph_ir_version(graph, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_graph_ir_version(NULL, &ir), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "graph is NULL");
    goal_graph_free(graph);
    goal_graph_free(NULL);
}

static void test_newer_than_libonnx(void) {
    /* A dynamo export: IR 10, which libonnx 1.12's checker refuses; it must open, with a note. */
    goal_graph *graph = NULL;
    size_t count = 0;
    int64_t ir = 0;
    const char *text = NULL;
    CHECK_STATUS(goal_graph_open(fixture("models/hf_text_dynamo/model.onnx"), NULL, &graph), GOAL_OK);
    if (!graph) return;
    CHECK_STATUS(goal_graph_ir_version(graph, &ir), GOAL_OK);
    CHECK(ir == 10);
    CHECK_STATUS(goal_graph_diagnostic_count(graph, &count), GOAL_OK);
    CHECK(count >= 1);
    CHECK_STATUS(goal_graph_diagnostic(graph, 0, &text), GOAL_OK);
    CHECK_CONTAINS(text, "IR version 10");
    goal_graph_free(graph);
}

static void expect_open_failure(const char *relative, goal_status expected, const char *needle) {
    goal_graph *graph = (goal_graph *)(uintptr_t)1; /* must be cleared */
    CHECK_STATUS(goal_graph_open(fixture(relative), NULL, &graph), expected);
    CHECK(graph == NULL);
    CHECK_CONTAINS(goal_last_error(), needle);
}

static void test_open_failures(void) {
    expect_open_failure("bad/no_such_file.onnx", GOAL_ERR_NOT_FOUND, "no_such_file.onnx");
    expect_open_failure("bad", GOAL_ERR_IO, "folder");
    expect_open_failure("bad/corrupt.onnx", GOAL_ERR_NOT_ONNX, "not an ONNX model");
    expect_open_failure("bad/truncated.onnx", GOAL_ERR_TRUNCATED, "truncated");
    expect_open_failure("bad/missing_data/model.onnx", GOAL_ERR_EXTERNAL_DATA, "weights.bin");
    expect_open_failure("bad/short_data/model.onnx", GOAL_ERR_EXTERNAL_DATA, "weights.bin");
    expect_open_failure("bad/escape/model.onnx", GOAL_ERR_PATH_ESCAPE, "../outside.bin");
    expect_open_failure("bad/absolute/model.onnx", GOAL_ERR_PATH_ESCAPE, "/etc/passwd");
    expect_open_failure("bad/dangling.onnx", GOAL_ERR_INVALID_MODEL, "nowhere");
    expect_open_failure("bad/huge_constant.onnx", GOAL_ERR_OUT_OF_MEMORY, "1000000000000 elements");
    expect_open_failure("bad/deep.onnx", GOAL_ERR_NOT_ONNX, "nested more than 100 deep");

    goal_graph *graph = NULL;
    CHECK_STATUS(goal_graph_open(NULL, NULL, &graph), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_graph_open(fixture("models/hf_text_ts/model.onnx"), NULL, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_graph_open("\xff\xfe.onnx", NULL, &graph), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "UTF-8");
}

static void test_run(void) {
    goal_graph *graph = NULL;
    goal_results *results = NULL;
    int64_t ids[77], mask[77];
    int64_t shape[2] = {1, 77};
    const char *names[2] = {"input_ids", "attention_mask"};
    goal_dtype dtypes[2] = {GOAL_DTYPE_INT64, GOAL_DTYPE_INT64};
    int32_t ranks[2] = {2, 2};
    const int64_t *shapes[2] = {shape, shape};
    const void *data[2] = {ids, mask};
    const char *wanted[1] = {"text_embeds"};
    size_t count = 0, needed = 0;
    const char *name = NULL;
    goal_dtype dtype = 0;
    int32_t rank = 0;
    int64_t size = 0;
    float embedding[16];
    int i;

    /* A caption of 5 tokens between the fixture's start (998) and end (999) ids, end-padded. */
    for (i = 0; i < 77; i++) {
        ids[i] = i == 0 ? 998 : (i <= 5 ? 10 + i : 999);
        mask[i] = i <= 6;
    }
    CHECK_STATUS(goal_graph_open(fixture("models/hf_text_ts/model.onnx"), NULL, &graph), GOAL_OK);
    if (!graph) return;

    CHECK_STATUS(goal_graph_run(graph, 2, names, dtypes, ranks, shapes, data, 0, NULL, &results), GOAL_OK);
    CHECK_STATUS(goal_results_count(results, &count), GOAL_OK);
    CHECK(count == 2);
    CHECK_STATUS(goal_results_info(results, 0, &name, &dtype, &rank), GOAL_OK);
    CHECK(name && strcmp(name, "text_embeds") == 0 && dtype == GOAL_DTYPE_FLOAT32 && rank == 2);
    CHECK_STATUS(goal_results_dim(results, 0, 1, &size), GOAL_OK);
    CHECK(size == 16);
    CHECK_STATUS(goal_results_dim(results, 0, 2, &size), GOAL_ERR_INDEX_OUT_OF_RANGE);
    /* Too small a buffer: its own status, and the size needed. */
    CHECK_STATUS(goal_results_copy(results, 0, embedding, 8, &needed), GOAL_ERR_BUFFER_TOO_SMALL);
    CHECK(needed == sizeof embedding);
    CHECK_STATUS(goal_results_copy(results, 0, NULL, 0, &needed), GOAL_ERR_BUFFER_TOO_SMALL);
    CHECK(needed == sizeof embedding);
    CHECK_STATUS(goal_results_copy(results, 0, embedding, sizeof embedding, NULL), GOAL_OK);
    CHECK(embedding[0] == embedding[0]); /* not NaN */
    goal_results_free(results);
    goal_results_free(NULL);

    /* Only what was asked for. */
    results = NULL;
    CHECK_STATUS(goal_graph_run(graph, 2, names, dtypes, ranks, shapes, data, 1, wanted, &results), GOAL_OK);
    CHECK_STATUS(goal_results_count(results, &count), GOAL_OK);
    CHECK(count == 1);
    goal_results_free(results);

    /* Mistakes name the input and what was expected; the out-parameter stays NULL. */
    results = (goal_results *)(uintptr_t)1;
    CHECK_STATUS(goal_graph_run(graph, 1, names, dtypes, ranks, shapes, data, 0, NULL, &results), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(results == NULL);
    CHECK_CONTAINS(goal_last_error(), "attention_mask");
    dtypes[0] = GOAL_DTYPE_INT32;
    CHECK_STATUS(goal_graph_run(graph, 2, names, dtypes, ranks, shapes, data, 0, NULL, &results), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "expects int64, got int32");
    dtypes[0] = GOAL_DTYPE_INT64;
    ranks[1] = 1;
    CHECK_STATUS(goal_graph_run(graph, 2, names, dtypes, ranks, shapes, data, 0, NULL, &results), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "attention_mask");
    ranks[1] = 2;
    names[1] = "attention";
    CHECK_STATUS(goal_graph_run(graph, 2, names, dtypes, ranks, shapes, data, 0, NULL, &results), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "'attention' is not an input");
    names[1] = "attention_mask";
    wanted[0] = "no such value";
    CHECK_STATUS(goal_graph_run(graph, 2, names, dtypes, ranks, shapes, data, 1, wanted, &results), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "no such value");
    CHECK_STATUS(goal_graph_run(graph, 2, NULL, dtypes, ranks, shapes, data, 0, NULL, &results), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_graph_run(NULL, 2, names, dtypes, ranks, shapes, data, 0, NULL, &results), GOAL_ERR_INVALID_ARGUMENT);
    goal_graph_free(graph);
}

/* goal_last_error is per thread: a failure on another thread leaves ours alone. */
static void *fail_elsewhere(void *unused) {
    goal_graph *graph = NULL;
    (void)unused;
    goal_graph_open("/nonexistent/elsewhere.onnx", NULL, &graph);
    return strstr(goal_last_error(), "elsewhere.onnx") ? (void *)1 : NULL;
}

static void test_error_is_per_thread(void) {
    goal_graph *graph = NULL;
    pthread_t thread;
    void *saw_own = NULL;
    CHECK_STATUS(goal_graph_open("/nonexistent/here.onnx", NULL, &graph), GOAL_ERR_NOT_FOUND);
    CHECK(pthread_create(&thread, NULL, fail_elsewhere, NULL) == 0);
    CHECK(pthread_join(thread, &saw_own) == 0);
    CHECK(saw_own != NULL);
    CHECK_CONTAINS(goal_last_error(), "here.onnx");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
        return 2;
    }
    snprintf(fixtures, sizeof fixtures, "%s", argv[1]);
    test_version();
    test_status_strings();
    test_options();
    test_signature();
    test_newer_than_libonnx();
    test_open_failures();
    test_run();
    test_error_is_per_thread();
    return report();
}
