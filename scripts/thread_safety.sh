#!/usr/bin/env bash
# Clang's thread-safety analysis (common/thread_annotations.hpp) over every library source that
# uses the annotations, syntax only (no objects, no link): any -Wthread-safety finding fails.
# Uses BUILD_DIR's compile_commands.json (default build-test) for include paths and defines.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-test}
clang=$(command -v clang++-16 || true)
if [ -z "$clang" ] || [ ! -f "$build/compile_commands.json" ]; then
  echo "thread-safety: clang++-16 or $build/compile_commands.json missing" >&2
  exit 1
fi
# The translation units that see an annotated class (directly or through a header).
mapfile -t annotated_headers < <(grep -rl --include='*.hpp' 'thread_annotations.hpp' common api sandbox runtimed)
pattern=$(printf '%s\n' "${annotated_headers[@]}" common/thread_annotations.hpp | sed 's|.*/||' | paste -sd'|')
mapfile -t sources < <(grep -rlE --include='*.cpp' "($pattern)\"" common api sandbox runtimed)
# Headers that include an annotated header pull it into more units: one level is enough here,
# since every annotated class's users include its header directly or through one other.
mapfile -t includers < <(grep -rlE --include='*.hpp' "($pattern)\"" common api sandbox runtimed)
pattern2=$(printf '%s\n' "${includers[@]}" | sed 's|.*/||' | paste -sd'|')
mapfile -t more < <(grep -rlE --include='*.cpp' "($pattern2)\"" common api sandbox runtimed)
mapfile -t units < <(printf '%s\n' "${sources[@]}" "${more[@]}" | sort -u)
# Include paths and defines of the build (clang 16 calls C++23 c++2b); GCC 12's <expected> needs __cpp_concepts as GCC
# reports it, which clang 16 does not yet.
flags=$(python3 - "$build" <<'PY'
import json, shlex, sys
flags = []
for entry in json.load(open(sys.argv[1] + "/compile_commands.json")):
    for a in shlex.split(entry["command"]):
        if a.startswith(("-I", "-D", "-isystem")) and a not in flags:
            flags.append(a)
print(" ".join(shlex.quote(a) for a in flags))
PY
)
printf '%s\n' "${units[@]}" | xargs -P"$(nproc)" -I{} sh -c \
  "$clang -fsyntax-only -std=c++2b $flags -D__cpp_concepts=202002L -Wno-macro-redefined \
     -Wthread-safety -Werror=thread-safety {} || { echo 'thread-safety: {}' >&2; exit 255; }"
echo "thread-safety: ${#units[@]} translation units clean"
