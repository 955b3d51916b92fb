#!/usr/bin/env bash
# Sets up, builds with AddressSanitizer and UBSan, and runs every test through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build=${BUILD_DIR:-build-test}
# The sanitized test build is compiled by clang 16 (TEST_CC/TEST_CXX override it): its ASan
# leaves UBSan's per-check records alone, where GCC 12 gives each a redzone and registers it at
# start, so every sanitized process starts and exits in half the time (docs/ARCHITECTURE.md,
# decisions); and it checks the lock annotations as it compiles. The Release package
# (scripts/package.sh, below) is GCC's, and its install test runs it.
test_cc=${TEST_CC:-clang-16}
test_cxx=${TEST_CXX:-clang++-16}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DRUNTIMED_SANITIZE=ON \
  -DCMAKE_C_COMPILER="$test_cc" -DCMAKE_CXX_COMPILER="$test_cxx" >/dev/null
rm -f "$build/package-build.log" "$build"/check-*.status  # an earlier run's are not this one's
# Static checks beside the build: they read only the sources and compile_commands.json.
checks=(tidy)
# A build by another compiler than clang did not check the lock annotations: check them apart.
case "$("$test_cxx" --version)" in *clang*) ;; *) checks=(thread_safety tidy) ;; esac
(
  # Clang's thread-safety analysis of the annotated locks (common/thread_annotations.hpp), if
  # needed, and clang-tidy (.clang-tidy) on the C++ files changed since TIDY_BASE (default HEAD~1).
  for check in "${checks[@]}"; do
    rc=0
    BUILD_DIR="$build" nice -n 10 "scripts/$check.sh" >"$build/check-$check.log" 2>&1 || rc=$?
    echo "$rc" >"$build/check-$check.status"
  done
) &
checks_chain=$!
cmake --build "$build" -j"$(nproc)" || { wait "$checks_chain"; exit 1; }
echo "test: set up and built in ${SECONDS} s"
# Every C/C++ file clang-formatted (scripts/lint.sh).
BUILD_DIR="$build" scripts/lint.sh || { wait "$checks_chain"; exit 1; }
# AWS's own runtime interface client (npm, cached): built before ctest so its compatibility test
# does not spend its time limit compiling.
scripts/build-aws-lambda-ric.sh >/dev/null || echo "test: aws-lambda-ric unavailable; its test will say why"
# AWS's JavaScript SDK (npm, cached), for InvokeWithResponseStream, which Debian's boto3 predates.
scripts/install-aws-sdk-js.sh >/dev/null || echo "test: the AWS JS SDK unavailable; its tests will say why"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Clang's sanitizers symbolize with llvm-symbolizer: clang-16's own (llvm-16, which clang-16
# depends on), whatever else is first in PATH.
[ -n "${ASAN_SYMBOLIZER_PATH:-}" ] || [ ! -x /usr/lib/llvm-16/bin/llvm-symbolizer ] ||
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-16/bin/llvm-symbolizer
# Beside ctest, in two more chains: the Release package (scripts/package.sh) and
# its install test; and the fuzz harnesses (clang++-16, build-fuzz/: built, then each run for a
# few seconds). The builds go at a lower priority than the tests. A run filtered by
# ctest arguments only builds the harnesses, and builds and tests the package after ctest, through
# ctest, only if its arguments select the package test.
(
  [ $# -eq 0 ] || exit 0
  # The package's test installs the package host-wide (one at a time, under its own lock), runs
  # its daemon on its own state dir, cgroup and port, and purges it: nothing the other tests use,
  # so it runs beside them. If the package build failed, the test builds it again and shows why.
  nice -n 10 scripts/package.sh >"$build/package-build.log" 2>&1 || true
  deb=$(tail -n 1 "$build/package-build.log" 2>/dev/null || true)
  rc=0
  ([[ $deb == *.deb && -f $deb ]] && export RUNTIMED_DEB=$deb
   exec timeout 900 tests/package/deb_install_test.sh "$PWD") >"$build/check-package.log" 2>&1 || rc=$?
  [ "$rc" != 77 ] || rc=0  # skipped: not root
  echo "$rc" >"$build/check-package.status"
) &
package_chain=$!
(
  FUZZ_BUILD_ONLY=1 nice -n 10 scripts/fuzz.sh >"$build/fuzz-build.log" 2>&1 || true
  [ $# -eq 0 ] || exit 0
  # Every fuzz harness for a few seconds on its seed corpus, after replaying its saved crashes:
  # all at once, on the CPU the tests leave, so that they end within those seconds and not after
  # ctest (one per CPU, they ran on for up to 97 s after it).
  rc=0
  FUZZ_JOBS=64 nice -n 19 scripts/fuzz.sh "${FUZZ_SECONDS:-10}" >"$build/check-fuzz.log" 2>&1 || rc=$?
  echo "$rc" >"$build/check-fuzz.status"
) &
fuzz_chain=$!
# ctest starts the tests it knows to be longest first, from the times of earlier runs; a clean
# clone has none, and in name order a slow test can start last and end the run alone.
# tests/ctest-costs.txt holds one run's times (refresh it from this file now and then).
costs=$build/Testing/Temporary/CTestCostData.txt
[ -f "$costs" ] || { mkdir -p "$(dirname "$costs")" && cp tests/ctest-costs.txt "$costs"; }
# Two tests per CPU: most of a test's time is spent waiting on its daemons, sandboxes and
# clients, and at one per CPU about half the CPU was idle (docs/ARCHITECTURE.md, decisions).
echo "test: ctest starts at ${SECONDS} s"
status=0
(cd "$build" && ctest --output-on-failure -j"${CTEST_JOBS:-$((2 * $(nproc)))}" -LE package "$@") || status=$?
echo "test: ctest ended at ${SECONDS} s"
wait "$checks_chain" "$package_chain" "$fuzz_chain"
echo "test: the checks beside it ended at ${SECONDS} s"
[ $# -gt 0 ] || checks+=(fuzz package)
for check in "${checks[@]}"; do
  if [ "$(cat "$build/check-$check.status" 2>/dev/null)" = 0 ]; then
    # The package test's whole log only when it fails.
    if [ "$check" = package ]; then echo "package install test: $(tail -n 1 "$build/check-$check.log")"; else cat "$build/check-$check.log"; fi
  else
    cat "$build/check-$check.log" 2>/dev/null || true
    echo "test: $check failed" >&2
    status=1
  fi
done
if [ $# -gt 0 ]; then
  (cd "$build" && ctest --output-on-failure -L package "$@") || status=$?
fi
exit "$status"
