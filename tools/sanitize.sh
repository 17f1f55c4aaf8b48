#!/usr/bin/env bash
# Runs the tests under sanitizers and valgrind: memory errors, leaks across the ABI (error paths
# included) and data races. See docs/SAFETY.md for what each covers and how long it takes.
#
#   tools/sanitize.sh [check ...]
#
# Checks (default: asan tsan valgrind swift-asan swift-tsan):
#   asan        libgoal.so built with AddressSanitizer (.build-asan); the C tests (Tests/c, with
#               clang -fsanitize=address) run with LeakSanitizer on: any leak fails
#   asan-quick  as asan, against the fuzzing build of libgoal.so (.build-fuzz, which
#               tools/fuzz.sh makes: ASan plus coverage counters), so no second build; the C
#               programs link libFuzzer's runtime without its main for the counters. CI's choice
#   tsan        libgoal.so built with ThreadSanitizer (.build-tsan); the C tests, test_shared
#               among them (one model, graph and image shared by four threads)
#   valgrind    the C tests against the release libgoal.so (.build/release, as tools/setup.sh
#               builds it) under memcheck: --leak-check=full --errors-for-leak-kinds=definite
#               --error-exitcode=1; the threaded and index programs only if GOAL_VALGRIND_SKIP=""
#   swift-asan  swift test --sanitize=address (.build-swift-asan)
#   swift-tsan  swift test --sanitize=thread (.build-swift-tsan)
#   python-asan the Python suite on the ASan library, the ASan runtime preloaded into Python
#               (leak checking off: CPython itself keeps memory to the end); not in the default set
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CHECKS=("$@")
[ ${#CHECKS[@]} -gt 0 ] || CHECKS=(asan tsan valgrind swift-asan swift-tsan)
if ! command -v swift >/dev/null 2>&1; then
    [ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
fi
BIN=$(dirname "$(command -v swift)")
CLANG="$BIN/clang"
CLANGXX="$BIN/clang++"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

timings=()
timed() {  # timed NAME COMMAND...: runs it, notes how long it took
    local name=$1 start=$SECONDS
    shift
    echo "== $name"
    "$@"
    timings+=("$name: $((SECONDS - start))s")
}

# Builds libgoal.so with one sanitizer into SCRATCH and writes a goal.pc there for the C tests.
# -z undefs: the release link refuses undefined symbols (-z defs), but a sanitized library leaves
# the sanitizer runtime's symbols to the executable that loads it.
build_sanitized() {  # build_sanitized SCRATCH SANITIZER [CONFIGURATION]
    local scratch=$1 sanitizer=$2 configuration=${3:-release} undefs=()
    # (Debug links with gold, which leaves undefined symbols alone and does not know -z undefs.)
    [ "$configuration" = debug ] || undefs=(-Xlinker -z -Xlinker undefs)
    swift build -c "$configuration" --product goal --scratch-path "$scratch" -Xswiftc -sanitize="$sanitizer" \
        -Xcc -fsanitize="$sanitizer" "${undefs[@]}" 2>&1 | grep -v '^\[' || true
    [ -f "$scratch/$configuration/libgoal.so" ] || { echo "sanitize: the $sanitizer build failed"; exit 1; }
    local version
    version=$(sed -n 's/^#define GOAL_VERSION_STRING "\(.*\)"$/\1/p' include/goal.h)
    sed -e "s|@PREFIX@|$ROOT|g" -e "s|@VERSION@|$version|g" -e "s|^libdir=.*|libdir=$scratch/$configuration|" \
        tools/goal.pc.in > "$scratch/$configuration/goal.pc"
}

c_tests() {  # c_tests SCRATCH OUT FLAGS [RUNNER]
    GOAL_CTEST_LIB="$1" GOAL_CTEST_OUT="$2" CC="$CLANG" CXX="$CLANGXX" GOAL_CTEST_FLAGS="$3" \
        GOAL_CTEST_RUNNER="${4:-}" bash Tests/c/run.sh
}

for check in "${CHECKS[@]}"; do
    case "$check" in
    asan)
        timed "asan: build" build_sanitized "$ROOT/.build-asan" address
        ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1" \
            timed "asan: C tests" c_tests "$ROOT/.build-asan/release" .build-asan/ctest \
            "-g -fsanitize=address -fno-omit-frame-pointer -fuse-ld=lld"
        ;;
    asan-quick)
        [ -f .build-fuzz/release/libgoal.so ] || bash tools/fuzz.sh 0
        version=$(sed -n 's/^#define GOAL_VERSION_STRING "\(.*\)"$/\1/p' include/goal.h)
        sed -e "s|@PREFIX@|$ROOT|g" -e "s|@VERSION@|$version|g" -e "s|^libdir=.*|libdir=$ROOT/.build-fuzz/release|" \
            tools/goal.pc.in > .build-fuzz/release/goal.pc
        fuzzer_runtime=$("$CLANG" -print-file-name=libclang_rt.fuzzer_no_main-x86_64.a)
        ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1" \
            timed "asan-quick: C tests" c_tests "$ROOT/.build-fuzz/release" .build-fuzz/ctest \
            "-g -fsanitize=address,fuzzer-no-link -fno-omit-frame-pointer -fuse-ld=lld $fuzzer_runtime -lstdc++"
        ;;
    tsan)
        # A debug build: the release one links the Swift runtime and libdispatch statically, and
        # ThreadSanitizer must see libgoal's DispatchQueue.concurrentPerform go through the shared
        # libdispatch its interceptors wrap, or it cannot tell the work items' ordering. The C
        # programs link libdispatch too, which the interceptors in the TSan runtime refer to.
        timed "tsan: build" build_sanitized "$ROOT/.build-tsan" thread debug
        swiftlib="$BIN/../lib/swift/linux"
        TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/Tests/tsan.supp" \
            timed "tsan: C tests" c_tests "$ROOT/.build-tsan/debug" .build-tsan/ctest \
            "-g -fsanitize=thread -fuse-ld=lld -L$swiftlib -ldispatch -lBlocksRuntime -Wl,-rpath,$swiftlib"
        ;;
    valgrind)
        if ! command -v valgrind >/dev/null 2>&1; then
            $SUDO apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq valgrind
        fi
        [ -f .build/release/libgoal.so ] && [ -f .build/release/goal.pc ] || bash tools/setup.sh
        # Debian's valgrind cannot read the DWARF 5 the Swift toolchain writes ("unhandled dwarf2
        # abbrev form code 0x25", then it gives up), so it gets a copy of the release library
        # without debug sections: the same code, reports name functions but not lines.
        mkdir -p .build/valgrind
        objcopy --strip-debug .build/release/libgoal.so .build/valgrind/libgoal.so
        sed -e "s|^libdir=.*|libdir=$ROOT/.build/valgrind|" .build/release/goal.pc > .build/valgrind/goal.pc
        # The C programs are plain (cc, no sanitizer); valgrind watches them and the library.
        # It runs threads one at a time, so the threaded programs and the index test (many small
        # searches) take most of its time while finding nothing asan/asan-quick's LeakSanitizer
        # does not: they are skipped unless GOAL_VALGRIND_SKIP says otherwise ("" runs them all).
        GOAL_CTEST_SKIP="${GOAL_VALGRIND_SKIP-test_threads test_shared test_index}" \
        GOAL_CTEST_LIB="$ROOT/.build/valgrind" GOAL_CTEST_OUT=.build/valgrind/ctest GOAL_CTEST_RUNNER="valgrind --quiet \
--leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --error-exitcode=1 \
--suppressions=$ROOT/Tests/c/valgrind.supp" timed "valgrind: C tests" bash Tests/c/run.sh
        ;;
    swift-asan)
        LSAN_OPTIONS="suppressions=$ROOT/Tests/lsan_swift_test.supp" \
            timed "swift-asan: swift test --sanitize=address" \
            swift test --sanitize=address --scratch-path "$ROOT/.build-swift-asan"
        ;;
    swift-tsan)
        TSAN_OPTIONS="halt_on_error=1:suppressions=$ROOT/Tests/tsan.supp" \
            timed "swift-tsan: swift test --sanitize=thread" \
            swift test --sanitize=thread --scratch-path "$ROOT/.build-swift-tsan"
        ;;
    python-asan)
        [ -f .build-asan/release/libgoal.so ] || build_sanitized "$ROOT/.build-asan" address
        [ -x .venv/bin/python ] || bash tools/setup.sh
        runtime=$("$CLANG" -print-file-name=libclang_rt.asan-x86_64.so)
        LD_PRELOAD="$runtime" ASAN_OPTIONS="detect_leaks=0" GOAL_LIBRARY="$ROOT/.build-asan/release/libgoal.so" \
            timed "python-asan: pytest" .venv/bin/python -m pytest -q -p no:cacheprovider bindings/python/tests
        ;;
    *)
        echo "sanitize: unknown check $check (asan, asan-quick, tsan, valgrind, swift-asan, swift-tsan, python-asan)"
        exit 2
        ;;
    esac
done
echo "== timings"
printf '%s\n' "${timings[@]}"
