/* Paths into the repository's fixtures folder, which the C tests get as their only argument. */
#ifndef GOAL_TEST_FIXTURES_H
#define GOAL_TEST_FIXTURES_H

#include <stdio.h>

static char fixtures[4096];

/* A few buffers in turn, so that two fixture paths can be arguments of one call. */
static const char *fixture(const char *relative) {
    static char paths[4][8192];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, sizeof paths[0], "%s/%s", fixtures, relative);
    return path;
}

#endif
