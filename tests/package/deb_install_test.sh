#!/usr/bin/env bash
# The Debian package, installed and used as a service: builds it (scripts/package.sh) unless
# RUNTIMED_DEB names one, installs it with apt-get (offline), checks where its files landed and what
# its maintainer scripts did, then starts the daemon exactly as systemd would from the installed
# unit (PID 1 is not systemd on CI's machine, so the test reads Environment=, EnvironmentFile=,
# ExecStart= and LimitNOFILE= and runs that command), configured through /etc/default/runtimed as a
# user would (its own state dir, a loopback port the OS picks). Through the installed CLI it creates
# and invokes a python and a node function, sends SIGTERM during an invocation and expects that
# invocation to finish and the daemon to exit 0 within TimeoutStopSec; reinstalls (the upgrade
# path of the maintainer scripts) and finds the function still there; then it purges the package
# and checks nothing is left. The package is purged whatever happens.
#   tests/package/deb_install_test.sh SOURCE_DIR        (ctest -L package)
set -euo pipefail
src=$(cd "${1:?usage: deb_install_test.sh SOURCE_DIR}" && pwd)
unit=/lib/systemd/system/runtimed.service
defaults=/etc/default/runtimed

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }
# Running (a child that exited stays a zombie until waited for, and kill -0 still finds it).
alive() { [ -e "/proc/$1" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ]; }

[ "$(id -u)" -eq 0 ] || { echo "SKIP: installing a package needs root"; exit 77; }

# The package first: building needs no lock (its build dir is this checkout's own).
deb=${RUNTIMED_DEB:-}
if [ -z "$deb" ]; then
  step "building the package (scripts/package.sh)"
  start=$(date +%s)
  deb=$("$src/scripts/package.sh" | tail -n 1) || fail "scripts/package.sh failed"
  echo "built $deb in $(($(date +%s) - start)) s"
fi

# One package test per host at a time: the package, /usr/bin/runtimed and /var/lib/runtimed are
# host-wide. Another one's install-to-purge takes seconds.
exec 9>/run/lock/runtimed-deb-install-test.lock
flock -w 300 9 || fail "another package test held /run/lock/runtimed-deb-install-test.lock for 5 min"

package_state() { dpkg-query -W -f='${db:Status-Status}' runtimed 2>/dev/null || true; }
# Never remove what this test did not install: an installed (or removed but not purged) runtimed,
# a runtimed installed by hand in /usr, or someone's state in the default state dir.
state=$(package_state)
case "$state" in
  "" | not-installed) ;;
  *) fail "the runtimed package is already on this host ($state); this test installs and purges it" ;;
esac
for f in /usr/bin/runtimed /usr/bin/runtimed-init /var/lib/runtimed "$defaults" "$unit"; do
  [ ! -e "$f" ] || fail "$f exists without the package; this test's purge would remove it"
done

tmp=$(mktemp -d /tmp/rt-deb-test.XXXXXX)
chmod 0755 "$tmp"  # functions' code is read by the environments' own uids
daemon_pid=""
daemon_log=""
installed=0
cleanup() {
  local rc=$?
  set +e
  if [ -n "$daemon_pid" ] && alive "$daemon_pid"; then
    kill -TERM "$daemon_pid"
    for _ in $(seq 100); do alive "$daemon_pid" || break; sleep 0.1; done
    kill -KILL "$daemon_pid" 2>/dev/null
    wait "$daemon_pid" 2>/dev/null
  fi
  if [ "$installed" = 1 ] && ! [[ "$(package_state)" =~ ^(not-installed)?$ ]]; then
    echo "cleanup: purging the runtimed package"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o DPkg::Lock::Timeout=300 runtimed \
      >/dev/null 2>&1 || dpkg --purge runtimed >/dev/null 2>&1
  fi
  [ "$rc" -eq 0 ] || { [ -f "${daemon_log:-}" ] && tail -n 40 "$daemon_log" >&2; }
  rm -rf --one-file-system "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the package ----------------------------------------------------------------------------------
[ -f "$deb" ] || fail "no package at '$deb'"
deb=$(realpath "$deb")
[ "$(dpkg-deb -f "$deb" Package)" = runtimed ] || fail "$deb is not the runtimed package"
depends=$(dpkg-deb -f "$deb" Depends)
recommends=$(dpkg-deb -f "$deb" Recommends)
echo "Depends: $depends"
echo "Recommends: $recommends"
# dpkg-shlibdeps computed the libraries' packages; the programs the daemon runs are listed.
names() { sed 's/ ([^)]*)//g; s/, */\n/g' <<<"$1"; }  # package names, one a line
for p in libc6 libstdc++6 libseccomp2 libsqlite3-0 libarchive13 e2fsprogs; do
  names "$depends" | grep -qxF "$p" || fail "Depends lacks $p: $depends"
done
for p in python3 nodejs; do
  names "$recommends" | grep -qxF "$p" || fail "Recommends lacks $p: $recommends"
done
# Built without sanitizers: the daemon links no libasan/libubsan, and is stripped.
dpkg-deb -x "$deb" "$tmp/contents"
dynamic=$(readelf -d "$tmp/contents/usr/bin/runtimed") || fail "readelf on the packaged runtimed"
grep -q 'NEEDED.*libc\.so' <<<"$dynamic" || fail "readelf shows no libc in the packaged runtimed"
! grep -Eq 'NEEDED.*lib(a|ub)san' <<<"$dynamic" || fail "the packaged runtimed is a sanitizer build"
sections=$(readelf -S "$tmp/contents/usr/bin/runtimed") || fail "readelf -S on the packaged runtimed"
! grep -q '\.debug_info' <<<"$sections" || fail "the packaged runtimed is not stripped"

step "apt-get install $deb"
installed=1
# Nothing may be fetched from the network: apt's plan must install this package and nothing else
# (scripts/setup.sh installs what it depends on and recommends).
plan=$(apt-get install -s -q "$deb" 2>&1) || { echo "$plan" >&2; fail "apt-get cannot install it"; }
others=$(sed -n 's/^Inst \([^ ]*\).*/\1/p' <<<"$plan" | grep -vx runtimed || true)
[ -z "$others" ] || fail "installing would download ${others//$'\n'/ } (run scripts/setup.sh)"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 "$deb" \
  >"$tmp/apt-install.log" 2>&1 ||
  { cat "$tmp/apt-install.log" >&2; fail "apt-get install failed"; }
[ "$(package_state)" = installed ] || fail "package state after install: $(package_state)"

for f in /usr/bin/runtimed /usr/bin/runtimed-init /usr/share/runtimed/runtimes/shell/bootstrap; do
  [ -x "$f" ] || fail "$f missing or not executable"
done
for f in /usr/share/runtimed/runtimes/python/bootstrap.py \
  /usr/share/runtimed/runtimes/nodejs/bootstrap.cjs \
  /usr/share/runtimed/runtimes/cpp/lambda_runtime.hpp "$unit" "$defaults"; do
  [ -f "$f" ] || fail "$f missing"
done
dpkg-query -W -f='${Conffiles}' runtimed | grep -q "^ $defaults " || fail "$defaults is no conffile"
/usr/bin/runtimed --version | grep -qx "runtimed [0-9][0-9.]*" || fail "runtimed --version"
# postinst: the default state dir (0700), and the unit enabled by deb-systemd-helper even though
# systemd is not running (it only writes the symlink and its own state).
[ "$(stat -c %a /var/lib/runtimed)" = 700 ] || fail "/var/lib/runtimed not created 0700"
wants=/etc/systemd/system/multi-user.target.wants/runtimed.service
[ "$(readlink "$wants")" = "$unit" ] || fail "$wants is not a link to $unit (not enabled)"
# systemd's own reading of the unit (scripts/setup.sh installs systemd; it need not be running).
systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"

# --- the unit, read as systemd reads it -------------------------------------------------------------
service=$(sed -n '/^\[Service\]/,/^\[/p' "$unit")
directive() { sed -n "s/^$1=//p" <<<"$service"; }
[ "$(directive KillMode)" = mixed ] || fail "KillMode is not mixed"
[ "$(directive Delegate)" = yes ] || fail "Delegate is not yes"
[ "$(directive StateDirectory)" = runtimed ] || fail "StateDirectory is not runtimed"
stop_timeout=$(directive TimeoutStopSec)
[[ "$stop_timeout" =~ ^[0-9]+$ ]] || fail "TimeoutStopSec '$stop_timeout' is not plain seconds"
nofile=$(directive LimitNOFILE)
[[ "$nofile" =~ ^[0-9]+$ ]] || fail "LimitNOFILE '$nofile' is not a number"

# As shipped, the state dir is /var/lib/runtimed: the unit's default, which the package's
# /etc/default/runtimed leaves alone.
[ "$(directive Environment)" = RUNTIMED_STATE_DIR=/var/lib/runtimed ] ||
  fail "the unit's default state dir is not /var/lib/runtimed"
if grep -q '^[[:space:]]*RUNTIMED_STATE_DIR=' "$defaults"; then
  fail "the shipped $defaults sets RUNTIMED_STATE_DIR"
fi

# The user's configuration, in the file the unit reads: this test's own state dir and a loopback
# port the OS just handed out (serve takes no port 0).
state_dir="$tmp/state"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$defaults" <<EOF
# written by tests/package/deb_install_test.sh
RUNTIMED_STATE_DIR=$state_dir
RUNTIMED_OPTS="--listen 127.0.0.1:$port --log-level info --drain-timeout 20"
EOF

# systemd: every Environment= first, then the EnvironmentFile=s (a leading '-': may be missing).
declare -A env=()
assign() {
  [[ "$1" =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || fail "cannot read assignment '$1'"
  local key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
  if [[ "$value" =~ ^\"(.*)\"$ ]] || [[ "$value" =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
  env[$key]=$value
}
while IFS= read -r a; do
  [[ "$a" != *[\"\'\ ]* ]] || fail "Environment=$a: quoting or several assignments not handled"
  assign "$a"
done < <(directive Environment)
while IFS= read -r f; do
  optional=0
  [[ "$f" == -* ]] && { optional=1; f=${f#-}; }
  if [ ! -f "$f" ]; then
    [ "$optional" = 1 ] || fail "EnvironmentFile $f missing"
    continue
  fi
  while IFS= read -r line || [ -n "$line" ]; do
    [[ "$line" =~ ^[[:space:]]*([#\;].*)?$ ]] && continue
    assign "$line"
  done <"$f"
done < <(directive EnvironmentFile)
[ "${env[RUNTIMED_STATE_DIR]:-}" = "$state_dir" ] || fail "$defaults did not set the state dir"

# ExecStart: ${VAR} becomes one argument, $VAR is split at whitespace.
exec_start=$(directive ExecStart)
[ "$(wc -l <<<"$exec_start")" = 1 ] || fail "one ExecStart expected"
[[ "$exec_start" != *[\"\'\\]* ]] || fail "ExecStart quoting is not handled: $exec_start"
argv=()
read -ra words <<<"$exec_start"
for w in "${words[@]}"; do
  if [[ "$w" =~ ^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$ ]]; then
    argv+=("${env[${BASH_REMATCH[1]}]:-}")
  elif [[ "$w" =~ ^\$([A-Za-z_][A-Za-z0-9_]*)$ ]]; then
    read -ra split <<<"${env[${BASH_REMATCH[1]}]:-}"
    argv+=("${split[@]}")
  elif [[ "$w" == *'$'* ]]; then
    fail "ExecStart word '$w' not handled"
  else
    argv+=("$w")
  fi
done
[[ "${argv[0]}" == /* ]] || fail "ExecStart '${argv[0]}' is not an absolute path (or has a prefix)"
[ "${argv[0]}" = /usr/bin/runtimed ] || fail "ExecStart runs ${argv[0]}, not /usr/bin/runtimed"
echo "ExecStart: ${argv[*]}"

# As systemd starts a service: its own session, cwd /, stdin /dev/null, umask 0022, the unit's
# environment only, LimitNOFILE as soft and hard limit.
# Raising the hard limit needs CAP_SYS_RESOURCE, which systemd has and a container may not.
if (ulimit -Hn "$nofile") 2>/dev/null; then
  nofile_set=$nofile
else
  nofile_set=$(ulimit -Hn)
  echo "(no CAP_SYS_RESOURCE here: LimitNOFILE=$nofile applied as the hard limit $nofile_set)"
fi
envp=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
for k in "${!env[@]}"; do envp+=("$k=${env[$k]}"); done
# Starts the unit's command as systemd would; the daemon's pid in daemon_pid, its stderr in LOG.
start_service() {
  local log=$1
  (
    ulimit -Hn "$nofile_set" && ulimit -Sn "$nofile_set"
    umask 0022
    cd /
    exec setsid env -i "${envp[@]}" "${argv[@]}"
  ) </dev/null >"$log" 2>&1 &
  daemon_pid=$!
  daemon_log=$log
  local listening=""
  for _ in $(seq 300); do
    listening=$(grep "^runtimed: listening on " "$log" || true)
    [ -n "$listening" ] && break
    alive "$daemon_pid" || fail "the daemon exited at start"
    sleep 0.1
  done
  [ -n "$listening" ] || fail "the daemon did not listen within 30 s"
  [[ "$listening" == "runtimed: listening on http://127.0.0.1:$port "* ]] ||
    fail "not the port from $defaults: $listening"
  [ "$(readlink "/proc/$daemon_pid/exe")" = /usr/bin/runtimed ] || fail "pid $daemon_pid is not runtimed"
  grep -q "state dir $state_dir)" "$log" || fail "the daemon did not use $state_dir"
  grep -q "managed runtimes from /usr/share/runtimed/runtimes, sandbox init /usr/bin/runtimed-init" \
    "$log" || fail "the installed daemon did not use the installed runtimes and init"
  [ "$(awk '/^Max open files/ {print $4}' "/proc/$daemon_pid/limits")" = "$nofile_set" ] ||
    fail "the daemon's open-file limit is not LimitNOFILE"
}

# systemctl stop with KillMode=mixed: SIGTERM to the daemon alone; it must exit 0 (else systemd
# calls the stop a failure) within TimeoutStopSec, having drained.
stop_service() {
  local stop_start status=0
  stop_start=$(date +%s%N)
  kill -TERM "$daemon_pid"
  for _ in $(seq $((stop_timeout * 10))); do alive "$daemon_pid" || break; sleep 0.1; done
  if alive "$daemon_pid"; then
    fail "the daemon did not exit within TimeoutStopSec=$stop_timeout s of SIGTERM"
  fi
  wait "$daemon_pid" || status=$?
  daemon_pid=""
  echo "stopped in $((($(date +%s%N) - stop_start) / 1000000)) ms"
  [ "$status" -eq 0 ] || fail "the daemon exited $status after SIGTERM"
  grep -q "runtimed: SIGTERM, draining" "$daemon_log" || fail "no drain after SIGTERM"
  if grep -q " $state_dir/" /proc/self/mountinfo; then fail "mounts left under $state_dir"; fi
}

step "starting the installed service's command"
start_service "$tmp/daemon.log"

# --- functions through the installed CLI ----------------------------------------------------------------
endpoint=http://127.0.0.1:$port
rt() { /usr/bin/runtimed "$@" --endpoint "$endpoint"; }
expect_json() {  # expect_json ACTUAL EXPECTED: equal as JSON
  python3 -c 'import json,sys; a,b=json.loads(sys.argv[1]),json.loads(sys.argv[2]); sys.exit(a!=b)' \
    "$1" "$2" || fail "got $1, expected $2"
}

step "python3.12 function"
mkdir -p "$tmp/py"
cat >"$tmp/py/app.py" <<'EOF'
import time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"sum": event["a"] + event["b"], "runtime": "python"}
EOF
rt create adder-py --runtime python3.12 --handler app.handler --code "$tmp/py" >/dev/null
expect_json "$(rt invoke adder-py --payload '{"a":2,"b":40}')" '{"sum":42,"runtime":"python"}'

if [ -x /usr/bin/node ]; then
  step "nodejs20.x function"
  mkdir -p "$tmp/node"
  echo 'export const handler = async (e) => ({ sum: e.a + e.b, runtime: "node" });' \
    >"$tmp/node/app.mjs"
  rt create adder-node --runtime nodejs20.x --handler app.handler --code "$tmp/node" >/dev/null
  expect_json "$(rt invoke adder-node --payload '{"a":1,"b":2}')" '{"sum":3,"runtime":"node"}'
else
  echo "(no /usr/bin/node: the package only recommends nodejs; node function not tried)"
fi

# --- SIGTERM drains ---------------------------------------------------------------------------------------
step "SIGTERM during an invocation"
rt invoke adder-py --payload '{"a":1,"b":1,"sleep":2}' >"$tmp/inflight.out" 2>"$tmp/inflight.err" &
inflight=$!
# Sent once the invocation runs: its START line is the second in the function's log.
for _ in $(seq 100); do
  [ "$(rt logs adder-py --all 2>/dev/null | grep -c '^START RequestId')" -ge 2 ] && break
  sleep 0.05
done
[ "$(rt logs adder-py --all | grep -c '^START RequestId')" -ge 2 ] || fail "invocation not started"
stop_service
wait "$inflight" || fail "the invocation running at SIGTERM failed: $(cat "$tmp/inflight.err")"
expect_json "$(cat "$tmp/inflight.out")" '{"sum":2,"runtime":"python"}'

# --- upgrade path ---------------------------------------------------------------------------------------
# Installing the package again runs prerm upgrade and postinst configure <version>, as an upgrade
# does: the user's /etc/default/runtimed is kept (no conffile prompt: stdin is /dev/null) and the
# state dir's functions survive into the next start.
step "apt-get install --reinstall, then the service again"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall -o DPkg::Lock::Timeout=300 \
  "$deb" </dev/null >"$tmp/apt-reinstall.log" 2>&1 ||
  { cat "$tmp/apt-reinstall.log" >&2; fail "apt-get install --reinstall failed"; }
grep -q "^RUNTIMED_STATE_DIR=$state_dir$" "$defaults" || fail "reinstalling replaced $defaults"
start_service "$tmp/daemon-2.log"
expect_json "$(rt invoke adder-py --payload '{"a":20,"b":22}')" '{"sum":42,"runtime":"python"}'
stop_service

# --- purge --------------------------------------------------------------------------------------------------
step "apt-get purge runtimed"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o DPkg::Lock::Timeout=300 runtimed \
  >"$tmp/apt-purge.log" 2>&1 || { cat "$tmp/apt-purge.log" >&2; fail "apt-get purge failed"; }
installed=0
state=$(package_state)
case "$state" in "" | not-installed) ;; *) fail "package state after purge: $state" ;; esac
for f in /usr/bin/runtimed /usr/bin/runtimed-init /usr/share/runtimed "$unit" "$defaults" \
  /var/lib/runtimed "$wants" /etc/systemd/system/runtimed.service; do
  if [ -e "$f" ] || [ -L "$f" ]; then fail "$f left after purge"; fi
done
# deb-systemd-helper's record of the enabled unit went with the purge too.
if grep -rqs runtimed.service /var/lib/systemd/deb-systemd-helper-enabled; then
  fail "deb-systemd-helper still records runtimed.service after purge"
fi
echo "PASS"
