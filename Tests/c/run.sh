#!/usr/bin/env bash
# Builds the C tests against include/goal.h and the release libgoal.so, with the header compiled
# as strict C99 and C++11, and runs them.
#
# tools/sanitize.sh reuses it for sanitized libraries through the environment: GOAL_CTEST_LIB (the
# folder of the libgoal.so to test, with a goal.pc), GOAL_CTEST_OUT (where the programs go),
# CC / CXX, GOAL_CTEST_FLAGS (extra compile and link flags, e.g. -fsanitize=address) and
# GOAL_CTEST_RUNNER (a command each program runs under, e.g. valgrind with its options) and
# GOAL_CTEST_SKIP (names of programs not to run, for slow runners).
set -euo pipefail
cd "$(dirname "$0")/../.."
LIB="${GOAL_CTEST_LIB:-$PWD/.build/release}"
OUT="${GOAL_CTEST_OUT:-.build/ctest}"
CC="${CC:-cc}"
CXX="${CXX:-c++}"
# shellcheck disable=SC2206 # the flags are meant to be split into words
EXTRA=(${GOAL_CTEST_FLAGS:-})
# shellcheck disable=SC2206
RUN=(${GOAL_CTEST_RUNNER:-})
# test_match writes its heatmap PNG to .build/ctest whatever OUT is.
mkdir -p "$OUT" .build/ctest
WARN=(-Wall -Wextra -Werror -pedantic)
"$CC" -std=c99 "${WARN[@]}" "${EXTRA[@]}" -Iinclude -ITests/c Tests/c/test_graph.c -L"$LIB" -lgoal -lpthread \
   -Wl,-rpath,"$LIB" -o "$OUT/test_graph"
"$CXX" -std=c++11 "${WARN[@]}" "${EXTRA[@]}" -Iinclude Tests/c/header_cxx.cpp -L"$LIB" -lgoal -Wl,-rpath,"$LIB" \
   -o "$OUT/header_cxx"
"$CC" -std=c99 "${WARN[@]}" "${EXTRA[@]}" -Iinclude -ITests/c Tests/c/test_model.c -L"$LIB" -lgoal -lm \
   -Wl,-rpath,"$LIB" -o "$OUT/test_model"
"$CC" -std=c99 "${WARN[@]}" "${EXTRA[@]}" -Iinclude -ITests/c Tests/c/test_match.c -L"$LIB" -lgoal -lm \
   -Wl,-rpath,"$LIB" -o "$OUT/test_match"
"$CC" -std=c99 "${WARN[@]}" "${EXTRA[@]}" -Iinclude -ITests/c Tests/c/test_threads.c -L"$LIB" -lgoal -lm -lpthread \
   -Wl,-rpath,"$LIB" -o "$OUT/test_threads"
"$CC" -std=c99 "${WARN[@]}" "${EXTRA[@]}" -Iinclude -ITests/c Tests/c/test_shared.c -L"$LIB" -lgoal -lm -lpthread \
   -Wl,-rpath,"$LIB" -o "$OUT/test_shared"
"$CC" -std=c99 "${WARN[@]}" "${EXTRA[@]}" -Iinclude -ITests/c Tests/c/test_limits.c -L"$LIB" -lgoal \
   -Wl,-rpath,"$LIB" -o "$OUT/test_limits"
"$CC" -std=c99 "${WARN[@]}" "${EXTRA[@]}" -Iinclude -ITests/c Tests/c/test_index.c -L"$LIB" -lgoal -lm -lpthread \
   -Wl,-rpath,"$LIB" -o "$OUT/test_index"
"$CC" -std=c99 "${WARN[@]}" "${EXTRA[@]}" -Iinclude examples/c/graph_info.c -L"$LIB" -lgoal -Wl,-rpath,"$LIB" \
   -o "$OUT/graph_info"
# The encode example is built the way its users build it: with the pkg-config file setup.sh writes.
[ -f "$LIB/goal.pc" ] || { echo "no $LIB/goal.pc: run tools/setup.sh, which writes it after the build"; exit 1; }
GOAL_FLAGS=$(PKG_CONFIG_PATH="$LIB" pkg-config --cflags --libs goal)
# shellcheck disable=SC2086 # the flags are meant to be split into words
"$CC" -std=c99 "${WARN[@]}" "${EXTRA[@]}" examples/c/encode.c $GOAL_FLAGS -lm -o "$OUT/encode"
run() {  # run PROGRAM ARGS...: one program of $OUT under the runner, unless GOAL_CTEST_SKIP names it
    local program=$1
    shift
    case " ${GOAL_CTEST_SKIP:-} " in
        *" $program "*) echo "$program: skipped (GOAL_CTEST_SKIP)"; return 0 ;;
    esac
    "${RUN[@]}" "$OUT/$program" "$@"
}
run test_graph fixtures
run test_model fixtures
run test_match fixtures
run test_threads fixtures
run test_shared fixtures
run test_limits fixtures
run test_index fixtures
run header_cxx
run graph_info fixtures/models/hf_text_ts/model.onnx > /dev/null
run encode fixtures/folders/hf_ts --image fixtures/images/astronaut_wide.jpg > /dev/null
echo "C tests passed"
