#!/usr/bin/env bash
# Sets up, builds (Release), starts the daemon with a local state dir (SQLite inside) and its HTTP
# trigger listener, deploys the example functions and shows a first invocation of each, deploys the
# example SAM app (examples/sam-app: an HTTP API, a queue consumer, a schedule) and calls its API,
# then keeps serving until Ctrl-C.
#   scripts/run.sh [--listen 127.0.0.1:9000] [--http-listen 127.0.0.1:9001]
#                  [--state-dir .runtimed-state] [runtimed serve options]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target runtimed runtimed-init example-cpp-hello >/dev/null

listen=127.0.0.1:9000
http_listen=127.0.0.1:9001
state=.runtimed-state
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --listen) listen=$2; shift 2 ;;
    --http-listen) http_listen=$2; shift 2 ;;
    --state-dir) state=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
endpoint="http://$listen"
rt() { build/bin/runtimed "$@" --endpoint "$endpoint"; }

build/bin/runtimed serve --listen "$listen" --http-listen "$http_listen" --state-dir "$state" \
  "${args[@]}" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon' INT TERM EXIT
for _ in $(seq 100); do
  curl -sf "$endpoint/runtimed/v1/health" >/dev/null && break
  sleep 0.1
done

# Example functions: name, runtime, handler, code directory, first event.
work=$(mktemp -d)
mkdir -p "$work/cpp" "$work/shell"
cp build/bin/example-cpp-hello "$work/cpp/bootstrap"
cp runtimes/shell/bootstrap examples/shell-hello/script.sh "$work/shell/"
examples=(
  "hello-python|python3.12|app.handler|examples/python-hello|{\"name\":\"Ada\"}"
  "wordcount|python3.12|app.handler|examples/python-wordcount|{\"text\":\"the quick brown fox jumps over the lazy dog the end\",\"top\":3}"
  "hello-node|nodejs20.x|index.handler|examples/node-hello|{\"name\":\"Ada\"}"
  "transform|nodejs20.x|index.handler|examples/node-transform|{\"records\":[{\"a\":1,\"c\":2}],\"rename\":{\"a\":\"b\"},\"drop\":[\"c\"],\"defaults\":{\"d\":1}}"
  "hello-shell|provided.al2023|script.handler|$work/shell|{\"name\":\"Ada\"}"
  "hello-cpp|provided.al2023|bootstrap|$work/cpp|{\"hello\":\"world\"}"
)
for e in "${examples[@]}"; do
  IFS='|' read -r name runtime handler code payload <<<"$e"
  rt get "$name" >/dev/null 2>&1 && rt delete "$name" >/dev/null
  rt create "$name" --runtime "$runtime" --handler "$handler" --code "$code" >/dev/null
  printf '\n$ runtimed invoke %s --payload %s\n' "$name" "$payload"
  rt invoke "$name" --payload "$payload" || true
done
rm -rf "$work"

# The SAM app: layer, queues, three functions, an HTTP API, a schedule, an SQS mapping.
printf '\n$ runtimed deploy examples/sam-app/template.yaml --stack-name sam-app\n'
if rt deploy examples/sam-app/template.yaml --stack-name sam-app; then
  api=$(rt stack describe sam-app | grep -o 'http://[^ ]*/execute-api/[a-z0-9]*' | head -1)
  printf '\n$ curl %s/items/42\n' "$api"
  curl -s "$api/items/42" && echo
else
  echo "(the SAM app did not deploy: see the error above; the daemon keeps serving)"
fi
printf '\nruntimed is serving on %s (state in %s). Try:\n' "$endpoint" "$state"
printf '  aws --endpoint-url %s lambda list-functions\n' "$endpoint"
printf '  build/bin/runtimed invoke hello-python --payload %s --log\n' "'{\"name\":\"you\"}'"
printf '  curl "%s/hello?name=you"   (the SAM app'"'"'s HTTP API)\n' "${api:-<ApiEndpoint>}"
printf 'Ctrl-C stops it.\n'
wait $daemon
