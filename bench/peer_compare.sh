#!/usr/bin/env bash
# runtimed beside serverless-offline (the npm package most Node users run Lambda locally with): the
# same `async (e) => e` Node handler on each host, the same closed-loop client (`runtimed bench`),
# and issue 18's table from this run: c=1 p50, invocations/s at concurrency 8 and 32 (p99 at 32)
# and the cold start. serverless-offline and serverless are installed from npm into a temp dir for
# the run (dev dependencies of this benchmark, never of the product). Everything measured runs in a
# fresh network namespace with only loopback up: no packet leaves the machine.
#
# Usage (root, Release build): bench/peer_compare.sh
#   BUILD_DIR=build-rel   the build whose bin/runtimed is measured and is the client
#   COUNT=10000           calls per measured warm run (each after WARMUP=2000 uncounted ones)
#   COLD=20               runtimed cold starts (`runtimed bench cold`: drain, call), stems ready
#   PEER_COLD=5           fresh serverless-offline processes per mode, one first call each
#   PEER_NPM_DIR=DIR      reuse (or keep) the npm install there instead of a temp dir
#   BENCH_LOCK=FILE       run the measuring part (not the npm install) under `flock FILE`
#   PEER_RESULTS=DIR      keep every run's JSON (runtimed bench --json) and the hosts' logs there
# Exit status: 0 done, 75 the npm registry unreachable, anything else a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
self=$src/bench/peer_compare.sh
bin=$src/${BUILD_DIR:-build-rel}/bin
COUNT=${COUNT:-10000}
WARMUP=${WARMUP:-2000}
COLD=${COLD:-20}
PEER_COLD=${PEER_COLD:-5}
SLS_OFFLINE_VERSION=13.10.1
SERVERLESS_VERSION=3.40.0
rt_port=9000
sls_port=3002 # serverless-offline's default lambdaPort
sls_function=peer-dev-echo # <service>-<stage>-<function>

# ---------------------------------------------------------------------------------------------
# Inside the network namespace: the hosts, one at a time, and the table.
if [[ ${1:-} == --in-netns ]]; then
  work=$PEER_WORK
  ip link set lo up
  daemon_pid=
  sls_pid=
  parent=rt-peer-$$
  stop_pid() { # TERM, up to 10 s, then KILL: only the processes this script started
    local pid=$1
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  }
  remove_cgroup_parent() { # the daemon removes its own subtree; its parent is left to us
    find /sys/fs/cgroup -depth -type d -name "$parent" -print0 2>/dev/null |
      while IFS= read -r -d '' d; do
        find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || echo "peer_compare: cannot remove $d" >&2
      done
  }
  cleanup() {
    stop_pid "$sls_pid"
    stop_pid "$daemon_pid"
    remove_cgroup_parent
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  say() { echo "peer_compare: $*" >&2; }
  bench() { "$bin/runtimed" bench "$@" >>"$work/bench.log" 2>&1; }
  # warm_runs KEY ENDPOINT FUNCTION: c=1, 8, 32, each measured run after an uncounted one at the
  # same concurrency (new environments, worker threads or connections are not in the figure).
  warm_runs() {
    for c in 1 8 32; do
      say "$1 warm, concurrency $c"
      bench warm --endpoint "$2" --function "$3" --count "$WARMUP" --concurrency $c
      bench warm --endpoint "$2" --function "$3" --count "$COUNT" --concurrency $c \
        --json "$work/res/$1-c$c.json"
    done
  }

  mkdir -p "$work/res"
  uptime >"$work/res/load-start"
  # Baselines: the client alone against a bare loopback server in its own process, and a bare
  # node starting and importing the handler.
  "$bin/runtimed" bench overhead >"$work/res/overhead.txt"
  for i in $(seq 1 5); do
    s=$(date +%s%N)
    node -e 'import(process.argv[1])' "$work/fn/handler.mjs"
    echo $((($(date +%s%N) - s) / 1000)) >>"$work/res/bare-node-us"
  done

  say "runtimed: starting a daemon"
  # runtimed: its own daemon, state dir and cgroup parent; functions without a network.
  "$bin/runtimed" serve --listen 127.0.0.1:$rt_port --state-dir "$work/state" --network none \
    --cgroup-parent "$parent" --stem-cells 1 >"$work/daemon.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1 150); do
    curl -fs "http://127.0.0.1:$rt_port/runtimed/v1/health" >/dev/null && break
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log" >&2; exit 1; }
    sleep 0.1
  done
  "$bin/runtimed" create echo --endpoint "http://127.0.0.1:$rt_port" --runtime nodejs20.x \
    --handler handler.handler --code "$work/fn" --memory 128 >/dev/null
  warm_runs runtimed "http://127.0.0.1:$rt_port" echo
  # Each cold start once the daemon has refilled its stems (a python and a node interpreter started
  # ahead, docs/runtimes.md), as it has for a new function's first call; back-to-back cold starts
  # faster than that start without one. Spaced so, not by a fixed pause: how long node takes to
  # start varies with the machine's load.
  stems_ready() {
    for _ in $(seq 1 200); do
      curl -fs "http://127.0.0.1:$rt_port/runtimed/v1/health" | grep -Eq '"stems":2[,}]' && return 0
      sleep 0.1
    done
    say "runtimed: the stems were not back within 20 s; a cold start without one"
  }
  say "runtimed: $COLD cold starts"
  for i in $(seq 1 "$COLD"); do
    stems_ready
    bench cold --endpoint "http://127.0.0.1:$rt_port" --function echo --count 1 \
      --json "$work/res/runtimed-cold-$i.json"
  done
  stop_pid "$daemon_pid"
  daemon_pid=
  remove_cgroup_parent

  # serverless-offline, worker threads (its default) and in-process. A cold start is the first
  # call to a freshly started process (its function pool starts empty; in-process, node caches the
  # imported handler, so only a new process loads it again): PEER_COLD processes, one call each
  # with --no-probe, the last process then serving the warm runs.
  export HOME=$work/home SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off
  mkdir -p "$HOME"
  start_sls() {
    (cd "$work/sls" && exec node node_modules/serverless/bin/serverless.js offline start \
      --host 127.0.0.1 "$@") >>"$work/sls.log" 2>&1 &
    sls_pid=$!
    for _ in $(seq 1 1200); do # 120 s: serverless takes 3-15 s to start on a busy machine
      curl -s -o /dev/null "http://127.0.0.1:$sls_port/" && return 0
      kill -0 "$sls_pid" 2>/dev/null || { tail -20 "$work/sls.log" >&2; exit 1; }
      sleep 0.1
    done
    echo "peer_compare: serverless-offline did not listen on $sls_port" >&2
    exit 1
  }
  for mode in default inprocess; do
    flags=()
    [[ $mode == inprocess ]] && flags=(--useInProcess)
    say "serverless-offline $mode: $PEER_COLD fresh processes, a first call each"
    for i in $(seq 1 "$PEER_COLD"); do
      start_sls "${flags[@]}"
      bench warm --no-probe --endpoint "http://127.0.0.1:$sls_port" --function $sls_function \
        --count 1 --json "$work/res/sls-$mode-cold-$i.json"
      ((i == PEER_COLD)) || { stop_pid "$sls_pid"; sls_pid=; }
    done
    warm_runs "sls-$mode" "http://127.0.0.1:$sls_port" $sls_function
    stop_pid "$sls_pid"
    sls_pid=
  done
  uptime >"$work/res/load-end"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Outside: checks, the npm install (it needs the registry), the handler, then the namespace.
[[ $(id -u) -eq 0 ]] || { echo "peer_compare: run as root (runtimed serve, unshare)" >&2; exit 1; }
[[ -x $bin/runtimed ]] || { echo "peer_compare: no $bin/runtimed (build it: README)" >&2; exit 1; }
for tool in node curl unshare ip python3 flock; do
  command -v $tool >/dev/null || { echo "peer_compare: $tool missing (scripts/setup.sh)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/peer-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
npm_dir=${PEER_NPM_DIR:-$work/npm}
status=0
scripts/install-npm-package.sh serverless-offline $SLS_OFFLINE_VERSION "$npm_dir" \
  serverless@$SERVERLESS_VERSION >/dev/null || status=$?
[[ $status -eq 0 ]] || exit $status

# One handler, the same bytes for both hosts.
mkdir -p "$work/fn" "$work/sls"
echo 'export const handler = async (e) => e' >"$work/fn/handler.mjs"
cp "$work/fn/handler.mjs" "$work/sls/handler.mjs"
ln -s "$npm_dir/node_modules" "$work/sls/node_modules"
cat >"$work/sls/serverless.yml" <<'EOF'
service: peer
frameworkVersion: "3"
provider:
  name: aws
  runtime: nodejs20.x
  stage: dev
  region: us-east-1
  memorySize: 128
functions:
  echo:
    handler: handler.handler
plugins:
  - serverless-offline
EOF

lock=()
[[ -n ${BENCH_LOCK:-} ]] && lock=(flock "$BENCH_LOCK")
if ! PEER_WORK=$work "${lock[@]}" unshare --net -- "$self" --in-netns; then
  echo "peer_compare: the run failed; its logs:" >&2
  tail -n 20 "$work/bench.log" "$work/daemon.log" "$work/sls.log" 2>/dev/null >&2 || true
  exit 1
fi

if [[ -n ${PEER_RESULTS:-} ]]; then
  mkdir -p "$PEER_RESULTS"
  cp -r "$work/res/." "$PEER_RESULTS/"
  cp "$work"/*.log "$PEER_RESULTS/" 2>/dev/null || true
fi

# The table, from this run's JSON.
python3 - "$work/res" "$COUNT" "$WARMUP" "$COLD" "$PEER_COLD" "$(node --version)" <<'EOF'
import json, statistics, sys, pathlib, datetime
res, count, warmup, cold, peer_cold, node = pathlib.Path(sys.argv[1]), *sys.argv[2:]

def summary(name):
    return json.loads((res / name).read_text())["summary"]

def warm(key, c):
    s = summary(f"{key}-c{c}.json")
    return s, s["rate"], s["all"]["p50"], s["all"]["p99"], s["errors"] + s["throttles"]

def rate(r):
    return f"{r / 1000:.1f}k" if r >= 1000 else f"{r:.0f}"

rows = []
failures = []
hosts = [
    ("runtimed, nodejs20.x", "runtimed", "sandboxed process per environment (cgroup, namespaces, seccomp)"),
    ("serverless-offline, default", "sls-default", "worker thread per function instance, no limits"),
    ("serverless-offline, in-process", "sls-inprocess", "none (the handler runs in its process)"),
]
for label, key, isolation in hosts:
    figures = {c: warm(key, c) for c in (1, 8, 32)}
    for c, f in figures.items():
        if f[4]:
            failures.append(f"{label} c={c}: {f[4]} errors or 429s of {count}")
    if key == "runtimed":
        runs = [summary(f"runtimed-cold-{i}.json") for i in range(1, int(cold) + 1)]
        not_cold = sum(1 for s in runs if s["cold"]["count"] != 1)
        if not_cold:
            failures.append(f"{label}: {not_cold} of {len(runs)} cold calls had no Init Duration")
        firsts = [s["all"]["p50"] for s in runs]
        how = "drains"
    else:
        firsts = [summary(f"{key}-cold-{i}.json")["all"]["p50"] for i in range(1, int(peer_cold) + 1)]
        how = "fresh processes"
    cold_text = (f"{statistics.median(firsts):.1f} ms ({min(firsts):.1f}-{max(firsts):.1f}, "
                 f"{len(firsts)} {how})")
    rows.append(f"| {label} | {isolation} | {figures[1][2]:.2f} ms | "
                f"{rate(figures[8][1])} / {rate(figures[32][1])}, p99 {figures[32][3]:.1f} ms at c=32 | "
                f"{cold_text} |")

bare = sorted(int(x) / 1000 for x in (res / "bare-node-us").read_text().split())
print(f"runtimed vs serverless-offline 13.10.1, {datetime.date.today()}, node {node}, "
      f"{count} calls per warm run after {warmup} uncounted")
print(f"load at start: {(res / 'load-start').read_text().strip()}")
print(f"load at end:   {(res / 'load-end').read_text().strip()}")
print()
print("| host | isolation | c=1 p50 | invocations/s c=8 / c=32 | cold start |")
print("|---|---|---|---|---|")
print("\n".join(rows))
print()
print("baselines:")
for line in (res / "overhead.txt").read_text().splitlines():
    if line.strip():
        print(" ", line.strip())
print(f"  bare node starting and importing the handler: {statistics.median(bare):.1f} ms p50 of "
      f"{len(bare)}")
for f in failures:
    print("FAILED CALLS:", f)
sys.exit(1 if failures else 0)
EOF
