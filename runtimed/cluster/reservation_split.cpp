// Splitting a reservation across the ring (see reservation_split.hpp).
#include "runtimed/cluster/reservation_split.hpp"

#include <algorithm>

namespace cluster {

std::vector<int> reserved_shares(const HashRing& ring, std::string_view function, int reserved) {
  const size_t n = ring.nodes().size();
  std::vector<int> shares(n, 0);
  if (n == 0 || reserved <= 0) return shares;
  const int each = reserved / static_cast<int>(n);
  const size_t extra = static_cast<size_t>(reserved) % n;
  std::fill(shares.begin(), shares.end(), each);
  const std::vector<size_t> walk = ring.walk(function);
  for (size_t i = 0; i < extra; ++i) ++shares[walk[i]];
  return shares;
}

}  // namespace cluster
