#!/bin/sh
# bootstrap: a POSIX sh + curl Lambda runtime (Runtime API 2018-06-01) that echoes each event back.
set -u

CURL=/usr/bin/curl
API="http://${AWS_LAMBDA_RUNTIME_API:?AWS_LAMBDA_RUNTIME_API is not set}/2018-06-01/runtime"
work=$(mktemp -d "${TMPDIR:-/tmp}/bootstrap.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 143' TERM

while :; do
  # Every curl is a fresh connection, so no keep-alive state; retry only /next (it is idempotent
  # until answered), never a POST.
  if ! "$CURL" -sS --fail --retry 3 --retry-connrefused --retry-delay 0 \
      -D "$work/headers" -o "$work/event" "$API/invocation/next"; then
    echo "bootstrap: GET /invocation/next failed" >&2
    exit 1
  fi
  # Header names are case-insensitive; values may end in CR.
  id=$(awk 'BEGIN { FS = ":" }
    tolower($1) == "lambda-runtime-aws-request-id" {
      v = substr($0, index($0, ":") + 1); gsub(/[ \t\r]/, "", v); print v; exit }' "$work/headers")
  if [ -z "$id" ]; then
    echo "bootstrap: /invocation/next without Lambda-Runtime-Aws-Request-Id" >&2
    exit 1
  fi
  "$CURL" -sS -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data-binary "@$work/event" "$API/invocation/$id/response" ||
    echo "bootstrap: POST /invocation/$id/response failed" >&2
done
