/* libFuzzer harness: LISM through the C ABI with a structured input decoded from the bytes:
 * options (mode, spatial division, sentence mode, naive sentences, one-to-one, grids, minimum
 * score, mask area range), boxes from any detector (outside the image, NaN, infinite, zero
 * area, reversed), masks (also of the wrong size), an image (raw pixels of a fuzzer-chosen size
 * and channel count, or a fixture photo) and a caption (possibly empty, invalid UTF-8, no
 * sentence). The same boxes also go through goal_model_region_embeddings, and the caption
 * through goal_model_late_interaction.
 *
 * Checked: only pinned statuses, never GOAL_ERR_INTERNAL; on success, counts agree, every
 * region is a finite box, every score finite, every match and the best pair index real rows. */
#include "fuzz_common.h"

static goal_model *model;
static goal_image *photo;
static int32_t photo_width, photo_height;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    model = fuzz_open_model("folders/hf_ts", GOAL_CONVENTION_AUTO);
    if (goal_image_from_file(fuzz_fixture("images/camera_gray_odd.jpg"), &photo) != GOAL_OK) abort();
    if (goal_model_heatmap(model, photo, "a", 1, NULL, 0, &photo_width, &photo_height) != GOAL_ERR_BUFFER_TOO_SMALL) abort();
    return 0;
}

#define MAX_BOXES 6
#define MAX_MASKS 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_reader r = {data, size, 0};
    uint8_t flags = fuzz_u8(&r);
    uint8_t flags2 = fuzz_u8(&r);

    /* The image: raw pixels (1–64 x 1–64, 1, 3 or 4 channels, pattern from a byte), or the photo. */
    goal_image *image = NULL;
    int32_t width, height;
    int own_image = !(flags2 & 1);
    if (own_image) {
        width = 1 + fuzz_u8(&r) % 64;
        height = 1 + fuzz_u8(&r) % 64;
        static const int32_t channel_choices[3] = {1, 3, 4};
        int32_t channels = channel_choices[fuzz_u8(&r) % 3];
        uint8_t seed = fuzz_u8(&r);
        size_t stride = (size_t)width * channels + (fuzz_u8(&r) % 4);
        uint8_t *pixels = malloc(stride * height);
        for (size_t i = 0; i < stride * (size_t)height; i++) pixels[i] = (uint8_t)(i * seed + (i >> 7));
        goal_status s = goal_image_from_pixels(pixels, width, height, stride, channels, &image);
        FUZZ_STATUS(s);
        FUZZ_ASSERT(s == GOAL_OK);
        free(pixels);
    } else {
        image = photo;
        width = photo_width;
        height = photo_height;
    }

    goal_lism_options *options = NULL;
    FUZZ_STATUS(goal_lism_options_new(&options));
    /* Integer options, with out-of-range values now and then. */
    FUZZ_STATUS(goal_lism_options_set_int(options, GOAL_LISM_MODE, (flags & 1) ? GOAL_REGION_CROP : GOAL_REGION_POOLED));
    FUZZ_STATUS(goal_lism_options_set_int(options, GOAL_LISM_SPATIAL_DIVISION, (flags >> 1) & 1));
    FUZZ_STATUS(goal_lism_options_set_int(options, GOAL_LISM_SENTENCE_MODE, (flags >> 2) & 1));
    FUZZ_STATUS(goal_lism_options_set_int(options, GOAL_LISM_NAIVE_SENTENCES, (flags >> 3) & 1));
    FUZZ_STATUS(goal_lism_options_set_int(options, GOAL_LISM_ONE_TO_ONE, (flags >> 4) & 1));
    FUZZ_STATUS(goal_lism_options_set_int(options, GOAL_LISM_BEST_EXCLUDES_WHOLE_IMAGE, (flags >> 5) & 1));
    if (flags & 64) {
        /* Any key, any value: unknown keys and bad values must be statuses. */
        int32_t key = (int32_t)fuzz_u8(&r) - 8;
        int64_t value = (int64_t)(int32_t)fuzz_u32(&r);
        if (key == GOAL_LISM_GRID && (value < 1 || value > 4)) value = 17;  /* keep grids cheap */
        FUZZ_STATUS(goal_lism_options_set_int(options, key, value));
        FUZZ_STATUS(goal_lism_options_set_double(options, key, fuzz_coordinate(&r, 1.0)));
    }
    int grids = (flags2 >> 1) & 3;
    for (int i = 0; i < grids; i++) {
        /* 0 and 17 are refused; crop mode encodes every cell, so grids stay small there. */
        int64_t n = fuzz_u8(&r) % ((flags & 1) ? 4 : 18);
        FUZZ_STATUS(goal_lism_options_set_int(options, GOAL_LISM_GRID, n));
    }
    if (flags2 & 8) FUZZ_STATUS(goal_lism_options_set_double(options, GOAL_LISM_MIN_SCORE, fuzz_coordinate(&r, 100.0)));
    if (flags2 & 16) {
        FUZZ_STATUS(goal_lism_options_set_double(options, GOAL_LISM_MASK_AREA_MIN, fuzz_coordinate(&r, 1.0)));
        FUZZ_STATUS(goal_lism_options_set_double(options, GOAL_LISM_MASK_AREA_MAX, fuzz_coordinate(&r, 1.0)));
    }

    /* Boxes. */
    size_t nboxes = fuzz_u8(&r) % (MAX_BOXES + 1);
    double boxes[4 * MAX_BOXES];
    for (size_t i = 0; i < nboxes; i++) {
        boxes[4 * i] = fuzz_coordinate(&r, width);
        boxes[4 * i + 1] = fuzz_coordinate(&r, height);
        boxes[4 * i + 2] = fuzz_coordinate(&r, width);
        boxes[4 * i + 3] = fuzz_coordinate(&r, height);
    }
    if (nboxes) FUZZ_STATUS(goal_lism_options_add_boxes(options, nboxes, boxes));
    FUZZ_STATUS(goal_lism_options_add_boxes(options, 0, NULL));

    /* Masks: the image's size, or off by a little, or anything; rectangles of ones or random bits. */
    size_t nmasks = fuzz_u8(&r) % (MAX_MASKS + 1);
    for (size_t i = 0; i < nmasks; i++) {
        uint8_t how = fuzz_u8(&r);
        int32_t mw = width, mh = height;
        if (how & 1) mw += (int32_t)(fuzz_u8(&r) % 5) - 2;
        if (how & 2) mh += (int32_t)(fuzz_u8(&r) % 5) - 2;
        if (how & 4) mw = (int32_t)(int8_t)fuzz_u8(&r);
        size_t stride = (mw > 0 ? (size_t)mw : 1) + (how >> 6);
        if (mw <= 0 || mh <= 0) {
            uint8_t dummy = 1;
            FUZZ_ASSERT(goal_lism_options_add_mask(options, mw, mh, stride, &dummy) == GOAL_ERR_INVALID_ARGUMENT);
            continue;
        }
        uint8_t *bits = calloc(stride * (size_t)mh, 1);
        int32_t x0 = fuzz_u8(&r) % (mw > 0 ? mw : 1), y0 = fuzz_u8(&r) % mh;
        int32_t x1 = x0 + fuzz_u8(&r), y1 = y0 + fuzz_u8(&r);
        for (int32_t y = y0; y < y1 && y < mh; y++)
            for (int32_t x = x0; x < x1 && x < mw; x++) bits[(size_t)y * stride + x] = (how & 8) ? (uint8_t)(x ^ y) : 1;
        FUZZ_STATUS(goal_lism_options_add_mask(options, mw, mh, stride, bits));
        free(bits);
    }

    /* The caption: the rest, at most 400 bytes (the tower runs once per sentence). */
    size_t length;
    const uint8_t *caption = fuzz_rest(&r, &length);
    if (length > 400) length = 400;
    char *text = malloc(length + 1);
    memcpy(text, caption, length);
    text[length] = 0;

    goal_lism *lism = NULL;
    goal_status s = goal_model_lism(model, image, length ? text : NULL, length, (flags & 128) ? NULL : options, &lism);
    FUZZ_STATUS(s);
    if (s == GOAL_OK) {
        size_t regions = 0, sentences = 0, matches = 0;
        FUZZ_STATUS(goal_lism_counts(lism, &regions, &sentences, &matches));
        FUZZ_ASSERT(regions >= 1 && sentences >= 1 && matches <= sentences);
        for (size_t i = 0; i < regions; i++) {
            double box[4];
            goal_region_source source;
            int64_t index;
            FUZZ_ASSERT(goal_lism_region(lism, i, box, &source, &index) == GOAL_OK);
            for (int k = 0; k < 4; k++) FUZZ_ASSERT(isfinite(box[k]));
            FUZZ_ASSERT(box[0] < box[2] && box[1] < box[3]);
        }
        FUZZ_ASSERT(goal_lism_region(lism, regions, NULL, NULL, NULL) == GOAL_ERR_INDEX_OUT_OF_RANGE);
        const float *scores = NULL;
        FUZZ_ASSERT(goal_lism_scores(lism, &scores) == GOAL_OK && scores);
        for (size_t i = 0; i < regions * sentences; i++) FUZZ_ASSERT(isfinite(scores[i]));
        for (size_t i = 0; i < sentences; i++) {
            int64_t span[4];
            FUZZ_ASSERT(goal_lism_sentence(lism, i, span) == GOAL_OK);
            FUZZ_ASSERT(span[0] >= 0 && span[0] <= span[1] && (size_t)span[1] <= length);
        }
        for (size_t i = 0; i < matches; i++) {
            size_t sentence, region;
            float score;
            FUZZ_ASSERT(goal_lism_match(lism, i, &sentence, &region, &score) == GOAL_OK);
            FUZZ_ASSERT(sentence < sentences && region < regions && isfinite(score));
        }
        int32_t found = 0;
        size_t sentence = 0, region = 0;
        float score = 0;
        FUZZ_ASSERT(goal_lism_best(lism, &found, &sentence, &region, &score) == GOAL_OK);
        if (found) FUZZ_ASSERT(sentence < sentences && region < regions);
    } else {
        FUZZ_ASSERT(lism == NULL);
    }
    goal_lism_free(lism);
    goal_lism_options_free(options);

    /* The same boxes on their own, in the mode the flags chose. */
    if (nboxes) {
        float embeddings[16 * MAX_BOXES];
        s = goal_model_region_embeddings(model, image, nboxes, boxes, (flags & 1) ? GOAL_REGION_CROP : GOAL_REGION_POOLED,
                                         embeddings, 16 * nboxes);
        FUZZ_STATUS(s);
        if (s == GOAL_OK)
            for (size_t i = 0; i < 16 * nboxes; i++) FUZZ_ASSERT(isfinite(embeddings[i]));
    }
    if (flags2 & 32) {
        float t2i = 0, i2t = 0;
        s = goal_model_late_interaction(model, length ? text : NULL, length, image, &t2i, &i2t);
        FUZZ_STATUS(s);
        if (s == GOAL_OK) FUZZ_ASSERT(isfinite(t2i) && isfinite(i2t));
    }
    free(text);
    if (own_image) goal_image_free(image);
    return 0;
}
