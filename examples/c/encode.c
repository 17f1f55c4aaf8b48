/* Opens a CLIP model folder, prints what libgoal found in it, encodes a few texts (and an image),
 * prints their cosine similarities, and lists each text's tokens with the norm of its token
 * embedding (and its similarity to the image).
 *
 *   export PKG_CONFIG_PATH=$PWD/.build/release
 *   cc -std=c99 examples/c/encode.c $(pkg-config --cflags --libs goal) -lm -o encode
 *   ./encode fixtures/folders/hf_ts --image fixtures/images/astronaut_wide.jpg "an astronaut" "a cat"
 *
 * (tools/setup.sh writes .build/release/goal.pc; its Libs carry an rpath to the built library.)
 */
#include "goal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every call is checked: on failure, say which call and what libgoal says went wrong. */
static int ok(goal_status status, const char *what) {
    if (status == GOAL_OK) return 1;
    fprintf(stderr, "encode: %s failed: %s: %s\n", what, goal_status_string(status), goal_last_error());
    return 0;
}

static float dot(const float *a, const float *b, size_t n) {
    float sum = 0;
    size_t i;
    for (i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

static const struct { goal_model_key key; const char *name; } facts[] = {
    {GOAL_MODEL_DIM, "embedding size"},  {GOAL_MODEL_CONTEXT_LENGTH, "context length"},
    {GOAL_MODEL_IMAGE_SIZE, "image size"}, {GOAL_MODEL_PATCH_SIZE, "patch size"},
    {GOAL_MODEL_CONVENTION, "convention"}, {GOAL_MODEL_HAS_TEXT, "has text tower"},
    {GOAL_MODEL_HAS_IMAGE, "has image tower"}};

static const struct { goal_option key; const char *name; } files[] = {
    {GOAL_OPTION_TEXT_MODEL, "text model"}, {GOAL_OPTION_VISION_MODEL, "vision model"},
    {GOAL_OPTION_TOKENIZER, "tokenizer"}, {GOAL_OPTION_PREPROCESSOR_CONFIG, "preprocessing"},
    {GOAL_OPTION_MODEL_CONFIG, "model config"}};

static const char *const default_texts[] = {"a photo of an astronaut", "a cup of coffee on a table",
                                            "a grey cat sleeping on a sofa"};

/* UTF-8 characters in `length` bytes: every byte but continuation bytes starts one. */
static int characters(const char *text, int length) {
    int i, count = 0;
    for (i = 0; i < length; i++) count += ((unsigned char)text[i] & 0xC0) != 0x80;
    return count;
}

/* One text's tokens: id, byte span and the bytes it covers, norm, similarity to the image. */
static int print_tokens(const goal_model *model, const char *text, const float *image, size_t dim) {
    goal_tokens *tokens = NULL;
    const float *embeddings = NULL;
    const int32_t *ids = NULL;
    const int64_t *spans = NULL;
    size_t count = 0, width = 0, i;
    if (!ok(goal_model_text_tokens(model, text, GOAL_NUL_TERMINATED, &tokens), "goal_model_text_tokens")) return 0;
    if (!ok(goal_tokens_shape(tokens, &count, &width, NULL, NULL), "goal_tokens_shape") ||
        !ok(goal_tokens_embeddings(tokens, &embeddings), "goal_tokens_embeddings") ||
        !ok(goal_tokens_text(tokens, &ids, &spans), "goal_tokens_text")) {
        goal_tokens_free(tokens);
        return 0;
    }
    printf("\ntokens of \"%s\":\n", text);
    for (i = 0; i < count; i++) {
        const float *row = embeddings + i * width;
        int start = (int)spans[2 * i], end = (int)spans[2 * i + 1];
        printf("  %3zu  id %5" PRId32 "  [%3d, %3d)  %.*s", i, ids[i], start, end, end - start, text + start);
        /* Pad by characters, not bytes, so that the columns line up for non-ASCII text too. */
        printf("%*s norm %.6f", 15 - characters(text + start, end - start), "", sqrt(dot(row, row, width)));
        if (image && width == dim) printf("  image %+.4f", dot(row, image, width));
        printf("\n");
    }
    goal_tokens_free(tokens);
    return 1;
}

int main(int argc, char **argv) {
    goal_model *model = NULL;
    const char *image_path = NULL;
    const char **texts = NULL;
    float *text_embeddings = NULL, *image_embedding = NULL;
    size_t text_count = 0, dim, i, j;
    int64_t value = 0, has_text = 0, has_image = 0;
    int status = 1, arg;

    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL_FOLDER [--image IMAGE] [TEXT ...]\n", argv[0]);
        return 2;
    }
    texts = malloc((size_t)argc * sizeof *texts);
    if (!texts) return 1;
    for (arg = 2; arg < argc; arg++) {
        if (strcmp(argv[arg], "--image") == 0 && arg + 1 < argc) image_path = argv[++arg];
        else texts[text_count++] = argv[arg];
    }
    if (text_count == 0)
        for (; text_count < sizeof default_texts / sizeof default_texts[0]; text_count++)
            texts[text_count] = default_texts[text_count];

    printf("libgoal %s\n", goal_version());
    if (!ok(goal_model_open(argv[1], NULL, &model), "goal_model_open")) goto done;

    printf("\n%s\n", argv[1]);
    for (i = 0; i < sizeof facts / sizeof facts[0]; i++) {
        if (!ok(goal_model_get_int(model, facts[i].key, &value), "goal_model_get_int")) goto done;
        if (facts[i].key == GOAL_MODEL_CONVENTION)
            printf("  %-16s %s\n", facts[i].name, value == GOAL_CONVENTION_OPENAI ? "OpenAI" : "Hugging Face");
        else
            printf("  %-16s %" PRId64 "\n", facts[i].name, value);
        if (facts[i].key == GOAL_MODEL_HAS_TEXT) has_text = value;
        if (facts[i].key == GOAL_MODEL_HAS_IMAGE) has_image = value;
    }
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *path = NULL;
        if (!ok(goal_model_file(model, files[i].key, &path), "goal_model_file")) goto done;
        printf("  %-16s %s\n", files[i].name, path ? path : "(none)");
    }
    if (!ok(goal_model_get_int(model, GOAL_MODEL_DIM, &value), "goal_model_get_int")) goto done;
    dim = (size_t)value;

    if (image_path && has_image) {
        image_embedding = malloc(dim * sizeof(float));
        if (!image_embedding) goto done;
        if (!ok(goal_model_encode_image_files(model, 1, &image_path, image_embedding, dim),
                "goal_model_encode_image_files"))
            goto done;
    } else if (image_path) {
        printf("\n(no image tower: %s is not encoded)\n", image_path);
    }

    if (has_text) {
        text_embeddings = malloc(text_count * dim * sizeof(float));
        if (!text_embeddings) goto done;
        /* Embeddings come L2-normalised, so a dot product is the cosine similarity. */
        if (!ok(goal_model_encode_text(model, text_count, texts, NULL, text_embeddings, text_count * dim),
                "goal_model_encode_text"))
            goto done;
        printf("\ncosine similarities between the texts:\n");
        for (i = 0; i < text_count; i++) {
            printf("  [%zu]", i);
            for (j = 0; j < text_count; j++) printf(" %+.4f", dot(text_embeddings + i * dim, text_embeddings + j * dim, dim));
            printf("  %s\n", texts[i]);
        }
        if (image_embedding) {
            printf("\ncosine similarity of %s with each text:\n", image_path);
            for (i = 0; i < text_count; i++)
                printf("  %+.4f  %s\n", dot(image_embedding, text_embeddings + i * dim, dim), texts[i]);
        }
        for (i = 0; i < text_count; i++)
            if (!print_tokens(model, texts[i], image_embedding, dim)) goto done;
    }
    status = 0;

done:
    goal_model_free(model);
    free(text_embeddings);
    free(image_embedding);
    free(texts);
    return status;
}
