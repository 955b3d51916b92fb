#!/usr/bin/env bash
# Soak: starts the real daemon (build-rel/bin/runtimed serve on 127.0.0.1, a temp --state-dir),
# deploys the static C test runtime (tests/functions/c_runtime.c) as several functions and runs
# mixed load for N minutes: sync and Event invocations, 429s (reserved concurrency 1 + parallel
# calls), crashes, OOMs, timeouts, code and configuration updates, deletes and re-creates. Every
# 10 s it samples the daemon's fds, RSS, environments, cgroups, loop devices and mounts. At the end
# it checks: no growth after warm-up, no 5xx (nor a failed connection), no lost Event invocation
# (accepted = executed + dead-lettered), and after deleting everything no environment, cgroup, loop
# device or mount beyond the prepared pool. Prints a table; exits non-zero when a check fails.
#   scripts/soak.sh [minutes, default 10]      (as root; BUILD_DIR=build-rel by default)
# It stops by itself, kills only the daemon it started (by pid) and removes its state dir.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
build=${BUILD_DIR:-build-rel}
bin=$build/bin
for b in runtimed runtimed-init fn-c_runtime; do
  [[ -x $bin/$b ]] || { echo "soak: $bin/$b missing: cmake --build $build --target $b" >&2; exit 2; }
done
command -v curl >/dev/null && command -v zip >/dev/null || { echo "soak: needs curl, zip" >&2; exit 2; }

port=${SOAK_PORT:-$((20000 + $$ % 20000))}
url=http://127.0.0.1:$port
account=123456789012
region=us-east-1
work=$(mktemp -d /tmp/runtimed-soak.XXXXXX)
state=$work/state
parent=soak$$
prepared=2
daemon_pid=
loader_pids=()

cleanup() {
  for p in "${loader_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$daemon_pid" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the daemon ------------------------------------------------------------------------------
"$bin/runtimed" serve --listen "127.0.0.1:$port" --state-dir "$state" --region $region \
  --account-id $account --cgroup-parent "$parent" --prepared-pool $prepared --keep-alive 30 \
  --memory-budget-mb 3072 --async-retry-delays 1,1 --async-backoff 1 --log-level warn \
  >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 100); do
  curl -fs "$url/runtimed/v1/health" >/dev/null 2>&1 && break
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log" >&2; exit 1; }
  sleep 0.1
done

# --- functions -------------------------------------------------------------------------------
mkdir -p "$work/code"
cp "$bin/fn-c_runtime" "$work/code/bootstrap"
make_zip() {  # make_zip OUT [version]: bootstrap plus a version file (a new version = new code)
  echo "${2:-0}" >"$work/code/version.txt"
  (cd "$work/code" && rm -f "$1" && zip -q -X "$1" bootstrap version.txt)
}
make_zip "$work/v0.zip" 0
api() {  # api METHOD PATH [BODY-FILE] -> prints the status code; body in $work/last.json
  local args=(-s -o "$work/last.json" -w '%{http_code}' -X "$1" "$url$2")
  [[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "@$3")
  curl "${args[@]}" || echo 000
}
create_function() {  # create_function NAME MEMORY TIMEOUT ZIP [extra JSON fields]
  local body=$work/create-$1.json
  printf '{"FunctionName":"%s","Runtime":"provided.al2023","Role":"arn:aws:iam::%s:role/soak","Handler":"x","MemorySize":%s,"Timeout":%s%s,"Code":{"ZipFile":"%s"}}' \
    "$1" $account "$2" "$3" "${5:-}" "$(base64 -w0 "$4")" >"$body"
  local code
  code=$(api POST /2015-03-31/functions "$body")
  [[ $code == 201 ]] || { echo "soak: create $1: $code $(cat "$work/last.json")" >&2; return 1; }
}
dlq=soak-dlq
create_function echo 128 3 "$work/v0.zip"
create_function reserved 128 5 "$work/v0.zip"
create_function crash 128 3 "$work/v0.zip"
create_function oom 128 10 "$work/v0.zip"
create_function timeout 128 1 "$work/v0.zip"
create_function churn 128 3 "$work/v0.zip"
create_function event 128 3 "$work/v0.zip" \
  ",\"DeadLetterConfig\":{\"TargetArn\":\"arn:aws:sqs:$region:$account:$dlq\"}"
echo '{"ReservedConcurrentExecutions":1}' >"$work/res.json"
[[ $(api PUT /2017-10-31/functions/reserved/concurrency "$work/res.json") == 200 ]]
# A failing event goes to the DLQ at once: no retry, so the count settles within the run.
echo '{"MaximumRetryAttempts":0}' >"$work/eic.json"
[[ $(api PUT /2019-09-25/functions/event/event-invoke-config "$work/eic.json") == 200 ]]

# --- load --------------------------------------------------------------------------------------
codes=$work/codes.log  # "<kind> <status>" per request, appended by every loader
deadline=$(($(date +%s) + minutes * 60))
invoke() {  # invoke KIND FUNCTION PAYLOAD: logs "KIND[:errorType] STATUS"
  local c body=$work/body.$BASHPID et
  c=$(curl -s -o "$body" -w '%{http_code}' -m 30 -X POST --data-binary "$3" \
    "$url/2015-03-31/functions/$2/invocations") || c=000
  et=$(grep -o '"errorType":"[^"]*"' "$body" 2>/dev/null | head -1 | cut -d'"' -f4 || true)
  echo "$1${et:+:$et} $c" >>"$codes"
}
loop() {  # loop SLEEP CMD...: runs CMD until the deadline
  local s=$1
  shift
  while (($(date +%s) < deadline)); do "$@"; sleep "$s"; done
}
loader() { loop "$@" & loader_pids+=($!); }

loader 0 invoke sync echo '{"action":"echo","n":1}'
loader 0.05 invoke sync echo '{"action":"print","text":"hello"}'
for _ in 1 2 3; do loader 0 invoke reserved reserved '{"action":"sleep","ms":200}'; done
loader 1 invoke crash crash '{"action":"crash"}'
loader 2 invoke crash crash '{"action":"abort"}'
loader 4 invoke oom oom '{"action":"oom"}'
loader 4 invoke timeout timeout '{"action":"sleep","ms":3000}'
events() {  # one Event: 4 in 5 print a unique token (counted in the log), 1 in 5 fail (DLQ)
  local n=$((++event_n)) c
  if ((n % 5 == 0)); then
    c=$(curl -s -o /dev/null -w '%{http_code}' -m 30 -X POST -H 'X-Amz-Invocation-Type: Event' \
      --data-binary '{"action":"error"}' "$url/2015-03-31/functions/event/invocations") || c=000
    echo "event-fail $c" >>"$codes"
  else
    c=$(curl -s -o /dev/null -w '%{http_code}' -m 30 -X POST -H 'X-Amz-Invocation-Type: Event' \
      --data-binary "{\"action\":\"print\",\"text\":\"EVT-$n-END\"}" \
      "$url/2015-03-31/functions/event/invocations") || c=000
    echo "event-ok $c" >>"$codes"
  fi
}
event_n=0
loader 0.1 events
churn() {  # update code, update configuration, invoke; every third round delete and re-create
  local n=$((++churn_n)) c
  make_zip "$work/churn.zip" "$n"
  printf '{"ZipFile":"%s"}' "$(base64 -w0 "$work/churn.zip")" >"$work/churn-code.json"
  echo "churn-code $(api PUT /2015-03-31/functions/churn/code "$work/churn-code.json")" >>"$codes"
  printf '{"Environment":{"Variables":{"ROUND":"%s"}},"MemorySize":%s}' "$n" $((128 + n % 2 * 64)) \
    >"$work/churn-conf.json"
  echo "churn-conf $(api PUT /2015-03-31/functions/churn/configuration "$work/churn-conf.json")" \
    >>"$codes"
  for _ in 1 2 3; do invoke churn-invoke churn '{"action":"echo"}'; done
  if ((n % 3 == 0)); then
    echo "churn-delete $(api DELETE /2015-03-31/functions/churn)" >>"$codes"
    c=$(api POST /2015-03-31/functions "$work/create-churn.json")
    echo "churn-create $c" >>"$codes"
  fi
}
churn_n=0
loader 5 churn

# --- sampling ----------------------------------------------------------------------------------
cg_dirs() {  # environment cgroups (directories under the daemon's --cgroup-parent), all controllers
  find /sys/fs/cgroup -mindepth 2 -type d -path "*/$parent/*" 2>/dev/null | wc -l
}
sample() {  # t fds rss_kb envs prepared cgroups loops mounts
  local h envs prep
  h=$(curl -s -m 5 "$url/runtimed/v1/health" || true)
  envs=$(sed -n 's/.*"environments":\([0-9]*\).*/\1/p' <<<"$h")
  prep=$(sed -n 's/.*"prepared":\([0-9]*\).*/\1/p' <<<"$h")
  printf '%s %s %s %s %s %s %s %s\n' "$(($(date +%s) - start))" \
    "$(ls "/proc/$daemon_pid/fd" | wc -l)" \
    "$(awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status")" "${envs:-?}" "${prep:-?}" \
    "$(cg_dirs)" "$(losetup -a | grep -c "$state" || true)" \
    "$(grep -c " $state" "/proc/$daemon_pid/mountinfo" || true)"
}
start=$(date +%s)
samples=$work/samples
echo "soak: $minutes min of load on $url (daemon pid $daemon_pid, state $state)"
printf '%6s %6s %9s %5s %5s %7s %6s %6s\n' t_s fds rss_kb envs prep cgroups loops mounts
while (($(date +%s) < deadline)); do
  sample | tee -a "$samples" | awk '{printf "%6s %6s %9s %5s %5s %7s %6s %6s\n",$1,$2,$3,$4,$5,$6,$7,$8}'
  kill -0 "$daemon_pid" 2>/dev/null || { echo "soak: the daemon died" >&2; tail -50 "$work/daemon.log" >&2; exit 1; }
  sleep 10
done
for p in "${loader_pids[@]}"; do wait "$p" 2>/dev/null || true; done
loader_pids=()

# --- settle: every accepted event runs or is dead-lettered --------------------------------------
for _ in $(seq 1 90); do
  b=$(curl -s "$url/runtimed/v1/functions/event/async")
  q=$(sed -n 's/.*"Queued":\([0-9]*\).*/\1/p' <<<"$b")
  f=$(sed -n 's/.*"InFlight":\([0-9]*\).*/\1/p' <<<"$b")
  r=$(sed -n 's/.*"Retrying":\([0-9]*\).*/\1/p' <<<"$b")
  [[ "${q:-1}${f:-1}${r:-1}" == 000 ]] && break
  sleep 1
done
echo "soak: event backlog at the end: $b"
# Executed: distinct EVT-n-END tokens in the function's log, read in 1 MiB pages.
offset=0
: >"$work/event.log"
while :; do
  curl -s -D "$work/logs.hdr" "$url/runtimed/v1/functions/event/logs?offset=$offset" \
    -o "$work/page" || break
  [[ -s $work/page ]] || break
  cat "$work/page" >>"$work/event.log"
  offset=$(tr -d '\r' <"$work/logs.hdr" | sed -n 's/^[Xx]-[Rr]untimed-[Ll]og-[Oo]ffset: *//p')
done
executed=$(grep -o 'EVT-[0-9]*-END' "$work/event.log" | sort -u | wc -l)
queues=$(curl -s "$url/runtimed/v1/queues")
dlqd=$(sed -n "s/.*\"Name\":\"$dlq\"[^}]*\"ApproximateNumberOfMessages\":\([0-9]*\).*/\1/p" <<<"$queues")
[[ -n $dlqd ]] || dlqd=$(grep -o '"ApproximateNumberOfMessages":[0-9]*' <<<"$queues" | head -1 | cut -d: -f2)
accepted_ok=$(grep -c '^event-ok 202$' "$codes" || true)
accepted_fail=$(grep -c '^event-fail 202$' "$codes" || true)

# --- quiesce: delete everything; what is left must be the prepared pool --------------------------
for f in echo reserved crash oom timeout churn event; do api DELETE "/2015-03-31/functions/$f" >/dev/null; done
for _ in $(seq 1 60); do
  read -r _ _ _ envs prep cg loops mounts < <(sample)
  [[ $envs == 0 ]] && break
  sleep 1
done
final=$(sample)

# --- report ------------------------------------------------------------------------------------
echo
echo "requests by kind and status:"
sort "$codes" | uniq -c | sort -k2,2 -k3,3 | awk '{printf "  %-36s %4s %7d\n",$2,$3,$1}'
fails=0
fivexx=$(awk '$2 >= 500 || $2 == "000"' "$codes" | wc -l)
echo "5xx or failed connections: $fivexx"
((fivexx == 0)) || { echo "  FAIL: 5xx"; fails=1; }
echo "events: accepted $((accepted_ok + accepted_fail)) (print $accepted_ok, fail $accepted_fail);" \
  "executed $executed, dead-lettered ${dlqd:-?}"
if [[ $executed != "$accepted_ok" || ${dlqd:-x} != "$accepted_fail" ]]; then
  echo "  FAIL: events lost or duplicated"
  fails=1
fi
# Growth: the last third of the run against the middle third (the first third is warm-up).
n=$(wc -l <"$samples")
awk -v n="$n" '
  { for (i = 2; i <= 8; i++) v[NR, i] = $i }
  END {
    split("t fds rss_kb envs prep cgroups loops mounts", name, " ")
    a = int(n / 3) + 1; b = int(2 * n / 3)
    printf "%-8s %10s %10s %10s  (max of middle third vs last third)\n", "metric", "mid", "last", "verdict"
    bad = 0
    for (i = 2; i <= 8; i++) {
      m = 0; l = 0
      for (r = a; r <= b; r++) if (v[r, i] > m) m = v[r, i]
      for (r = b + 1; r <= n; r++) if (v[r, i] > l) l = v[r, i]
      # RSS: 10% + 8 MiB of slack (allocator arenas); counts: 10% + 8 (load varies per sample).
      slack = i == 3 ? m * 0.10 + 8192 : m * 0.10 + 8
      ok = l <= m + slack
      if (!ok) bad = 1
      printf "%-8s %10s %10s %10s\n", name[i], m, l, ok ? "ok" : "GROWS"
    }
    exit bad
  }' "$samples" || { echo "  FAIL: growth after warm-up"; fails=1; }
read -r _ fds rss envs prep cg loops mounts <<<"$final"
echo "after deleting every function: fds $fds, rss_kb $rss, environments $envs, prepared $prep," \
  "cgroups $cg, loop devices $loops, mounts $mounts"
# What remains is the prepared pool: one /tmp loop device and mount per prepared environment.
if [[ $envs != 0 || $loops -gt $prepared || $mounts -gt $prepared ]]; then
  echo "  FAIL: resources left after deleting every function"
  fails=1
fi
grep -iE 'error|critical' "$work/daemon.log" | sort | uniq -c | sort -rn | head -20 |
  sed 's/^/  daemon log: /' || true
((fails == 0)) && echo "soak: PASS" || echo "soak: FAIL"
exit $fails
