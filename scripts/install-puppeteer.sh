#!/usr/bin/env bash
# Installs puppeteer-core (npm), which drives Debian's headless Chromium in the web console's
# end-to-end test (tests/console/console_e2e.mjs), into a cache dir and prints that dir.
#
# Usage: scripts/install-puppeteer.sh [dir]
#   dir defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/runtimed/puppeteer-core-$VERSION; the printed
#   path holds node_modules/puppeteer-core. An existing good install is reused. puppeteer-core
#   downloads no browser: the test runs /usr/bin/chromium (apt, scripts/setup.sh).
# Exit status: 0 ok, 75 the npm registry is unreachable (callers may skip), anything else a failure.
set -euo pipefail

# 24.x supports Node >= 18 (Debian 12's is 18; CI may have 20); 25.x needs Node 22.
VERSION=${PUPPETEER_CORE_VERSION:-24.43.1}
NPM=${NPM:-npm}
dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/runtimed/puppeteer-core-$VERSION}
marker="$dir/.runtimed-install-ok"

if [ -f "$marker" ] && [ -f "$dir/node_modules/puppeteer-core/package.json" ]; then
  echo "$dir"
  exit 0
fi
command -v "$NPM" >/dev/null || { echo "install-puppeteer: npm not found (scripts/setup.sh)" >&2; exit 1; }
if ! "$NPM" view "puppeteer-core@$VERSION" version >/dev/null 2>&1; then
  echo "install-puppeteer: npm registry unreachable (npm view puppeteer-core@$VERSION failed)" >&2
  exit 75
fi
# Into a sibling temp dir, then renamed: a failed or concurrent run never leaves half an install.
parent=$(dirname "$dir")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.puppeteer-core-$VERSION.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo '{"name":"runtimed-console-e2e","private":true}' >"$tmp/package.json"
(cd "$tmp" && "$NPM" install --no-audit --no-fund --no-save --loglevel=error \
  "puppeteer-core@$VERSION" >&2)
touch "$tmp/.runtimed-install-ok"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir"
