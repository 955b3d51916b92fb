#!/usr/bin/env bash
# Installs AWS's JavaScript SDK v3 Lambda client (npm @aws-sdk/client-lambda) into a cache dir and
# prints it. The tests use it where Debian's boto3 (1.26) predates an operation: its
# InvokeWithResponseStream reads the event stream as AWS's SDKs do.
#
# Usage: scripts/install-aws-sdk-js.sh [dir]
#   dir defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/runtimed/aws-sdk-js-$VERSION; the printed path
#   holds node_modules/@aws-sdk/client-lambda. An existing good install is reused.
# Exit status: 0 ok, 75 the npm registry is unreachable (callers may skip), anything else a failure.
set -euo pipefail

# The newest 3.x that still declares node >= 18 (Debian 12's own nodejs).
VERSION=${AWS_SDK_JS_VERSION:-3.723.0}
NPM=${NPM:-/usr/bin/npm}
dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/runtimed/aws-sdk-js-$VERSION}
marker="$dir/.runtimed-install-ok"

if [ -f "$marker" ] && [ -f "$dir/node_modules/@aws-sdk/client-lambda/package.json" ]; then
  echo "$dir"
  exit 0
fi
[ -x "$NPM" ] || { echo "install-aws-sdk-js: $NPM not found" >&2; exit 1; }
if ! "$NPM" view "@aws-sdk/client-lambda@$VERSION" version >/dev/null 2>&1; then
  echo "install-aws-sdk-js: npm registry unreachable (npm view @aws-sdk/client-lambda@$VERSION failed)" >&2
  exit 75
fi

# Into a sibling temp dir, then renamed: a failed or concurrent run never leaves half an install.
parent=$(dirname "$dir")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.aws-sdk-js-$VERSION.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo '{"name":"runtimed-aws-sdk-js","private":true}' >"$tmp/package.json"
(cd "$tmp" && "$NPM" install --no-audit --no-fund --no-save --loglevel=error \
  "@aws-sdk/client-lambda@$VERSION" >&2)
touch "$tmp/.runtimed-install-ok"
rm -rf "$dir"
mv -T "$tmp" "$dir" 2>/dev/null || [ -f "$marker" ]  # a concurrent run may have won the rename
trap - EXIT
rm -rf "$tmp"
echo "$dir"
