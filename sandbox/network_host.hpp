// The host side of environments' networking, one per daemon: a bridge of runtimed's own with the
// gateway address, one nftables table (source NAT out, nothing in, no reaching the host, each
// other or link-local metadata), IPv4 forwarding, and the addresses environments lease. Made at
// start, removed at stop; what a killed daemon left is removed by the next start on that bridge.
// docs/networking.md.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sandbox/error.hpp"
#include "sandbox/ipv4_network.hpp"
#include "sandbox/netlink_route.hpp"
#include "sandbox/unique_fd.hpp"

struct nft_ctx;

namespace sandbox {

struct NetworkOptions {
  std::string bridge = "runtimed0";  // at most 15 characters (IFNAMSIZ)
  std::string cidr = "10.213.0.0/16";
  std::vector<uint16_t> host_ports;       // --allow-host-port
  std::vector<std::string> egress_allow;  // --egress-allow: CIDRs; empty allows all but the blocked
  std::filesystem::path resolv_conf = "/etc/resolv.conf";
  // One lock per bridge, shared by every runtimed on the host (and the forwarding record).
  std::filesystem::path lock_dir = "/run/runtimed";
};

// An environment's network device, named and addressed.
struct EnvironmentLink {
  std::string host_name;  // the host end of the veth, a port of the bridge
  uint32_t address = 0;
};

class NetworkHost {
 public:
  static Result<std::unique_ptr<NetworkHost>> open(NetworkOptions options);
  ~NetworkHost();
  NetworkHost(const NetworkHost&) = delete;
  NetworkHost& operator=(const NetworkHost&) = delete;

  // The address an environment keeps until it is destroyed.
  Result<Ipv4Lease> lease_address() { return addresses_->acquire(); }
  // Called from inside the environment's new network namespace (the calling thread is in it;
  // `netns_fd` names it): a veth whose host end joins the bridge as an isolated port and whose
  // peer is the environment's eth0 with `link.address`, up, and a default route via the gateway.
  // The kernel removes both ends when the namespace goes away.
  Result<void> attach(const EnvironmentLink& link, int netns_fd);

  // The environments' /etc/resolv.conf.
  const std::string& resolv_conf() const { return resolv_conf_; }
  const std::string& bridge() const { return options_.bridge; }
  const Ipv4Network& network() const { return addresses_->network(); }
  uint32_t gateway() const { return addresses_->gateway(); }
  const std::string& table() const { return table_; }

 private:
  NetworkHost() = default;
  Result<void> run_nft(const std::string& commands);
  void remove_host_state();

  NetworkOptions options_;
  std::string table_;
  UniqueFd lock_;
  std::filesystem::path lock_path_;  // unlinked by the destructor, lock still held
  std::unique_ptr<Ipv4AddressPool> addresses_;
  std::mutex netlink_mu_;  // the host socket is used from the spawn thread and at start/stop
  std::unique_ptr<NetlinkRoute> host_netlink_;
  struct NftDeleter {
    void operator()(nft_ctx* ctx) const;
  };
  std::unique_ptr<nft_ctx, NftDeleter> nft_;
  int bridge_index_ = 0;
  std::string resolv_conf_;
  bool restore_forwarding_ = false;  // IPv4 forwarding was off before runtimed turned it on
  std::filesystem::path forwarding_record_;
};

// 02:52:A:B:C:D for A.B.C.D: an environment's MAC follows its address, so a neighbour entry left
// from an earlier holder of the address is still right.
std::array<uint8_t, 6> mac_for_address(uint32_t address);

}  // namespace sandbox
