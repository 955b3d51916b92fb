// rtnetlink through libnl-route-3 (see netlink_route.hpp).
#include "sandbox/netlink_route.hpp"

#include <arpa/inet.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include <cerrno>
#include <cstring>

namespace sandbox {
namespace {

// libnl's object owners.
struct LinkPut {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct AddrPut {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct RoutePut {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
struct NlAddrPut {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
struct MsgFree {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using Link = std::unique_ptr<rtnl_link, LinkPut>;
using NlAddr = std::unique_ptr<nl_addr, NlAddrPut>;

// libnl answers negative NLE_* codes; keep the errno the kernel most likely gave.
int errno_of(int nle) {
  switch (-nle) {
    case NLE_EXIST:
      return EEXIST;
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV:
      return ENODEV;
    case NLE_PERM:
      return EPERM;
    case NLE_NOMEM:
      return ENOMEM;
    case NLE_BUSY:
      return EBUSY;
    case NLE_INVAL:
      return EINVAL;
    case NLE_OPNOTSUPP:
      return EOPNOTSUPP;
    default:
      return EIO;
  }
}

Result<void> check(int nle, const char* step, const std::string& detail) {
  if (nle >= 0) return {};
  return fail(step, errno_of(nle), detail + ": " + nl_geterror(nle));
}

NlAddr ipv4_addr(uint32_t address, int prefix) {
  const uint32_t network_order = htonl(address);
  NlAddr a(nl_addr_build(AF_INET, &network_order, sizeof network_order));
  if (a) nl_addr_set_prefixlen(a.get(), prefix);
  return a;
}

}  // namespace

void NetlinkRoute::SocketDeleter::operator()(nl_sock* sock) const { nl_socket_free(sock); }

Result<int> link_index(const std::string& name) {
  const unsigned index = ::if_nametoindex(name.c_str());
  if (index == 0) return fail("find link", errno, name);
  return static_cast<int>(index);
}

Result<NetlinkRoute> NetlinkRoute::open() {
  NetlinkRoute route;
  route.sock_.reset(nl_socket_alloc());
  if (!route.sock_) return fail("nl_socket_alloc", ENOMEM);
  if (auto ok = check(nl_connect(route.sock_.get(), NETLINK_ROUTE), "connect rtnetlink", ""); !ok)
    return std::unexpected(ok.error());
  return route;
}

Result<void> NetlinkRoute::add_bridge(const std::string& name) {
  return check(rtnl_link_bridge_add(sock_.get(), name.c_str()), "add bridge", name);
}

Result<void> NetlinkRoute::add_veth(const std::string& host_name, int master,
                                    const std::string& peer_name,
                                    const std::array<uint8_t, 6>& peer_mac, int peer_netns_fd) {
  Link link(rtnl_link_veth_alloc());
  if (!link) return fail("rtnl_link_veth_alloc", ENOMEM);
  rtnl_link_set_name(link.get(), host_name.c_str());
  rtnl_link_set_master(link.get(), master);
  rtnl_link_set_flags(link.get(), IFF_UP);
  Link peer(rtnl_link_veth_get_peer(link.get()));
  rtnl_link_set_name(peer.get(), peer_name.c_str());
  NlAddr mac(nl_addr_build(AF_LLC, peer_mac.data(), peer_mac.size()));
  if (!mac) return fail("nl_addr_build", ENOMEM);
  rtnl_link_set_addr(peer.get(), mac.get());
  rtnl_link_set_ns_fd(peer.get(), peer_netns_fd);
  return check(rtnl_link_add(sock_.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL), "add veth",
               host_name);
}

Result<void> NetlinkRoute::delete_link(const std::string& name) {
  Link link(rtnl_link_alloc());
  if (!link) return fail("rtnl_link_alloc", ENOMEM);
  rtnl_link_set_name(link.get(), name.c_str());
  const int rc = rtnl_link_delete(sock_.get(), link.get());
  if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV) return {};
  return check(rc, "delete link", name);
}

Result<void> NetlinkRoute::set_up(int ifindex) {
  Link orig(rtnl_link_alloc());
  Link change(rtnl_link_alloc());
  if (!orig || !change) return fail("rtnl_link_alloc", ENOMEM);
  rtnl_link_set_ifindex(orig.get(), ifindex);
  rtnl_link_set_flags(change.get(), IFF_UP);
  return check(rtnl_link_change(sock_.get(), orig.get(), change.get(), 0), "set link up",
               std::to_string(ifindex));
}

Result<int> NetlinkRoute::index_of(const std::string& name) {
  rtnl_link* found = nullptr;
  if (auto ok =
          check(rtnl_link_get_kernel(sock_.get(), 0, name.c_str(), &found), "find link", name);
      !ok)
    return std::unexpected(ok.error());
  Link link(found);
  return rtnl_link_get_ifindex(link.get());
}

Result<void> NetlinkRoute::set_port_isolated(int ifindex) {
  std::unique_ptr<nl_msg, MsgFree> msg(nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK));
  if (!msg) return fail("nlmsg_alloc", ENOMEM);
  ifinfomsg info{};
  info.ifi_family = AF_BRIDGE;
  info.ifi_index = ifindex;
  if (nlmsg_append(msg.get(), &info, sizeof info, NLMSG_ALIGNTO) < 0)
    return fail("build bridge port message", ENOMEM);
  nlattr* protinfo = nla_nest_start(msg.get(), IFLA_PROTINFO | NLA_F_NESTED);
  if (protinfo == nullptr || nla_put_u8(msg.get(), IFLA_BRPORT_ISOLATED, 1) < 0)
    return fail("build bridge port message", ENOMEM);
  nla_nest_end(msg.get(), protinfo);
  // nl_send_sync frees the message.
  return check(nl_send_sync(sock_.get(), msg.release()), "isolate bridge port",
               std::to_string(ifindex));
}

Result<void> NetlinkRoute::add_ipv4_address(int ifindex, uint32_t address, int prefix) {
  std::unique_ptr<rtnl_addr, AddrPut> addr(rtnl_addr_alloc());
  NlAddr local = ipv4_addr(address, prefix);
  if (!addr || !local) return fail("rtnl_addr_alloc", ENOMEM);
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  rtnl_addr_set_local(addr.get(), local.get());
  return check(rtnl_addr_add(sock_.get(), addr.get(), 0), "add address", std::to_string(ifindex));
}

Result<void> NetlinkRoute::add_default_route(int ifindex, uint32_t gateway) {
  std::unique_ptr<rtnl_route, RoutePut> route(rtnl_route_alloc());
  NlAddr any = ipv4_addr(0, 0);
  NlAddr via = ipv4_addr(gateway, 32);
  if (!route || !any || !via) return fail("rtnl_route_alloc", ENOMEM);
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_dst(route.get(), any.get());
  rtnl_nexthop* hop = rtnl_route_nh_alloc();
  if (!hop) return fail("rtnl_route_nh_alloc", ENOMEM);
  rtnl_route_nh_set_gateway(hop, via.get());
  rtnl_route_nh_set_ifindex(hop, ifindex);
  rtnl_route_add_nexthop(route.get(), hop);  // the route owns the hop from here
  return check(rtnl_route_add(sock_.get(), route.get(), NLM_F_CREATE), "add default route",
               std::to_string(ifindex));
}

Result<std::vector<NetlinkRoute::Ipv4Route>> NetlinkRoute::ipv4_routes() {
  nl_cache* cache = nullptr;
  if (auto ok = check(rtnl_route_alloc_cache(sock_.get(), AF_INET, 0, &cache), "list routes", "");
      !ok)
    return std::unexpected(ok.error());
  nl_cache* links = nullptr;
  (void)rtnl_link_alloc_cache(sock_.get(), AF_UNSPEC, &links);
  std::vector<Ipv4Route> routes;
  for (nl_object* o = nl_cache_get_first(cache); o != nullptr; o = nl_cache_get_next(o)) {
    auto* route = reinterpret_cast<rtnl_route*>(o);
    nl_addr* dst = rtnl_route_get_dst(route);
    if (rtnl_route_get_table(route) != RT_TABLE_MAIN || dst == nullptr ||
        nl_addr_get_prefixlen(dst) == 0 || nl_addr_get_len(dst) != 4)
      continue;
    uint32_t network_order = 0;
    std::memcpy(&network_order, nl_addr_get_binary_addr(dst), 4);
    Ipv4Route r;
    r.base = ntohl(network_order);
    r.prefix = static_cast<int>(nl_addr_get_prefixlen(dst));
    if (rtnl_route_get_nnexthops(route) > 0 && links != nullptr) {
      char name[IFNAMSIZ] = {};
      const int index = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(route, 0));
      if (rtnl_link_i2name(links, index, name, sizeof name) != nullptr) r.device = name;
    }
    routes.push_back(std::move(r));
  }
  if (links != nullptr) nl_cache_free(links);
  nl_cache_free(cache);
  return routes;
}

}  // namespace sandbox
