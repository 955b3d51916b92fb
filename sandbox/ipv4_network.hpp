// IPv4 networks as the networking flags name them ("10.213.0.0/16") and the addresses handed to
// environments from one: the gateway (the bridge) takes the first host address, environments the
// rest, each held by a lease until its environment is gone.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sandbox/error.hpp"

namespace sandbox {

struct Ipv4Network {
  uint32_t base = 0;  // host byte order, host bits zero
  int prefix = 0;

  // "A.B.C.D/N", N in 0..32 (any host bits set are refused: a typo, not a network).
  static Result<Ipv4Network> parse(const std::string& text);
  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  bool contains(uint32_t address) const { return (address & mask()) == base; }
  std::string to_string() const;
};

// "a.b.c.d" of a host-order address.
std::string ipv4_text(uint32_t address);
// A host-order address from dotted text, or nullopt-like failure.
Result<uint32_t> parse_ipv4(const std::string& text);
bool is_loopback_ipv4(uint32_t address);

class Ipv4AddressPool;

// One environment's address. Move-only; the destructor gives it back.
class Ipv4Lease {
 public:
  Ipv4Lease() = default;
  Ipv4Lease(Ipv4Lease&& other) noexcept;
  Ipv4Lease& operator=(Ipv4Lease&& other) noexcept;
  Ipv4Lease(const Ipv4Lease&) = delete;
  Ipv4Lease& operator=(const Ipv4Lease&) = delete;
  ~Ipv4Lease();

  uint32_t address() const { return address_; }
  explicit operator bool() const { return pool_ != nullptr; }

 private:
  friend class Ipv4AddressPool;
  struct Shared;
  Ipv4Lease(std::shared_ptr<Shared> pool, uint32_t address)
      : pool_(std::move(pool)), address_(address) {}
  void release();

  std::shared_ptr<Shared> pool_;
  uint32_t address_ = 0;
};

// The addresses of a network after its gateway, handed out round-robin: an address given back is
// the last to be reused, so neighbour caches and conntrack entries of a destroyed environment
// have long expired before another one carries its address.
class Ipv4AddressPool {
 public:
  // Needs room for the gateway and at least one environment (prefix <= 30).
  static Result<std::unique_ptr<Ipv4AddressPool>> create(Ipv4Network network);

  uint32_t gateway() const { return network_.base + 1; }
  const Ipv4Network& network() const { return network_; }
  // EADDRNOTAVAIL when every address is leased.
  Result<Ipv4Lease> acquire();
  size_t leased() const;

 private:
  Ipv4AddressPool() = default;
  Ipv4Network network_;
  std::shared_ptr<Ipv4Lease::Shared> shared_;
};

}  // namespace sandbox
