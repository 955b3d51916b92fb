// The pure parts of environments' networking: networks and the address pool, the environment's
// resolv.conf made from the host's, and the bridge's nftables ruleset (checked by nft itself).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>

#include "sandbox/ipv4_network.hpp"
#include "sandbox/network_host.hpp"
#include "sandbox/network_ruleset.hpp"
#include "sandbox/resolver_config.hpp"

namespace {

using namespace sandbox;

uint32_t ip(const std::string& text) { return parse_ipv4(text).value(); }

TEST(Ipv4Network, ParsesCidrsAndRefusesTypos) {
  auto n = Ipv4Network::parse("10.213.0.0/16");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->base, ip("10.213.0.0"));
  EXPECT_EQ(n->prefix, 16);
  EXPECT_EQ(n->to_string(), "10.213.0.0/16");
  EXPECT_TRUE(n->contains(ip("10.213.255.254")));
  EXPECT_FALSE(n->contains(ip("10.214.0.1")));
  for (auto bad :
       {"10.213.0.0", "10.213.0.0/33", "10.213.0.0/", "10.213.0/16", "x/8", "10.213.0.0/16x"})
    EXPECT_FALSE(Ipv4Network::parse(bad)) << bad;
  auto host_bits = Ipv4Network::parse("10.213.0.1/16");
  ASSERT_FALSE(host_bits);
  EXPECT_NE(host_bits.error().detail.find("did you mean 10.213.0.0/16"), std::string::npos);
}

TEST(Ipv4AddressPool, LeasesAfterTheGatewayRoundRobinUntilFull) {
  auto pool = Ipv4AddressPool::create(Ipv4Network::parse("192.168.7.0/29").value());
  ASSERT_TRUE(pool);
  EXPECT_EQ((*pool)->gateway(), ip("192.168.7.1"));
  std::vector<Ipv4Lease> leases;
  for (int i = 0; i < 5; ++i) {  // .2 to .6: not the network, gateway or broadcast address
    auto lease = (*pool)->acquire();
    ASSERT_TRUE(lease);
    EXPECT_EQ(lease->address(), ip("192.168.7." + std::to_string(2 + i)));
    leases.push_back(std::move(*lease));
  }
  auto full = (*pool)->acquire();
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().err, EADDRNOTAVAIL);
  // A released address is the last to come back: .3 is freed, but the search goes on from .2's
  // successor after the last handed out, wrapping to the free one.
  leases.erase(leases.begin() + 1);
  EXPECT_EQ((*pool)->leased(), 4u);
  auto again = (*pool)->acquire();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->address(), ip("192.168.7.3"));
  EXPECT_FALSE(Ipv4AddressPool::create(Ipv4Network::parse("10.0.0.0/31").value()));
}

TEST(Ipv4AddressPool, AReleasedAddressIsNotTheNextOneHandedOut) {
  auto pool = Ipv4AddressPool::create(Ipv4Network::parse("10.9.0.0/24").value()).value();
  auto first = pool->acquire().value();
  const uint32_t address = first.address();
  first = Ipv4Lease();  // released
  EXPECT_NE(pool->acquire().value().address(), address);
}

TEST(MacForAddress, FollowsTheAddress) {
  EXPECT_EQ(mac_for_address(ip("10.213.1.2")), (std::array<uint8_t, 6>{0x02, 0x52, 10, 213, 1, 2}));
}

TEST(SandboxResolver, KeepsReachableNameServersAndSearchLines) {
  auto r = sandbox_resolver(
      "# comment\nsearch corp.example\nnameserver 10.0.0.2\noptions ndots:2\n", ip("10.213.0.1"));
  EXPECT_FALSE(r.forward_to);
  EXPECT_NE(r.resolv_conf.find("nameserver 10.0.0.2\n"), std::string::npos) << r.resolv_conf;
  EXPECT_NE(r.resolv_conf.find("search corp.example\n"), std::string::npos);
  EXPECT_NE(r.resolv_conf.find("options ndots:2\n"), std::string::npos);
}

TEST(SandboxResolver, PointsALoopbackResolverAtTheGateway) {
  auto r = sandbox_resolver("nameserver 127.0.0.53\nnameserver ::1\nnameserver 127.0.0.1\n",
                            ip("10.213.0.1"));
  ASSERT_TRUE(r.forward_to);
  EXPECT_EQ(*r.forward_to, ip("127.0.0.53"));
  EXPECT_NE(r.resolv_conf.find("nameserver 10.213.0.1\n"), std::string::npos) << r.resolv_conf;
  EXPECT_EQ(r.resolv_conf.find("\nnameserver 127."), std::string::npos) << r.resolv_conf;
  EXPECT_EQ(r.resolv_conf.find("\nnameserver ::1"), std::string::npos) << r.resolv_conf;
}

TEST(SandboxResolver, NoNameServerMeansTheHostsLoopback) {
  auto r = sandbox_resolver("search example.org\n", ip("10.1.0.1"));
  ASSERT_TRUE(r.forward_to);
  EXPECT_EQ(*r.forward_to, ip("127.0.0.1"));
  EXPECT_NE(r.resolv_conf.find("nameserver 10.1.0.1\n"), std::string::npos);
}

// `nft -c` parses and checks the text against the kernel without applying it.
bool nft_accepts(const std::string& ruleset, std::string* why) {
  char path[] = "/tmp/rt-ruleset-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return false;
  ::close(fd);
  std::ofstream(path) << ruleset;
  const std::string cmd = std::string("/usr/sbin/nft -c -f ") + path + " 2>&1";
  FILE* out = ::popen(cmd.c_str(), "r");
  char buf[512];
  while (out && std::fgets(buf, sizeof buf, out)) *why += buf;
  const int status = out ? ::pclose(out) : -1;
  ::unlink(path);
  return status == 0;
}

TEST(NetworkRuleset, IsValidNftablesAndSaysWhatItBlocks) {
  NetworkRules r;
  r.table = "runtimed_rtunit0";
  r.bridge = "rtunit0";
  r.network = Ipv4Network::parse("10.213.0.0/16").value();
  r.gateway = ip("10.213.0.1");
  r.host_ports = {5432, 8080};
  r.egress_allow = {Ipv4Network::parse("192.0.2.0/24").value(),
                    Ipv4Network::parse("198.51.100.0/24").value()};
  r.dns_forward_to = ip("127.0.0.53");
  const std::string text = network_ruleset(r);
  for (auto expected :
       {"table inet runtimed_rtunit0 {", "iifname \"rtunit0\" tcp dport 5432 accept",
        "iifname \"rtunit0\" ip daddr 169.254.0.0/16 reject",
        "iifname \"rtunit0\" oifname \"rtunit0\" reject",
        "ip daddr { 192.0.2.0/24, 198.51.100.0/24 } accept", "dnat ip to 127.0.0.53:53",
        "ip saddr 10.213.0.0/16 oifname != \"rtunit0\" masquerade"})
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  if (::geteuid() != 0 || ::access("/usr/sbin/nft", X_OK) != 0)
    GTEST_SKIP() << "nft -c needs root and the nftables package";
  std::string why;
  EXPECT_TRUE(nft_accepts(text, &why)) << why << "\n" << text;
  NetworkRules plain = r;
  plain.host_ports.clear();
  plain.egress_allow.clear();
  plain.dns_forward_to.reset();
  EXPECT_TRUE(nft_accepts(network_ruleset(plain), &why)) << why;
  EXPECT_TRUE(nft_accepts(forward_guard_ruleset(), &why)) << why;
}

}  // namespace
