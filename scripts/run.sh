#!/usr/bin/env bash
# Sets up, builds (Release) and runs one command inside one execution environment:
#   scripts/run.sh [runtimed sandbox options] -- CMD ARGS...
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target runtimed runtimed-init >/dev/null
exec build/bin/runtimed sandbox "$@"
