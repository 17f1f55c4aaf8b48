/* The local-matching half of goal.h as a C caller sees it: image objects, sentences, region
 * embeddings, late interaction and LISM with its options and result, including the failure
 * statuses. Numerical agreement with PyTorch is tested in bindings/python/tests/test_matching.py;
 * here the ABI's promises are. Run with the repository's fixtures folder as the only argument. */
#include "goal.h"
#include "check.h"
#include "fixtures.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define DIM 16


static const char caption[] =
    "A cat sits on the floor. Its fur is striped, e.g. brown and black. It is 3.5 kg... maybe more! The wall is white.";

static void test_images(void) {
    goal_image *image = (goal_image *)1;
    uint8_t pixels[4 * 3] = {0};
    CHECK_STATUS(goal_image_from_file(NULL, &image), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(image == NULL);
    CHECK_STATUS(goal_image_from_file(fixture("images/absent.jpg"), &image), GOAL_ERR_NOT_FOUND);
    CHECK_CONTAINS(goal_last_error(), "absent.jpg");
    CHECK_STATUS(goal_image_from_file(fixture("images"), &image), GOAL_ERR_IO);
    CHECK_STATUS(goal_image_from_memory(NULL, 3, &image), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_image_from_pixels(pixels, 2, 2, 5, 3, &image), GOAL_ERR_INVALID_ARGUMENT); /* stride < row */
    CHECK_STATUS(goal_image_from_pixels(pixels, 2, 2, 6, 2, &image), GOAL_ERR_INVALID_ARGUMENT); /* 2 channels */
    CHECK_STATUS(goal_image_from_pixels(pixels, 0, 2, 6, 3, &image), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(image == NULL);
    CHECK_STATUS(goal_image_from_pixels(pixels, 2, 2, 6, 3, NULL), GOAL_ERR_INVALID_ARGUMENT);
    goal_image_free(NULL);
}

static void test_sentences(goal_model *model) {
    int64_t spans[4 * 8];
    size_t count = 99, i;
    CHECK_STATUS(goal_model_sentences(model, caption, GOAL_NUL_TERMINATED, 0, spans, 8, &count), GOAL_OK);
    CHECK(count == 4);
    for (i = 0; i < count; i++) {
        CHECK(spans[4 * i] < spans[4 * i + 1] && spans[4 * i + 1] <= (int64_t)strlen(caption));
        CHECK(spans[4 * i + 2] < spans[4 * i + 3]);
        if (i > 0) CHECK(spans[4 * i + 2] == spans[4 * (i - 1) + 3]); /* token ranges follow on */
    }
    CHECK(spans[0] == 0 && spans[2] == 1);
    CHECK(strncmp(caption + spans[4], "Its fur is striped, e.g. brown and black.", 41) == 0);
    CHECK_STATUS(goal_model_sentences(model, caption, GOAL_NUL_TERMINATED, 1, spans, 8, &count), GOAL_OK);
    CHECK(count == 7); /* naive: every ".", with the stops dropped */
    CHECK_STATUS(goal_model_sentences(model, caption, GOAL_NUL_TERMINATED, 0, NULL, 0, &count),
                 GOAL_ERR_BUFFER_TOO_SMALL);
    CHECK(count == 4);
    CHECK_STATUS(goal_model_sentences(model, "   ", GOAL_NUL_TERMINATED, 0, NULL, 0, &count), GOAL_OK);
    CHECK(count == 0);
    CHECK_STATUS(goal_model_sentences(model, "caf\xc3", GOAL_NUL_TERMINATED, 0, spans, 8, &count),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK(count == 0);
    CHECK_STATUS(goal_model_sentences(NULL, caption, GOAL_NUL_TERMINATED, 0, spans, 8, &count), GOAL_ERR_INVALID_ARGUMENT);
}

static double dot(const float *a, const float *b) {
    double sum = 0;
    int k;
    for (k = 0; k < DIM; k++) sum += (double)a[k] * b[k];
    return sum;
}

static void test_regions(goal_model *model, goal_image *image) {
    /* chelsea_422.jpg is 301 x 226. */
    const double boxes[3 * 4] = {0, 0, 301, 226, 0, 0, 150.5, 113, 100.25, 80.5, 200.75, 200};
    const double outside[4] = {400, 0, 600, 10}, flipped[4] = {10, 10, 5, 20}, margin[4] = {0, 0, 20, 226};
    float out[3 * DIM], whole[DIM], spare[DIM];
    const char *path = fixture("images/chelsea_422.jpg");
    int i;
    CHECK_STATUS(goal_model_region_embeddings(model, image, 3, boxes, GOAL_REGION_POOLED, out, 3 * DIM), GOAL_OK);
    for (i = 0; i < 3; i++) CHECK(fabs(dot(out + i * DIM, out + i * DIM) - 1) < 1e-5);
    /* Cropping the whole image is encoding the image. */
    CHECK_STATUS(goal_model_region_embeddings(model, image, 3, boxes, GOAL_REGION_CROP, out, 3 * DIM), GOAL_OK);
    CHECK_STATUS(goal_model_encode_image_files(model, 1, &path, whole, DIM), GOAL_OK);
    for (i = 0; i < DIM; i++) CHECK(fabsf(out[i] - whole[i]) < 1e-6f);
    CHECK_STATUS(goal_model_region_embeddings(model, image, 3, boxes, GOAL_REGION_POOLED, out, 3 * DIM - 1),
                 GOAL_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(goal_model_region_embeddings(model, image, 1, outside, GOAL_REGION_CROP, spare, DIM),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "box 0");
    CHECK_STATUS(goal_model_region_embeddings(model, image, 1, flipped, GOAL_REGION_POOLED, spare, DIM),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "empty");
    /* The 32 px centre crop of a 301 x 226 image cuts away about 36 px each side: no patch there. */
    CHECK_STATUS(goal_model_region_embeddings(model, image, 1, margin, GOAL_REGION_POOLED, spare, DIM),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "no patch");
    CHECK_STATUS(goal_model_region_embeddings(model, image, 1, boxes, 7, spare, DIM), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_model_region_embeddings(model, NULL, 1, boxes, GOAL_REGION_CROP, spare, DIM),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_model_region_embeddings(model, image, 1, NULL, GOAL_REGION_CROP, spare, DIM),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_model_region_embeddings(model, image, 0, NULL, GOAL_REGION_CROP, NULL, 0), GOAL_OK);
}

static void test_late_interaction(goal_model *model, goal_image *image) {
    float t2i = 7, i2t = 7;
    CHECK_STATUS(goal_model_late_interaction(model, "a cat on the floor", GOAL_NUL_TERMINATED, image, &t2i, &i2t),
                 GOAL_OK);
    CHECK(t2i >= -1 && t2i <= 1 && i2t >= -1 && i2t <= 1);
    CHECK_STATUS(goal_model_late_interaction(model, "a cat on the floor", GOAL_NUL_TERMINATED, image, NULL, NULL),
                 GOAL_OK);
    CHECK_STATUS(goal_model_late_interaction(model, "", GOAL_NUL_TERMINATED, image, &t2i, &i2t),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK(t2i == 0 && i2t == 0);
}

static void test_lism(goal_model *model, goal_image *image) {
    goal_lism_options *options = NULL;
    goal_lism *lism = NULL;
    size_t regions = 0, sentences = 0, matches = 0, i, j, s, r;
    const float *scores = NULL;
    double box[4];
    goal_region_source source;
    int64_t index, span[4];
    int32_t found;
    float score, top;
    const double extra[4] = {10, 20, 200, 220};
    static uint8_t mask[226][301];

    /* Defaults: FLISM's regions, each sentence its best one. */
    CHECK_STATUS(goal_model_lism(model, image, caption, GOAL_NUL_TERMINATED, NULL, &lism), GOAL_OK);
    CHECK_STATUS(goal_lism_counts(lism, &regions, &sentences, &matches), GOAL_OK);
    CHECK(regions == 6 && sentences == 4 && matches == 4);
    CHECK_STATUS(goal_lism_region(lism, 0, box, &source, &index), GOAL_OK);
    CHECK(source == GOAL_SOURCE_WHOLE_IMAGE && box[0] == 0 && box[1] == 0 && box[2] == 301 && box[3] == 226);
    CHECK_STATUS(goal_lism_region(lism, 4, box, &source, &index), GOAL_OK);
    CHECK(source == GOAL_SOURCE_QUADRANT && index == 3 && box[0] == 150.5 && box[1] == 113);
    CHECK_STATUS(goal_lism_region(lism, 5, box, &source, &index), GOAL_OK);
    CHECK(source == GOAL_SOURCE_CENTRE && box[0] == 75.25 && box[3] == 169.5);
    CHECK_STATUS(goal_lism_region(lism, 6, box, &source, &index), GOAL_ERR_INDEX_OUT_OF_RANGE);
    CHECK_STATUS(goal_lism_sentence(lism, 1, span), GOAL_OK);
    CHECK(strncmp(caption + span[0], "Its fur", 7) == 0);
    CHECK_STATUS(goal_lism_scores(lism, &scores), GOAL_OK);
    top = -1000;
    for (i = 0; i < matches; i++) {
        size_t best = 0;
        CHECK_STATUS(goal_lism_match(lism, i, &s, &r, &score), GOAL_OK);
        for (j = 1; j < regions; j++) if (scores[s * regions + j] > scores[s * regions + best]) best = j;
        CHECK(s == i && r == best && score == scores[s * regions + r]);
        if (score > top) top = score;
        CHECK(score >= -100 && score <= 100);
    }
    CHECK_STATUS(goal_lism_best(lism, &found, &s, &r, &score), GOAL_OK);
    CHECK(found == 1 && score == top);
    goal_lism_free(lism);

    /* Options: a grid, a box, a mask, one to one, a minimum above every score. */
    CHECK_STATUS(goal_lism_options_new(&options), GOAL_OK);
    CHECK_STATUS(goal_lism_options_set_int(options, GOAL_LISM_GRID, 3), GOAL_OK);
    CHECK_STATUS(goal_lism_options_add_boxes(options, 1, extra), GOAL_OK);
    memset(mask, 0, sizeof mask);
    for (i = 50; i < 100; i++) memset(&mask[i][60], 1, 80); /* 4000 px, about 6 % */
    CHECK_STATUS(goal_lism_options_add_mask(options, 301, 226, 301, &mask[0][0]), GOAL_OK);
    CHECK_STATUS(goal_lism_options_set_int(options, GOAL_LISM_ONE_TO_ONE, 1), GOAL_OK);
    CHECK_STATUS(goal_lism_options_set_int(options, GOAL_LISM_MODE, GOAL_REGION_CROP), GOAL_OK);
    CHECK_STATUS(goal_model_lism(model, image, caption, GOAL_NUL_TERMINATED, options, &lism), GOAL_OK);
    CHECK_STATUS(goal_lism_counts(lism, &regions, &sentences, &matches), GOAL_OK);
    CHECK(regions == 6 + 9 + 1 + 1 && matches == 4);
    CHECK_STATUS(goal_lism_region(lism, 16, box, &source, &index), GOAL_OK);
    CHECK(source == GOAL_SOURCE_MASK && index == 0 && box[0] == 60 && box[1] == 50 && box[2] == 140 && box[3] == 100);
    CHECK_STATUS(goal_lism_region(lism, 6 + 5, box, &source, &index), GOAL_OK);
    CHECK(source == GOAL_SOURCE_GRID && index == 3 * 10000 + 1 * 100 + 2);
    {
        size_t used[4];
        for (i = 0; i < matches; i++) {
            CHECK_STATUS(goal_lism_match(lism, i, &s, &used[i], &score), GOAL_OK);
            for (j = 0; j < i; j++) CHECK(used[j] != used[i]);
        }
    }
    goal_lism_free(lism);
    CHECK_STATUS(goal_lism_options_set_double(options, GOAL_LISM_MIN_SCORE, 1000), GOAL_OK);
    CHECK_STATUS(goal_model_lism(model, image, caption, GOAL_NUL_TERMINATED, options, &lism), GOAL_OK);
    CHECK_STATUS(goal_lism_counts(lism, &regions, &sentences, &matches), GOAL_OK);
    CHECK(matches == 0);
    CHECK_STATUS(goal_lism_best(lism, &found, &s, &r, &score), GOAL_OK);
    CHECK(found == 0);
    CHECK_STATUS(goal_lism_match(lism, 0, &s, &r, &score), GOAL_ERR_INDEX_OUT_OF_RANGE);
    goal_lism_free(lism);
    CHECK_STATUS(goal_lism_options_set_double(options, GOAL_LISM_MIN_SCORE, NAN), GOAL_OK); /* none again */

    /* Bad settings and inputs are statuses that name what was wrong. */
    CHECK_STATUS(goal_lism_options_set_int(options, GOAL_LISM_GRID, 17), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_lism_options_set_int(options, GOAL_LISM_ONE_TO_ONE, 2), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_lism_options_set_int(options, GOAL_LISM_MIN_SCORE, 1), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_lism_options_set_double(options, GOAL_LISM_MIN_SCORE, INFINITY), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_lism_options_set_double(options, GOAL_LISM_MASK_AREA_MAX, 1.5), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_lism_options_set_double(options, GOAL_LISM_MASK_AREA_MIN, 0.9), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_lism_options_set_double(options, GOAL_LISM_GRID, 2), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_lism_options_add_mask(options, 301, 226, 300, &mask[0][0]), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_lism_options_add_mask(options, 301, 226, 301, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_lism_options_add_boxes(options, 1, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_lism_options_add_mask(options, 10, 10, 10, &mask[0][0]), GOAL_OK); /* wrong size for this image */
    CHECK_STATUS(goal_model_lism(model, image, caption, GOAL_NUL_TERMINATED, options, &lism), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(lism == NULL);
    CHECK_CONTAINS(goal_last_error(), "mask 1");
    goal_lism_options_free(options);
    CHECK_STATUS(goal_model_lism(model, image, " ", GOAL_NUL_TERMINATED, NULL, &lism), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "no sentences");
    CHECK_STATUS(goal_model_lism(model, image, caption, GOAL_NUL_TERMINATED, NULL, NULL), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_lism_counts(NULL, &regions, &sentences, &matches), GOAL_ERR_INVALID_ARGUMENT);
    CHECK(regions == 0 && sentences == 0 && matches == 0);
    goal_lism_free(NULL);
    goal_lism_options_free(NULL);
}

/* The heatmap has the image's size, NaN outside the crop window and finite values inside; the
 * PNG call writes a file and gives the same map. Pixel-exact rules are in test_heatmap.py. */
static void test_heatmap(goal_model *model, goal_image *image) {
    static float map[226][301], again[226][301];
    int32_t width = 0, height = 0;
    size_t finite = 0, x, y;
    const char *png = fixture("../.build/ctest/heatmap.png");
    FILE *file;
    CHECK_STATUS(goal_model_heatmap(model, image, "a cat", GOAL_NUL_TERMINATED, NULL, 0, &width, &height),
                 GOAL_ERR_BUFFER_TOO_SMALL);
    CHECK(width == 301 && height == 226);
    CHECK_STATUS(goal_model_heatmap(model, image, "a cat", GOAL_NUL_TERMINATED, &map[0][0], 301 * 226, &width,
                                    &height), GOAL_OK);
    for (y = 0; y < 226; y++) for (x = 0; x < 301; x++) finite += map[y][x] == map[y][x];
    CHECK(isnan(map[113][0]) && !isnan(map[113][150])); /* the margin the crop cut away, the centre */
    CHECK(finite > 301 * 226 / 2 && finite < 301 * 226);
    remove(png);
    CHECK_STATUS(goal_model_heatmap_png(model, image, "a cat", GOAL_NUL_TERMINATED, 0.5, png, &again[0][0],
                                        301 * 226), GOAL_OK);
    CHECK(memcmp(map, again, sizeof map) == 0);
    file = fopen(png, "rb");
    CHECK(file != NULL);
    if (file) {
        unsigned char signature[8] = {0};
        CHECK(fread(signature, 1, 8, file) == 8 && memcmp(signature, "\x89PNG\r\n\x1a\n", 8) == 0);
        fclose(file);
    }
    remove(png);
    CHECK_STATUS(goal_model_heatmap_png(model, image, "a cat", GOAL_NUL_TERMINATED, 0.5, png, &again[0][0], 10),
                 GOAL_ERR_BUFFER_TOO_SMALL);
    CHECK(fopen(png, "rb") == NULL); /* refused before anything was written */
    CHECK_STATUS(goal_model_heatmap_png(model, image, "a cat", GOAL_NUL_TERMINATED, 1.5, png, NULL, 0),
                 GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_model_heatmap_png(model, image, "a cat", GOAL_NUL_TERMINATED, 0.5,
                                        fixture("no/such/folder/x.png"), NULL, 0), GOAL_ERR_IO);
    CHECK_CONTAINS(goal_last_error(), "x.png");
}

static void test_broken_image(goal_model *model) {
    goal_image *image = NULL;
    goal_lism *lism = NULL;
    CHECK_STATUS(goal_image_from_file(fixture("images/truncated.jpg"), &image), GOAL_OK); /* read, not decoded */
    CHECK_STATUS(goal_model_lism(model, image, caption, GOAL_NUL_TERMINATED, NULL, &lism), GOAL_ERR_TRUNCATED);
    CHECK_CONTAINS(goal_last_error(), "image 0");
    goal_image_free(image);
    CHECK_STATUS(goal_image_from_file(fixture("images/not_an_image.txt"), &image), GOAL_OK);
    CHECK_STATUS(goal_model_lism(model, image, caption, GOAL_NUL_TERMINATED, NULL, &lism), GOAL_ERR_UNSUPPORTED);
    goal_image_free(image);
}

int main(int argc, char **argv) {
    static const char *const names[] = {"hf_ts", "openclip_immich"};
    size_t i;
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
        return 2;
    }
    snprintf(fixtures, sizeof fixtures, "%s", argv[1]);
    test_images();
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        char folder[64];
        goal_model *model = NULL;
        goal_image *image = NULL;
        snprintf(folder, sizeof folder, "folders/%s", names[i]);
        CHECK_STATUS(goal_model_open(fixture(folder), NULL, &model), GOAL_OK);
        CHECK_STATUS(goal_image_from_file(fixture("images/chelsea_422.jpg"), &image), GOAL_OK);
        if (!model || !image) continue;
        test_sentences(model);
        test_regions(model, image);
        test_late_interaction(model, image);
        test_lism(model, image);
        test_heatmap(model, image);
        test_broken_image(model);
        goal_image_free(image);
        goal_model_free(model);
    }
    return report();
}
