#!/usr/bin/env bash
# clang-tidy (.clang-tidy's checks; any finding fails) on the C++ files changed relative to
# TIDY_BASE (default HEAD~1): changed .cpp files that the build compiles, and changed headers, through
# the changed .cpp files or, failing one, the .cpp of the same name. Findings are reported only in
# the changed files themselves, so untouched code never fails a change.
# Uses BUILD_DIR's compile_commands.json (default build-test); runs nproc files at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-test}
base=${TIDY_BASE:-HEAD~1}
tidy=$(command -v clang-tidy-16 || true)
if [ -z "$tidy" ] || [ ! -f "$build/compile_commands.json" ]; then
  echo "tidy: clang-tidy-16 or $build/compile_commands.json missing" >&2
  exit 1
fi
if ! git rev-parse -q --verify "$base^{commit}" >/dev/null; then
  echo "tidy: no base $base; nothing to compare"
  exit 0
fi
compiled() { grep -q "\"file\": \"$PWD/$1\"" "$build/compile_commands.json"; }
mapfile -t changed < <(git diff --name-only --diff-filter=d "$base" -- '*.cpp' '*.hpp')
units=()
headers=()
for f in "${changed[@]}"; do
  case "$f" in
    *.cpp) compiled "$f" && units+=("$f") ;;
    *.hpp) headers+=("$f") ;;
  esac
done
for h in "${headers[@]}"; do
  cpp=${h%.hpp}.cpp
  covered=0
  for u in "${units[@]}"; do [ "$u" = "$cpp" ] && covered=1; done
  [ "$covered" = 0 ] && [ -f "$cpp" ] && compiled "$cpp" && units+=("$cpp")
done
if [ ${#units[@]} -eq 0 ]; then
  echo "tidy: no compiled C++ file changed since $base"
  exit 0
fi
# Only the changed headers' findings count (regex of their paths; matches nothing when none).
header_filter=$(printf '%s\n' "${headers[@]}" | sed 's/[.]/[.]/g' | paste -sd'|')
[ -n "$header_filter" ] || header_filter='^$'
# Clang 16 spells C++23 c++2b; GCC 12's <expected> is gated on __cpp_concepts >= 202002L, which
# clang 16 does not report yet (as in scripts/thread_safety.sh). Set ahead of the build's own
# flags: a clang build's database already says so, and clang-tidy reports redefining the built-in
# value as an error whatever -Wno-macro-redefined says.
# Every unit runs even after one fails, so one run lists every finding.
if ! printf '%s\n' "${units[@]}" | xargs -P"$(nproc)" -I{} sh -c \
  "'$tidy' -p '$build' --quiet --header-filter='$header_filter' --extra-arg=-std=c++2b \
     --extra-arg-before=-U__cpp_concepts --extra-arg-before=-D__cpp_concepts=202002L \
     --extra-arg=-Wno-unknown-warning-option {} 2>/dev/null || { echo 'tidy: findings in {}' >&2; exit 1; }"; then
  echo "tidy: clang-tidy findings (above) in files changed since $base" >&2
  exit 1
fi
echo "tidy: ${#units[@]} changed translation unit(s) since $base clean"
