#!/usr/bin/env bash
# Builds the Debian package: a Release build without sanitizers in its own directory (ccache makes
# a rebuild quick), only runtimed and runtimed-init, then `cpack -G DEB`. Prints the .deb's path.
#   scripts/package.sh            # BUILD_DIR (default build-package) holds the build and the .deb
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-package}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DRUNTIMED_SANITIZE=OFF -DRUNTIMED_FUZZ=OFF \
  -DRUNTIMED_PACKAGE=ON -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$build" -j"$(nproc)" --target runtimed runtimed-init >/dev/null
# cpack runs the install rules of every target; all: the ones above are the only ones installed.
(cd "$build" && rm -f runtimed_*.deb && cpack -G DEB >/dev/null)
deb=$(ls "$PWD/$build"/runtimed_*.deb)
echo "$deb"
