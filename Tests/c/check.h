/* A minimal test harness for the C tests: CHECK records a failure and goes on. */
#ifndef GOAL_TEST_CHECK_H
#define GOAL_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int checks_passed, checks_failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            checks_passed++;                                                         \
        } else {                                                                     \
            checks_failed++;                                                         \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_STATUS(call, expected)                                                           \
    do {                                                                                       \
        goal_status got_ = (call);                                                             \
        if (got_ == (expected)) {                                                              \
            checks_passed++;                                                                   \
        } else {                                                                               \
            checks_failed++;                                                                   \
            fprintf(stderr, "%s:%d: %s gave %d (%s: %s), expected %d\n", __FILE__, __LINE__, #call, \
                    (int)got_, goal_status_string(got_), goal_last_error(), (int)(expected));  \
        }                                                                                      \
    } while (0)

#define CHECK_CONTAINS(text, needle) CHECK((text) != NULL && strstr((text), (needle)) != NULL)

/* The closing line test runners look for. Returns the process exit code. */
static int report(void) {
    printf("%d passed, %d failed\n", checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}

#endif
