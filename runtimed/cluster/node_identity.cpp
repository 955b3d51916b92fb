// The node id kept in the state directory (see node_identity.hpp).
#include "runtimed/cluster/node_identity.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <system_error>

#include "common/ids.hpp"

namespace cluster {

bool valid_node_id(const std::string& id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

std::expected<std::string, std::string> stable_node_id(const std::filesystem::path& state_dir) {
  const auto file = state_dir / "cluster-node-id";
  if (std::ifstream in(file); in) {
    std::string id;
    std::getline(in, id);
    if (!valid_node_id(id))
      return std::unexpected(file.string() + " does not hold a valid node id: '" + id + "'");
    return id;
  }
  const std::string id = "node-" + common::random_hex(12);
  // Written aside and renamed: a crash never leaves a half-written id behind.
  const auto partial = state_dir / "cluster-node-id.partial";
  {
    std::ofstream out(partial, std::ios::trunc);
    out << id << "\n";
    if (!out.flush()) return std::unexpected("cannot write " + partial.string());
  }
  std::error_code ec;
  std::filesystem::rename(partial, file, ec);
  if (ec) return std::unexpected("cannot write " + file.string() + ": " + ec.message());
  return id;
}

}  // namespace cluster
