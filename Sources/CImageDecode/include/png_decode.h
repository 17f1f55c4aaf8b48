// One PNG decode through libpng, with its errors caught (libpng, like libjpeg, reports fatal
// errors by longjmp, which only C can catch). Rows come back as the file stores them once
// unfiltered and de-interlaced: native bit depth, 16-bit samples big-endian, palette indices
// unexpanded, tRNS and alpha untouched. Converting them the way PIL does is the caller's job.
#ifndef GOAL_PNG_DECODE_H
#define GOAL_PNG_DECODE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    GOAL_PNG_OK = 0,
    GOAL_PNG_BROKEN = 1,        // libpng refused the data; `message` says why
    GOAL_PNG_TRUNCATED = 2,     // the data ended before the image did
    GOAL_PNG_TOO_LARGE = 3,     // width × height above the limit (`width`, `height` set)
    GOAL_PNG_OUT_OF_MEMORY = 4,
};

typedef struct goal_png_image {
    uint8_t *rows;          // height × row_bytes; free with goal_png_free
    size_t row_bytes;
    int64_t width;
    int64_t height;
    int32_t bit_depth;      // 1, 2, 4, 8 or 16
    int32_t color_type;     // 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
    int32_t palette_entries;
    uint8_t palette[768];   // RGB triples
    int32_t has_trns;       // a tRNS chunk is present
    int32_t trns_entries;   // palette images: alpha of the first trns_entries indices
    uint8_t trns_alpha[256];
    uint16_t trns_color[3]; // gray (in [0]) or RGB images: the one transparent colour, as stored
    char message[200];
} goal_png_image;

int32_t goal_png_decode(const uint8_t *data, size_t size, int64_t pixel_limit, goal_png_image *out);
void goal_png_free(uint8_t *rows);

#ifdef __cplusplus
}
#endif

#endif
