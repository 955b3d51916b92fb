// The bench's calls to an endpoint (see bench_client.hpp).
#include "runtimed/bench/bench_client.hpp"

#include <nlohmann/json.hpp>
#include <thread>

#include "common/base64.hpp"

namespace runtimed::bench {

namespace {

std::string status_text(const std::string& what, const httplib::Result& response) {
  if (!response) return what + ": " + httplib::to_string(response.error());
  std::string text = what + ": HTTP " + std::to_string(response->status);
  if (response->has_header("x-amzn-ErrorType"))
    text += " " + response->get_header_value("x-amzn-ErrorType");
  return text + " " + response->body;
}

}  // namespace

Target target_of(const std::string& function) {
  Target t;
  const auto colon = function.find(':');
  t.name = function.substr(0, colon);
  if (colon != std::string::npos) t.qualifier = function.substr(colon + 1);
  t.invoke_path = "/2015-03-31/functions/" + t.name + "/invocations";
  if (!t.qualifier.empty()) t.invoke_path += "?Qualifier=" + t.qualifier;
  t.drain_path = "/runtimed/v1/functions/" + t.name + "/drain";
  t.configuration_path = "/2015-03-31/functions/" + t.name + "/configuration";
  return t;
}

std::unique_ptr<httplib::Client> client_for(const std::string& endpoint) {
  auto client = std::make_unique<httplib::Client>(endpoint);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);  // headers and body go in two writes: no 40 ms Nagle stall
  client->set_connection_timeout(std::chrono::seconds(10));
  client->set_read_timeout(std::chrono::seconds(910));
  return client;
}

Sample invoke_once(httplib::Client& client, const Target& target, const std::string& payload) {
  Sample sample;
  httplib::Headers headers{{"X-Amz-Log-Type", "Tail"}, {kPhasesRequestHeader, "1"}};
  auto response = client.Post(target.invoke_path, headers, payload, "application/json");
  if (!response) {
    sample.error_type = "transport: " + httplib::to_string(response.error());
    return sample;
  }
  sample.status = response->status;
  if (response->status == 429) {
    auto body = nlohmann::json::parse(response->body, nullptr, false);
    if (body.is_object() && body.contains("Reason") && body["Reason"].is_string()) {
      sample.throttle_reason = body["Reason"].get<std::string>();
    }
    return sample;
  }
  if (response->status != 200) {
    sample.error_type = response->get_header_value("x-amzn-ErrorType");
    if (sample.error_type.empty()) sample.error_type = "HTTP " + std::to_string(response->status);
    return sample;
  }
  if (response->has_header("X-Amz-Function-Error")) {
    sample.error_type = "Function." + response->get_header_value("X-Amz-Function-Error");
  }
  if (auto tail = common::base64_decode(response->get_header_value("X-Amz-Log-Result"))) {
    sample.report = parse_report_line(*tail);
    sample.cold = sample.report && sample.report->init_duration_ms.has_value();
  }
  if (response->has_header(kPhasesResponseHeader))
    sample.phases = parse_cold_phases(response->get_header_value(kPhasesResponseHeader));
  if (response->has_header(kThawResponseHeader)) {
    const std::string text = response->get_header_value(kThawResponseHeader);
    char* end = nullptr;
    const double ms = std::strtod(text.c_str(), &end);
    if (end != text.c_str() && *end == '\0' && ms >= 0) sample.thaw_ms = ms;
  }
  return sample;
}

std::expected<void, std::string> drain(httplib::Client& client, const Target& target) {
  auto response = client.Post(target.drain_path);
  if (!response || (response->status != 200 && response->status != 204))
    return std::unexpected(status_text("drain " + target.name, response));
  return {};
}

std::expected<int, std::string> memory_size(httplib::Client& client, const Target& target) {
  auto response = client.Get(target.configuration_path);
  if (!response || response->status != 200)
    return std::unexpected(status_text("GetFunctionConfiguration " + target.name, response));
  const auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (!body.is_object() || !body.contains("MemorySize") || !body["MemorySize"].is_number_integer())
    return std::unexpected("GetFunctionConfiguration " + target.name + ": no MemorySize");
  return body["MemorySize"].get<int>();
}

std::expected<void, std::string> set_memory_size(httplib::Client& client, const Target& target,
                                                 int memory_mb, std::chrono::milliseconds timeout) {
  const std::string what = "UpdateFunctionConfiguration " + target.name;
  auto response = client.Put(target.configuration_path,
                             nlohmann::json{{"MemorySize", memory_mb}}.dump(), "application/json");
  if (!response || response->status != 200) return std::unexpected(status_text(what, response));
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto got = client.Get(target.configuration_path);
    if (!got || got->status != 200) return std::unexpected(status_text(what, got));
    const auto body = nlohmann::json::parse(got->body, nullptr, false);
    const std::string status =
        body.is_object() ? body.value("LastUpdateStatus", std::string("Successful")) : "";
    if (status == "Successful" && body.value("MemorySize", 0) == memory_mb) return {};
    if (status == "Failed")
      return std::unexpected(what + ": LastUpdateStatus Failed: " +
                             body.value("LastUpdateStatusReason", std::string()));
    if (std::chrono::steady_clock::now() >= until)
      return std::unexpected(what + ": still " + status + " after " +
                             std::to_string(timeout.count()) + " ms");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace runtimed::bench
