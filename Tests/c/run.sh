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
cc -std=c99 "${WARN[@]}" -Iinclude examples/c/graph_info.c -L"$LIB" -lgoal -Wl,-rpath,"$LIB" -o "$OUT/graph_info"
"$OUT/test_graph" fixtures
"$OUT/header_cxx"
"$OUT/graph_info" fixtures/models/hf_text_ts/model.onnx > /dev/null
echo "C tests passed"
