// The host side of environments' networking (see network_host.hpp).
#include "sandbox/network_host.hpp"

#include <fcntl.h>
#include <nftables/libnftables.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "sandbox/network_ruleset.hpp"
#include "sandbox/resolver_config.hpp"

namespace sandbox {
namespace {

constexpr const char* kIpForward = "/proc/sys/net/ipv4/ip_forward";

Result<std::string> read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return fail("read", errno ? errno : ENOENT, path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<void> write_text(const std::filesystem::path& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_CREAT | O_TRUNC, 0600));
  if (!fd) return fail("open for writing", errno, path.string());
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return fail("write", errno, path.string());
  return {};
}

// A sysctl of a link that may not exist on this kernel (IPv6 compiled out): skipped then.
void write_sysctl_if_present(const std::string& path, const std::string& value) {
  if (::access(path.c_str(), F_OK) == 0) (void)write_text(path, value);
}

bool valid_link_name(const std::string& name) {
  if (name.empty() || name.size() > 15) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

// True when another process holds the lock of another bridge (another runtimed's networking).
bool another_bridge_in_use(const std::filesystem::path& lock_dir, const std::string& own) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(lock_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("net-") || !name.ends_with(".lock") || name == own) continue;
    UniqueFd fd(::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC));
    if (fd && ::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) return true;
  }
  return false;
}

}  // namespace

std::array<uint8_t, 6> mac_for_address(uint32_t address) {
  return {0x02,
          0x52,
          static_cast<uint8_t>(address >> 24),
          static_cast<uint8_t>(address >> 16),
          static_cast<uint8_t>(address >> 8),
          static_cast<uint8_t>(address)};
}

void NetworkHost::NftDeleter::operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }

Result<void> NetworkHost::run_nft(const std::string& commands) {
  if (nft_run_cmd_from_buffer(nft_.get(), commands.c_str()) != 0) {
    std::string message = nft_ctx_get_error_buffer(nft_.get());
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return fail("nftables", EINVAL, message);
  }
  return {};
}

Result<std::unique_ptr<NetworkHost>> NetworkHost::open(NetworkOptions options) {
  if (!valid_link_name(options.bridge))
    return fail("network bridge name", EINVAL,
                options.bridge + ": 1-15 characters of letters, digits, '-' and '_'");
  auto network = Ipv4Network::parse(options.cidr);
  if (!network) return std::unexpected(network.error());
  std::unique_ptr<NetworkHost> host(new NetworkHost());
  auto pool = Ipv4AddressPool::create(*network);
  if (!pool) return std::unexpected(pool.error());
  host->addresses_ = std::move(*pool);
  std::vector<Ipv4Network> egress;
  for (const auto& cidr : options.egress_allow) {
    auto n = Ipv4Network::parse(cidr);
    if (!n) return std::unexpected(n.error());
    egress.push_back(*n);
  }

  // One runtimed per bridge: the lock outlives nothing (a killed holder releases it), so holding
  // it also means whatever carries the bridge's name is a dead daemon's and may be removed.
  std::error_code ec;
  std::filesystem::create_directories(options.lock_dir, ec);
  const std::string lock_name = "net-" + options.bridge + ".lock";
  const std::filesystem::path lock_path = options.lock_dir / lock_name;
  // The holder unlinks the file when it is done (so locks of bridges that no longer exist do not
  // pile up): a lock taken on a file that is no longer at the path is no lock, so try again.
  for (int attempt = 0;; ++attempt) {
    host->lock_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!host->lock_) return fail("open network lock", errno, lock_path.string());
    if (::flock(host->lock_.get(), LOCK_EX | LOCK_NB) != 0)
      return fail("network bridge in use", errno,
                  options.bridge +
                      " belongs to another running runtimed; give this one its own "
                      "--network-bridge and --network-cidr, or --network none");
    struct stat held {
    }, at_path{};
    if (::fstat(host->lock_.get(), &held) == 0 && ::stat(lock_path.c_str(), &at_path) == 0 &&
        held.st_ino == at_path.st_ino && held.st_dev == at_path.st_dev)
      break;
    if (attempt == 10) return fail("network lock keeps moving", EAGAIN, lock_path.string());
  }
  host->lock_path_ = lock_path;
  host->table_ = "runtimed_" + options.bridge;
  host->forwarding_record_ = options.lock_dir / ("net-" + options.bridge + ".forwarding");

  auto netlink = NetlinkRoute::open();
  if (!netlink) return std::unexpected(netlink.error());
  host->host_netlink_ = std::make_unique<NetlinkRoute>(std::move(*netlink));
  host->nft_.reset(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!host->nft_) return fail("nft_ctx_new", ENOMEM);
  nft_ctx_buffer_output(host->nft_.get());
  nft_ctx_buffer_error(host->nft_.get());
  host->options_ = std::move(options);
  const NetworkOptions& o = host->options_;

  // A dead daemon's bridge and table, if any. Its veths went with its environments' namespaces.
  host->remove_host_state();

  NetlinkRoute& nl = *host->host_netlink_;
  // A network already routed on this host (a LAN, a VPN, another bridge) would be shadowed for
  // the functions and the host alike: refuse it in words that say what to do.
  auto routes = nl.ipv4_routes();
  if (!routes) return std::unexpected(routes.error());
  for (const auto& route : *routes) {
    const Ipv4Network other{route.base, route.prefix};
    if (network->contains(other.base) || other.contains(network->base))
      return fail("network cidr in use", EADDRINUSE,
                  network->to_string() + " overlaps " + other.to_string() +
                      (route.device.empty() ? "" : " on " + route.device) +
                      "; choose a free range with --network-cidr");
  }
  if (auto ok = nl.add_bridge(o.bridge); !ok) return std::unexpected(ok.error());
  auto index = nl.index_of(o.bridge);
  if (!index) return std::unexpected(index.error());
  host->bridge_index_ = *index;
  // Environments have IPv4 only; no link-local IPv6 on the bridge for them to reach the host by.
  write_sysctl_if_present("/proc/sys/net/ipv6/conf/" + o.bridge + "/disable_ipv6", "1");
  if (auto ok = nl.add_ipv4_address(*index, host->gateway(), network->prefix); !ok)
    return std::unexpected(ok.error());
  if (auto ok = nl.set_up(*index); !ok) return std::unexpected(ok.error());

  auto host_resolv = read_text(o.resolv_conf);
  const SandboxResolver resolver = sandbox_resolver(host_resolv.value_or(""), host->gateway());
  host->resolv_conf_ = resolver.resolv_conf;
  // DNAT to a loopback resolver needs the bridge to route 127/8 (the kernel drops it otherwise).
  if (resolver.forward_to) {
    if (auto ok = write_text("/proc/sys/net/ipv4/conf/" + o.bridge + "/route_localnet", "1"); !ok)
      return std::unexpected(ok.error());
  }

  // Forwarding is host-wide. When it was off, runtimed turns it on, its ruleset drops every
  // forwarded packet that is not an environment's, and the last runtimed to stop turns it off.
  // A record survives a crash, so the next start knows the setting it found was runtimed's.
  auto forwarding = read_text(kIpForward);
  if (!forwarding) return std::unexpected(forwarding.error());
  bool was_off = forwarding->starts_with("0");
  for (const auto& entry : std::filesystem::directory_iterator(o.lock_dir, ec))
    if (entry.path().extension() == ".forwarding") was_off = true;
  if (was_off) {
    if (auto ok = write_text(host->forwarding_record_, "0\n"); !ok)
      return std::unexpected(ok.error());
    host->restore_forwarding_ = true;
    // The guard first: forwarding never runs unguarded. (Two daemons starting at once may both
    // make the table; its one rule then appears twice, which changes nothing.)
    const std::string guard = kForwardGuardTable;
    if (host->run_nft("list table inet " + guard + "\n").has_value() == false) {
      if (auto ok = host->run_nft(forward_guard_ruleset()); !ok) return std::unexpected(ok.error());
    }
    if (auto ok =
            host->run_nft("add element inet " + guard + " bridges { \"" + o.bridge + "\" }\n");
        !ok)
      return std::unexpected(ok.error());
    if (auto ok = write_text(kIpForward, "1"); !ok) return std::unexpected(ok.error());
  }

  NetworkRules rules;
  rules.table = host->table_;
  rules.bridge = o.bridge;
  rules.network = *network;
  rules.gateway = host->gateway();
  rules.host_ports = o.host_ports;
  rules.egress_allow = egress;
  rules.dns_forward_to = resolver.forward_to;
  if (auto ok = host->run_nft(network_ruleset(rules)); !ok) return std::unexpected(ok.error());
  return host;
}

void NetworkHost::remove_host_state() {
  // "add then delete" removes the table whether or not it exists, in one transaction.
  (void)run_nft("table inet " + table_ + " {}\ndelete table inet " + table_ + "\n");
  std::lock_guard lock(netlink_mu_);
  (void)host_netlink_->delete_link(options_.bridge);
}

NetworkHost::~NetworkHost() {
  if (!nft_ || !host_netlink_) return;  // open() failed before anything was made
  remove_host_state();
  if (restore_forwarding_) {
    std::error_code ec;
    std::filesystem::remove(forwarding_record_, ec);
    const std::string guard = kForwardGuardTable;
    if (another_bridge_in_use(options_.lock_dir, "net-" + options_.bridge + ".lock")) {
      (void)run_nft("delete element inet " + guard + " bridges { \"" + options_.bridge + "\" }\n");
    } else {
      (void)write_text(kIpForward, "0");
      (void)run_nft("table inet " + guard + " {}\ndelete table inet " + guard + "\n");
    }
  }
  // Still holding the lock: a daemon that opens the path from now on gets a new file.
  std::error_code ec;
  std::filesystem::remove(lock_path_, ec);
}

Result<void> NetworkHost::attach(const EnvironmentLink& link, int netns_fd) {
  // No IPv6 inside: eth0 inherits "default" when the veth creates it.
  write_sysctl_if_present("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
  {
    std::lock_guard lock(netlink_mu_);
    NetlinkRoute& nl = *host_netlink_;
    if (auto ok = nl.add_veth(link.host_name, bridge_index_, "eth0", mac_for_address(link.address),
                              netns_fd);
        !ok)
      return ok;
    auto port = nl.index_of(link.host_name);
    if (!port) return std::unexpected(port.error());
    if (auto ok = nl.set_port_isolated(*port); !ok) return ok;
  }
  auto inside = NetlinkRoute::open();  // opened in the environment's namespace
  if (!inside) return std::unexpected(inside.error());
  auto eth0 = link_index("eth0");
  if (!eth0) return std::unexpected(eth0.error());
  if (auto ok = inside->add_ipv4_address(*eth0, link.address, addresses_->network().prefix); !ok)
    return ok;
  if (auto ok = inside->set_up(*eth0); !ok) return ok;
  return inside->add_default_route(*eth0, gateway());
}

}  // namespace sandbox
