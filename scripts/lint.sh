#!/usr/bin/env bash
# Lint: clang-format on every C/C++ file (any difference fails). clang-tidy on the changed files
# is scripts/tidy.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=()
while IFS= read -r f; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done < <(git ls-files '*.cpp' '*.hpp' '*.c' '*.h')
if [ ${#unformatted[@]} -gt 0 ]; then
  echo "lint: not clang-formatted (run clang-format -i): ${unformatted[*]}" >&2
  exit 1
fi
echo "lint: clang-format clean"
