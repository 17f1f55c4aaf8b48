/* Limits on hostile sizes through the C ABI: the options' defaults, ranges and effects.
 * Usage: test_limits FIXTURES_DIR */
#include <goal.h>
#include <stdlib.h>

#include "check.h"
#include "fixtures.h"

static const char *caption = "A large red circle is in the top left. To its right, a small blue star.";

static goal_model *open_with(goal_option key, int64_t value) {
    goal_options *options = NULL;
    goal_model *model = NULL;
    CHECK_STATUS(goal_options_new(&options), GOAL_OK);
    CHECK_STATUS(goal_options_set_int(options, key, value), GOAL_OK);
    CHECK_STATUS(goal_model_open(fixture("folders/hf_ts"), options, &model), GOAL_OK);
    goal_options_free(options);
    return model;
}

static void option_values(void) {
    goal_options *options = NULL;
    CHECK_STATUS(goal_options_new(&options), GOAL_OK);
    int64_t value = 0;
    CHECK_STATUS(goal_options_get_int(options, GOAL_OPTION_MAX_TENSOR_ELEMENTS, &value), GOAL_OK);
    CHECK(value == (int64_t)1 << 31);
    CHECK_STATUS(goal_options_get_int(options, GOAL_OPTION_MAX_IMAGE_PIXELS, &value), GOAL_OK);
    CHECK(value == 178956970);
    CHECK_STATUS(goal_options_get_int(options, GOAL_OPTION_MAX_TEXT_BYTES, &value), GOAL_OK);
    CHECK(value == 1 << 20);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_MAX_TEXT_BYTES, 0), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "GOAL_OPTION_MAX_TEXT_BYTES takes a limit of at least 1");
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_MAX_IMAGE_PIXELS, -1), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_options_set_int(options, GOAL_OPTION_MAX_TENSOR_ELEMENTS, 12345), GOAL_OK);
    CHECK_STATUS(goal_options_get_int(options, GOAL_OPTION_MAX_TENSOR_ELEMENTS, &value), GOAL_OK);
    CHECK(value == 12345);
    goal_options_free(options);
}

static void image_and_text_limits(void) {
    float out[64];
    const char *paths[1] = {fixture("images/astronaut_wide.jpg")}; /* 384 x 256 */
    goal_model *small = open_with(GOAL_OPTION_MAX_IMAGE_PIXELS, 384 * 256 - 1);
    CHECK_STATUS(goal_model_encode_image_files(small, 1, paths, out, 64), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "384x256 pixels, above the limit of 98303 pixels");
    goal_model_free(small);
    goal_model *fits = open_with(GOAL_OPTION_MAX_IMAGE_PIXELS, 384 * 256);
    CHECK_STATUS(goal_model_encode_image_files(fits, 1, paths, out, 64), GOAL_OK);
    goal_model_free(fits);

    const char *texts[1] = {caption};
    size_t n = strlen(caption);
    goal_model *short_texts = open_with(GOAL_OPTION_MAX_TEXT_BYTES, (int64_t)n - 1);
    CHECK_STATUS(goal_model_encode_text(short_texts, 1, texts, NULL, out, 64), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "bytes, above the limit of");
    goal_model_free(short_texts);
    goal_model *long_texts = open_with(GOAL_OPTION_MAX_TEXT_BYTES, (int64_t)n);
    CHECK_STATUS(goal_model_encode_text(long_texts, 1, texts, NULL, out, 64), GOAL_OK);
    goal_model_free(long_texts);
}

static void lism_limits(void) {
    goal_model *model = NULL;
    goal_image *image = NULL;
    goal_lism_options *options = NULL;
    goal_lism *lism = NULL;
    CHECK_STATUS(goal_model_open(fixture("folders/hf_ts"), NULL, &model), GOAL_OK);
    CHECK_STATUS(goal_image_from_file(fixture("images/astronaut_wide.jpg"), &image), GOAL_OK);
    CHECK_STATUS(goal_lism_options_new(&options), GOAL_OK);
    CHECK_STATUS(goal_lism_options_set_int(options, GOAL_LISM_MAX_REGIONS, 0), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(goal_lism_options_set_int(options, GOAL_LISM_MAX_REGIONS, 5), GOAL_OK);
    /* whole image + four quadrants + centre = 6 regions */
    CHECK_STATUS(goal_model_lism(model, image, caption, GOAL_NUL_TERMINATED, options, &lism), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "6 regions, above the limit of 5");
    CHECK(lism == NULL);
    CHECK_STATUS(goal_lism_options_set_int(options, GOAL_LISM_MAX_REGIONS, 6), GOAL_OK);
    CHECK_STATUS(goal_lism_options_set_int(options, GOAL_LISM_MAX_SENTENCES, 1), GOAL_OK);
    CHECK_STATUS(goal_model_lism(model, image, caption, GOAL_NUL_TERMINATED, options, &lism), GOAL_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(goal_last_error(), "2 sentences, above the limit of 1");
    CHECK_STATUS(goal_lism_options_set_int(options, GOAL_LISM_MAX_SENTENCES, 2), GOAL_OK);
    CHECK_STATUS(goal_model_lism(model, image, caption, GOAL_NUL_TERMINATED, options, &lism), GOAL_OK);
    goal_lism_free(lism);
    goal_lism_options_free(options);
    goal_image_free(image);
    goal_model_free(model);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
        return 2;
    }
    snprintf(fixtures, sizeof fixtures, "%s", argv[1]);
    option_values();
    image_and_text_limits();
    lism_limits();
    return report();
}
