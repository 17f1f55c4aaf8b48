#!/usr/bin/env bash
# Builds the C tests against include/goal.h and the release libgoal.so, with the header compiled
# as strict C99 and C++11, and runs them.
set -euo pipefail
cd "$(dirname "$0")/../.."
LIB="$PWD/.build/release"
OUT=.build/ctest
mkdir -p "$OUT"
WARN=(-Wall -Wextra -Werror -pedantic)
cc -std=c99 "${WARN[@]}" -Iinclude -ITests/c Tests/c/test_graph.c -L"$LIB" -lgoal -lpthread \
   -Wl,-rpath,"$LIB" -o "$OUT/test_graph"
c++ -std=c++11 "${WARN[@]}" -Iinclude Tests/c/header_cxx.cpp -L"$LIB" -lgoal -Wl,-rpath,"$LIB" -o "$OUT/header_cxx"
cc -std=c99 "${WARN[@]}" -Iinclude -ITests/c Tests/c/test_model.c -L"$LIB" -lgoal -lm -Wl,-rpath,"$LIB" \
   -o "$OUT/test_model"
cc -std=c99 "${WARN[@]}" -Iinclude -ITests/c Tests/c/test_match.c -L"$LIB" -lgoal -lm -Wl,-rpath,"$LIB" \
   -o "$OUT/test_match"
cc -std=c99 "${WARN[@]}" -Iinclude -ITests/c Tests/c/test_threads.c -L"$LIB" -lgoal -lm -lpthread \
   -Wl,-rpath,"$LIB" -o "$OUT/test_threads"
cc -std=c99 "${WARN[@]}" -Iinclude -ITests/c Tests/c/test_limits.c -L"$LIB" -lgoal -Wl,-rpath,"$LIB" \
   -o "$OUT/test_limits"
cc -std=c99 "${WARN[@]}" -Iinclude -ITests/c Tests/c/test_index.c -L"$LIB" -lgoal -lm -lpthread -Wl,-rpath,"$LIB" \
   -o "$OUT/test_index"
cc -std=c99 "${WARN[@]}" -Iinclude examples/c/graph_info.c -L"$LIB" -lgoal -Wl,-rpath,"$LIB" -o "$OUT/graph_info"
# The encode example is built the way its users build it: with the pkg-config file setup.sh writes.
[ -f "$LIB/goal.pc" ] || { echo "no $LIB/goal.pc: run tools/setup.sh, which writes it after the build"; exit 1; }
GOAL_FLAGS=$(PKG_CONFIG_PATH="$LIB" pkg-config --cflags --libs goal)
# shellcheck disable=SC2086 # the flags are meant to be split into words
cc -std=c99 "${WARN[@]}" examples/c/encode.c $GOAL_FLAGS -lm -o "$OUT/encode"
"$OUT/test_graph" fixtures
"$OUT/test_model" fixtures
"$OUT/test_match" fixtures
"$OUT/test_threads" fixtures
"$OUT/test_limits" fixtures
"$OUT/test_index" fixtures
"$OUT/header_cxx"
"$OUT/graph_info" fixtures/models/hf_text_ts/model.onnx > /dev/null
"$OUT/encode" fixtures/folders/hf_ts --image fixtures/images/astronaut_wide.jpg > /dev/null
echo "C tests passed"
