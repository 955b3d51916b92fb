#!/usr/bin/env bash
# Installs puppeteer-core (npm), which drives Debian's headless Chromium in the web console's
# end-to-end test (tests/console/console_e2e.mjs), into a cache dir and prints that dir
# (scripts/install-npm-package.sh). puppeteer-core downloads no browser: the test runs
# /usr/bin/chromium (apt, scripts/setup.sh).
#
# Usage: scripts/install-puppeteer.sh [dir]
# Exit status: 0 ok, 75 the npm registry is unreachable (callers may skip), anything else a failure.
set -euo pipefail
# 24.x supports Node >= 18 (Debian 12's is 18; CI may have 20); 25.x needs Node 22.
exec "$(dirname "$0")/install-npm-package.sh" puppeteer-core "${PUPPETEER_CORE_VERSION:-24.43.1}" \
  "${1:-${XDG_CACHE_HOME:-$HOME/.cache}/runtimed/puppeteer-core-${PUPPETEER_CORE_VERSION:-24.43.1}}"
