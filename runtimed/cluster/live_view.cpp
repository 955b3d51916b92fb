// The live-node view (see live_view.hpp).
#include "runtimed/cluster/live_view.hpp"

#include <algorithm>

namespace cluster {

namespace {

std::vector<std::string> ids_of(const std::vector<LiveNode>& nodes) {
  std::vector<std::string> ids;
  ids.reserve(nodes.size());
  for (const auto& n : nodes) ids.push_back(n.node_id);
  return ids;
}

std::vector<LiveNode> sorted(std::vector<LiveNode> nodes) {
  std::sort(nodes.begin(), nodes.end(),
            [](const LiveNode& a, const LiveNode& b) { return a.node_id < b.node_id; });
  nodes.erase(
      std::unique(nodes.begin(), nodes.end(),
                  [](const LiveNode& a, const LiveNode& b) { return a.node_id == b.node_id; }),
      nodes.end());
  return nodes;
}

}  // namespace

LiveView::LiveView(std::vector<LiveNode> live)
    : nodes(sorted(std::move(live))), ring(ids_of(nodes)) {}

std::optional<size_t> LiveView::index_of(const std::string& node_id) const {
  const auto it =
      std::lower_bound(nodes.begin(), nodes.end(), node_id,
                       [](const LiveNode& n, const std::string& id) { return n.node_id < id; });
  if (it == nodes.end() || it->node_id != node_id) return std::nullopt;
  return static_cast<size_t>(it - nodes.begin());
}

std::shared_ptr<const LiveView> make_live_view(const std::vector<NodeStatus>& listed,
                                               const LiveNode& self) {
  std::vector<LiveNode> live{self};
  for (const NodeStatus& n : listed) {
    if (n.state != NodeState::Live || n.node_id == self.node_id) continue;
    live.push_back({n.node_id, n.address, n.in_flight, n.fencing_token});
  }
  return std::make_shared<const LiveView>(std::move(live));
}

}  // namespace cluster
