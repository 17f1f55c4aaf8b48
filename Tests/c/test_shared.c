/* One model, one graph and one image shared by several threads at once, as goal.h allows
 * ("Immutable once open: every goal_model_* function may be called on the same model from any
 * number of threads at once"). Each thread runs every kind of call a few times and compares
 * with the results of the same calls made first on one thread. Built into the C tests, and the
 * program ThreadSanitizer watches in tools/sanitize.sh. Run with the fixtures folder as the only
 * argument. */
#include "goal.h"
#include "check.h"
#include "fixtures.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DIM 16
#define THREADS 4
#define ROUNDS 3

static goal_model *model;
static goal_graph *graph;
static goal_image *image;
static unsigned char *jpeg;
static size_t jpeg_size;

static const char *texts[3] = {
    "A red circle on the left.",
    "An astronaut rides a horse. The sky is black, e.g. space! Stars shine.",
    "caf\xc3\xa9 &amp; cr\xc3\xa8me",
};

/* What every call gave on one thread, to compare with. */
struct outcome {
    float text[3 * DIM];
    float image[DIM];
    int32_t ids[64];
    size_t id_count;
    int32_t batch_ids[192];
    size_t batch_offsets[4];
    float tokens0[DIM];
    size_t token_count;
    float lism_scores[64];
    size_t lism_regions, lism_sentences;
    float graph_out[DIM];
    int failures;
};

static struct outcome reference;

static int close_to(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(a[i] - b[i]) <= 1e-5f + 1e-5f * fabsf(b[i]))) return 0;
    return 1;
}

/* Runs every call once into `out`; returns the number of calls that failed. */
static int run_all(struct outcome *out) {
    int failed = 0;
    memset(out, 0, sizeof *out);
    if (goal_model_encode_text(model, 3, texts, NULL, out->text, 3 * DIM) != GOAL_OK) failed++;
    const void *data[1] = {jpeg};
    size_t sizes[1] = {jpeg_size};
    if (goal_model_encode_image_memory(model, 1, data, sizes, out->image, DIM) != GOAL_OK) failed++;
    if (goal_model_tokenize(model, texts[1], GOAL_NUL_TERMINATED, 0, out->ids, NULL, 64, &out->id_count) != GOAL_OK) failed++;
    size_t total = 0;
    if (goal_model_tokenize_batch(model, 3, texts, NULL, 0, out->batch_ids, 192, out->batch_offsets, &total) != GOAL_OK)
        failed++;
    goal_tokens *tokens = NULL;
    const float *embeddings = NULL;
    if (goal_model_text_tokens(model, texts[1], GOAL_NUL_TERMINATED, &tokens) != GOAL_OK ||
        goal_tokens_shape(tokens, &out->token_count, NULL, NULL, NULL) != GOAL_OK ||
        goal_tokens_embeddings(tokens, &embeddings) != GOAL_OK)
        failed++;
    else
        memcpy(out->tokens0, embeddings + DIM, sizeof out->tokens0);
    goal_tokens_free(tokens);
    goal_lism *lism = NULL;
    const float *scores = NULL;
    if (goal_model_lism(model, image, texts[1], GOAL_NUL_TERMINATED, NULL, &lism) != GOAL_OK ||
        goal_lism_counts(lism, &out->lism_regions, &out->lism_sentences, NULL) != GOAL_OK ||
        out->lism_regions * out->lism_sentences > 64 || goal_lism_scores(lism, &scores) != GOAL_OK)
        failed++;
    else
        memcpy(out->lism_scores, scores, sizeof(float) * out->lism_regions * out->lism_sentences);
    goal_lism_free(lism);

    /* The vision graph itself, run on a constant image. */
    static float pixels[3 * 32 * 32];
    for (size_t i = 0; i < 3 * 32 * 32; i++) pixels[i] = (float)(i % 17) / 17.0f - 0.5f;
    const char *names[1] = {"pixel_values"};
    goal_dtype dtypes[1] = {GOAL_DTYPE_FLOAT32};
    int32_t ranks[1] = {4};
    int64_t shape[4] = {1, 3, 32, 32};
    const int64_t *shapes[1] = {shape};
    const void *inputs[1] = {pixels};
    const char *outputs[1] = {"image_embeds"};
    goal_results *results = NULL;
    if (goal_graph_run(graph, 1, names, dtypes, ranks, shapes, inputs, 1, outputs, &results) != GOAL_OK ||
        goal_results_copy(results, 0, out->graph_out, sizeof out->graph_out, NULL) != GOAL_OK)
        failed++;
    goal_results_free(results);

    /* A failing call on this thread leaves its own error text, whatever the others do. */
    if (goal_model_tokenize(model, "caf\xc3", GOAL_NUL_TERMINATED, 0, NULL, NULL, 0, NULL) != GOAL_ERR_INVALID_ARGUMENT ||
        strstr(goal_last_error(), "UTF-8") == NULL)
        failed++;
    return failed;
}

static int same(const struct outcome *a, const struct outcome *b) {
    return close_to(a->text, b->text, 3 * DIM) && close_to(a->image, b->image, DIM) && a->id_count == b->id_count &&
           memcmp(a->ids, b->ids, sizeof a->ids) == 0 && memcmp(a->batch_ids, b->batch_ids, sizeof a->batch_ids) == 0 &&
           memcmp(a->batch_offsets, b->batch_offsets, sizeof a->batch_offsets) == 0 &&
           a->token_count == b->token_count && close_to(a->tokens0, b->tokens0, DIM) &&
           a->lism_regions == b->lism_regions && a->lism_sentences == b->lism_sentences &&
           close_to(a->lism_scores, b->lism_scores, a->lism_regions * a->lism_sentences) &&
           close_to(a->graph_out, b->graph_out, DIM);
}

static void *worker(void *argument) {
    struct outcome *mine = argument;
    for (int round = 0; round < ROUNDS; round++) {
        mine->failures += run_all(mine);
        if (!same(mine, &reference)) mine->failures++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURES\n", argv[0]);
        return 2;
    }
    snprintf(fixtures, sizeof fixtures, "%s", argv[1]);
    CHECK_STATUS(goal_model_open(fixture("folders/hf_ts"), NULL, &model), GOAL_OK);
    CHECK_STATUS(goal_graph_open(fixture("folders/hf_ts/vision_model.onnx"), NULL, &graph), GOAL_OK);
    CHECK_STATUS(goal_image_from_file(fixture("images/camera_gray_odd.jpg"), &image), GOAL_OK);
    jpeg = read_file(fixture("images/astronaut_wide.jpg"), &jpeg_size);
    CHECK(jpeg != NULL);
    if (!model || !graph || !image || !jpeg) return report();

    CHECK(run_all(&reference) == 0);
    CHECK(reference.id_count > 2 && reference.lism_sentences == 3 && reference.lism_regions == 6);

    pthread_t threads[THREADS];
    static struct outcome outcomes[THREADS];
    for (int i = 0; i < THREADS; i++) CHECK(pthread_create(&threads[i], NULL, worker, &outcomes[i]) == 0);
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK(outcomes[i].failures == 0);
    }

    goal_image_free(image);
    goal_graph_free(graph);
    goal_model_free(model);
    free(jpeg);
    return report();
}
