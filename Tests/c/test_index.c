/* The embedding index of goal.h as a C caller sees it: search against brute force in double
 * precision (batched queries, k beyond the count with its padding, removed ids, ties), files
 * (round trip, damaged files refused with their statuses), searches on several threads while
 * another adds and removes, and every failure status of every goal_index_* function, with
 * out-parameters cleared. Run with the repository's fixtures folder as the only argument (unused:
 * the test makes its own data, from a fixed seed, in a temporary folder). */
#define _XOPEN_SOURCE 700
#include "goal.h"
#include "check.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* A fixed-seed generator (xorshift64*), so that runs are the same everywhere. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float uniform(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (float)((rng_state * 2685821657736338717ull) >> 40) / (float)(1u << 24) * 2.0f - 1.0f;
}
static void fill(float *values, size_t count) {
    size_t i;
    for (i = 0; i < count; i++) values[i] = uniform();
}

static double cosine(const float *a, const float *b, size_t dim) {
    double ab = 0, aa = 0, bb = 0;
    size_t i;
    for (i = 0; i < dim; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa) / sqrt(bb);
}

static char folder[] = "/tmp/goal-index-test-XXXXXX";
static char path_buffers[4][4200];
static int path_next;
static const char *in_folder(const char *name) {
    char *path = path_buffers[path_next++ % 4];
    snprintf(path, sizeof path_buffers[0], "%s/%s", folder, name);
    return path;
}

/* ---- search against brute force ------------------------------------------------------------ */

#define DIM 29
#define COUNT 2500
#define QUERIES 13
#define K 20
/* Scores are cosines of the normalised floats computed in double and rounded to float: within
 * 1e-6 of the double-precision cosine of the caller's vectors. */
#define TOLERANCE 1e-6

static float data[COUNT * DIM];
static int64_t data_ids[COUNT];

/* Checks one query's k results against brute force over the rows not marked removed. */
static void check_query(const float *query, const float *scores, const int64_t *ids, size_t found,
                        const unsigned char *removed) {
    size_t i, r;
    for (i = 0; i < found; i++) {
        double truth = -2, better_count = 0;
        int seen = 0;
        if (i > 0) CHECK(scores[i] < scores[i - 1] || (scores[i] == scores[i - 1] && ids[i] > ids[i - 1]));
        for (r = 0; r < COUNT; r++) {
            double c;
            if (removed[r]) continue;
            c = cosine(query, data + r * DIM, DIM);
            if (data_ids[r] == ids[i]) {
                truth = c;
                seen = 1;
            }
            /* Rows clearly better than result i must all be among results 0..i-1. */
            if (c > (double)scores[i] + 1e-6) better_count++;
        }
        CHECK(seen);
        CHECK(fabs(truth - scores[i]) < TOLERANCE);
        CHECK(better_count <= (double)i);
    }
}

static void test_search(void) {
    static float queries[QUERIES * DIM], scores[QUERIES * K];
    static int64_t ids[QUERIES * K];
    static unsigned char removed[COUNT];
    goal_index *index = NULL;
    size_t found = 99, i, q;
    int64_t first = -5;
    fill(data, COUNT * DIM);
    fill(queries, QUERIES * DIM);
    for (i = 0; i < COUNT; i++) data_ids[i] = (int64_t)i;

    CHECK_STATUS(goal_index_new(DIM, &index), GOAL_OK);
    CHECK_STATUS(goal_index_add(index, data, COUNT, DIM, NULL, &first), GOAL_OK);
    CHECK(first == 0);
    CHECK_STATUS(goal_index_search(index, queries, QUERIES, DIM, K, scores, ids, QUERIES * K, &found), GOAL_OK);
    CHECK(found == K);
    for (q = 0; q < QUERIES; q++) check_query(queries + q * DIM, scores + q * K, ids + q * K, K, removed);

    /* One query alone gives exactly its row of the batch. */
    {
        float one_scores[K];
        int64_t one_ids[K];
        CHECK_STATUS(goal_index_search(index, queries + 4 * DIM, 1, DIM, K, one_scores, one_ids, K, NULL), GOAL_OK);
        CHECK(memcmp(one_scores, scores + 4 * K, sizeof one_scores) == 0);
        CHECK(memcmp(one_ids, ids + 4 * K, sizeof one_ids) == 0);
    }

    /* Removed ids are never returned, and the rest still match brute force. */
    {
        int64_t gone[300];
        for (i = 0; i < 300; i++) {
            gone[i] = (int64_t)(i * 7 % COUNT);
            removed[i * 7 % COUNT] = 1;
        }
        /* Each query's own best is among them too. */
        CHECK_STATUS(goal_index_remove(index, gone, 300), GOAL_OK);
        for (q = 0; q < QUERIES; q++) {
            int64_t best = ids[q * K];
            if (!removed[best]) {
                CHECK_STATUS(goal_index_remove(index, &best, 1), GOAL_OK);
                removed[best] = 1;
            }
        }
        CHECK_STATUS(goal_index_search(index, queries, QUERIES, DIM, K, scores, ids, QUERIES * K, &found), GOAL_OK);
        for (i = 0; i < QUERIES * K; i++) CHECK(!removed[ids[i]]);
        for (q = 0; q < QUERIES; q++) check_query(queries + q * DIM, scores + q * K, ids + q * K, K, removed);
    }
    /* Ids go on after the largest ever held; removed ones are not reused. */
    CHECK_STATUS(goal_index_add(index, data, 1, DIM, NULL, &first), GOAL_OK);
    CHECK(first == COUNT);
    goal_index_free(index);
}

static void test_k_beyond_count_and_ties(void) {
    /* Three copies of one direction at scales 1, 2 and 0.5 under ids 9, 3 and 5, and one other. */
    const float vectors[4 * 3] = {1, 2, 2, 2, 4, 4, 0.5f, 1, 1, 0, 0, 1};
    const int64_t given[4] = {9, 3, 5, 100};
    float scores[2 * 6];
    int64_t ids[2 * 6], first = -1;
    size_t found = 99, count = 0, dim = 0;
    goal_index *index = NULL;
    CHECK_STATUS(goal_index_new(3, &index), GOAL_OK);
    CHECK_STATUS(goal_index_add(index, vectors, 4, 3, given, &first), GOAL_OK);
    CHECK(first == 9);
    CHECK_STATUS(goal_index_count(index, &count), GOAL_OK);
    CHECK_STATUS(goal_index_dim(index, &dim), GOAL_OK);
    CHECK(count == 4 && dim == 3);
    /* Query 0 is the shared direction; query 1 is at right angles to it (the copies score
     * exactly 0) and scores the last vector -1/sqrt(2). */
    {
        const float queries[2 * 3] = {1, 2, 2, 0, 1, -1};
        CHECK_STATUS(goal_index_search(index, queries, 2, 3, 6, scores, ids, 12, &found), GOAL_OK);
    }
    CHECK(found == 4);
    CHECK(ids[0] == 3 && ids[1] == 5 && ids[2] == 9 && ids[3] == 100);
    CHECK(scores[0] == scores[1] && scores[1] == scores[2] && fabsf(scores[0] - 1) < 1e-6f);
    CHECK(ids[4] == -1 && ids[5] == -1 && isinf(scores[4]) && scores[4] < 0 && isinf(scores[5]));
    CHECK(ids[6] == 3 && ids[7] == 5 && ids[8] == 9 && ids[9] == 100);
    CHECK(scores[6] == 0 && scores[7] == 0 && scores[8] == 0);
    CHECK(fabsf(scores[9] + 0.70710678f) < 1e-6f && ids[10] == -1 && ids[11] == -1);
    /* The next free id follows the largest given. */
    CHECK_STATUS(goal_index_add(index, vectors, 0, 3, NULL, &first), GOAL_OK);
    CHECK(first == 101);
    CHECK_STATUS(goal_index_add(index, NULL, 0, 3, NULL, NULL), GOAL_OK);
    /* k 0 or no queries: nothing written, NULLs accepted. */
    CHECK_STATUS(goal_index_search(index, vectors, 1, 3, 0, NULL, NULL, 0, &found), GOAL_OK);
    CHECK(found == 0);
    CHECK_STATUS(goal_index_search(index, NULL, 0, 3, 5, NULL, NULL, 0, &found), GOAL_OK);
    /* Only ids wanted. */
    CHECK_STATUS(goal_index_search(index, vectors, 1, 3, 2, NULL, ids, 2, &found), GOAL_OK);
    CHECK(found == 2 && ids[0] == 3 && ids[1] == 5);
    goal_index_free(index);

    /* An empty index: every place is padding. */
    CHECK_STATUS(goal_index_new(3, &index), GOAL_OK);
    CHECK_STATUS(goal_index_search(index, vectors, 1, 3, 2, scores, ids, 2, &found), GOAL_OK);
    CHECK(found == 0 && ids[0] == -1 && ids[1] == -1 && isinf(scores[0]));
    goal_index_free(index);
}

/* ---- files ----------------------------------------------------------------------------------- */

static long read_file(const char *path, unsigned char *buffer, size_t capacity) {
    FILE *f = fopen(path, "rb");
    size_t n;
    if (!f) return -1;
    n = fread(buffer, 1, capacity, f);
    fclose(f);
    return (long)n;
}

static void write_file(const char *path, const unsigned char *bytes, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(bytes, 1, size, f);
    fclose(f);
}

static void test_files(void) {
    static float vectors[300 * 8], queries[5 * 8], scores_a[5 * 10], scores_b[5 * 10];
    static int64_t ids_a[5 * 10], ids_b[5 * 10];
    static unsigned char good[65536], bad[65536], again[65536];
    goal_index *index = NULL, *loaded = (goal_index *)1;
    const int64_t gone[3] = {0, 17, 299};
    long size, size_again;
    size_t count = 0, dim = 0;
    const char *path = in_folder("a.goalindex");
    fill(vectors, 300 * 8);
    fill(queries, 5 * 8);
    CHECK_STATUS(goal_index_new(8, &index), GOAL_OK);
    CHECK_STATUS(goal_index_add(index, vectors, 300, 8, NULL, NULL), GOAL_OK);
    CHECK_STATUS(goal_index_remove(index, gone, 3), GOAL_OK);
    CHECK_STATUS(goal_index_save(index, path), GOAL_OK);
    CHECK_STATUS(goal_index_load(path, &loaded), GOAL_OK);
    CHECK_STATUS(goal_index_count(loaded, &count), GOAL_OK);
    CHECK_STATUS(goal_index_dim(loaded, &dim), GOAL_OK);
    CHECK(count == 297 && dim == 8);
    CHECK_STATUS(goal_index_search(index, queries, 5, 8, 10, scores_a, ids_a, 50, NULL), GOAL_OK);
    CHECK_STATUS(goal_index_search(loaded, queries, 5, 8, 10, scores_b, ids_b, 50, NULL), GOAL_OK);
    CHECK(memcmp(scores_a, scores_b, sizeof scores_a) == 0 && memcmp(ids_a, ids_b, sizeof ids_a) == 0);
    /* Saved again, the same bytes: header, ids, vectors and checksum. */
    CHECK_STATUS(goal_index_save(loaded, in_folder("b.goalindex")), GOAL_OK);
    size = read_file(path, good, sizeof good);
    size_again = read_file(in_folder("b.goalindex"), again, sizeof again);
    CHECK(size > 64 && size == size_again && memcmp(good, again, (size_t)size) == 0);
    CHECK(memcmp(good, "GOALINDX", 8) == 0);
    /* Saving over the file the loaded index maps leaves that index working. */
    CHECK_STATUS(goal_index_add(loaded, vectors, 1, 8, gone, NULL), GOAL_OK);
    CHECK_STATUS(goal_index_save(loaded, path), GOAL_OK);
    CHECK_STATUS(goal_index_search(loaded, queries, 5, 8, 10, scores_b, ids_b, 50, NULL), GOAL_OK);
    goal_index_free(loaded);
    CHECK_STATUS(goal_index_load(path, &loaded), GOAL_OK);
    CHECK_STATUS(goal_index_count(loaded, &count), GOAL_OK);
    CHECK(count == 298);
    goal_index_free(loaded);

    /* Damaged copies of the first file. */
    memcpy(bad, good, (size_t)size);
    bad[size - 5] ^= 0x04; /* a vector's byte */
    write_file(in_folder("bad.goalindex"), bad, (size_t)size);
    CHECK_STATUS(goal_index_load(in_folder("bad.goalindex"), &loaded), GOAL_ERR_CORRUPT);
    CHECK(loaded == NULL);
    CHECK_CONTAINS(goal_last_error(), "checksum");
    CHECK_CONTAINS(goal_last_error(), "bad.goalindex");
    memcpy(bad, good, (size_t)size);
    bad[80] ^= 0x01; /* an id's byte */
    write_file(in_folder("bad.goalindex"), bad, (size_t)size);
    CHECK_STATUS(goal_index_load(in_folder("bad.goalindex"), &loaded), GOAL_ERR_CORRUPT);
    CHECK_CONTAINS(goal_last_error(), "checksum");
    write_file(in_folder("bad.goalindex"), good, (size_t)size - 100);
    CHECK_STATUS(goal_index_load(in_folder("bad.goalindex"), &loaded), GOAL_ERR_TRUNCATED);
    CHECK_CONTAINS(goal_last_error(), "truncated");
    write_file(in_folder("bad.goalindex"), good, 40);
    CHECK_STATUS(goal_index_load(in_folder("bad.goalindex"), &loaded), GOAL_ERR_TRUNCATED);
    CHECK_CONTAINS(goal_last_error(), "header");
    memcpy(bad, good, (size_t)size);
    memcpy(bad, "GOALIDX2", 8);
    write_file(in_folder("bad.goalindex"), bad, (size_t)size);
    CHECK_STATUS(goal_index_load(in_folder("bad.goalindex"), &loaded), GOAL_ERR_CORRUPT);
    CHECK_CONTAINS(goal_last_error(), "not a goal index file");
    memcpy(bad, good, (size_t)size);
    bad[8] = 2; /* format version 2 */
    write_file(in_folder("bad.goalindex"), bad, (size_t)size);
    CHECK_STATUS(goal_index_load(in_folder("bad.goalindex"), &loaded), GOAL_ERR_UNSUPPORTED);
    CHECK_CONTAINS(goal_last_error(), "version 2");
    CHECK(loaded == NULL);
    CHECK_STATUS(goal_index_load(in_folder("absent.goalindex"), &loaded), GOAL_ERR_NOT_FOUND);
    CHECK_CONTAINS(goal_last_error(), "absent.goalindex");
    CHECK_STATUS(goal_index_load(folder, &loaded), GOAL_ERR_IO);
    CHECK_CONTAINS(goal_last_error(), "folder");
    /* Saving where no file can go. */
    CHECK_STATUS(goal_index_save(index, in_folder("missing/x.goalindex")), GOAL_ERR_IO);
    CHECK_CONTAINS(goal_last_error(), "missing/x.goalindex");
    CHECK_STATUS(goal_index_save(index, folder), GOAL_ERR_IO);
    goal_index_free(index);
    unlink(in_folder("a.goalindex"));
    unlink(in_folder("b.goalindex"));
    unlink(in_folder("bad.goalindex"));
}

/* ---- bad arguments ----------------------------------------------------------------------------- */

static void test_refusals(void) {
    const float one[3] = {1, 0, 0}, nan3[3] = {1, NAN, 0}, inf3[3] = {INFINITY, 0, 0}, zero[3] = {0, 0, 0};
    const float two[6] = {1, 0, 0, 0, 1, 0};
    const int64_t negative = -1, biggest = INT64_MAX, twice[2] = {4, 4}, four = 4, unknown[3] = {4, 8, 9};
    float scores[4];
    int64_t ids[4], first = 77;
    size_t count = 77, found = 77;
    goal_index *index = (goal_index *)1, *other = (goal_index *)1;

    CHECK_STATUS(goal_index_new(0, &index), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(index == NULL);
    CHECK_CONTAINS(goal_last_error(), "goal_index_new");
    CHECK_STATUS(goal_index_new(GOAL_INDEX_MAX_DIM + 1, &index), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_new((size_t)-1, &index), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_new(3, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_new(GOAL_INDEX_MAX_DIM, &index), GOAL_OK);
    goal_index_free(index);
    goal_index_free(NULL);
    CHECK_STATUS(goal_index_new(3, &index), GOAL_OK);

    /* add */
    CHECK_STATUS(goal_index_add(NULL, one, 1, 3, NULL, &first), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(first == 0);
    CHECK_CONTAINS(goal_last_error(), "index is NULL");
    CHECK_STATUS(goal_index_add(index, NULL, 1, 3, NULL, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "vectors is NULL");
    CHECK_STATUS(goal_index_add(index, one, 1, 4, NULL, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "index holds vectors of 3");
    CHECK_STATUS(goal_index_add(index, nan3, 1, 3, NULL, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "NaN");
    CHECK_STATUS(goal_index_add(index, inf3, 1, 3, NULL, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "infinite");
    CHECK_STATUS(goal_index_add(index, zero, 1, 3, NULL, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "all zeros");
    CHECK_STATUS(goal_index_add(index, one, 1, 3, &negative, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "id -1");
    CHECK_STATUS(goal_index_add(index, one, 1, 3, &biggest, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_add(index, two, 2, 3, twice, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "id 4 is given twice");
    CHECK_STATUS(goal_index_add(index, one, (size_t)-1, 3, NULL, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_count(index, &count), GOAL_OK);
    CHECK(count == 0); /* nothing half-added */
    CHECK_STATUS(goal_index_add(index, one, 1, 3, &four, &first), GOAL_OK);
    CHECK(first == 4);
    CHECK_STATUS(goal_index_add(index, two, 2, 3, unknown, NULL), GOAL_ERR_INVALID_ARGUMENT); /* 4 is taken */
    CHECK_CONTAINS(goal_last_error(), "id 4 is already in the index");
    CHECK_STATUS(goal_index_count(index, &count), GOAL_OK);
    CHECK(count == 1);

    /* remove */
    CHECK_STATUS(goal_index_remove(NULL, &four, 1), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_remove(index, NULL, 1), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_remove(index, NULL, 0), GOAL_OK);
    CHECK_STATUS(goal_index_remove(index, unknown, 3), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "2 ids are not in the index: 8, 9; nothing was removed");
    CHECK_STATUS(goal_index_count(index, &count), GOAL_OK);
    CHECK(count == 1);

    /* count, dim */
    CHECK_STATUS(goal_index_count(NULL, &count), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(count == 0);
    CHECK_STATUS(goal_index_count(index, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_dim(NULL, &count), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_dim(index, NULL), GOAL_ERR_INVALID_ARGUMENT);

    /* search */
    CHECK_STATUS(goal_index_search(NULL, one, 1, 3, 1, scores, ids, 4, &found), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(found == 0);
    CHECK_STATUS(goal_index_search(index, NULL, 1, 3, 1, scores, ids, 4, &found), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "queries is NULL");
    CHECK_STATUS(goal_index_search(index, one, 1, 2, 1, scores, ids, 4, &found), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "queries of 2 floats");
    CHECK_STATUS(goal_index_search(index, nan3, 1, 3, 1, scores, ids, 4, &found), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "query 0 has a NaN");
    CHECK_STATUS(goal_index_search(index, zero, 1, 3, 1, scores, ids, 4, &found), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "query 0 is all zeros");
    CHECK_STATUS(goal_index_search(index, one, 1, 3, (size_t)-1, scores, ids, (size_t)-1, &found),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_search(index, one, 3, 3, (size_t)INT64_MAX, scores, ids, (size_t)-1, &found),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_search(index, two, 2, 3, 3, scores, ids, 4, &found), GOAL_ERR_BUFFER_TOO_SMALL);
    CHECK_CONTAINS(goal_last_error(), "need 6 entries");
    CHECK(found == 0);
    /* A capacity above INT64_MAX is the caller's word. */
    CHECK_STATUS(goal_index_search(index, two, 2, 3, 2, scores, ids, (size_t)-1, &found), GOAL_OK);
    CHECK(found == 1 && ids[0] == 4 && ids[1] == -1 && ids[2] == 4);

    /* save, load */
    CHECK_STATUS(goal_index_save(NULL, in_folder("x")), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_save(index, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_save(index, ""), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_save(index, "\xff.goalindex"), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "UTF-8");
    CHECK_STATUS(goal_index_load(NULL, &other), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(other == NULL);
    CHECK_STATUS(goal_index_load("x.goalindex", NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_load("", &other), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_index_load("\xff.goalindex", &other), GOAL_ERR_INVALID_ARGUMENT);
    goal_index_free(index);

    /* A freed index, and a handle of another kind, are reported rather than used. */
    CHECK_STATUS(goal_index_count(index, &count), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "goal_index_count: index is not a live index handle");
    CHECK_STATUS(goal_index_search(index, one, 1, 3, 1, scores, ids, 4, &found), GOAL_ERR_INVALID_ARGUMENT);
    goal_index_free(index); /* ignored */
    {
        goal_options *options = NULL;
        CHECK_STATUS(goal_options_new(&options), GOAL_OK);
        CHECK_STATUS(goal_index_add((goal_index *)(void *)options, one, 1, 3, NULL, NULL), GOAL_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(goal_last_error(), "not a live index handle");
        goal_index_free((goal_index *)(void *)options); /* ignored: not an index */
        CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_THREADS, 2), GOAL_OK);
        goal_options_free(options);
    }
}

/* ---- threads ----------------------------------------------------------------------------------- */

#define THREAD_DIM 16
static goal_index *shared_index;
static float thread_queries[3 * THREAD_DIM];

struct searcher { int failures; int runs; };

static void *search_repeatedly(void *arg) {
    struct searcher *s = arg;
    float scores[3 * 10];
    int64_t ids[3 * 10];
    int round, q, i;
    for (round = 0; round < 200; round++) {
        size_t found = 0;
        if (goal_index_search(shared_index, thread_queries, 3, THREAD_DIM, 10, scores, ids, 30, &found) != GOAL_OK ||
            found != 10) {
            s->failures++;
            continue;
        }
        for (q = 0; q < 3; q++)
            for (i = 1; i < 10; i++)
                if (scores[q * 10 + i] > scores[q * 10 + i - 1]) s->failures++;
        s->runs++;
    }
    return NULL;
}

static void test_threads(void) {
    static float vectors[2000 * THREAD_DIM];
    pthread_t threads[3];
    struct searcher searchers[3];
    int t, round, changes_failed = 0;
    size_t count = 0;
    fill(vectors, 2000 * THREAD_DIM);
    fill(thread_queries, 3 * THREAD_DIM);
    CHECK_STATUS(goal_index_new(THREAD_DIM, &shared_index), GOAL_OK);
    CHECK_STATUS(goal_index_add(shared_index, vectors, 1000, THREAD_DIM, NULL, NULL), GOAL_OK);
    memset(searchers, 0, sizeof searchers);
    for (t = 0; t < 3; t++) CHECK(pthread_create(&threads[t], NULL, search_repeatedly, &searchers[t]) == 0);
    /* Meanwhile: add 20 vectors and remove 10 of them, 50 times. */
    for (round = 0; round < 50; round++) {
        int64_t first = 0, gone[10];
        int i;
        if (goal_index_add(shared_index, vectors + (1000 + 20 * round) * THREAD_DIM, 20, THREAD_DIM, NULL, &first) != GOAL_OK)
            changes_failed++;
        for (i = 0; i < 10; i++) gone[i] = first + 2 * i;
        if (goal_index_remove(shared_index, gone, 10) != GOAL_OK) changes_failed++;
        if (round == 25 && goal_index_save(shared_index, in_folder("threads.goalindex")) != GOAL_OK) changes_failed++;
    }
    for (t = 0; t < 3; t++) {
        CHECK(pthread_join(threads[t], NULL) == 0);
        CHECK(searchers[t].failures == 0 && searchers[t].runs == 200);
    }
    CHECK(changes_failed == 0);
    CHECK_STATUS(goal_index_count(shared_index, &count), GOAL_OK);
    CHECK(count == 1000 + 50 * 10);
    goal_index_free(shared_index);
    unlink(in_folder("threads.goalindex"));
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    if (!mkdtemp(folder)) {
        perror("mkdtemp");
        return 1;
    }
    test_search();
    test_k_beyond_count_and_ties();
    test_files();
    test_refusals();
    test_threads();
    rmdir(folder);
    return report();
}
