#!/usr/bin/env bash
# Installs AWS's Node.js runtime interface client (npm aws-lambda-ric) into a cache dir and prints it.
#
# Usage: scripts/build-aws-lambda-ric.sh [dir]
#   dir defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/runtimed/aws-lambda-ric-$VERSION; the printed
#   path holds node_modules/aws-lambda-ric. An existing good install is reused.
# Exit status: 0 ok, 75 the npm registry is unreachable (callers may skip), anything else a failure.
# Needs: /usr/bin/node + npm, cmake, g++, make, python3, autoconf, automake, libtool,
# libcurl4-openssl-dev (scripts/setup.sh), and Node headers in /usr/include/node.
set -euo pipefail

# 4.x declares node >= 22; 3.3.0 is the newest that supports Node 18/20 (Debian 12, our CI).
VERSION=${AWS_LAMBDA_RIC_VERSION:-3.3.0}
NODE=${NODE:-/usr/bin/node}
NPM=${NPM:-/usr/bin/npm}
dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/runtimed/aws-lambda-ric-$VERSION}
marker="$dir/.runtimed-install-ok"

# A good install: the marker written after a complete install, and the native addon it built.
good_install() {
  [ -f "$marker" ] && [ -f "$dir/node_modules/aws-lambda-ric/package.json" ] &&
    [ -n "$(find "$dir/node_modules/aws-lambda-ric" -name '*.node' -print -quit 2>/dev/null)" ]
}

if good_install; then
  echo "$dir"
  exit 0
fi

for tool in "$NODE" "$NPM"; do
  [ -x "$tool" ] || { echo "build-aws-lambda-ric: $tool not found" >&2; exit 1; }
done
# node-gyp must use the host's headers instead of downloading them.
if [ ! -f /usr/include/node/node.h ]; then
  echo "build-aws-lambda-ric: /usr/include/node/node.h missing (Node headers; Debian: libnode-dev)" >&2
  exit 1
fi
for tool in cmake g++ make python3 autoconf automake libtoolize; do
  command -v "$tool" >/dev/null || { echo "build-aws-lambda-ric: $tool missing (scripts/setup.sh)" >&2; exit 1; }
done

if ! "$NPM" view "aws-lambda-ric@$VERSION" version >/dev/null 2>&1; then
  echo "build-aws-lambda-ric: npm registry unreachable (npm view aws-lambda-ric@$VERSION failed)" >&2
  exit 75
fi

# Install into a sibling temp dir and rename, so a failed or concurrent run never leaves a
# half-built install where a good one is expected.
parent=$(dirname "$dir")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.aws-lambda-ric-$VERSION.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo '{"name":"runtimed-aws-lambda-ric","private":true}' >"$tmp/package.json"
echo "build-aws-lambda-ric: building aws-lambda-ric@$VERSION (bundled curl + aws-lambda-cpp; minutes)" >&2
(
  cd "$tmp"
  PATH="$(dirname "$NODE"):$PATH"
  export npm_config_nodedir=/usr PATH
  export JOBS=${JOBS:-2}
  "$NPM" install --no-audit --no-fund --no-save --loglevel=error "aws-lambda-ric@$VERSION" >&2
)
# Only dist/ (JavaScript + rapid-client.node) is used at run time; the bundled curl and
# aws-lambda-cpp sources and objects (~150 MB) are left behind by the package's own cleanup.
rm -rf "$tmp/node_modules/aws-lambda-ric/build" "$tmp/node_modules/aws-lambda-ric/deps/artifacts"
find "$tmp/node_modules/aws-lambda-ric/deps" -mindepth 1 -maxdepth 1 -type d \
  \( -name 'aws-lambda-cpp-*' -o -name 'curl-*' \) -exec rm -rf {} +
touch "$tmp/.runtimed-install-ok"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
good_install || { echo "build-aws-lambda-ric: install in $dir incomplete" >&2; exit 1; }
echo "$dir"
