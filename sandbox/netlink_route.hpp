// rtnetlink through libnl-route-3: the links, addresses and routes runtimed's networking makes.
// A socket belongs to the network namespace of the thread that opened it, so one opened inside an
// environment's namespace configures that namespace.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sandbox/error.hpp"

struct nl_sock;

namespace sandbox {

class NetlinkRoute {
 public:
  // A NETLINK_ROUTE socket in the calling thread's network namespace.
  static Result<NetlinkRoute> open();

  // A bridge, down. EEXIST when the name is taken.
  Result<void> add_bridge(const std::string& name);
  // A veth pair: `host_name` here, enslaved to `master`; its peer `peer_name` (with `peer_mac`)
  // created directly in the network namespace `peer_netns_fd`.
  Result<void> add_veth(const std::string& host_name, int master, const std::string& peer_name,
                        const std::array<uint8_t, 6>& peer_mac, int peer_netns_fd);
  // Deletes a link by name; a missing one is not an error.
  Result<void> delete_link(const std::string& name);
  Result<void> set_up(int ifindex);
  // A link's index in this socket's namespace (which may not be the calling thread's).
  Result<int> index_of(const std::string& name);
  // A bridge port that forwards only to non-isolated ports (the bridge itself): environments on
  // one bridge cannot reach each other at layer 2 (IFLA_BRPORT_ISOLATED, which libnl lacks).
  Result<void> set_port_isolated(int ifindex);
  // address/prefix on a link (host byte order).
  Result<void> add_ipv4_address(int ifindex, uint32_t address, int prefix);
  Result<void> add_default_route(int ifindex, uint32_t gateway);
  // The IPv4 routes of the main table more specific than a default route, as networks (host
  // byte order) with the name of their device.
  struct Ipv4Route {
    uint32_t base = 0;
    int prefix = 0;
    std::string device;
  };
  Result<std::vector<Ipv4Route>> ipv4_routes();

 private:
  struct SocketDeleter {
    void operator()(nl_sock* sock) const;
  };
  std::unique_ptr<nl_sock, SocketDeleter> sock_;
};

// The index of a link in the calling thread's namespace, or ENODEV.
Result<int> link_index(const std::string& name);

}  // namespace sandbox
