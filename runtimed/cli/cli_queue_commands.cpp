// The `runtimed queue …` subcommands (see cli_queue_commands.hpp).
#include "runtimed/cli/cli_queue_commands.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "runtimed/cli/cli_http.hpp"
#include "runtimed/cli/cli_requests.hpp"

namespace runtimed {

struct QueueCommandState {
  std::string endpoint{kDefaultEndpoint};
  std::string name;
  std::string handle;
  int max = 1;
  int visibility = 30;
  CLI::App* queue = nullptr;
  CLI::App *list = nullptr, *receive = nullptr, *delete_message = nullptr, *purge = nullptr,
           *redrive = nullptr;
};

namespace {

using nlohmann::json;

// Sends one call; prints `format(body)` on success.
int call(const QueueCommandState& s, const HttpCall& c,
         const std::function<std::string(const json&)>& format) {
  return call_and_print(s.endpoint, c, format);
}

std::string queue_path(const std::string& name, const std::string& suffix = "") {
  return "/runtimed/v1/queues/" + name + suffix;
}

std::string format_list(const json& body) {
  std::string out = fmt::format("{:<40} {:>10} {:>12}\n", "NAME", "MESSAGES", "NOT-VISIBLE");
  for (const auto& q : body.value("Queues", json::array()))
    out += fmt::format("{:<40} {:>10} {:>12}\n", q.value("Name", ""),
                       q.value("ApproximateNumberOfMessages", 0),
                       q.value("ApproximateNumberOfMessagesNotVisible", 0));
  return out;
}

// Each message: its receipt handle, attributes and body, separated by a blank line.
std::string format_messages(const json& body) {
  std::string out;
  if (!body.contains("Messages") || !body["Messages"].is_array()) return out;
  for (const auto& m : body["Messages"]) {
    out += "ReceiptHandle: " + m.value("ReceiptHandle", "") + "\n";
    out += "MessageId: " + m.value("MessageId", "") + "\n";
    if (m.contains("MessageAttributes") && m["MessageAttributes"].is_object()) {
      for (const auto& [key, value] : m["MessageAttributes"].items())
        out += key + ": " + value.value("StringValue", "") + "\n";
    }
    out += "Body: " + m.value("Body", "") + "\n\n";
  }
  return out;
}

}  // namespace

void add_queue_commands(CLI::App& app, QueueCommands& commands) {
  commands.state = std::make_shared<QueueCommandState>();
  auto& s = *commands.state;
  s.queue = app.add_subcommand("queue",
                               "Local message queues (dead letters, destinations, event sources)");
  s.queue->require_subcommand(1);
  auto add = [&](const char* name, const char* help, bool takes_name) {
    auto* cmd = s.queue->add_subcommand(name, help);
    cmd->add_option("--endpoint", s.endpoint, "URL of the runtimed daemon")->capture_default_str();
    add_ca_bundle_option(cmd);
    if (takes_name) cmd->add_option("name", s.name, "Queue name")->required();
    return cmd;
  };
  s.list = add("list", "List queues with their depths", false);
  s.receive =
      add("receive", "Receive messages (they stay hidden for the visibility timeout)", true);
  s.receive->add_option("--max", s.max, "Most messages to receive")->check(CLI::Range(1, 10000));
  s.receive->add_option("--visibility", s.visibility, "Visibility timeout (s)")
      ->check(CLI::Range(0, 43200));
  s.delete_message = add("delete-message", "Delete a received message", true);
  s.delete_message->add_option("handle", s.handle, "Receipt handle")->required();
  s.purge = add("purge", "Delete every message in a queue", true);
  s.redrive = add("redrive", "Send dead letters back to their functions as new events", true);
}

std::optional<int> run_queue_command(const QueueCommands& commands) {
  if (!commands.state || !commands.state->queue || !commands.state->queue->parsed())
    return std::nullopt;
  const auto& s = *commands.state;
  if (s.list->parsed()) return call(s, HttpCall{"GET", "/runtimed/v1/queues"}, format_list);
  if (s.receive->parsed())
    return call(s,
                HttpCall{"POST", queue_path(s.name, fmt::format("/receive?max={}&visibility={}",
                                                                s.max, s.visibility))},
                format_messages);
  if (s.delete_message->parsed())
    return call(s, HttpCall{"DELETE", queue_path(s.name, "/messages/" + s.handle)}, nullptr);
  if (s.purge->parsed())
    return call(s, HttpCall{"POST", queue_path(s.name, "/purge")}, [](const json& b) {
      return fmt::format("purged {} message(s)\n", b.value("Purged", 0));
    });
  if (s.redrive->parsed())
    return call(s, HttpCall{"POST", queue_path(s.name, "/redrive")}, [](const json& b) {
      return fmt::format("redrove {} message(s)\n", b.value("Redriven", 0));
    });
  return std::nullopt;
}

}  // namespace runtimed
