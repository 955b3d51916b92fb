#!/usr/bin/env bash
# Installs every build, test and run dependency from Debian's apt (idempotent).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libseccomp-dev libcgroup-dev libboost-dev libboost-filesystem-dev libboost-system-dev
  libcpp-httplib-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libyaml-cpp-dev              # runtimed deploy parses SAM templates
  libhowardhinnant-date-dev tzdata  # schedules' time zones (GCC 12's <chrono> has no tzdb)
  libgtest-dev libgmock-dev libbenchmark-dev libsqlite3-dev libarchive-dev libssl-dev
  libcurl4-openssl-dev curl zip unzip e2fsprogs util-linux iproute2 procps
  openssl                      # the TLS tests make their CA and certificates with it
  clang-format clang-tidy python3 awscli python3-boto3
  autoconf automake libtool ccache
  lld                          # links the sanitized test build (CMakeLists.txt)
  libnl-route-3-dev libnftables-dev nftables  # environments' networking (nft: tests inspect it)
  clang-16 libclang-rt-16-dev  # the sanitized test build (scripts/test.sh); libFuzzer harnesses
  clang-tidy-16                # scripts/tidy.sh
  prometheus                   # promtool checks the /metrics exposition (never started)
  dpkg-dev file systemd        # scripts/package.sh (dpkg-shlibdeps, file); systemd-analyze in its test
  chromium                     # the web console's end-to-end test (headless, puppeteer-core)
  libpq-dev postgresql-15      # serve --cluster (libpq); its tests start PostgreSQL servers of their own
  libxxhash-dev                # serve --cluster: the stable hash of the ring of nodes
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
elif [ ! -x /usr/bin/node ]; then
  missing+=(nodejs)
fi
# Node's headers, for native addons such as aws-lambda-ric (scripts/build-aws-lambda-ric.sh);
# Debian's nodejs keeps them in libnode-dev, NodeSource's nodejs ships them itself.
if [ ! -f /usr/include/node/node.h ]; then
  missing+=(libnode-dev)
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  # Only promtool is wanted from the prometheus package: a server it started is stopped again.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  # Likewise postgresql-15: the tests run servers of their own (tests/integration/postgres_server.hpp);
  # the cluster the package made and started is stopped, not removed.
  if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
  fi
fi
# Loop devices back each environment's /tmp.
[ -e /dev/loop-control ] || $SUDO modprobe loop 2>/dev/null || true
# puppeteer-core (npm) drives chromium in the console's test; the test also installs it itself.
"$(dirname "$0")/install-puppeteer.sh" >/dev/null ||
  echo "setup: puppeteer-core unavailable (npm); the console's browser tests will say why"
echo "setup: dependencies present"
