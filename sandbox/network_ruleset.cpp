// The bridge's nftables ruleset (see network_ruleset.hpp).
#include "sandbox/network_ruleset.hpp"

#include <fmt/format.h>

namespace sandbox {

std::string network_ruleset(const NetworkRules& r) {
  const std::string br = fmt::format("\"{}\"", r.bridge);
  const std::string gw = ipv4_text(r.gateway);
  // Refused connections fail at once (a reset or an ICMP error), never hang a function.
  const std::string refuse = "reject with icmpx type admin-prohibited";
  std::string s = fmt::format("table inet {} {{\n", r.table);

  s += "  chain input {\n    type filter hook input priority filter; policy accept;\n";
  s += fmt::format("    iifname {} ct state established,related accept\n", br);
  if (r.dns_forward_to)
    s += fmt::format(
        "    iifname {} ct status dnat meta l4proto {{ tcp, udp }} th dport 53 accept\n", br);
  for (uint16_t port : r.host_ports)
    s += fmt::format("    iifname {} tcp dport {} accept\n", br, port);
  s += fmt::format("    iifname {} meta l4proto tcp reject with tcp reset\n", br);
  s += fmt::format("    iifname {} {}\n  }}\n", br, refuse);

  s += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n";
  s += fmt::format("    iifname {} oifname {} {}\n", br, br, refuse);
  s += fmt::format("    iifname {} ip daddr 169.254.0.0/16 {}\n", br, refuse);
  if (!r.egress_allow.empty()) {
    std::string set;
    for (const auto& n : r.egress_allow) set += (set.empty() ? "" : ", ") + n.to_string();
    s += fmt::format("    iifname {} ip daddr {{ {} }} accept\n", br, set);
    s += fmt::format("    iifname {} {}\n", br, refuse);
  } else {
    s += fmt::format("    iifname {} accept\n", br);
  }
  s += fmt::format("    oifname {} ct state established,related accept\n", br);
  s += fmt::format("    oifname {} drop\n", br);
  s += "  }\n";

  if (r.dns_forward_to) {
    const std::string to = ipv4_text(*r.dns_forward_to);
    s += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n";
    s += fmt::format("    iifname {} ip daddr {} udp dport 53 dnat ip to {}:53\n", br, gw, to);
    s +=
        fmt::format("    iifname {} ip daddr {} tcp dport 53 dnat ip to {}:53\n  }}\n", br, gw, to);
  }
  s += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
  s += fmt::format("    ip saddr {} oifname != {} masquerade\n  }}\n", r.network.to_string(), br);
  s += "}\n";
  return s;
}

std::string forward_guard_ruleset() {
  return fmt::format(
      "table inet {0} {{\n"
      "  set bridges {{ type ifname; }}\n"
      "  chain forward {{\n"
      "    type filter hook forward priority filter; policy accept;\n"
      "    iifname != @bridges oifname != @bridges drop\n"
      "  }}\n"
      "}}\n",
      kForwardGuardTable);
}

}  // namespace sandbox
