/* Sharing across threads and handles misused: one model handle used from 8 threads at once (text,
 * image and LISM calls mixed) gives exactly what one thread gets; freed handles and handles of
 * another kind are reported, never dereferenced. Usage: test_threads FIXTURES_DIR */
#include <goal.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "fixtures.h"

#define THREADS 8
#define ROUNDS 6
#define TEXTS 3
#define MAX_DIM 64
#define MAX_SCORES 256

static const char *texts[TEXTS] = {
    "A large red circle is in the top left. To its right, a small blue star.",
    "an astronaut riding a horse on the moon",
    "The background is light gray. A small green square sits in the centre of the picture.",
};

static goal_model *model;
static goal_image *image;
static unsigned char *jpeg;
static size_t jpeg_size;
static size_t dim;

/* What one call of each kind returns; compared bit for bit between threads. */
typedef struct {
    goal_status text_status, image_status, lism_status;
    float text[TEXTS * MAX_DIM];
    float image[MAX_DIM];
    size_t regions, sentences;
    float scores[MAX_SCORES];
} outcome;

static outcome reference;

static void compute(outcome *o, int which) {
    if (which == 0 || which < 0) {
        o->text_status = goal_model_encode_text(model, TEXTS, texts, NULL, o->text, TEXTS * dim);
    }
    if (which == 1 || which < 0) {
        const void *data[1] = {jpeg};
        size_t sizes[1] = {jpeg_size};
        o->image_status = goal_model_encode_image_memory(model, 1, data, sizes, o->image, dim);
    }
    if (which == 2 || which < 0) {
        goal_lism *lism = NULL;
        o->lism_status = goal_model_lism(model, image, texts[2], GOAL_NUL_TERMINATED, NULL, &lism);
        const float *scores = NULL;
        size_t matches = 0;
        if (o->lism_status == GOAL_OK && goal_lism_counts(lism, &o->regions, &o->sentences, &matches) == GOAL_OK &&
            goal_lism_scores(lism, &scores) == GOAL_OK && o->regions * o->sentences <= MAX_SCORES) {
            memcpy(o->scores, scores, o->regions * o->sentences * sizeof(float));
        }
        goal_lism_free(lism);
    }
}

static int same(const outcome *a, const outcome *b, int which) {
    switch (which) {
    case 0: return a->text_status == GOAL_OK && memcmp(a->text, b->text, TEXTS * dim * sizeof(float)) == 0;
    case 1: return a->image_status == GOAL_OK && memcmp(a->image, b->image, dim * sizeof(float)) == 0;
    default:
        return a->lism_status == GOAL_OK && a->regions == b->regions && a->sentences == b->sentences &&
               memcmp(a->scores, b->scores, a->regions * a->sentences * sizeof(float)) == 0;
    }
}

static void *worker(void *arg) {
    int id = (int)(size_t)arg;
    int *mismatches = calloc(1, sizeof(int));
    outcome *o = malloc(sizeof(outcome));
    for (int round = 0; round < ROUNDS && o && mismatches; round++) {
        int which = (id + round) % 3;  /* every kind runs while the others do */
        memset(o, 0, sizeof *o);
        compute(o, which);
        if (!same(o, &reference, which)) (*mismatches)++;
    }
    free(o);
    return mismatches;
}

static void shared_model_from_eight_threads(void) {
    CHECK_STATUS(goal_model_open(fixture("folders/hf_ts"), NULL, &model), GOAL_OK);
    int64_t d = 0;
    CHECK_STATUS(goal_model_get_int(model, GOAL_MODEL_DIM, &d), GOAL_OK);
    dim = (size_t)d;
    CHECK(dim > 0 && dim <= MAX_DIM);
    jpeg = read_file(fixture("images/astronaut_wide.jpg"), &jpeg_size);
    CHECK(jpeg != NULL);
    CHECK_STATUS(goal_image_from_memory(jpeg, jpeg_size, &image), GOAL_OK);
    if (!model || !jpeg || !image || dim == 0 || dim > MAX_DIM) return;

    compute(&reference, -1);
    CHECK_STATUS(reference.text_status, GOAL_OK);
    CHECK_STATUS(reference.image_status, GOAL_OK);
    CHECK_STATUS(reference.lism_status, GOAL_OK);
    CHECK(reference.regions * reference.sentences <= MAX_SCORES);

    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) CHECK(pthread_create(&threads[i], NULL, worker, (void *)(size_t)i) == 0);
    for (int i = 0; i < THREADS; i++) {
        void *result = NULL;
        CHECK(pthread_join(threads[i], &result) == 0);
        CHECK(result != NULL && *(int *)result == 0);
        free(result);
    }
}

static void freed_and_foreign_handles(void) {
    /* A model freed and then used: reported, not dereferenced. */
    goal_model *gone = NULL;
    CHECK_STATUS(goal_model_open(fixture("folders/hf_ts"), NULL, &gone), GOAL_OK);
    goal_model_free(gone);
    int64_t value = 7;
    CHECK_STATUS(goal_model_get_int(gone, GOAL_MODEL_DIM, &value), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "not a live model handle");
    CHECK(value == 0);
    float out[MAX_DIM];
    CHECK_STATUS(goal_model_encode_text(gone, 1, texts, NULL, out, MAX_DIM), GOAL_ERR_INVALID_ARGUMENT);
    goal_model_free(gone); /* a second free is ignored */

    /* A handle of another kind where a model belongs, and the reverse. */
    CHECK_STATUS(goal_model_get_int((const goal_model *)image, GOAL_MODEL_DIM, &value), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "goal_model_get_int: model is not a live model handle");
    goal_lism *lism = NULL;
    CHECK_STATUS(goal_model_lism(model, (const goal_image *)model, texts[0], GOAL_NUL_TERMINATED, NULL, &lism),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "image is not a live image handle");
    CHECK(lism == NULL);
    goal_image_free((goal_image *)model); /* ignored: not an image */
    CHECK_STATUS(goal_model_get_int(model, GOAL_MODEL_DIM, &value), GOAL_OK);

    /* A freed image and freed options objects. */
    goal_image *old = NULL;
    CHECK_STATUS(goal_image_from_memory(jpeg, jpeg_size, &old), GOAL_OK);
    goal_image_free(old);
    CHECK_STATUS(goal_model_lism(model, old, texts[0], GOAL_NUL_TERMINATED, NULL, &lism), GOAL_ERR_INVALID_ARGUMENT);
    goal_options *options = NULL;
    CHECK_STATUS(goal_options_new(&options), GOAL_OK);
    goal_options_free(options);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_THREADS, 1), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "not a live options handle");
    goal_model *never = NULL;
    CHECK_STATUS(goal_model_open(fixture("folders/hf_ts"), options, &never), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(never == NULL);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
        return 2;
    }
    snprintf(fixtures, sizeof fixtures, "%s", argv[1]);
    shared_model_from_eight_threads();
    if (model && image && jpeg) freed_and_foreign_handles();
    goal_image_free(image);
    goal_model_free(model);
    free(jpeg);
    return report();
}
