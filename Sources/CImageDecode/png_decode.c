#include "png_decode.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

struct reader {
    const uint8_t *data;
    size_t size;
    size_t at;
    int ran_out;
    goal_png_image *out;
};

static void on_error(png_structp png, png_const_charp text) {
    struct reader *r = png_get_error_ptr(png);
    snprintf(r->out->message, sizeof r->out->message, "%s", text);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;  // PIL does not report warnings either
}

static void read_bytes(png_structp png, png_bytep into, size_t length) {
    struct reader *r = png_get_io_ptr(png);
    if (length > r->size - r->at) {
        r->ran_out = 1;
        png_error(png, "the file ends early");
    }
    memcpy(into, r->data + r->at, length);
    r->at += length;
}

int32_t goal_png_decode(const uint8_t *data, size_t size, int64_t pixel_limit, goal_png_image *out) {
    struct reader r = {data, size, 0, 0, out};
    png_structp png;
    png_infop info = NULL;
    uint8_t *volatile rows = NULL;
    png_bytep *volatile pointers = NULL;

    memset(out, 0, sizeof *out);
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_error, on_warning);
    if (!png) return GOAL_PNG_OUT_OF_MEMORY;
    info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return GOAL_PNG_OUT_OF_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        free(pointers);
        return r.ran_out ? GOAL_PNG_TRUNCATED : GOAL_PNG_BROKEN;
    }
    png_set_read_fn(png, &r, read_bytes);
    // Like PIL, no limit of libpng's own stops a large image: the pixel limit below decides.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);

    out->width = png_get_image_width(png, info);
    out->height = png_get_image_height(png, info);
    out->bit_depth = png_get_bit_depth(png, info);
    out->color_type = png_get_color_type(png, info);
    if (out->width * out->height > pixel_limit) {
        png_destroy_read_struct(&png, &info, NULL);
        return GOAL_PNG_TOO_LARGE;
    }
    if (out->color_type == PNG_COLOR_TYPE_PALETTE) {
        png_colorp palette = NULL;
        int entries = 0;
        if (png_get_PLTE(png, info, &palette, &entries) && palette) {
            out->palette_entries = entries > 256 ? 256 : entries;
            for (int i = 0; i < out->palette_entries; i++) {
                out->palette[3 * i] = palette[i].red;
                out->palette[3 * i + 1] = palette[i].green;
                out->palette[3 * i + 2] = palette[i].blue;
            }
        }
    }
    {
        png_bytep alpha = NULL;
        int count = 0;
        png_color_16p colour = NULL;
        if (png_get_tRNS(png, info, &alpha, &count, &colour)) {
            out->has_trns = 1;
            if (out->color_type == PNG_COLOR_TYPE_PALETTE && alpha) {
                out->trns_entries = count > 256 ? 256 : count;
                memcpy(out->trns_alpha, alpha, (size_t)out->trns_entries);
            } else if (colour) {
                out->trns_color[0] = out->color_type == PNG_COLOR_TYPE_GRAY ? colour->gray : colour->red;
                out->trns_color[1] = colour->green;
                out->trns_color[2] = colour->blue;
            }
        }
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    out->row_bytes = png_get_rowbytes(png, info);
    rows = malloc(out->row_bytes * (size_t)out->height + 1);
    pointers = malloc(sizeof(png_bytep) * (size_t)out->height + 1);
    if (!rows || !pointers) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        free(pointers);
        return GOAL_PNG_OUT_OF_MEMORY;
    }
    for (int64_t y = 0; y < out->height; y++) pointers[y] = rows + (size_t)y * out->row_bytes;
    png_read_image(png, pointers);
    // No png_read_end: once the image is in, PIL ignores what follows it.
    png_destroy_read_struct(&png, &info, NULL);
    free(pointers);
    out->rows = rows;
    return GOAL_PNG_OK;
}

void goal_png_free(uint8_t *rows) { free(rows); }
