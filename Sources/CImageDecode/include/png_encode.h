// One PNG encode through libpng: 8-bit RGB rows written to a new file. libpng reports fatal
// errors by longjmp, which only C can catch, so this side of it is C. The file is created
// exclusively (it must not exist yet): callers write to a fresh temporary name and rename it
// over the target, so a failed write never leaves a partial file where the caller looks.
#ifndef GOAL_PNG_ENCODE_H
#define GOAL_PNG_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    GOAL_PNG_WRITE_OK = 0,
    GOAL_PNG_WRITE_OPEN_FAILED = 1,   // the file could not be created; `message` is strerror's text
    GOAL_PNG_WRITE_FAILED = 2,        // libpng or the file system failed part way; `message` says why
    GOAL_PNG_WRITE_OUT_OF_MEMORY = 3,
    GOAL_PNG_WRITE_BAD_ARGUMENT = 4,  // NULL pointers or a size libpng cannot store
};

// Writes `height` rows of `width` RGB pixels (`stride` bytes apart) as an 8-bit RGB PNG to a new
// file at `path`. On failure `message` (of `message_size` bytes, may be NULL) says why and the
// file, if it was created, is left for the caller to remove.
int32_t goal_png_write_rgb(const char *path, const uint8_t *rgb, int32_t width, int32_t height, size_t stride,
                           char *message, size_t message_size);

#ifdef __cplusplus
}
#endif

#endif
