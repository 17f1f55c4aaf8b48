// One JPEG decode through libjpeg(-turbo), with its errors caught. libjpeg reports a fatal
// error by calling a handler that must not return; the only portable way out is longjmp, which
// Swift cannot do, so the whole decode lives in this C file and returns a status instead.
#ifndef GOAL_JPEG_DECODE_H
#define GOAL_JPEG_DECODE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    GOAL_JPEG_OK = 0,
    GOAL_JPEG_BROKEN = 1,         // libjpeg refused the data; `message` says why
    GOAL_JPEG_COMPONENTS = 2,     // not 1, 3 or 4 components (`components` holds the count)
    GOAL_JPEG_TOO_LARGE = 3,      // width × height above the limit (`width`, `height` set)
    GOAL_JPEG_OUT_OF_MEMORY = 4,
};

typedef struct goal_jpeg_image {
    uint8_t *pixels;        // width × height × components samples, row-major; free with goal_jpeg_free
    int64_t width;
    int64_t height;
    int32_t components;     // 1 gray, 3 RGB, 4 CMYK (as libjpeg delivers it, Adobe-inverted or not)
    int32_t premature_end;  // the data ended before the last row (libjpeg filled the rest)
    char message[200];
} goal_jpeg_image;

// Decodes with libjpeg's defaults (accurate integer IDCT, fancy upsampling), gray as gray, YCbCr
// and RGB as RGB, CMYK/YCCK as CMYK. Warnings are not printed. Returns a GOAL_JPEG_* status; on
// failure `pixels` is NULL.
int32_t goal_jpeg_decode(const uint8_t *data, size_t size, int64_t pixel_limit, goal_jpeg_image *out);
void goal_jpeg_free(uint8_t *pixels);

#ifdef __cplusplus
}
#endif

#endif
