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
# AWS's own runtime interface client (npm, cached): built before ctest so its compatibility test
# does not spend its time limit compiling.
scripts/build-aws-lambda-ric.sh >/dev/null || echo "test: aws-lambda-ric unavailable; its test will say why"
# AWS's JavaScript SDK (npm, cached), for InvokeWithResponseStream, which Debian's boto3 predates.
scripts/install-aws-sdk-js.sh >/dev/null || echo "test: the AWS JS SDK unavailable; its tests will say why"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The static checks, the Release package (scripts/package.sh) and the fuzz harnesses (clang++-16,
# build-fuzz/: built, then each run for a few seconds) go at nice 19 while ctest runs: ctest leaves
# about half the CPU idle (its tests wait on daemons and sandboxes), and that idle CPU does them,
# where they used to take minutes before and after ctest with nothing beside them. A run filtered
# by ctest arguments only builds the harnesses, and builds the package only if the package test is
# among those it runs.
rm -f "$build/package-build.log" "$build"/check-*.status  # an earlier run's are not this one's
(
  # Clang's thread-safety analysis of the annotated locks (common/thread_annotations.hpp), and
  # clang-tidy (.clang-tidy) on the C++ files changed since TIDY_BASE (default HEAD~1).
  for check in thread_safety tidy; do
    rc=0
    BUILD_DIR="$build" nice -n 19 "scripts/$check.sh" >"$build/check-$check.log" 2>&1 || rc=$?
    echo "$rc" >"$build/check-$check.status"
  done
  [ $# -gt 0 ] || nice -n 19 scripts/package.sh >"$build/package-build.log" 2>&1 || true
  # Every fuzz harness for a few seconds on its seed corpus, after replaying its saved crashes.
  if [ $# -eq 0 ]; then
    rc=0
    nice -n 19 scripts/fuzz.sh "${FUZZ_SECONDS:-10}" >"$build/check-fuzz.log" 2>&1 || rc=$?
    echo "$rc" >"$build/check-fuzz.status"
  else
    FUZZ_BUILD_ONLY=1 nice -n 19 scripts/fuzz.sh >"$build/fuzz-build.log" 2>&1 || true
  fi
) &
background_builds=$!
# ctest starts the tests it knows to be longest first, from the times of earlier runs; a clean
# clone has none, and in name order a slow test can start last and end the run alone.
# tests/ctest-costs.txt holds one run's times (refresh it from this file now and then).
costs=$build/Testing/Temporary/CTestCostData.txt
[ -f "$costs" ] || { mkdir -p "$(dirname "$costs")" && cp tests/ctest-costs.txt "$costs"; }
status=0
(cd "$build" && ctest --output-on-failure -j"${CTEST_JOBS:-2}" -LE package "$@") || status=$?
wait "$background_builds"
checks=(thread_safety tidy)
[ $# -gt 0 ] || checks+=(fuzz)
for check in "${checks[@]}"; do
  cat "$build/check-$check.log" 2>/dev/null || true
  [ "$(cat "$build/check-$check.status" 2>/dev/null)" = 0 ] || { echo "test: $check failed" >&2; status=1; }
done
cd "$build"
# The package's test (host-wide, so alone) installs the package built beside ctest; if that build
# failed, the test builds it again and shows why.
deb=$(tail -n 1 package-build.log 2>/dev/null || true)
[[ $deb == *.deb && -f $deb ]] && export RUNTIMED_DEB=$deb
ctest --output-on-failure -L package "$@" || status=$?
exit "$status"
