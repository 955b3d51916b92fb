#!/usr/bin/env bash
# Sets up, builds with AddressSanitizer and UBSan, and runs every test through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build=${BUILD_DIR:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DRUNTIMED_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
# Every C/C++ file clang-formatted (scripts/lint.sh).
BUILD_DIR="$build" scripts/lint.sh
# Clang's thread-safety analysis of the annotated locks (common/thread_annotations.hpp).
BUILD_DIR="$build" scripts/thread_safety.sh
# clang-tidy (.clang-tidy) on the C++ files changed since TIDY_BASE (default HEAD~1).
BUILD_DIR="$build" scripts/tidy.sh
# AWS's own runtime interface client (npm, cached): built before ctest so its compatibility test
# does not spend its time limit compiling.
scripts/build-aws-lambda-ric.sh >/dev/null || echo "test: aws-lambda-ric unavailable; its test will say why"
# AWS's JavaScript SDK (npm, cached), for InvokeWithResponseStream, which Debian's boto3 predates.
scripts/install-aws-sdk-js.sh >/dev/null || echo "test: the AWS JS SDK unavailable; its tests will say why"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j"${CTEST_JOBS:-2}" "$@"
# Every fuzz harness for a few seconds on its seed corpus (clang++-16 build in build-fuzz/).
"$OLDPWD/scripts/fuzz.sh" "${FUZZ_SECONDS:-10}"
