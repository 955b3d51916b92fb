#include "common/ids.hpp"

#include <sys/random.h>

#include <array>
#include <cstdint>

namespace common {

namespace {
void fill_random(void* buf, size_t len) {
  auto* p = static_cast<uint8_t*>(buf);
  while (len > 0) {
    ssize_t n = ::getrandom(p, len, 0);
    if (n <= 0) continue;  // EINTR; getrandom does not fail otherwise once the pool is ready
    p += n;
    len -= static_cast<size_t>(n);
  }
}
constexpr char kHex[] = "0123456789abcdef";
}  // namespace

std::string random_hex(size_t chars) {
  std::string out(chars, '0');
  std::array<uint8_t, 64> bytes{};
  size_t used = bytes.size();
  for (size_t i = 0; i < chars; ++i) {
    if (used == bytes.size()) {
      fill_random(bytes.data(), bytes.size());
      used = 0;
    }
    out[i] = kHex[bytes[used++] & 0xf];
  }
  return out;
}

std::string new_request_id() {
  std::array<uint8_t, 16> b{};
  fill_random(b.data(), b.size());
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

}  // namespace common
