#!/usr/bin/env bash
# Fuzzes the C ABI with libFuzzer: builds libgoal.so with coverage and AddressSanitizer (in
# .build-fuzz), links the harnesses of Tests/fuzz against it, replays the committed regression
# inputs (fixtures/fuzz/regressions/<harness>/), then runs each harness for a bounded time.
#
#   tools/fuzz.sh [seconds-per-harness] [harness ...]     e.g. tools/fuzz.sh 600 (the long run)
#
# seconds-per-harness defaults to 30; 0 only builds and replays the regressions. Harnesses:
# model_open, image, tokenize, lism (default: all). The corpus each harness grows is kept in .build-fuzz/corpus/<harness>/ and
# reused by the next run; crashing inputs land in .build-fuzz/artifacts/<harness>/ and the
# script fails. A crash, once fixed, becomes a regression: copy it to
# fixtures/fuzz/regressions/<harness>/ with a name that says what it was. See docs/SAFETY.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-30}
shift || true
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(model_open image tokenize lism)
ROOT=$PWD
SCRATCH=$ROOT/.build-fuzz
if ! command -v swift >/dev/null 2>&1; then
    [ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
fi
# The toolchain's own clang, whose compiler-rt has libFuzzer and the sanitizers.
CLANG=$(dirname "$(command -v swift)")/clang

echo "== building libgoal.so with -sanitize=fuzzer,address (.build-fuzz)"
# -z undefs: the release link refuses undefined symbols (-z defs), but a sanitized library leaves
# the sanitizer runtime's symbols to the executable that loads it.
swift build -c release --product goal --scratch-path "$SCRATCH" \
    -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address \
    -Xlinker -z -Xlinker undefs 2>&1 | grep -v '^\[' || true
LIB="$SCRATCH/release"
[ -f "$LIB/libgoal.so" ] || { echo "fuzz: the sanitized build failed"; exit 1; }

echo "== building the harnesses"
mkdir -p "$SCRATCH/harness"
for h in model_open image tokenize lism; do
    "$CLANG" -g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fuse-ld=lld -fsanitize=fuzzer,address \
        -Iinclude -DGOAL_FIXTURES_DIR="\"$ROOT/fixtures\"" "Tests/fuzz/fuzz_$h.c" \
        -L"$LIB" -lgoal -Wl,-rpath,"$LIB" -lm -o "$SCRATCH/harness/fuzz_$h"
done

# Leaks are errors (LeakSanitizer runs after every input). An allocation above 1 GiB returns NULL
# instead of succeeding, so a hostile file that asks for a huge tensor or image exercises the
# library's out-of-memory paths (a status, never a trap) rather than the machine's memory.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=1024:symbolize=1}"
export GOAL_FIXTURES="$ROOT/fixtures"

echo "== seed corpora (.build-fuzz/seeds)"
SEEDS="$SCRATCH/seeds"
rm -rf "$SEEDS"
mkdir -p "$SEEDS"/{model_open,image,tokenize,lism}
# model_open: one selector byte (see Tests/fuzz/fuzz_model_open.c), then a file's bytes.
seed() {  # seed SELECTOR FILE NAME
    { printf "\\x$(printf %02x "$1")"; cat "$2"; } > "$SEEDS/model_open/$3"
}
for f in fixtures/fuzz/model_open/*.onnx; do
    seed $((0xF8)) "$f" "graph_run_$(basename "$f")"    # every option on, and a run on zeros
    seed $((0x80)) "$f" "graph_plain_$(basename "$f")"  # no checker, inference, conversion, fusion
done
for f in fixtures/bad/*.onnx fixtures/bad/*/model.onnx; do
    seed $((0x78)) "$f" "graph_bad_$(echo "$f" | tr / _)"
done
for d in fixtures/models/*/; do
    seed $((0xF8)) "$d/model.onnx" "graph_$(basename "$d").onnx"
    seed 1 "$d/model.onnx" "single_$(basename "$d").onnx"
done
seed 1 fixtures/folders/hf_ts/vision_model.onnx single_hf_ts_vision.onnx
seed 1 fixtures/folders/openclip_immich/visual/model.onnx single_immich_visual.onnx
for d in fixtures/folders/*/; do
    [ -f "$d/preprocessor_config.json" ] && seed 2 "$d/preprocessor_config.json" "pre_$(basename "$d")"
    [ -f "$d/config.json" ] && seed 3 "$d/config.json" "config_$(basename "$d")"
done
seed 3 fixtures/folders/openclip_immich/open_clip_config.json config_open_clip
seed 4 fixtures/folders/openclip_immich/open_clip_config.json open_clip_config
seed 5 fixtures/fuzz/tokenizer_tiny/tokenizer.json tokenizer_json
seed 6 fixtures/fuzz/tokenizer_tiny/vocab.json vocab_json
seed 7 fixtures/fuzz/tokenizer_tiny/merges.txt merges_txt
# image: the tiny committed images, and the fixture photos small enough to mutate quickly.
cp fixtures/fuzz/image/* "$SEEDS/image/"
find fixtures/images -maxdepth 1 \( -name '*.jpg' -o -name '*.png' \) -size -20k -exec cp {} "$SEEDS/image/" \;
# tokenize: one settings byte, then a text of the tokenizer corpus (every 7th line).
python3 - "$SEEDS/tokenize" <<'PY'
import json, sys
with open("fixtures/tokenizer/corpus.jsonl", encoding="utf-8") as f:
    texts = [json.loads(line) for line in f]
for i, text in enumerate(texts[::7]):
    with open(f"{sys.argv[1]}/corpus_{i:04d}", "wb") as out:
        out.write(bytes([i % 64]) + text.encode("utf-8", "surrogatepass"))
PY
cp fixtures/fuzz/lism/* "$SEEDS/lism/"

declare -A MAX_LEN=([model_open]=400000 [image]=20000 [tokenize]=4096 [lism]=1024)
declare -A DICT=([model_open]=$ROOT/Tests/fuzz/model_open.dict [tokenize]=$ROOT/Tests/fuzz/tokenize.dict)

status=0
echo "== replaying the regression inputs (fixtures/fuzz/regressions)"
for h in "${HARNESSES[@]}"; do
    dir=fixtures/fuzz/regressions/$h
    [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] || continue
    if "$SCRATCH/harness/fuzz_$h" -rss_limit_mb=4096 -timeout=120 "$dir"/* > "$SCRATCH/replay_$h.log" 2>&1; then
        echo "regressions $h: $(ls "$dir" | wc -l) inputs passed"
    else
        echo "regressions $h: FAILED (see $SCRATCH/replay_$h.log)"; tail -40 "$SCRATCH/replay_$h.log"; status=1
    fi
done

[ "$SECONDS_EACH" -gt 0 ] || exit $status
for h in "${HARNESSES[@]}"; do
    corpus="$SCRATCH/corpus/$h"
    artifacts="$SCRATCH/artifacts/$h/"
    mkdir -p "$corpus" "$artifacts"
    # Fork mode (one child at a time) goes on after a slow input or one that runs out of memory:
    # a graph may legitimately ask for more work than a fuzzer can wait for. Those inputs are
    # kept in the artifacts folder and counted; a crash, a sanitizer report or a leak stops the
    # run and fails the script.
    args=(-fork=1 -ignore_timeouts=1 -ignore_ooms=1 -ignore_crashes=0 -max_total_time="$SECONDS_EACH"
          -rss_limit_mb=3072 -timeout=30 -max_len="${MAX_LEN[$h]}" -artifact_prefix="$artifacts")
    [ -n "${DICT[$h]:-}" ] && args+=(-dict="${DICT[$h]}")
    log="$SCRATCH/fuzz_$h.log"
    echo "== fuzzing $h for ${SECONDS_EACH}s (log: $log)"
    start=$(date +%s)
    if (cd "$SCRATCH" && "$SCRATCH/harness/fuzz_$h" "${args[@]}" "$corpus" "$SEEDS/$h") > "$log" 2>&1; then
        result=ok
    else
        result=CRASH; status=1
        grep -E "ERROR|SUMMARY|FUZZ_ASSERT|Fatal error|Test unit written|CRASH" "$log" | head -20 || true
    fi
    # The fork driver's last progress line: "#N: cov: ... exec/s: E oom/timeout/crash: O/T/C time: S".
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
    echo "fuzz $h: $result, ${last:-no progress line} (wall $(( $(date +%s) - start ))s)"
done
exit $status
