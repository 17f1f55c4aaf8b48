#include "jpeg_decode.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

struct session {
    struct jpeg_error_mgr errors;  // first, so that cinfo->err can be cast back to the session
    jmp_buf escape;
    goal_jpeg_image *out;
};

static void on_error(j_common_ptr cinfo) {
    struct session *s = (struct session *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, text);
    snprintf(s->out->message, sizeof s->out->message, "%s", text);
    longjmp(s->escape, 1);
}

// Warnings are noted, not printed; "Premature end of JPEG file" marks a truncated file, which PIL
// also refuses. Trace messages (level >= 0) are ignored.
static void on_message(j_common_ptr cinfo, int level) {
    struct session *s = (struct session *)cinfo->err;
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) s->out->premature_end = 1;
}

int32_t goal_jpeg_decode(const uint8_t *data, size_t size, int64_t pixel_limit, goal_jpeg_image *out) {
    struct jpeg_decompress_struct cinfo;
    struct session s;
    // Touched after setjmp and read after a longjmp: volatile keeps their values well defined.
    uint8_t *volatile pixels = NULL;
    volatile int32_t status = GOAL_JPEG_OK;

    memset(out, 0, sizeof *out);
    s.out = out;
    cinfo.err = jpeg_std_error(&s.errors);
    s.errors.error_exit = on_error;
    s.errors.emit_message = on_message;
    if (setjmp(s.escape)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        out->pixels = NULL;
        return GOAL_JPEG_BROKEN;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    out->components = cinfo.num_components;
    switch (cinfo.num_components) {
    case 1: cinfo.out_color_space = JCS_GRAYSCALE; break;
    case 3: cinfo.out_color_space = JCS_RGB; break;
    case 4: cinfo.out_color_space = JCS_CMYK; break;
    default: status = GOAL_JPEG_COMPONENTS; break;
    }
    out->width = cinfo.image_width;
    out->height = cinfo.image_height;
    if (status == GOAL_JPEG_OK && (int64_t)cinfo.image_width * (int64_t)cinfo.image_height > pixel_limit)
        status = GOAL_JPEG_TOO_LARGE;
    if (status == GOAL_JPEG_OK) {
        jpeg_start_decompress(&cinfo);
        size_t row_bytes = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
        pixels = malloc(row_bytes * cinfo.output_height + 1);
        if (!pixels) {
            status = GOAL_JPEG_OUT_OF_MEMORY;
        } else {
            out->width = cinfo.output_width;
            out->height = cinfo.output_height;
            out->components = cinfo.output_components;
            while (cinfo.output_scanline < cinfo.output_height) {
                JSAMPROW row = pixels + (size_t)cinfo.output_scanline * row_bytes;
                if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) break;  // cannot stall on memory input
            }
        }
    }
    // No jpeg_finish_decompress: once every row is in, PIL does not care how the file ends.
    jpeg_destroy_decompress(&cinfo);
    if (status != GOAL_JPEG_OK) {
        free(pixels);
        return status;
    }
    out->pixels = pixels;
    return GOAL_JPEG_OK;
}

void goal_jpeg_free(uint8_t *pixels) { free(pixels); }
