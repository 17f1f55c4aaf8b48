/* Shared by the libFuzzer harnesses in Tests/fuzz: each calls only the public C ABI of
 * include/goal.h, as callers do. The fixtures folder is GOAL_FIXTURES in the environment, else
 * the one this file was compiled against (-DGOAL_FIXTURES_DIR). */
#ifndef GOAL_FUZZ_COMMON_H
#define GOAL_FUZZ_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "goal.h"

#ifndef GOAL_FIXTURES_DIR
#define GOAL_FIXTURES_DIR "fixtures"
#endif

/* A contract the library broke: abort, so libFuzzer keeps the input as a crash. */
#define FUZZ_ASSERT(cond)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: FUZZ_ASSERT(%s) failed; last error: %s\n", __FILE__,   \
                    __LINE__, #cond, goal_last_error());                                   \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* Every status a function may return is one of the pinned ones, and a failure explains itself. */
#define FUZZ_STATUS(s)                                                                     \
    do {                                                                                   \
        goal_status s_ = (s);                                                              \
        FUZZ_ASSERT(s_ >= GOAL_OK && s_ <= GOAL_ERR_BUFFER_TOO_SMALL);                     \
        FUZZ_ASSERT(s_ != GOAL_ERR_INTERNAL);                                              \
        if (s_ != GOAL_OK) FUZZ_ASSERT(goal_last_error()[0] != '\0');                      \
    } while (0)

static inline const char *fuzz_fixture(const char *relative) {
    static char paths[4][4096];
    static int next;
    const char *root = getenv("GOAL_FIXTURES");
    char *path = paths[next++ % 4];
    snprintf(path, sizeof paths[0], "%s/%s", root && *root ? root : GOAL_FIXTURES_DIR, relative);
    return path;
}

/* Opens a fixture model folder once, for the whole run, or ends the run saying why. */
static inline goal_model *fuzz_open_model(const char *relative, int32_t convention) {
    goal_options *options = NULL;
    goal_model *model = NULL;
    if (goal_options_new(&options) != GOAL_OK) abort();
    goal_options_set_int(options, GOAL_OPTION_THREADS, 1);
    goal_options_set_int(options, GOAL_OPTION_CONVENTION, convention);
    if (goal_model_open(fuzz_fixture(relative), options, &model) != GOAL_OK) {
        fprintf(stderr, "fuzz: cannot open %s: %s\n", fuzz_fixture(relative), goal_last_error());
        abort();
    }
    goal_options_free(options);
    return model;
}

/* Reads the fuzzer's bytes from the front, returning zeros once they run out. */
typedef struct {
    const uint8_t *data;
    size_t size;
    size_t at;
} fuzz_reader;

static inline uint8_t fuzz_u8(fuzz_reader *r) { return r->at < r->size ? r->data[r->at++] : 0; }

static inline uint32_t fuzz_u32(fuzz_reader *r) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)fuzz_u8(r) << (8 * i);
    return v;
}

/* A double that is often hostile: NaN, infinities, zero, huge, negative, or near an image's size. */
static inline double fuzz_coordinate(fuzz_reader *r, double extent) {
    uint8_t kind = fuzz_u8(r);
    uint32_t bits = fuzz_u32(r);
    switch (kind % 12) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return 0.0;
    case 4: return -(double)(bits % 1000);
    case 5: return extent + (double)(bits % 1000);
    case 6: return 1e300;
    case 7: return -1e300;
    case 8: { double d; uint64_t b = ((uint64_t)bits << 32) | fuzz_u32(r); memcpy(&d, &b, sizeof d); return d; }
    default: return extent * (double)(bits % 100001) / 100000.0;
    }
}

/* The rest of the bytes. */
static inline const uint8_t *fuzz_rest(fuzz_reader *r, size_t *size) {
    *size = r->size - r->at;
    return r->data + r->at;
}

#endif
