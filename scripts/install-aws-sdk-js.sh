#!/usr/bin/env bash
# Installs AWS's JavaScript SDK v3 Lambda client (npm @aws-sdk/client-lambda) into a cache dir and
# prints it (scripts/install-npm-package.sh). The tests use it where Debian's boto3 (1.26)
# predates an operation: its InvokeWithResponseStream reads the event stream as AWS's SDKs do.
#
# Usage: scripts/install-aws-sdk-js.sh [dir]
# Exit status: 0 ok, 75 the npm registry is unreachable (callers may skip), anything else a failure.
set -euo pipefail
# The newest 3.x that still declares node >= 18 (Debian 12's own nodejs).
version=${AWS_SDK_JS_VERSION:-3.723.0}
exec "$(dirname "$0")/install-npm-package.sh" @aws-sdk/client-lambda "$version" \
  "${1:-${XDG_CACHE_HOME:-$HOME/.cache}/runtimed/aws-sdk-js-$version}"
