/* Paths into the repository's fixtures folder, which the C tests get as their only argument. */
#ifndef GOAL_TEST_FIXTURES_H
#define GOAL_TEST_FIXTURES_H

#include <stdio.h>
#include <stdlib.h>

static char fixtures[4096];

/* A few buffers in turn, so that two fixture paths can be arguments of one call. */
static const char *fixture(const char *relative) {
    static char paths[4][8192];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, sizeof paths[0], "%s/%s", fixtures, relative);
    return path;
}

/* A whole file in a malloc'd buffer, or NULL (size 0) if it cannot be read whole. */
static inline unsigned char *read_file(const char *path, size_t *size) {
    FILE *file = fopen(path, "rb");
    unsigned char *data = NULL;
    long length = 0;
    *size = 0;
    if (!file) return NULL;
    if (fseek(file, 0, SEEK_END) == 0 && (length = ftell(file)) > 0 && fseek(file, 0, SEEK_SET) == 0)
        data = malloc((size_t)length);
    if (data && fread(data, 1, (size_t)length, file) == (size_t)length) {
        *size = (size_t)length;
    } else {
        free(data);
        data = NULL;
    }
    fclose(file);
    return data;
}

#endif
