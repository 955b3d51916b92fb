// What an environment's /etc/resolv.conf says, made from the host's: the host's nameservers when
// an environment can reach them, and the bridge's gateway address in place of a loopback one
// (systemd-resolved's 127.0.0.53, a local dnsmasq), which the daemon's ruleset forwards to it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sandbox {

struct SandboxResolver {
  std::string resolv_conf;             // the environment's /etc/resolv.conf
  std::optional<uint32_t> forward_to;  // the host's loopback nameserver the gateway stands for
};

// `host` is the host's resolv.conf text; `gateway` the bridge address (host byte order). IPv6
// nameservers are left out (environments have IPv4 only); no nameserver at all means the host
// resolves on 127.0.0.1, as glibc reads it.
SandboxResolver sandbox_resolver(std::string_view host, uint32_t gateway);

}  // namespace sandbox
