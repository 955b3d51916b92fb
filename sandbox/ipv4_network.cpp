// IPv4 networks and the environment address pool (see ipv4_network.hpp).
#include "sandbox/ipv4_network.hpp"

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>
#include <utility>
#include <vector>

namespace sandbox {

struct Ipv4Lease::Shared {
  std::mutex mu;
  uint32_t first = 0;  // first environment address
  uint32_t count = 0;  // how many there are
  uint32_t next = 0;   // offset the next search starts at
  std::vector<bool> used;
  size_t leased = 0;
};

std::string ipv4_text(uint32_t address) {
  in_addr a{htonl(address)};
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

Result<uint32_t> parse_ipv4(const std::string& text) {
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1) return fail("parse IPv4 address", EINVAL, text);
  return ntohl(a.s_addr);
}

bool is_loopback_ipv4(uint32_t address) { return (address >> 24) == 127; }

Result<Ipv4Network> Ipv4Network::parse(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos)
    return fail("parse network", EINVAL, text + ": expected A.B.C.D/N");
  auto address = parse_ipv4(text.substr(0, slash));
  if (!address) return fail("parse network", EINVAL, text + ": not an IPv4 address");
  int prefix = -1;
  const char* begin = text.data() + slash + 1;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, prefix);
  if (begin == end || ec != std::errc() || ptr != end || prefix < 0 || prefix > 32)
    return fail("parse network", EINVAL, text + ": the prefix length must be 0..32");
  Ipv4Network n{*address, prefix};
  if ((n.base & ~n.mask()) != 0)
    return fail("parse network", EINVAL,
                text + ": host bits are set (did you mean " + ipv4_text(n.base & n.mask()) + "/" +
                    std::to_string(prefix) + "?)");
  return n;
}

std::string Ipv4Network::to_string() const {
  return ipv4_text(base) + "/" + std::to_string(prefix);
}

Ipv4Lease::Ipv4Lease(Ipv4Lease&& other) noexcept
    : pool_(std::move(other.pool_)), address_(std::exchange(other.address_, 0)) {}

Ipv4Lease& Ipv4Lease::operator=(Ipv4Lease&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::move(other.pool_);
    address_ = std::exchange(other.address_, 0);
  }
  return *this;
}

Ipv4Lease::~Ipv4Lease() { release(); }

void Ipv4Lease::release() {
  if (!pool_) return;
  {
    std::lock_guard lock(pool_->mu);
    pool_->used[address_ - pool_->first] = false;
    --pool_->leased;
  }
  pool_.reset();
}

Result<std::unique_ptr<Ipv4AddressPool>> Ipv4AddressPool::create(Ipv4Network network) {
  if (network.prefix > 30)
    return fail("address pool", EINVAL,
                network.to_string() + ": too small for a gateway and an environment (at most /30)");
  std::unique_ptr<Ipv4AddressPool> pool(new Ipv4AddressPool());
  pool->network_ = network;
  pool->shared_ = std::make_shared<Ipv4Lease::Shared>();
  // Neither the network address, the gateway nor the broadcast address.
  const uint64_t size = uint64_t{1} << (32 - network.prefix);
  pool->shared_->first = network.base + 2;
  pool->shared_->count = static_cast<uint32_t>(size - 3);
  pool->shared_->used.assign(pool->shared_->count, false);
  return pool;
}

Result<Ipv4Lease> Ipv4AddressPool::acquire() {
  std::lock_guard lock(shared_->mu);
  auto& s = *shared_;
  for (uint32_t i = 0; i < s.count; ++i) {
    const uint32_t offset = (s.next + i) % s.count;
    if (s.used[offset]) continue;
    s.used[offset] = true;
    ++s.leased;
    s.next = (offset + 1) % s.count;
    return Ipv4Lease(shared_, s.first + offset);
  }
  return fail("lease an environment address", EADDRNOTAVAIL, network_.to_string() + " is full");
}

size_t Ipv4AddressPool::leased() const {
  std::lock_guard lock(shared_->mu);
  return shared_->leased;
}

}  // namespace sandbox
