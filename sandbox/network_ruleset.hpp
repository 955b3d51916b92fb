// The nftables ruleset of runtimed's bridge, as text for libnftables: one table of our own (inet
// family) that lets environments out through source NAT and keeps them from the host, from each
// other and from link-local metadata addresses. docs/networking.md explains each rule.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/ipv4_network.hpp"

namespace sandbox {

struct NetworkRules {
  std::string table;   // e.g. "runtimed_runtimed0"
  std::string bridge;  // e.g. "runtimed0"
  Ipv4Network network;
  uint32_t gateway = 0;
  std::vector<uint16_t> host_ports;        // TCP ports of the host environments may reach
  std::vector<Ipv4Network> egress_allow;   // when set, the only destinations allowed
  std::optional<uint32_t> dns_forward_to;  // gateway:53 is DNAT'ed to this loopback resolver
};

// "table inet T { … }", replacing any earlier table of that name when run after
// "table inet T {}; delete table inet T" (see NetworkHost).
std::string network_ruleset(const NetworkRules& rules);

// When IPv4 forwarding was off until runtimed turned it on, the host must still forward nothing
// but environments' traffic. Forwarding is host-wide and a drop in one table cannot be overruled
// by another, so every runtimed on the host shares this one table: a set of their bridges and a
// drop of whatever is forwarded between other interfaces. Each daemon adds its bridge to the set;
// the last to stop removes the table.
inline constexpr const char* kForwardGuardTable = "runtimed_forward_guard";
std::string forward_guard_ruleset();

}  // namespace sandbox
