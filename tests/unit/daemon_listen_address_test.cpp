// `serve --listen`: HOST:PORT on loopback only, the port being the whole text after the colon.
#include <gtest/gtest.h>

#include "runtimed/daemon.hpp"

namespace {

struct Parsed {
  bool ok;
  std::string host;
  uint16_t port = 0;
  std::string error;
};

Parsed parse(const std::string& listen) {
  Parsed p;
  const auto parsed = runtimed::parse_loopback_listen(listen);
  p.ok = parsed.has_value();
  if (parsed) {
    p.host = parsed->host;
    p.port = parsed->port;
  } else {
    p.error = parsed.error();
  }
  return p;
}

TEST(ListenAddress, LoopbackHostAndPortAreAccepted) {
  auto p = parse("127.0.0.1:9000");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.host, "127.0.0.1");
  EXPECT_EQ(p.port, 9000);
  p = parse("127.1.2.3:65535");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.port, 65535);
  p = parse("localhost:1");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.host, "127.0.0.1");
  EXPECT_EQ(p.port, 1);
  // 0: the kernel picks a free port (the daemon prints which).
  p = parse("127.0.0.1:0");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.port, 0);
}

TEST(ListenAddress, APortWithTrailingOrLeadingJunkIsRefused) {
  for (const char* listen : {"127.0.0.1:80abc", "127.0.0.1:80 ", "127.0.0.1: 80", "127.0.0.1:+80",
                             "127.0.0.1:-80", "127.0.0.1:0x50", "127.0.0.1:8.0", "127.0.0.1:"}) {
    const auto p = parse(listen);
    EXPECT_FALSE(p.ok) << listen;
    EXPECT_EQ(p.error, "--listen: bad port") << listen;
  }
}

TEST(ListenAddress, PortsAbove65535AreRefused) {
  for (const char* listen :
       {"127.0.0.1:65536", "127.0.0.1:4294967297", "127.0.0.1:99999999999999999999"}) {
    const auto p = parse(listen);
    EXPECT_FALSE(p.ok) << listen;
    EXPECT_EQ(p.error, "--listen: bad port") << listen;
  }
}

TEST(ListenAddress, NoColonIsRefused) {
  const auto p = parse("127.0.0.1");
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error, "--listen must be HOST:PORT");
}

TEST(ListenAddress, NonLoopbackHostsAreRefused) {
  for (const char* listen :
       {"0.0.0.0:9000", "10.0.0.1:9000", "128.0.0.1:9000", "example:9000", "[::1]:9000"}) {
    const auto p = parse(listen);
    EXPECT_FALSE(p.ok) << listen;
    EXPECT_NE(p.error.find("loopback (127.0.0.0/8) only"), std::string::npos) << p.error;
  }
}

}  // namespace
