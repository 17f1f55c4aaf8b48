#include "png_encode.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <png.h>

struct writer {
    char *message;
    size_t message_size;
};

static void say(struct writer *w, const char *text) {
    if (w->message && w->message_size) snprintf(w->message, w->message_size, "%s", text);
}

static void on_error(png_structp png, png_const_charp text) {
    say(png_get_error_ptr(png), text);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;  // nothing we write should warn, and a warning does not stop the write
}

int32_t goal_png_write_rgb(const char *path, const uint8_t *rgb, int32_t width, int32_t height, size_t stride,
                           char *message, size_t message_size) {
    struct writer w = {message, message_size};
    // Touched between setjmp and a possible longjmp, so volatile (C11 7.13.2.1).
    FILE *volatile file = NULL;
    png_structp png;
    png_infop info = NULL;

    say(&w, "");
    if (!path || !rgb || width <= 0 || height <= 0 || stride < (size_t)width * 3 || width > 0x7fffffff / 3) {
        say(&w, "bad arguments to the PNG writer");
        return GOAL_PNG_WRITE_BAD_ARGUMENT;
    }
    // "x": create, never truncate an existing file (the caller's temporary name must be new).
    file = fopen(path, "wbx");
    if (!file) {
        say(&w, strerror(errno));
        return GOAL_PNG_WRITE_OPEN_FAILED;
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, on_error, on_warning);
    if (png) info = png_create_info_struct(png);
    if (!png || !info) {
        png_destroy_write_struct(&png, NULL);
        fclose(file);
        say(&w, "out of memory");
        return GOAL_PNG_WRITE_OUT_OF_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(file);
        return GOAL_PNG_WRITE_FAILED;
    }
    png_init_io(png, file);
    // libpng's default limit (a million pixels a side) is for reading untrusted files; an image
    // the library decoded may be written back whatever its size.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * stride));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    // libpng's fwrite-based output notices short writes, but buffered data reaches the disk only
    // at fclose: a full disk shows up here.
    FILE *f = file;
    if (fflush(f) != 0 || ferror(f)) {
        int e = errno;
        fclose(f);
        say(&w, strerror(e));
        return GOAL_PNG_WRITE_FAILED;
    }
    if (fclose(f) != 0) {
        say(&w, strerror(errno));
        return GOAL_PNG_WRITE_FAILED;
    }
    return GOAL_PNG_WRITE_OK;
}
