#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/) with clang++-16 in build-fuzz/ and runs each for a
# bounded time on a copy of its seed corpus, after replaying every saved crash reproducer.
#   scripts/fuzz.sh [seconds per harness, default 20] [harness...]
#   FUZZ_RUNS=1000000 scripts/fuzz.sh 0 http_request   # a fixed number of inputs instead
#   FUZZ_BUILD_ONLY=1 scripts/fuzz.sh                  # build the harnesses, run nothing
# Exits non-zero if a harness crashes (its reproducer is under build-fuzz/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
all=(http_request invoke_request function_api code_store runtime_api init_protocol bench_parsers sigv4 http_trigger schedule_expression sam_template)
harnesses=("$@")
[[ $# -gt 0 ]] || harnesses=("${all[@]}")
build=${FUZZ_BUILD_DIR:-build-fuzz}

if ! command -v clang++-16 >/dev/null; then
  echo "fuzz: clang++-16 missing (scripts/setup.sh installs it)" >&2
  exit 1
fi
if [[ ! -f $build/CMakeCache.txt ]]; then
  # -O1 and line tables only: quicker to build than -O2 -g; crash stacks keep file:line.
  CC=clang-16 CXX=clang++-16 cmake -S . -B "$build" -DRUNTIMED_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" >/dev/null
fi
cmake --build "$build" -j"${FUZZ_BUILD_JOBS:-2}" --target "${harnesses[@]/#/fuzz_}" >/dev/null
# FUZZ_BUILD_ONLY=1: build and stop (scripts/test.sh builds them while ctest runs).
[[ -z ${FUZZ_BUILD_ONLY:-} ]] || exit 0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:handle_abort=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/artifacts"
work=$(mktemp -d /tmp/runtimed-fuzz.XXXXXX)
# The harnesses' function stores and unzipped code: on tmpfs, removed with the rest.
RUNTIMED_FUZZ_SCRATCH=$(mktemp -d /dev/shm/runtimed-fuzz.XXXXXX)
export RUNTIMED_FUZZ_SCRATCH
trap 'rm -rf "$work" "$RUNTIMED_FUZZ_SCRATCH"' EXIT

status=0
# The harnesses run side by side, one per CPU (FUZZ_JOBS), each for its own time budget.
fuzz_one() {
  local h=$1 rc=0
  bin=$build/bin/fuzz_$h
  # Reproducers of crashes found before: each must now pass.
  if compgen -G "tests/fuzz/regressions/$h/*" >/dev/null; then
    if ! "$bin" tests/fuzz/regressions/"$h"/* >"$work/$h.replay.log" 2>&1; then
      echo "fuzz: $h: a regression reproducer fails again:" >&2
      tail -30 "$work/$h.replay.log" >&2
      return 1
    fi
  fi
  mkdir -p "$work/$h"
  limit=(-max_total_time="$seconds")
  [[ -n ${FUZZ_RUNS:-} ]] && limit=(-runs="$FUZZ_RUNS")
  # New inputs go to the scratch corpus (first dir); the repo's seeds are only read.
  if "$bin" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$h-" "$work/$h" "tests/fuzz/corpus/$h" \
      >"$work/$h.log" 2>&1; then
    result=ok
  else
    result="CRASH (see $build/artifacts/$h-*)"
    tail -40 "$work/$h.log" >&2
    rc=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$h.log" | tail -1)
  printf '%-16s %12s %10s %s\n' "$h" "${runs:-?}" "${rate:-?}" "$result"
  cp "$work/$h.log" "$build/artifacts/$h.last.log"
  return $rc
}
printf '%-16s %12s %10s %s\n' harness inputs exec/s result
jobs_max=${FUZZ_JOBS:-$(nproc)}
for h in "${harnesses[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
  (if fuzz_one "$h"; then echo 0 >"$work/$h.rc"; else echo 1 >"$work/$h.rc"; fi) >"$work/$h.row" &
done
wait
for h in "${harnesses[@]}"; do
  cat "$work/$h.row"
  [ "$(cat "$work/$h.rc" 2>/dev/null)" = 0 ] || status=1
done
exit $status
