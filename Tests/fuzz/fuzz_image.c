/* libFuzzer harness: JPEG and PNG decoding through the C ABI. The input is the encoded file.
 * It is encoded on a tiny fixture model under both conventions (they treat transparency
 * differently), made into a goal_image whose size is read back through goal_model_heatmap, and
 * pooled over its whole box. Seeds: fixtures/images. */
#include "fuzz_common.h"

static goal_model *hf, *openai;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    hf = fuzz_open_model("folders/hf_ts", GOAL_CONVENTION_HUGGINGFACE);
    openai = fuzz_open_model("folders/hf_ts", GOAL_CONVENTION_OPENAI);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    float embedding[16];
    const void *items[1] = {data};
    size_t sizes[1] = {size};

    goal_status s = goal_model_encode_image_memory(hf, 1, items, sizes, embedding, 16);
    FUZZ_STATUS(s);
    if (s == GOAL_OK) {
        float norm = 0;
        for (int i = 0; i < 16; i++) norm += embedding[i] * embedding[i];
        FUZZ_ASSERT(norm > 0.99f && norm < 1.01f);
    } else {
        FUZZ_ASSERT(s == GOAL_ERR_UNSUPPORTED || s == GOAL_ERR_TRUNCATED || s == GOAL_ERR_INVALID_ARGUMENT ||
                    s == GOAL_ERR_OUT_OF_MEMORY);
    }
    goal_status s2 = goal_model_encode_image_memory(openai, 1, items, sizes, embedding, 16);
    FUZZ_STATUS(s2);
    FUZZ_ASSERT((s2 == GOAL_OK) == (s == GOAL_OK));
    if (s != GOAL_OK) return 0;

    goal_image *image = NULL;
    FUZZ_STATUS(goal_image_from_memory(data, size, &image));
    FUZZ_ASSERT(image != NULL);
    int32_t width = 0, height = 0;
    FUZZ_ASSERT(goal_model_heatmap(hf, image, "a", 1, NULL, 0, &width, &height) == GOAL_ERR_BUFFER_TOO_SMALL);
    FUZZ_ASSERT(width > 0 && height > 0);
    double box[4] = {0, 0, width, height};
    float pooled[16];
    FUZZ_STATUS(goal_model_region_embeddings(hf, image, 1, box, GOAL_REGION_POOLED, pooled, 16));
    goal_tokens *tokens = NULL;
    FUZZ_STATUS(goal_model_image_tokens_memory(openai, data, size, &tokens));
    goal_tokens_free(tokens);
    goal_image_free(image);
    return 0;
}
