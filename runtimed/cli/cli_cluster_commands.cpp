// The `runtimed cluster …` subcommands (see cli_cluster_commands.hpp).
#include "runtimed/cli/cli_cluster_commands.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "runtimed/cli/cli_http.hpp"
#include "runtimed/cli/cli_requests.hpp"

namespace runtimed {

struct ClusterCommandState {
  std::string endpoint{kDefaultEndpoint};
  bool json = false;
  CLI::App* cluster = nullptr;
  CLI::App* status = nullptr;
};

namespace {

using nlohmann::json;

// Milliseconds as seconds with one decimal: "8.3s".
std::string seconds(int64_t ms) { return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000); }

}  // namespace

std::string format_cluster_status(const json& body) {
  const std::string self = body.value("NodeId", "");
  std::string out =
      fmt::format("{:<24} {:<28} {:<5} {:>8} {:>10} {:>9} {:>6} {:>6}\n", "NODE", "ADDRESS",
                  "STATE", "LEASE", "HEARTBEAT", "IN-FLIGHT", "ASYNC", "TOKEN");
  for (const auto& n : body.value("Nodes", json::array())) {
    const std::string id = n.value("NodeId", "");
    const std::string state = n.value("State", "");
    // What is left of a live lease; a dead or left node's has run out.
    const std::string lease =
        state == "live" ? seconds(n.value("LeaseRemainingMs", int64_t{0})) : std::string("-");
    out += fmt::format("{:<24} {:<28} {:<5} {:>8} {:>10} {:>9} {:>6} {:>6}\n",
                       id == self ? id + " *" : id, n.value("Address", ""), state, lease,
                       seconds(n.value("HeartbeatAgeMs", int64_t{0})) + " ago",
                       n.value("InFlight", int64_t{0}), n.value("AsyncInFlight", int64_t{0}),
                       n.value("FencingToken", int64_t{0}));
  }
  if (auto it = body.find("AsyncEvents"); it != body.end() && it->is_object())
    out += fmt::format("async events: {} queued, {} in flight\n", it->value("Queued", int64_t{0}),
                       it->value("InFlight", int64_t{0}));
  return out;
}

void add_cluster_commands(CLI::App& app, ClusterCommands& commands) {
  commands.state = std::make_shared<ClusterCommandState>();
  auto& s = *commands.state;
  s.cluster = app.add_subcommand("cluster", "The cluster of runtimed nodes (serve --cluster)");
  s.cluster->require_subcommand(1);
  s.status = s.cluster->add_subcommand(
      "status", "Nodes, their address, live/dead/left, lease remaining and heartbeat age");
  s.status->add_option("--endpoint", s.endpoint, "URL of the runtimed daemon")
      ->capture_default_str();
  s.status->add_flag("--json", s.json, "Print the daemon's JSON answer");
  add_ca_bundle_option(s.status);
}

std::optional<int> run_cluster_command(const ClusterCommands& commands) {
  if (!commands.state || !commands.state->cluster || !commands.state->cluster->parsed())
    return std::nullopt;
  const auto& s = *commands.state;
  if (s.status->parsed()) {
    return call_and_print(s.endpoint, HttpCall{"GET", "/runtimed/v1/cluster"},
                          [&s](const json& body) {
                            return s.json ? body.dump(2) + "\n" : format_cluster_status(body);
                          });
  }
  return std::nullopt;
}

}  // namespace runtimed
