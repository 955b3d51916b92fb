// Functions' networking in a real daemon and real sandboxes (docs/networking.md). Nothing leaves
// this machine: the test makes its own "LAN" (a network namespace behind a veth, with an HTTP
// server), and a policy-routing rule sends everything the daemon's environments send beyond the
// host into that namespace, so even a broken rule cannot route a packet out. The metadata address
// 169.254.169.254 lives in that namespace too, and so does the name server of the host's
// resolver path (a loopback one, as systemd-resolved's 127.0.0.53).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/ids.hpp"
#include "tests/integration/daemon_test.hpp"

namespace {

using nlohmann::json;
using testsupport::body_json;
using testsupport::DaemonProcess;
using testsupport::run_command;
using testsupport::TempDir;

constexpr const char* kIp = "/usr/sbin/ip";
constexpr const char* kNft = "/usr/sbin/nft";

// One python module whose handler does what the event asks: list interfaces, fetch a URL, open a
// TCP connection, resolve a name, or listen on a port (from a thread that outlives the call).
const char* kApp = R"PY(import http.client, socket, threading

_listeners = []

def _own_address():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # a UDP connect picks the route; it sends nothing
        return probe.getsockname()[0]
    finally:
        probe.close()

def _failure(e):
    return {"error": type(e).__name__, "errno": getattr(e, "errno", None), "text": str(e)}

def handler(event, context):
    action = event["action"]
    if action == "ifaces":
        return sorted(name for _, name in socket.if_nameindex())
    if action == "get":
        try:
            c = http.client.HTTPConnection(event["host"], event.get("port", 80), timeout=3)
            c.request("GET", event.get("path", "/"))
            r = c.getresponse()
            return {"status": r.status, "body": r.read().decode()}
        except OSError as e:
            return _failure(e)
    if action == "connect":
        try:
            socket.create_connection((event["host"], event["port"]), timeout=event.get("timeout", 3)).close()
            return {"ok": True}
        except OSError as e:
            return _failure(e)
    if action == "resolve":
        try:
            return {"address": socket.gethostbyname(event["name"])}
        except OSError as e:
            return _failure(e)
    if action == "listen":
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("0.0.0.0", event["port"]))
        server.listen(16)
        def accept_forever():
            while True:
                conn, _ = server.accept()
                conn.close()
        threading.Thread(target=accept_forever, daemon=True).start()
        _listeners.append(server)
        return {"address": _own_address()}
    raise ValueError("unknown action " + action)
)PY";

// A UDP name server answering one A record (and NXDOMAIN for any other name).
const char* kNameServer = R"PY(import socket, struct, sys
address, name, answer = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((address, 53))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(512)
    i, labels = 12, []
    while data[i]:
        labels.append(data[i + 1:i + 1 + data[i]].decode())
        i += 1 + data[i]
    qtype = struct.unpack(">H", data[i + 1:i + 3])[0]
    question = data[12:i + 5]
    known = ".".join(labels).lower() == name
    if known and qtype == 1:
        record = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(answer)
        s.sendto(data[:2] + b"\x81\x80" + struct.pack(">HHHH", 1, 1, 0, 0) + question + record, peer)
    else:
        flags = 0x8180 if known else 0x8183
        s.sendto(data[:2] + struct.pack(">HHHHH", flags, 1, 0, 0, 0) + question, peer)
)PY";

void must(const std::vector<std::string>& args) {
  auto run = run_command(args);
  ASSERT_EQ(run.status, 0) << run;
}

// A process run in the background until destroyed (SIGKILL, then reaped).
class Background {
 public:
  explicit Background(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Background() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

 private:
  pid_t pid_ = -1;
};

// Waits until something accepts TCP connections at address:port (or 5 s pass).
bool wait_for_listener(const std::string& address, uint16_t port) {
  for (int i = 0; i < 100; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// A TCP listener on the host (in the test's own process), accepting until destroyed.
class HostListener {
 public:
  HostListener(const std::string& address, uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 16) == 0;
  }
  ~HostListener() { ::close(fd_); }
  bool bound() const { return bound_; }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

class DaemonNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kIp)) << "iproute2 is missing";
    const std::string id = common::random_hex(6);
    // Random /24s: tests of this file run side by side, each with its own bridge and LAN.
    const int a = 1 + static_cast<int>(std::stoul(id.substr(0, 2), nullptr, 16)) % 250;
    const int b = 1 + static_cast<int>(std::stoul(id.substr(2, 2), nullptr, 16)) % 250;
    bridge_ = "rtt" + id;
    cidr_ = "10.231." + std::to_string(a) + ".0/24";
    gateway_ = "10.231." + std::to_string(a) + ".1";
    lan_ns_ = "rtlan" + id;
    lan_host_if_ = "rtlh" + id;
    lan_host_ = "10.232." + std::to_string(b) + ".1";
    lan_server_ = "10.232." + std::to_string(b) + ".2";
    route_table_ = std::to_string(20000 + a * 37 + b);
    resolver_ = "127.0.53." + std::to_string(b);

    must({kIp, "netns", "add", lan_ns_});
    must({kIp, "link", "add", lan_host_if_, "type", "veth", "peer", "name", "lan0", "netns",
          lan_ns_});
    must({kIp, "addr", "add", lan_host_ + "/24", "dev", lan_host_if_});
    must({kIp, "link", "set", lan_host_if_, "up"});
    for (auto& step :
         std::vector<std::vector<std::string>>{{"link", "set", "lo", "up"},
                                               {"link", "set", "lan0", "up"},
                                               {"addr", "add", lan_server_ + "/24", "dev", "lan0"},
                                               {"addr", "add", "169.254.169.254/32", "dev", "lan0"},
                                               {"route", "add", "default", "via", lan_host_}}) {
      std::vector<std::string> args = {kIp, "-n", lan_ns_};
      args.insert(args.end(), step.begin(), step.end());
      must(args);
    }
    // Whatever the environments send past the host goes into the LAN namespace, never out.
    must({kIp, "route", "add", "default", "via", lan_server_, "dev", lan_host_if_, "table",
          route_table_});
    // (iif: only what environments send; the host's own packets to them, from the gateway
    // address, keep the main table.)
    must({kIp, "rule", "add", "from", cidr_, "iif", bridge_, "lookup", route_table_, "priority",
          "100"});

    std::ofstream(www_.path() / "lan.txt") << "hello from the LAN " << id;
    lan_http_ = std::make_unique<Background>(std::vector<std::string>{
        kIp, "netns", "exec", lan_ns_, "/usr/bin/python3", "-m", "http.server", "80", "--bind",
        "0.0.0.0", "--directory", www_.path().string()});
    std::ofstream(www_.path() / "ns.py") << kNameServer;
    std::ofstream(www_.path() / "resolv.conf")
        << "# the host's resolver path, with a loopback name server\nnameserver " << resolver_
        << "\n";
    name_server_ = std::make_unique<Background>(
        std::vector<std::string>{"/usr/bin/python3", (www_.path() / "ns.py").string(), resolver_,
                                 "lan.runtimed.test", lan_server_});
    ASSERT_TRUE(wait_for_listener(lan_server_, 80)) << "the LAN's HTTP server did not start";
  }

  void TearDown() override {
    if (daemon_) stop_and_expect_nothing_left();
    lan_http_.reset();
    name_server_.reset();
    run_command({kIp, "rule", "del", "from", cidr_, "iif", bridge_, "lookup", route_table_,
                 "priority", "100"});
    run_command({kIp, "route", "flush", "table", route_table_});
    run_command({kIp, "link", "del", lan_host_if_});
    run_command({kIp, "netns", "del", lan_ns_});
  }

  std::vector<std::string> network_flags(std::vector<std::string> extra = {}) const {
    std::vector<std::string> flags = {
        "--network",      "bridge", "--network-bridge", bridge_,
        "--network-cidr", cidr_,    "--resolv-conf",    (www_.path() / "resolv.conf").string(),
        "--freeze-after", "60000"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    return flags;
  }
  void start(std::vector<std::string> extra = {}) {
    daemon_ = std::make_unique<DaemonProcess>(network_flags(std::move(extra)));
  }
  void create(const std::string& name, json extra = json::object()) {
    extra["Runtime"] = "python3.12";
    extra["Handler"] = "app.handler";
    extra["Timeout"] = 15;
    ASSERT_EQ(daemon_->create_function(name, extra, testsupport::zip_of({{"app.py", kApp}})), 201)
        << daemon_->daemon_log();
  }
  json call(const std::string& name, const json& event) {
    auto r = daemon_->invoke(name, event.dump());
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer") << daemon_->daemon_log();
    return r ? body_json(r) : json();
  }
  bool bridge_exists() const { return run_command({kIp, "link", "show", bridge_}).status == 0; }
  bool table_exists() const {
    return run_command({kNft, "list", "table", "inet", "runtimed_" + bridge_}).status == 0;
  }
  // The host ends of the environments' veths: the bridge's ports.
  std::vector<std::string> bridge_ports() const {
    auto run = run_command({kIp, "-o", "link", "show", "master", bridge_});
    std::vector<std::string> ports;
    std::istringstream lines(run.out);
    for (std::string line; std::getline(lines, line);) {
      // "12: rve0123456789a@if2: <...>"
      const auto colon = line.find(": ");
      const auto at = line.find_first_of("@:", colon + 2);
      if (colon != std::string::npos && at != std::string::npos)
        ports.push_back(line.substr(colon + 2, at - colon - 2));
    }
    return ports;
  }
  void expect_no_network_left(const std::vector<std::string>& ports = {}) {
    EXPECT_FALSE(bridge_exists()) << bridge_ << " is left";
    EXPECT_FALSE(table_exists()) << "table inet runtimed_" << bridge_ << " is left";
    const std::string lock = "/run/runtimed/net-" + bridge_ + ".lock";
    EXPECT_FALSE(std::filesystem::exists(lock)) << lock << " is left";
    for (const auto& port : ports) EXPECT_TRUE(link_goes_away(port)) << port << " is left";
  }
  // The kernel removes a veth when its namespace goes, a moment (its cleanup work) after the
  // environment's last process: polled for up to 10 s.
  static bool link_goes_away(const std::string& name) {
    for (int i = 0; i < 200; ++i) {
      if (run_command({kIp, "link", "show", name}).status != 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void stop_and_expect_nothing_left() {
    const auto ports = bridge_ports();
    EXPECT_FALSE(ports.empty()) << "the prepared environments have no veth";
    testsupport::expect_clean_stop(*daemon_);
    daemon_.reset();
    expect_no_network_left(ports);
  }

  TempDir www_{"rt-net-www"};
  std::string bridge_, cidr_, gateway_, lan_ns_, lan_host_if_, lan_host_, lan_server_, route_table_,
      resolver_;
  std::unique_ptr<Background> lan_http_, name_server_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(DaemonNetworkTest, AFunctionReachesTheLanAndResolvesThroughTheHostsLoopbackResolver) {
  start();
  create("fetch");
  EXPECT_EQ(call("fetch", {{"action", "ifaces"}}), json::parse(R"(["eth0","lo"])"));
  auto got = call("fetch", {{"action", "get"}, {"host", lan_server_}, {"path", "/lan.txt"}});
  EXPECT_EQ(got["status"], 200) << got.dump();
  EXPECT_EQ(got.value("body", "").rfind("hello from the LAN ", 0), 0u) << got.dump();

  auto resolved = call("fetch", {{"action", "resolve"}, {"name", "lan.runtimed.test"}});
  EXPECT_EQ(resolved["address"], lan_server_) << resolved.dump();
  auto by_name =
      call("fetch", {{"action", "get"}, {"host", "lan.runtimed.test"}, {"path", "/lan.txt"}});
  EXPECT_EQ(by_name["status"], 200) << by_name.dump();
}

TEST_F(DaemonNetworkTest, TheHostMetadataAndOtherEnvironmentsStayUnreachable) {
  const uint16_t allowed = static_cast<uint16_t>(testsupport::free_port());
  const uint16_t closed = static_cast<uint16_t>(testsupport::free_port());
  start({"--allow-host-port", std::to_string(allowed)});
  create("a");
  create("b");
  // Servers on the host's own non-loopback address: one opened by --allow-host-port.
  HostListener open_port(lan_host_, allowed), closed_port(lan_host_, closed);
  ASSERT_TRUE(open_port.bound() && closed_port.bound());
  EXPECT_EQ(call("a", {{"action", "connect"}, {"host", lan_host_}, {"port", allowed}}),
            json({{"ok", true}}));
  auto host = call("a", {{"action", "connect"}, {"host", lan_host_}, {"port", closed}});
  EXPECT_EQ(host["error"], "ConnectionRefusedError") << host.dump();
  auto daemon_port =
      call("a", {{"action", "connect"}, {"host", gateway_}, {"port", daemon_->port()}});
  EXPECT_EQ(daemon_port["error"], "ConnectionRefusedError") << daemon_port.dump();
  // The stand-in metadata server listens in the LAN namespace (where the policy route would take
  // the packet), but a function does not reach it.
  auto metadata = call("a", {{"action", "get"}, {"host", "169.254.169.254"}, {"path", "/lan.txt"}});
  EXPECT_TRUE(metadata.contains("error")) << metadata.dump();

  // b listens; the host reaches it (so it is listening), a does not (another environment).
  auto listening = call("b", {{"action", "listen"}, {"port", 7000}});
  const std::string b_address = listening.value("address", "");
  ASSERT_TRUE(b_address.starts_with(cidr_.substr(0, cidr_.size() - 4))) << listening.dump();
  EXPECT_TRUE(wait_for_listener(b_address, 7000));
  auto neighbour =
      call("a", {{"action", "connect"}, {"host", b_address}, {"port", 7000}, {"timeout", 2}});
  EXPECT_TRUE(neighbour.contains("error")) << neighbour.dump();
}

TEST_F(DaemonNetworkTest, EgressAllowListLimitsDestinations) {
  start({"--egress-allow", "192.0.2.0/24"});
  create("fetch");
  auto got = call("fetch", {{"action", "get"}, {"host", lan_server_}, {"path", "/lan.txt"}});
  EXPECT_TRUE(got.contains("error")) << got.dump();
}

TEST_F(DaemonNetworkTest, ATaggedFunctionHasOnlyLoopback) {
  start();
  create("offline", {{"Tags", {{"runtimed:network", "none"}}}});
  EXPECT_EQ(call("offline", {{"action", "ifaces"}}), json::parse(R"(["lo"])"));
  auto got = call("offline", {{"action", "get"}, {"host", lan_server_}, {"path", "/lan.txt"}});
  EXPECT_EQ(got["error"], "OSError") << got.dump();  // Network is unreachable
}

TEST_F(DaemonNetworkTest, ARestartAfterSigkillRemovesWhatTheDeadDaemonLeft) {
  TempDir state("rt-net-state");
  const std::string parent = "rt-net-restart-" + common::random_hex(6);
  daemon_ = std::make_unique<DaemonProcess>(network_flags(), state.path(), parent);
  create("fetch");
  EXPECT_EQ(call("fetch", {{"action", "ifaces"}}), json::parse(R"(["eth0","lo"])"));
  const auto killed_ports = bridge_ports();
  ASSERT_FALSE(killed_ports.empty());
  daemon_->stop(SIGKILL);
  EXPECT_TRUE(bridge_exists());
  EXPECT_TRUE(table_exists());
  daemon_.reset();
  daemon_ = std::make_unique<DaemonProcess>(network_flags(), state.path(), parent);
  // The dead daemon's environments died with it, and their veths with their namespaces.
  for (const auto& port : killed_ports)
    EXPECT_TRUE(link_goes_away(port)) << port << " outlived its daemon";
  auto got = call("fetch", {{"action", "get"}, {"host", lan_server_}, {"path", "/lan.txt"}});
  EXPECT_EQ(got["status"], 200) << got.dump();
  stop_and_expect_nothing_left();
}

TEST_F(DaemonNetworkTest, ASecondDaemonOnTheSameBridgeIsRefusedClearly) {
  start();
  TempDir other("rt-net-second");
  auto run = run_command({testsupport::bin_path("runtimed").string(), "serve", "--listen",
                          "127.0.0.1:" + std::to_string(testsupport::free_port()), "--state-dir",
                          other.path().string(), "--network-bridge", bridge_, "--network-cidr",
                          cidr_, "--cgroup-parent", "rt-net-second-" + common::random_hex(4)});
  EXPECT_EQ(run.status, 1) << run;
  EXPECT_NE(run.err.find("belongs to another running runtimed"), std::string::npos) << run;
  EXPECT_TRUE(bridge_exists());

  // A network the host already routes (here the test's LAN) is refused before anything is made.
  const std::string lan_cidr = lan_server_.substr(0, lan_server_.rfind('.')) + ".0/24";
  auto overlapping = run_command({testsupport::bin_path("runtimed").string(), "serve", "--listen",
                                  "127.0.0.1:" + std::to_string(testsupport::free_port()),
                                  "--state-dir", other.path().string(), "--network-bridge",
                                  "rtx" + bridge_.substr(3), "--network-cidr", lan_cidr,
                                  "--cgroup-parent", "rt-net-second-" + common::random_hex(4)});
  EXPECT_EQ(overlapping.status, 1) << overlapping;
  EXPECT_NE(overlapping.err.find("overlaps " + lan_cidr + " on " + lan_host_if_), std::string::npos)
      << overlapping;
  EXPECT_NE(run_command({kIp, "link", "show", "rtx" + bridge_.substr(3)}).status, 0);
}

}  // namespace
