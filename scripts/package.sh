#!/usr/bin/env bash
# Builds the Debian package: a Release build without sanitizers in a directory of its own (ccache
# makes a rebuild quick), only runtimed and runtimed-init, then `cpack -G DEB`. Prints the .deb's
# path on its last line.
#   scripts/package.sh        # PACKAGE_BUILD_DIR (default build-package) holds the build and .deb
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PACKAGE_BUILD_DIR:-build-package}
# Never turn another build (the ASan one in build-test, say) into this one.
if [ -f "$build/CMakeCache.txt" ] && ! grep -q '^RUNTIMED_PACKAGE:BOOL=ON$' "$build/CMakeCache.txt"; then
  echo "package: $build is not a package build (RUNTIMED_PACKAGE=ON); choose PACKAGE_BUILD_DIR" >&2
  exit 2
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DRUNTIMED_SANITIZE=OFF -DRUNTIMED_FUZZ=OFF \
  -DRUNTIMED_PACKAGE=ON -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$build" -j"$(nproc)" --target runtimed runtimed-init >/dev/null
# cpack installs into its own staging tree; CMAKE_SKIP_INSTALL_ALL_DEPENDENCY (Packaging.cmake)
# keeps it from building every other target first.
rm -f "$build"/runtimed_*.deb
(cd "$build" && cpack -G DEB >cpack.log 2>&1) || { cat "$build/cpack.log" >&2; exit 1; }
ls "$(cd "$build" && pwd)"/runtimed_*.deb
