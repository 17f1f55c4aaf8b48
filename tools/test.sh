#!/usr/bin/env bash
# The README's second command, and what CI runs: set up, then every test — Swift, C, Python —
# then a short fuzzing pass over the C ABI (which also replays every committed crash input).
# GOAL_FUZZ_SECONDS sets the seconds per fuzzer (default 20; 0 replays the regressions only).
# GOAL_SANITIZE names the tools/sanitize.sh checks run at the end: by default the C tests under
# AddressSanitizer on the fuzzing build and under valgrind (docs/SAFETY.md); "" skips them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh

echo "== Swift tests"
swift test

echo "== C tests"
bash Tests/c/run.sh

echo "== Python tests"
.venv/bin/python -m pytest -q bindings/python/tests

echo "== Fuzzing (tools/fuzz.sh ${GOAL_FUZZ_SECONDS:-20})"
bash tools/fuzz.sh "${GOAL_FUZZ_SECONDS:-20}"

GOAL_SANITIZE="${GOAL_SANITIZE-asan-quick valgrind}"
if [ -n "$GOAL_SANITIZE" ]; then
    echo "== Sanitizers (tools/sanitize.sh $GOAL_SANITIZE)"
    # shellcheck disable=SC2086 # a list of check names
    bash tools/sanitize.sh $GOAL_SANITIZE
fi
