/* Prints the signature of ONNX model files: inputs, outputs, opsets, producer, diagnostics.
 *
 *   cc -std=c99 -Iinclude examples/c/graph_info.c -L.build/release -lgoal \
 *      -Wl,-rpath,$PWD/.build/release -o graph_info
 *   ./graph_info model.onnx [more.onnx ...]
 */
#include "goal.h"

#include <inttypes.h>
#include <stdio.h>

static void print_values(const goal_graph *graph, goal_io io, const char *label) {
    size_t count = 0, i;
    goal_graph_value_count(graph, io, &count);
    for (i = 0; i < count; i++) {
        const char *name = NULL;
        goal_dtype dtype = 0;
        int32_t rank = 0, axis;
        goal_graph_value_info(graph, io, i, &name, &dtype, &rank);
        printf("  %s %-20s dtype %2d  shape [", label, name, (int)dtype);
        for (axis = 0; axis < rank; axis++) {
            int64_t size = 0;
            const char *symbol = NULL;
            goal_graph_value_dim(graph, io, i, (size_t)axis, &size, &symbol);
            if (size >= 0) printf("%s%" PRId64, axis ? ", " : "", size);
            else printf("%s%s", axis ? ", " : "", symbol ? symbol : "?");
        }
        printf("]\n");
    }
}

int main(int argc, char **argv) {
    int i, failures = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.onnx [...]\n", argv[0]);
        return 2;
    }
    printf("libgoal %s\n", goal_version());
    for (i = 1; i < argc; i++) {
        goal_graph *graph = NULL;
        goal_status status = goal_graph_open(argv[i], NULL, &graph);
        const char *producer = NULL, *version = NULL;
        int64_t ir = 0;
        size_t count = 0, k;
        if (status != GOAL_OK) {
            fprintf(stderr, "%s: %s: %s\n", argv[i], goal_status_string(status), goal_last_error());
            failures++;
            continue;
        }
        goal_graph_ir_version(graph, &ir);
        goal_graph_producer(graph, &producer, &version);
        printf("%s\n  IR %" PRId64 ", made by %s %s\n", argv[i], ir, producer, version);
        goal_graph_opset_count(graph, &count);
        for (k = 0; k < count; k++) {
            const char *domain = NULL;
            int64_t opset = 0;
            goal_graph_opset(graph, k, &domain, &opset);
            printf("  opset %s %" PRId64 "\n", domain, opset);
        }
        print_values(graph, GOAL_IO_INPUT, "input ");
        print_values(graph, GOAL_IO_OUTPUT, "output");
        goal_graph_diagnostic_count(graph, &count);
        for (k = 0; k < count; k++) {
            const char *text = NULL;
            goal_graph_diagnostic(graph, k, &text);
            printf("  note: %s\n", text);
        }
        goal_graph_free(graph);
    }
    return failures ? 1 : 0;
}
