#!/usr/bin/env bash
# Installs one npm package (with its dependencies) into a cache dir and prints that dir, for the
# tests and benchmarks that drive AWS's and others' JavaScript: the dir holds node_modules/PACKAGE.
# An existing good install is reused; a failed or concurrent run never leaves half an install in
# its place.
#
# Usage: scripts/install-npm-package.sh PACKAGE VERSION [dir [PKG@VER ...]]
#   dir defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/runtimed/NAME-VERSION (also when given as ""),
#   NAME being PACKAGE without its scope and slashes (@aws-sdk/client-lambda → aws-sdk-client-lambda).
#   PKG@VER: more packages installed beside PACKAGE in the same dir (a peer dependency pinned, as
#   serverless for serverless-offline); an install made with other extras is made again.
# Exit status: 0 ok, 75 the npm registry is unreachable (callers may skip), anything else a failure.
set -euo pipefail

package=$1
version=$2
name=$(echo "$package" | sed 's|^@||; s|/|-|g')
NPM=${NPM:-npm}
dir=${3:-}
[ -n "$dir" ] || dir=${XDG_CACHE_HOME:-$HOME/.cache}/runtimed/$name-$version
extras=("${@:4}")
marker="$dir/.runtimed-install-ok"
# The marker holds the extras it was installed with (empty without any).
wanted=$(printf '%s\n' "${extras[@]}")
[ ${#extras[@]} -gt 0 ] || wanted=""

if [ -f "$marker" ] && [ -f "$dir/node_modules/$package/package.json" ] &&
  [ "$(cat "$marker")" = "$wanted" ]; then
  echo "$dir"
  exit 0
fi
command -v "$NPM" >/dev/null || { echo "install-npm-package: npm not found (scripts/setup.sh)" >&2; exit 1; }
if ! "$NPM" view "$package@$version" version >/dev/null 2>&1; then
  echo "install-npm-package: npm registry unreachable (npm view $package@$version failed)" >&2
  exit 75
fi
parent=$(dirname "$dir")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.$name-$version.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "{\"name\":\"runtimed-$name\",\"private\":true}" >"$tmp/package.json"
(cd "$tmp" && "$NPM" install --no-audit --no-fund --no-save --loglevel=error \
  "$package@$version" "${extras[@]}" >&2)
printf '%s' "$wanted" >"$tmp/.runtimed-install-ok"
rm -rf "$dir"
# -T: a concurrent run that renamed its install first keeps it, and this one's is removed.
mv -T "$tmp" "$dir" 2>/dev/null || [ -f "$marker" ]
echo "$dir"
