/* libFuzzer harness: the tokenizer and sentence splitter with arbitrary bytes, through the C ABI,
 * on fixtures/folders/hf_ts opened under both conventions (Hugging Face's tokenizer.json rules
 * and OpenAI's ftfy + HTML unescaping), and on the open_clip folder (gzip BPE merges).
 *
 * Input: one byte of settings, then the text. Checked: statuses are pinned ones, counts fit the
 * buffers, ids are in the vocabulary, start and end tokens are in place, and spans lie inside
 * the text in order. */
#include "fuzz_common.h"

#define MAX_IDS 1024

static goal_model *models[3];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    models[0] = fuzz_open_model("folders/hf_ts", GOAL_CONVENTION_HUGGINGFACE);
    models[1] = fuzz_open_model("folders/hf_ts", GOAL_CONVENTION_OPENAI);
    models[2] = fuzz_open_model("folders/openclip_immich", GOAL_CONVENTION_AUTO);
    return 0;
}

static void check_tokens(const int32_t *ids, const int64_t *spans, size_t count, size_t length, size_t max_tokens) {
    FUZZ_ASSERT(count >= 2);
    if (max_tokens) FUZZ_ASSERT(count <= max_tokens);
    FUZZ_ASSERT(ids[0] == 49406 && ids[count - 1] == 49407);
    for (size_t i = 0; i < count; i++) {
        FUZZ_ASSERT(ids[i] >= 0 && ids[i] < 49408);
        if (!spans) continue;
        FUZZ_ASSERT(spans[2 * i] >= 0 && spans[2 * i] <= spans[2 * i + 1] && (size_t)spans[2 * i + 1] <= length);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    uint8_t settings = data[0];
    const char *text = (const char *)data + 1;
    size_t length = size - 1;
    goal_model *model = models[settings % 3];
    static const size_t limits[4] = {0, 2, 3, 77};
    size_t max_tokens = limits[(settings >> 2) & 3];

    static int32_t ids[MAX_IDS];
    static int64_t spans[2 * MAX_IDS];
    size_t count = 0;
    /* Asking the size first, then tokenizing into a buffer of exactly that size. */
    goal_status s = goal_model_tokenize(model, text, length, max_tokens, NULL, NULL, 0, &count);
    FUZZ_STATUS(s);
    if (s == GOAL_ERR_INVALID_ARGUMENT) {
        FUZZ_ASSERT(count == 0);
        /* Only invalid UTF-8 is refused: the same bytes fail the same way everywhere. */
        FUZZ_ASSERT(goal_model_tokenize(model, text, length, max_tokens, ids, spans, MAX_IDS, &count) == s);
        return 0;
    }
    FUZZ_ASSERT(s == GOAL_ERR_BUFFER_TOO_SMALL && count >= 2);
    if (count > MAX_IDS) return 0;
    size_t again = 0;
    s = goal_model_tokenize(model, text, length, max_tokens, ids, (settings & 16) ? spans : NULL, count, &again);
    FUZZ_STATUS(s);
    FUZZ_ASSERT(s == GOAL_OK && again == count);
    check_tokens(ids, (settings & 16) ? spans : NULL, count, length, max_tokens);

    /* The same text NUL-terminated, where it has no NUL of its own, through the batch path. */
    if (!memchr(text, 0, length)) {
        char *copy = malloc(length + 1);
        memcpy(copy, text, length);
        copy[length] = 0;
        const char *texts[2] = {copy, copy};
        size_t offsets[3], total = 0;
        static int32_t batch[2 * MAX_IDS];
        s = goal_model_tokenize_batch(model, 2, texts, NULL, max_tokens, batch, 2 * MAX_IDS, offsets, &total);
        FUZZ_STATUS(s);
        FUZZ_ASSERT(s == GOAL_OK && total == 2 * count && offsets[0] == 0 && offsets[1] == count && offsets[2] == total);
        FUZZ_ASSERT(memcmp(batch, ids, count * sizeof ids[0]) == 0);
        free(copy);
    }

    /* Sentences: spans inside the text, in order, token ranges inside the caption's tokens. */
    static int64_t sentences[4 * MAX_IDS];
    size_t n = 0;
    s = goal_model_sentences(model, text, length, (settings >> 5) & 1, sentences, MAX_IDS, &n);
    FUZZ_STATUS(s);
    if (s == GOAL_OK) {
        int64_t end = 0;
        for (size_t i = 0; i < n; i++) {
            const int64_t *q = sentences + 4 * i;
            FUZZ_ASSERT(q[0] >= end && q[0] <= q[1] && (size_t)q[1] <= length);
            FUZZ_ASSERT(q[2] >= 0 && q[2] <= q[3]);
            end = q[1];
        }
    } else {
        FUZZ_ASSERT(s == GOAL_ERR_BUFFER_TOO_SMALL && n > MAX_IDS);
    }
    return 0;
}
