/* The model half of goal.h as a C caller sees it, on the tiny model-folder fixtures
 * (fixtures/folders, README there): facts and files, tokenizing, text and image embeddings from
 * every entry point, token-level embeddings, the string options, and the failure statuses with
 * their cleared out-parameters. Run with the repository's fixtures folder as the only argument. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, rmdir */
#include "goal.h"
#include "check.h"
#include "fixtures.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define DIM 16
#define START 49406
#define END 49407


static const struct folder {
    const char *name;
    int64_t context, convention;
    /* What goal_model_file reports, relative to the folder, in goal_option order 100..104. */
    const char *files[5];
} folders[] = {
    {"hf_ts", 77, GOAL_CONVENTION_HUGGINGFACE,
     {"text_model.onnx", "vision_model.onnx", "tokenizer.json", "preprocessor_config.json", "config.json"}},
    {"hf_248_dynamo", 248, GOAL_CONVENTION_HUGGINGFACE,
     {"text_model.onnx", "vision_model.onnx", "tokenizer.json", "preprocessor_config.json", "config.json"}},
    {"openclip_immich", 77, GOAL_CONVENTION_OPENAI,
     {"textual/model.onnx", "visual/model.onnx", "bpe_simple_vocab_16e6.txt.gz", "open_clip_config.json",
      "open_clip_config.json"}},
};
#define FOLDER_COUNT (sizeof folders / sizeof folders[0])

static const char *const captions[3] = {
    "a photo of an astronaut", "A cup of coffee, seen from above.", "a grey cat isn't sleeping"};

/* A long text: 30 sentences of 11 words, past every fixture's context (77 and 248 tokens). */
static char long_text[30 * 64];

static void make_long_text(void) {
    int i;
    long_text[0] = '\0';
    for (i = 0; i < 30; i++) strcat(long_text, "A red circle sits near the blue edge of the frame. ");
}

static double norm(const float *v, size_t n) {
    double sum = 0;
    size_t i;
    for (i = 0; i < n; i++) sum += (double)v[i] * v[i];
    return sqrt(sum);
}

static double max_difference(const float *a, const float *b, size_t n) {
    double worst = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > worst || d != d) worst = d != d ? INFINITY : d;
    }
    return worst;
}

static int unit_rows(const float *rows, size_t count) {
    size_t i;
    for (i = 0; i < count; i++)
        if (fabs(norm(rows + i * DIM, DIM) - 1.0) > 1e-5) return 0;
    return 1;
}

static goal_model *open_folder(const char *name, const goal_options *options) {
    goal_model *model = NULL;
    char relative[256];
    snprintf(relative, sizeof relative, "folders/%s", name);
    CHECK_STATUS(goal_model_open(fixture(relative), options, &model), GOAL_OK);
    return model;
}

/* ---- facts and files --------------------------------------------------------------------- */

static void test_facts(const goal_model *model, const struct folder *f) {
    static const struct { goal_model_key key; int64_t value; } fixed[] = {
        {GOAL_MODEL_DIM, DIM}, {GOAL_MODEL_IMAGE_SIZE, 32}, {GOAL_MODEL_PATCH_SIZE, 8},
        {GOAL_MODEL_HAS_TEXT, 1}, {GOAL_MODEL_HAS_IMAGE, 1}};
    int64_t value = -1;
    size_t i;
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        CHECK_STATUS(goal_model_get_int(model, fixed[i].key, &value), GOAL_OK);
        CHECK(value == fixed[i].value);
    }
    CHECK_STATUS(goal_model_get_int(model, GOAL_MODEL_CONTEXT_LENGTH, &value), GOAL_OK);
    CHECK(value == f->context);
    CHECK_STATUS(goal_model_get_int(model, GOAL_MODEL_CONVENTION, &value), GOAL_OK);
    CHECK(value == f->convention);

    value = -1;
    CHECK_STATUS(goal_model_get_int(model, 99, &value), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(value == 0);
    CHECK_CONTAINS(goal_last_error(), "99");
    CHECK_STATUS(goal_model_get_int(model, GOAL_MODEL_DIM, NULL), GOAL_ERR_INVALID_ARGUMENT);

    for (i = 0; i < 5; i++) {
        const char *path = NULL;
        char expected[512];
        snprintf(expected, sizeof expected, "folders/%s/%s", f->name, f->files[i]);
        CHECK_STATUS(goal_model_file(model, (goal_option)(GOAL_OPTION_TEXT_MODEL + (int)i), &path), GOAL_OK);
        CHECK(path != NULL && strcmp(path, fixture(expected)) == 0);
        if (path == NULL || strcmp(path, fixture(expected)) != 0)
            fprintf(stderr, "  %s file %d: %s\n", f->name, (int)i, path ? path : "(NULL)");
    }
    {
        const char *path = "sentinel";
        CHECK_STATUS(goal_model_file(model, GOAL_OPTION_THREADS, &path), GOAL_ERR_INVALID_ARGUMENT);
        CHECK(path == NULL);
    }
}

/* ---- tokenizing -------------------------------------------------------------------------- */

static void test_tokenize(const goal_model *model) {
    const char *text = "a photo of an astronaut, riding a horse";
    const size_t length = strlen(text);
    int32_t ids[64], again[64], short_ids[64];
    int64_t spans[128];
    size_t count = 0, n = 0, i;

    CHECK_STATUS(goal_model_tokenize(model, text, GOAL_NUL_TERMINATED, 0, ids, spans, 64, &n), GOAL_OK);
    CHECK(n >= 9 && n < 64);
    if (n < 3 || n >= 64) return;
    CHECK(ids[0] == START && ids[n - 1] == END);
    for (i = 1; i + 1 < n; i++) CHECK(ids[i] != START && ids[i] != END);
    /* Spans: [0,0) for the start token, [len,len) for the end, in order, inside the text. */
    CHECK(spans[0] == 0 && spans[1] == 0);
    CHECK(spans[2 * (n - 1)] == (int64_t)length && spans[2 * (n - 1) + 1] == (int64_t)length);
    for (i = 1; i < n; i++) {
        CHECK(spans[2 * i] <= spans[2 * i + 1] && spans[2 * i + 1] <= (int64_t)length);
        CHECK(spans[2 * i] >= spans[2 * i - 1]); /* starts where the previous one ended or later */
    }
    CHECK(spans[2] == 0 && spans[3] == 1); /* "a" */

    /* An explicit length gives what NUL-termination gives; a shorter one, that prefix's tokens. */
    CHECK_STATUS(goal_model_tokenize(model, text, length, 0, again, NULL, 64, &count), GOAL_OK);
    CHECK(count == n && memcmp(again, ids, n * sizeof ids[0]) == 0);
    CHECK_STATUS(goal_model_tokenize(model, text, 7, 0, short_ids, NULL, 64, &count), GOAL_OK);
    CHECK_STATUS(goal_model_tokenize(model, "a photo", GOAL_NUL_TERMINATED, 0, again, NULL, 64, &n), GOAL_OK);
    CHECK(count == n && memcmp(again, short_ids, n * sizeof ids[0]) == 0);
    CHECK_STATUS(goal_model_tokenize(model, text, GOAL_NUL_TERMINATED, 0, ids, spans, 64, &n), GOAL_OK);

    /* max_tokens keeps the first tokens and the end token last. */
    CHECK_STATUS(goal_model_tokenize(model, text, GOAL_NUL_TERMINATED, 5, again, NULL, 64, &count), GOAL_OK);
    CHECK(count == 5 && memcmp(again, ids, 4 * sizeof ids[0]) == 0 && again[4] == END);
    CHECK_STATUS(goal_model_tokenize(model, text, GOAL_NUL_TERMINATED, 2, again, NULL, 64, &count), GOAL_OK);
    CHECK(count == 2 && again[0] == START && again[1] == END);
    CHECK_STATUS(goal_model_tokenize(model, text, GOAL_NUL_TERMINATED, n + 10, again, NULL, 64, &count), GOAL_OK);
    CHECK(count == n);
    CHECK_STATUS(goal_model_tokenize(model, "", GOAL_NUL_TERMINATED, 0, again, spans, 64, &count), GOAL_OK);
    CHECK(count == 2 && again[0] == START && again[1] == END && spans[2] == 0 && spans[3] == 0);

    /* Too small a buffer: the count needed, nothing written. */
    for (i = 0; i < 64; i++) again[i] = -7;
    CHECK_STATUS(goal_model_tokenize(model, text, GOAL_NUL_TERMINATED, 0, again, NULL, n - 1, &count),
                 GOAL_ERR_BUFFER_TOO_SMALL);
    CHECK(count == n);
    CHECK(again[0] == -7 && again[n - 2] == -7);
    CHECK_CONTAINS(goal_last_error(), "tokens");
    CHECK_STATUS(goal_model_tokenize(model, text, GOAL_NUL_TERMINATED, 0, NULL, NULL, 0, &count),
                 GOAL_ERR_BUFFER_TOO_SMALL);
    CHECK(count == n);
    /* Room enough but no buffer: an error, and the count cleared like any out-parameter. */
    CHECK_STATUS(goal_model_tokenize(model, text, GOAL_NUL_TERMINATED, 0, NULL, NULL, 64, &count),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK(count == 0);
    /* The largest size_t values mean "no limit", not a negative one. */
    CHECK_STATUS(goal_model_tokenize(model, text, GOAL_NUL_TERMINATED, SIZE_MAX, again, NULL, SIZE_MAX, &count),
                 GOAL_OK);
    CHECK(count == n);

    /* Invalid UTF-8 (a cut-off two-byte sequence, a lone continuation byte, an overlong NUL). */
    count = 99;
    CHECK_STATUS(goal_model_tokenize(model, "caf\xc3", GOAL_NUL_TERMINATED, 0, again, NULL, 64, &count),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK(count == 0);
    CHECK_CONTAINS(goal_last_error(), "UTF-8");
    CHECK_STATUS(goal_model_tokenize(model, "a \x80 b", GOAL_NUL_TERMINATED, 0, again, NULL, 64, &count),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_model_tokenize(model, "\xc0\x80", GOAL_NUL_TERMINATED, 0, again, NULL, 64, &count),
                 GOAL_ERR_INVALID_ARGUMENT);
    /* ...also when the bad byte is cut off by the length: then the text is valid. */
    CHECK_STATUS(goal_model_tokenize(model, "caf\xc3", 3, 0, again, NULL, 64, &count), GOAL_OK);

    CHECK_STATUS(goal_model_tokenize(NULL, text, GOAL_NUL_TERMINATED, 0, again, NULL, 64, &count),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK(count == 0);
    CHECK_STATUS(goal_model_tokenize(model, NULL, GOAL_NUL_TERMINATED, 0, again, NULL, 64, &count),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_model_tokenize(model, text, GOAL_NUL_TERMINATED, 1, again, NULL, 64, &count),
                 GOAL_ERR_INVALID_ARGUMENT); /* no room for start and end */
}

/* The batch call gives what one call per text gives, laid end to end. */
static void test_tokenize_batch(const goal_model *model) {
    const char *texts[4] = {captions[0], "", long_text, captions[2]};
    int32_t ids[400], one[400];
    size_t offsets[5], total = 99, count, i, j;
    CHECK_STATUS(goal_model_tokenize_batch(model, 4, texts, NULL, 0, NULL, 0, offsets, &total),
                 GOAL_ERR_BUFFER_TOO_SMALL);
    CHECK(total > 300);
    CHECK_STATUS(goal_model_tokenize_batch(model, 4, texts, NULL, 77, ids, 400, offsets, &total), GOAL_OK);
    CHECK(offsets[0] == 0 && offsets[4] == total);
    for (i = 0; i < 4; i++) {
        CHECK_STATUS(goal_model_tokenize(model, texts[i], GOAL_NUL_TERMINATED, 77, one, NULL, 400, &count), GOAL_OK);
        CHECK(offsets[i + 1] - offsets[i] == count);
        for (j = 0; j < count && offsets[i] + j < total; j++) CHECK(ids[offsets[i] + j] == one[j]);
    }
    texts[1] = "caf\xc3";
    CHECK_STATUS(goal_model_tokenize_batch(model, 4, texts, NULL, 0, ids, 400, offsets, &total),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK(total == 0);
    CHECK_CONTAINS(goal_last_error(), "text 1");
    CHECK_STATUS(goal_model_tokenize_batch(model, 0, NULL, NULL, 0, NULL, 0, offsets, &total), GOAL_OK);
    CHECK(total == 0 && offsets[0] == 0);
    CHECK_STATUS(goal_model_tokenize_batch(model, 1, texts, NULL, 0, ids, 400, NULL, &total),
                 GOAL_ERR_INVALID_ARGUMENT); /* no offsets */
}

/* ---- text embeddings ---------------------------------------------------------------------- */

static void test_encode_text(const goal_model *model, int64_t context) {
    float batch[3 * DIM], explicit_lengths[3 * DIM], one[DIM], spare[3 * DIM];
    size_t lengths[3], i;
    const char *bad[2];
    for (i = 0; i < 3; i++) lengths[i] = strlen(captions[i]);

    CHECK_STATUS(goal_model_encode_text(model, 3, captions, NULL, batch, 3 * DIM), GOAL_OK);
    CHECK(unit_rows(batch, 3));
    CHECK_STATUS(goal_model_encode_text(model, 3, captions, lengths, explicit_lengths, 3 * DIM), GOAL_OK);
    CHECK(memcmp(batch, explicit_lengths, sizeof batch) == 0);
    /* One at a time runs other batch shapes; the results agree to rounding. */
    for (i = 0; i < 3; i++) {
        CHECK_STATUS(goal_model_encode_text(model, 1, captions + i, NULL, one, DIM), GOAL_OK);
        CHECK(max_difference(one, batch + i * DIM, DIM) <= 1e-6);
    }
    /* Different captions, different embeddings. */
    CHECK(max_difference(batch, batch + DIM, DIM) > 1e-3);

    /* A length that cuts a text short encodes the prefix ("a photo"). */
    lengths[0] = 7;
    CHECK_STATUS(goal_model_encode_text(model, 1, captions, lengths, one, DIM), GOAL_OK);
    {
        const char *prefix = "a photo";
        CHECK_STATUS(goal_model_encode_text(model, 1, &prefix, NULL, spare, DIM), GOAL_OK);
        CHECK(memcmp(one, spare, sizeof one) == 0);
    }

    /* The default rule truncates a text longer than the context. */
    {
        const char *texts[1];
        size_t n = 0;
        texts[0] = long_text;
        CHECK_STATUS(goal_model_tokenize(model, long_text, GOAL_NUL_TERMINATED, 0, NULL, NULL, 0, &n),
                     GOAL_ERR_BUFFER_TOO_SMALL);
        CHECK((int64_t)n > context);
        CHECK_STATUS(goal_model_encode_text(model, 1, texts, NULL, one, DIM), GOAL_OK);
        CHECK(unit_rows(one, 1));
    }

    CHECK_STATUS(goal_model_encode_text(model, 0, NULL, NULL, spare, 0), GOAL_OK);
    CHECK_STATUS(goal_model_encode_text(model, 3, captions, NULL, spare, 3 * DIM - 1), GOAL_ERR_BUFFER_TOO_SMALL);
    CHECK_CONTAINS(goal_last_error(), "48");
    CHECK_STATUS(goal_model_encode_text(model, 3, captions, NULL, NULL, 3 * DIM), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_model_encode_text(model, 3, NULL, NULL, spare, 3 * DIM), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_model_encode_text(NULL, 3, captions, NULL, spare, 3 * DIM), GOAL_ERR_INVALID_ARGUMENT);
    bad[0] = captions[0];
    bad[1] = "caf\xc3";
    CHECK_STATUS(goal_model_encode_text(model, 2, bad, NULL, spare, 2 * DIM), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "UTF-8");
    bad[1] = NULL;
    CHECK_STATUS(goal_model_encode_text(model, 2, bad, NULL, spare, 2 * DIM), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "text 1");
}

/* ---- image embeddings ---------------------------------------------------------------------- */

static const char *const image_files[3] = {"images/astronaut_wide.jpg", "images/coffee_tall_444.jpg",
                                           "images/camera_gray.png"};

/* A synthetic picture: RGB, the same in RGBA with varying alpha and with opaque alpha, and a gray
 * one with its RGB twin (R = G = B). Every row is padded with junk that must be skipped. */
enum { W = 45, H = 37, PAD = 5 };
static uint8_t rgb[H][W * 3 + PAD], rgba[H][W * 4 + PAD], opaque[H][W * 4 + PAD], gray[H][W + PAD],
    gray_rgb[H][W * 3 + PAD];

static void make_pixels(void) {
    int x, y, c;
    memset(rgb, 0xA5, sizeof rgb);
    memset(rgba, 0x5A, sizeof rgba);
    memset(opaque, 0x77, sizeof opaque);
    memset(gray, 0xC3, sizeof gray);
    memset(gray_rgb, 0x3C, sizeof gray_rgb);
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++) {
            uint8_t g = (uint8_t)((x * 7 + y * 13) % 256);
            for (c = 0; c < 3; c++) {
                uint8_t v = (uint8_t)((x * (c + 3) + y * (5 - c) * 4 + (x * y) % 17) % 256);
                rgb[y][x * 3 + c] = v;
                rgba[y][x * 4 + c] = v;
                opaque[y][x * 4 + c] = v;
                gray_rgb[y][x * 3 + c] = g;
            }
            rgba[y][x * 4 + 3] = (uint8_t)(x * 5 + y);
            opaque[y][x * 4 + 3] = 255;
            gray[y][x] = g;
        }
}

/* Encodes two raw pictures in one call, so that each is in the same batch position as the
 * picture it is compared with: rows of one batch may round differently. */
static void encode_pair(const goal_model *model, const uint8_t *a, size_t a_stride, int32_t a_channels,
                        const uint8_t *b, size_t b_stride, int32_t b_channels, float out[2 * DIM]) {
    const uint8_t *planes[2];
    int32_t widths[2] = {W, W}, heights[2] = {H, H}, channels[2];
    size_t strides[2];
    planes[0] = a, planes[1] = b;
    strides[0] = a_stride, strides[1] = b_stride;
    channels[0] = a_channels, channels[1] = b_channels;
    CHECK_STATUS(goal_model_encode_image_pixels(model, 2, planes, widths, heights, strides, channels, out, 2 * DIM),
                 GOAL_OK);
}

static void test_encode_images(const goal_model *model, int64_t convention) {
    const char *paths[3];
    const void *data[3];
    size_t sizes[3], i;
    unsigned char *bytes[3];
    float files[3 * DIM], memory[3 * DIM], pixels[4 * DIM], spare[4 * DIM];
    const uint8_t *planes[4] = {&rgb[0][0], &rgba[0][0], &gray[0][0], &gray_rgb[0][0]};
    int32_t widths[4] = {W, W, W, W}, heights[4] = {H, H, H, H}, channels[4] = {3, 4, 1, 3};
    size_t strides[4] = {sizeof rgb[0], sizeof rgba[0], sizeof gray[0], sizeof gray_rgb[0]};

    for (i = 0; i < 3; i++) {
        paths[i] = fixture(image_files[i]);
        bytes[i] = read_file(paths[i], &sizes[i]);
        data[i] = bytes[i];
        CHECK(bytes[i] != NULL);
        paths[i] = strcpy(malloc(strlen(paths[i]) + 1), paths[i]); /* fixture() reuses its buffers */
    }
    CHECK_STATUS(goal_model_encode_image_files(model, 3, paths, files, 3 * DIM), GOAL_OK);
    CHECK(unit_rows(files, 3));
    CHECK(max_difference(files, files + DIM, DIM) > 1e-3);
    CHECK_STATUS(goal_model_encode_image_memory(model, 3, data, sizes, memory, 3 * DIM), GOAL_OK);
    CHECK(memcmp(files, memory, sizeof files) == 0);

    CHECK_STATUS(goal_model_encode_image_pixels(model, 4, planes, widths, heights, strides, channels, pixels,
                                                4 * DIM), GOAL_OK);
    CHECK(unit_rows(pixels, 4));
    CHECK(max_difference(pixels, pixels + 2 * DIM, DIM) > 1e-3);
    /* Gray is replicated (and the pair's RGB row equals the batch of four's within rounding). */
    encode_pair(model, &gray_rgb[0][0], sizeof gray_rgb[0], 3, &rgb[0][0], sizeof rgb[0], 3, spare);
    encode_pair(model, &gray[0][0], sizeof gray[0], 1, &rgb[0][0], sizeof rgb[0], 3, spare + 2 * DIM);
    CHECK(memcmp(spare, spare + 2 * DIM, DIM * sizeof(float)) == 0);
    CHECK(max_difference(spare + DIM, pixels, DIM) <= 1e-6);
    /* Opaque alpha changes nothing under any convention; under OpenAI's, alpha is dropped. */
    encode_pair(model, &rgb[0][0], sizeof rgb[0], 3, &rgb[0][0], sizeof rgb[0], 3, spare);
    encode_pair(model, &opaque[0][0], sizeof opaque[0], 4, &rgba[0][0], sizeof rgba[0], 4, spare + 2 * DIM);
    CHECK(memcmp(spare, spare + 2 * DIM, DIM * sizeof(float)) == 0);
    if (convention == GOAL_CONVENTION_OPENAI) CHECK(memcmp(spare + DIM, spare + 3 * DIM, DIM * sizeof(float)) == 0);

    /* Bad pixel buffers are statuses naming the image. */
    channels[1] = 2;
    CHECK_STATUS(goal_model_encode_image_pixels(model, 2, planes, widths, heights, strides, channels, spare,
                                                2 * DIM), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "image 1");
    channels[1] = 4;
    strides[0] = W * 3 - 1;
    CHECK_STATUS(goal_model_encode_image_pixels(model, 1, planes, widths, heights, strides, channels, spare, DIM),
                 GOAL_ERR_INVALID_ARGUMENT);
    strides[0] = sizeof rgb[0];
    widths[0] = 0;
    CHECK_STATUS(goal_model_encode_image_pixels(model, 1, planes, widths, heights, strides, channels, spare, DIM),
                 GOAL_ERR_INVALID_ARGUMENT);
    widths[0] = -W;
    CHECK_STATUS(goal_model_encode_image_pixels(model, 1, planes, widths, heights, strides, channels, spare, DIM),
                 GOAL_ERR_INVALID_ARGUMENT);
    widths[0] = W;
    heights[0] = -1;
    CHECK_STATUS(goal_model_encode_image_pixels(model, 1, planes, widths, heights, strides, channels, spare, DIM),
                 GOAL_ERR_INVALID_ARGUMENT);
    heights[0] = H;
    planes[0] = NULL;
    CHECK_STATUS(goal_model_encode_image_pixels(model, 1, planes, widths, heights, strides, channels, spare, DIM),
                 GOAL_ERR_INVALID_ARGUMENT);
    planes[0] = &rgb[0][0];

    /* A missing file among good ones: NOT_FOUND naming its index. */
    {
        const char *two[2];
        two[0] = paths[0];
        two[1] = fixture("images/absent.jpg");
        CHECK_STATUS(goal_model_encode_image_files(model, 2, two, spare, 2 * DIM), GOAL_ERR_NOT_FOUND);
        CHECK_CONTAINS(goal_last_error(), "image 1");
        CHECK_CONTAINS(goal_last_error(), "absent.jpg");
    }
    CHECK_STATUS(goal_model_encode_image_files(model, 3, paths, spare, 3 * DIM - 1), GOAL_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(goal_model_encode_image_memory(model, 3, data, sizes, spare, DIM), GOAL_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(goal_model_encode_image_pixels(model, 4, planes, widths, heights, strides, channels, spare,
                                                3 * DIM), GOAL_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(goal_model_encode_image_files(model, 0, NULL, spare, 0), GOAL_OK);
    CHECK_STATUS(goal_model_encode_image_files(NULL, 3, paths, spare, 3 * DIM), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_model_encode_image_memory(model, 3, data, NULL, spare, 3 * DIM), GOAL_ERR_INVALID_ARGUMENT);
    /* Half a file in memory is a damaged image, not a read past its end. */
    sizes[0] /= 2;
    CHECK(goal_model_encode_image_memory(model, 1, data, sizes, spare, DIM) != GOAL_OK);
    CHECK_CONTAINS(goal_last_error(), "image 0");
    sizes[0] = 0;
    CHECK(goal_model_encode_image_memory(model, 1, data, sizes, spare, DIM) != GOAL_OK);
    for (i = 0; i < 3; i++) {
        free(bytes[i]);
        free((void *)paths[i]);
    }
}

/* The damaged files of fixtures/images/manifest.json ("bad"): each an error naming the image, never
 * a crash, through the file and the memory entry points alike. */
static void test_bad_images(const goal_model *model) {
    static const char *const bad[] = {"truncated.jpg", "truncated_header.jpg", "truncated.png",
                                      "not_an_image.txt", "corrupt_precision.jpg", "bad_crc.png"};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char relative[256];
        const char *path;
        const void *data;
        size_t size;
        unsigned char *bytes;
        float out[DIM];
        goal_status status;
        goal_tokens *tokens = (goal_tokens *)(uintptr_t)1;

        snprintf(relative, sizeof relative, "images/%s", bad[i]);
        path = fixture(relative);
        status = goal_model_encode_image_files(model, 1, &path, out, DIM);
        CHECK(status != GOAL_OK && status != GOAL_ERR_INTERNAL && status != GOAL_ERR_NOT_FOUND);
        CHECK_CONTAINS(goal_last_error(), "image 0");
        if (status == GOAL_OK || !strstr(goal_last_error(), "image 0"))
            fprintf(stderr, "  %s: %d %s\n", bad[i], (int)status, goal_last_error());
        CHECK(goal_model_image_tokens_file(model, path, &tokens) != GOAL_OK);
        CHECK(tokens == NULL);
        bytes = read_file(path, &size);
        data = bytes;
        CHECK(bytes != NULL);
        if (!bytes) continue;
        CHECK(goal_model_encode_image_memory(model, 1, &data, &size, out, DIM) == status);
        free(bytes);
    }
}

/* ---- token-level embeddings ----------------------------------------------------------------- */

static void test_text_tokens(const goal_model *model, int64_t context) {
    size_t i, count = 0, dim = 0, n = 0;
    int64_t rows = -1, columns = -1;
    const float *embeddings = NULL;
    const int32_t *ids = NULL;
    const int64_t *spans = NULL;
    int32_t expected_ids[300];
    int64_t expected_spans[600];
    float global[DIM];

    for (i = 0; i < 3; i++) {
        goal_tokens *tokens = NULL;
        CHECK_STATUS(goal_model_text_tokens(model, captions[i], GOAL_NUL_TERMINATED, &tokens), GOAL_OK);
        if (!tokens) continue;
        CHECK_STATUS(goal_tokens_shape(tokens, &count, &dim, &rows, &columns), GOAL_OK);
        CHECK(dim == DIM && rows == 0 && columns == 0);
        CHECK_STATUS(goal_model_tokenize(model, captions[i], GOAL_NUL_TERMINATED, 0, expected_ids, expected_spans,
                                         300, &n), GOAL_OK);
        CHECK(count == n);
        CHECK_STATUS(goal_tokens_text(tokens, &ids, &spans), GOAL_OK);
        CHECK(ids != NULL && spans != NULL);
        if (count == n && ids && spans) {
            CHECK(memcmp(ids, expected_ids, n * sizeof ids[0]) == 0);
            CHECK(memcmp(spans, expected_spans, 2 * n * sizeof spans[0]) == 0);
        }
        CHECK_STATUS(goal_tokens_embeddings(tokens, &embeddings), GOAL_OK);
        CHECK(embeddings != NULL);
        if (embeddings && dim == DIM) {
            /* The end token is where CLIP pools: its row is the text's global embedding. */
            CHECK(unit_rows(embeddings, count));
            CHECK_STATUS(goal_model_encode_text(model, 1, captions + i, NULL, global, DIM), GOAL_OK);
            CHECK(max_difference(embeddings + (count - 1) * DIM, global, DIM) <= 1e-5);
        }
        goal_tokens_free(tokens);
    }

    /* A long text is cut to the context, the end token kept last. */
    {
        goal_tokens *tokens = NULL;
        CHECK_STATUS(goal_model_text_tokens(model, long_text, GOAL_NUL_TERMINATED, &tokens), GOAL_OK);
        CHECK_STATUS(goal_tokens_shape(tokens, &count, NULL, NULL, NULL), GOAL_OK);
        CHECK((int64_t)count == context);
        CHECK_STATUS(goal_tokens_text(tokens, &ids, NULL), GOAL_OK);
        CHECK(ids != NULL && ids[count - 1] == END);
        goal_tokens_free(tokens);
    }

    {
        goal_tokens *tokens = (goal_tokens *)(uintptr_t)1;
        CHECK_STATUS(goal_model_text_tokens(model, "caf\xc3", GOAL_NUL_TERMINATED, &tokens),
                     GOAL_ERR_INVALID_ARGUMENT);
        CHECK(tokens == NULL);
        tokens = (goal_tokens *)(uintptr_t)1;
        CHECK_STATUS(goal_model_text_tokens(NULL, "a", GOAL_NUL_TERMINATED, &tokens), GOAL_ERR_INVALID_ARGUMENT);
        CHECK(tokens == NULL);
        CHECK_STATUS(goal_model_text_tokens(model, "a", GOAL_NUL_TERMINATED, NULL), GOAL_ERR_INVALID_ARGUMENT);
    }
}

static void check_image_tokens(goal_tokens *tokens, const float **out_embeddings) {
    size_t count = 0, dim = 0;
    int64_t rows = 0, columns = 0;
    const int32_t *ids = (const int32_t *)(uintptr_t)1;
    const int64_t *spans = (const int64_t *)(uintptr_t)1;
    *out_embeddings = NULL;
    CHECK(tokens != NULL);
    if (!tokens) return;
    CHECK_STATUS(goal_tokens_shape(tokens, &count, &dim, &rows, &columns), GOAL_OK);
    CHECK(count == 16 && dim == DIM && rows == 4 && columns == 4);
    CHECK_STATUS(goal_tokens_text(tokens, &ids, &spans), GOAL_OK);
    CHECK(ids == NULL && spans == NULL);
    CHECK_STATUS(goal_tokens_embeddings(tokens, out_embeddings), GOAL_OK);
    CHECK(*out_embeddings != NULL && unit_rows(*out_embeddings, 16));
}

static void test_image_tokens(const goal_model *model, int64_t convention) {
    goal_tokens *from_file = NULL, *from_memory = NULL, *from_rgb = NULL, *from_rgba = NULL;
    const float *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    const char *path = fixture(image_files[0]);
    size_t size = 0;
    unsigned char *bytes = read_file(path, &size);

    CHECK_STATUS(goal_model_image_tokens_file(model, path, &from_file), GOAL_OK);
    check_image_tokens(from_file, &a);
    CHECK_STATUS(goal_model_image_tokens_memory(model, bytes, size, &from_memory), GOAL_OK);
    check_image_tokens(from_memory, &b);
    if (a && b) CHECK(memcmp(a, b, 16 * DIM * sizeof(float)) == 0);
    CHECK_STATUS(goal_model_image_tokens_pixels(model, &rgb[0][0], W, H, sizeof rgb[0], 3, &from_rgb), GOAL_OK);
    check_image_tokens(from_rgb, &c);
    /* Alpha is dropped under OpenAI's convention; opaque alpha changes nothing under any. */
    if (convention == GOAL_CONVENTION_OPENAI)
        CHECK_STATUS(goal_model_image_tokens_pixels(model, &rgba[0][0], W, H, sizeof rgba[0], 4, &from_rgba), GOAL_OK);
    else
        CHECK_STATUS(goal_model_image_tokens_pixels(model, &opaque[0][0], W, H, sizeof opaque[0], 4, &from_rgba),
                     GOAL_OK);
    check_image_tokens(from_rgba, &d);
    if (c && d) CHECK(memcmp(c, d, 16 * DIM * sizeof(float)) == 0);
    /* Patches of one picture differ from each other. */
    if (a) CHECK(max_difference(a, a + 5 * DIM, DIM) > 1e-3);
    goal_tokens_free(from_file);
    goal_tokens_free(from_memory);
    goal_tokens_free(from_rgb);
    goal_tokens_free(from_rgba);
    goal_tokens_free(NULL);

    {
        goal_tokens *tokens = (goal_tokens *)(uintptr_t)1;
        CHECK_STATUS(goal_model_image_tokens_file(model, fixture("images/absent.png"), &tokens), GOAL_ERR_NOT_FOUND);
        CHECK(tokens == NULL);
        CHECK_CONTAINS(goal_last_error(), "absent.png");
        CHECK_STATUS(goal_model_image_tokens_memory(model, NULL, 10, &tokens), GOAL_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(goal_model_image_tokens_pixels(model, &rgb[0][0], W, H, sizeof rgb[0], 5, &tokens),
                     GOAL_ERR_INVALID_ARGUMENT);
        CHECK(tokens == NULL);
        CHECK_STATUS(goal_model_image_tokens_file(model, NULL, &tokens), GOAL_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(goal_model_image_tokens_file(model, path, NULL), GOAL_ERR_INVALID_ARGUMENT);
    }
    {
        size_t count = 5;
        const float *embeddings = (const float *)(uintptr_t)1;
        const int32_t *ids = (const int32_t *)(uintptr_t)1;
        CHECK_STATUS(goal_tokens_shape(NULL, &count, NULL, NULL, NULL), GOAL_ERR_INVALID_ARGUMENT);
        CHECK(count == 0);
        CHECK_STATUS(goal_tokens_embeddings(NULL, &embeddings), GOAL_ERR_INVALID_ARGUMENT);
        CHECK(embeddings == NULL);
        CHECK_STATUS(goal_tokens_text(NULL, &ids, NULL), GOAL_ERR_INVALID_ARGUMENT);
        CHECK(ids == NULL);
    }
    free(bytes);
}

/* ---- options ------------------------------------------------------------------------------ */

static void test_string_options(void) {
    goal_options *options = NULL;
    const char *value = "sentinel";
    char path[64] = "some/text_model.onnx";
    int64_t number = -1;

    CHECK_STATUS(goal_options_new(&options), GOAL_OK);
    if (!options) return;
    CHECK_STATUS(goal_options_get_string(options, GOAL_OPTION_TOKENIZER, &value), GOAL_OK);
    CHECK(value == NULL); /* unset */
    CHECK_STATUS(goal_options_set_string(options, GOAL_OPTION_TEXT_MODEL, path), GOAL_OK);
    path[0] = 'X'; /* the options object keeps its own copy */
    CHECK_STATUS(goal_options_get_string(options, GOAL_OPTION_TEXT_MODEL, &value), GOAL_OK);
    CHECK(value != NULL && strcmp(value, "some/text_model.onnx") == 0);
    CHECK_STATUS(goal_options_set_string(options, GOAL_OPTION_TEXT_MODEL, NULL), GOAL_OK);
    CHECK_STATUS(goal_options_get_string(options, GOAL_OPTION_TEXT_MODEL, &value), GOAL_OK);
    CHECK(value == NULL);

    /* String keys and integer keys do not mix. */
    value = "sentinel";
    CHECK_STATUS(goal_options_get_string(options, GOAL_OPTION_THREADS, &value), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(value == NULL);
    CHECK_STATUS(goal_options_set_string(options, GOAL_OPTION_THREADS, "4"), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_set_string(options, 999, "x"), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_TOKENIZER, 1), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_get_int(options, GOAL_OPTION_TOKENIZER, &number), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_set_string(options, GOAL_OPTION_TOKENIZER, "\xff.json"), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_set_string(NULL, GOAL_OPTION_TOKENIZER, "x"), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_get_string(options, GOAL_OPTION_TOKENIZER, NULL), GOAL_ERR_INVALID_ARGUMENT);

    /* The model options' defaults and ranges. */
    CHECK_STATUS(goal_options_get_int(options, GOAL_OPTION_CONVENTION, &number), GOAL_OK);
    CHECK(number == GOAL_CONVENTION_AUTO);
    CHECK_STATUS(goal_options_get_int(options, GOAL_OPTION_LONG_TEXT, &number), GOAL_OK);
    CHECK(number == GOAL_LONG_TEXT_TRUNCATE);
    CHECK_STATUS(goal_options_get_int(options, GOAL_OPTION_BATCH_SIZE, &number), GOAL_OK);
    CHECK(number == 16);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_CONVENTION, 3), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_LONG_TEXT, 3), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_BATCH_SIZE, 0), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_BATCH_SIZE, 4097), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_BATCH_SIZE, 4096), GOAL_OK);
    goal_options_free(options);
}

static void test_long_text_rules(const struct folder *f) {
    goal_options *options = NULL;
    goal_model *strict, *truncating;
    const char *texts[2];
    float out[2 * DIM], expected[DIM];

    texts[0] = captions[0];
    texts[1] = long_text;
    CHECK_STATUS(goal_options_new(&options), GOAL_OK);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_LONG_TEXT, GOAL_LONG_TEXT_FAIL), GOAL_OK);
    strict = open_folder(f->name, options);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_LONG_TEXT, GOAL_LONG_TEXT_TRUNCATE), GOAL_OK);
    truncating = open_folder(f->name, options);
    if (strict && truncating) {
        CHECK_STATUS(goal_model_encode_text(strict, 2, texts, NULL, out, 2 * DIM), GOAL_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(goal_last_error(), "text 1");
        CHECK_CONTAINS(goal_last_error(), "tokens");
        CHECK_STATUS(goal_model_encode_text(truncating, 2, texts, NULL, out, 2 * DIM), GOAL_OK);
        /* A text that fits is the same under either rule (to rounding: the batches differ). */
        CHECK_STATUS(goal_model_encode_text(strict, 1, texts, NULL, expected, DIM), GOAL_OK);
        CHECK(max_difference(out, expected, DIM) <= 1e-6);
    }
    goal_model_free(strict);
    goal_model_free(truncating);
    goal_options_free(options);
}

/* With a NULL path the string options are the whole model; each also overrides the folder. */
static void test_named_files(void) {
    goal_options *options = NULL;
    goal_model *named = NULL, *folder = NULL, *text_only = NULL;
    const char *path = NULL;
    float a[3 * DIM], b[3 * DIM];
    int64_t value = -1;
    int i;

    CHECK_STATUS(goal_options_new(&options), GOAL_OK);
    if (!options) return;
    for (i = 0; i < 5; i++) {
        char relative[256];
        snprintf(relative, sizeof relative, "folders/hf_ts/%s", folders[0].files[i]);
        CHECK_STATUS(goal_options_set_string(options, (goal_option)(GOAL_OPTION_TEXT_MODEL + i), fixture(relative)),
                     GOAL_OK);
    }
    CHECK_STATUS(goal_model_open(NULL, options, &named), GOAL_OK);
    folder = open_folder("hf_ts", NULL);
    if (named && folder) {
        test_facts(named, &folders[0]);
        CHECK_STATUS(goal_model_encode_text(named, 3, captions, NULL, a, 3 * DIM), GOAL_OK);
        CHECK_STATUS(goal_model_encode_text(folder, 3, captions, NULL, b, 3 * DIM), GOAL_OK);
        CHECK(memcmp(a, b, sizeof a) == 0);
    }
    goal_model_free(named);

    /* Only a text tower and a tokenizer: a text-only model. */
    CHECK_STATUS(goal_options_set_string(options, GOAL_OPTION_VISION_MODEL, NULL), GOAL_OK);
    CHECK_STATUS(goal_options_set_string(options, GOAL_OPTION_PREPROCESSOR_CONFIG, NULL), GOAL_OK);
    CHECK_STATUS(goal_options_set_string(options, GOAL_OPTION_MODEL_CONFIG, NULL), GOAL_OK);
    CHECK_STATUS(goal_model_open(NULL, options, &text_only), GOAL_OK);
    if (text_only) {
        const char *image = fixture(image_files[0]);
        goal_tokens *tokens = (goal_tokens *)(uintptr_t)1;
        CHECK_STATUS(goal_model_get_int(text_only, GOAL_MODEL_HAS_IMAGE, &value), GOAL_OK);
        CHECK(value == 0);
        CHECK_STATUS(goal_model_get_int(text_only, GOAL_MODEL_IMAGE_SIZE, &value), GOAL_OK);
        CHECK(value == 0);
        CHECK_STATUS(goal_model_get_int(text_only, GOAL_MODEL_PATCH_SIZE, &value), GOAL_OK);
        CHECK(value == 0);
        CHECK_STATUS(goal_model_get_int(text_only, GOAL_MODEL_DIM, &value), GOAL_OK);
        CHECK(value == DIM);
        CHECK_STATUS(goal_model_file(text_only, GOAL_OPTION_VISION_MODEL, &path), GOAL_OK);
        CHECK(path == NULL);
        CHECK_STATUS(goal_model_encode_text(text_only, 3, captions, NULL, a, 3 * DIM), GOAL_OK);
        if (folder) CHECK(memcmp(a, b, sizeof a) == 0);
        CHECK_STATUS(goal_model_encode_image_files(text_only, 1, &image, a, DIM), GOAL_ERR_UNSUPPORTED);
        CHECK_CONTAINS(goal_last_error(), "no image tower");
        CHECK_STATUS(goal_model_image_tokens_file(text_only, image, &tokens), GOAL_ERR_UNSUPPORTED);
        CHECK(tokens == NULL);
    }
    goal_model_free(text_only);
    goal_model_free(folder);

    /* A named file that is not there is an error naming it. */
    CHECK_STATUS(goal_options_set_string(options, GOAL_OPTION_TOKENIZER, fixture("folders/hf_ts/absent.json")),
                 GOAL_OK);
    CHECK_STATUS(goal_model_open(NULL, options, &text_only), GOAL_ERR_NOT_FOUND);
    CHECK(text_only == NULL);
    CHECK_CONTAINS(goal_last_error(), "absent.json");
    /* A folder where a file belongs cannot be read as one. */
    CHECK_STATUS(goal_options_set_string(options, GOAL_OPTION_TOKENIZER, fixture("folders/hf_ts")), GOAL_OK);
    CHECK_STATUS(goal_model_open(NULL, options, &text_only), GOAL_ERR_IO);
    CHECK_CONTAINS(goal_last_error(), "folder");
    CHECK_STATUS(goal_options_set_string(options, GOAL_OPTION_TEXT_MODEL, fixture("folders/hf_ts/absent.onnx")),
                 GOAL_OK);
    CHECK_STATUS(goal_model_open(NULL, options, &text_only), GOAL_ERR_NOT_FOUND);
    CHECK_CONTAINS(goal_last_error(), "absent.onnx");
    goal_options_free(options);

    /* The convention option overrides the folder's. */
    CHECK_STATUS(goal_options_new(&options), GOAL_OK);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_CONVENTION, GOAL_CONVENTION_OPENAI), GOAL_OK);
    folder = open_folder("hf_ts", options);
    if (folder) {
        CHECK_STATUS(goal_model_get_int(folder, GOAL_MODEL_CONVENTION, &value), GOAL_OK);
        CHECK(value == GOAL_CONVENTION_OPENAI);
    }
    goal_model_free(folder);
    goal_options_free(options);
}

/* ---- opening failures ---------------------------------------------------------------------- */

static void test_open_failures(void) {
    goal_model *model = (goal_model *)(uintptr_t)1;
    char empty[] = "/tmp/goal_test_model_XXXXXX";
    int64_t value = -1;
    const char *path = "sentinel";

    CHECK_STATUS(goal_model_open(fixture("folders/absent"), NULL, &model), GOAL_ERR_NOT_FOUND);
    CHECK(model == NULL);
    CHECK_CONTAINS(goal_last_error(), "folders/absent");

    if (mkdtemp(empty) != NULL) {
        model = (goal_model *)(uintptr_t)1;
        CHECK_STATUS(goal_model_open(empty, NULL, &model), GOAL_ERR_NOT_FOUND);
        CHECK(model == NULL);
        CHECK_CONTAINS(goal_last_error(), "text_model.onnx");
        rmdir(empty);
    } else {
        CHECK(!"mkdtemp failed");
    }

    model = (goal_model *)(uintptr_t)1;
    CHECK_STATUS(goal_model_open(NULL, NULL, &model), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(model == NULL);
    CHECK_STATUS(goal_model_open(fixture("folders/hf_ts"), NULL, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_model_open("\xff\xfe", NULL, &model), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "UTF-8");
    /* A graph that is not ONNX fails as goal_graph_open does. */
    CHECK_STATUS(goal_model_open(fixture("bad/corrupt.onnx"), NULL, &model), GOAL_ERR_NOT_ONNX);

    CHECK_STATUS(goal_model_get_int(NULL, GOAL_MODEL_DIM, &value), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(value == 0);
    CHECK_CONTAINS(goal_last_error(), "model is NULL");
    CHECK_STATUS(goal_model_file(NULL, GOAL_OPTION_TEXT_MODEL, &path), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(path == NULL);
    goal_model_free(NULL);
}

int main(int argc, char **argv) {
    size_t i;
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
        return 2;
    }
    snprintf(fixtures, sizeof fixtures, "%s", argv[1]);
    make_long_text();
    make_pixels();
    for (i = 0; i < FOLDER_COUNT; i++) {
        goal_model *model = open_folder(folders[i].name, NULL);
        if (!model) continue;
        test_facts(model, &folders[i]);
        test_tokenize(model);
        test_tokenize_batch(model);
        test_encode_text(model, folders[i].context);
        test_encode_images(model, folders[i].convention);
        test_bad_images(model);
        test_text_tokens(model, folders[i].context);
        test_image_tokens(model, folders[i].convention);
        test_long_text_rules(&folders[i]);
        goal_model_free(model);
    }
    test_string_options();
    test_named_files();
    test_open_failures();
    return report();
}
