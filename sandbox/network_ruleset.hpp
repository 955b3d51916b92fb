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
  // The daemon turned IPv4 forwarding on: everything that does not involve its bridge is dropped,
  // so the host forwards nothing it did not forward before.
  bool drop_other_forwarding = false;
};

// "table inet T { … }", replacing any earlier table of that name when run after
// "table inet T {}; delete table inet T" (see NetworkHost).
std::string network_ruleset(const NetworkRules& rules);

}  // namespace sandbox
