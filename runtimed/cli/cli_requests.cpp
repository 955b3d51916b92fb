// Builds the command-line client's HTTP requests from its options (no network).
#include "runtimed/cli/cli_requests.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/base64.hpp"
#include "runtimed/cli/zip_writer.hpp"

namespace runtimed {

using nlohmann::json;

namespace {

constexpr std::string_view kFunctionsPath = "/2015-03-31/functions";

std::expected<std::string, std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(fmt::format("cannot read {}", path.string()));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return std::unexpected(fmt::format("cannot read {}", path.string()));
  return std::move(contents).str();
}

HttpCall json_call(std::string method, std::string target, const json& body) {
  return {std::move(method), std::move(target), {}, body.dump(), "application/json"};
}

}  // namespace

std::expected<std::map<std::string, std::string>, std::string> parse_env_assignments(
    const std::vector<std::string>& assignments) {
  std::map<std::string, std::string> vars;
  for (const auto& a : assignments) {
    const size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      return std::unexpected(fmt::format("--env {}: expected KEY=VALUE", a));
    vars[a.substr(0, eq)] = a.substr(eq + 1);
  }
  return vars;
}

std::expected<std::string, std::string> read_payload(const std::string& argument) {
  if (!argument.starts_with('@')) return argument;
  auto contents = read_file(argument.substr(1));
  if (!contents) return std::unexpected("--payload " + argument + ": " + contents.error());
  return contents;
}

std::expected<std::optional<std::string>, std::string> load_code(const ClientOptions& options) {
  if (options.zip_file && options.code_dir)
    return std::unexpected("give either --zip or --code, not both");
  if (options.zip_file) {
    auto zip = read_file(*options.zip_file);
    if (!zip) return std::unexpected("--zip: " + zip.error());
    return std::optional<std::string>(std::move(*zip));
  }
  if (options.code_dir) {
    auto zip = zip_directory(*options.code_dir);
    if (!zip) return std::unexpected("--code: " + zip.error());
    return std::optional<std::string>(std::move(*zip));
  }
  return std::nullopt;
}

std::expected<json, std::string> build_create_request(const ClientOptions& options,
                                                      std::string_view zip) {
  auto env = parse_env_assignments(options.env);
  if (!env) return std::unexpected(env.error());
  json body = {
      {"FunctionName", options.name},
      {"Runtime", options.runtime.value_or("")},
      {"Role", options.role.value_or(std::string(kDefaultRole))},
      {"Code", {{"ZipFile", common::base64_encode(zip)}}},
  };
  if (options.handler) body["Handler"] = *options.handler;
  if (options.memory_mb) body["MemorySize"] = *options.memory_mb;
  if (options.timeout_s) body["Timeout"] = *options.timeout_s;
  if (options.tmp_mb) body["EphemeralStorage"] = {{"Size", *options.tmp_mb}};
  if (!env->empty()) body["Environment"] = {{"Variables", *env}};
  if (options.description) body["Description"] = *options.description;
  return body;
}

std::expected<json, std::string> build_update_configuration_request(const ClientOptions& options) {
  auto env = parse_env_assignments(options.env);
  if (!env) return std::unexpected(env.error());
  json body = json::object();
  if (options.runtime) body["Runtime"] = *options.runtime;
  if (options.handler) body["Handler"] = *options.handler;
  if (options.role) body["Role"] = *options.role;
  if (options.memory_mb) body["MemorySize"] = *options.memory_mb;
  if (options.timeout_s) body["Timeout"] = *options.timeout_s;
  if (options.tmp_mb) body["EphemeralStorage"] = {{"Size", *options.tmp_mb}};
  // As in Lambda, the variables given replace the function's whole environment.
  if (!options.env.empty()) body["Environment"] = {{"Variables", *env}};
  if (options.description) body["Description"] = *options.description;
  return body;
}

json build_update_code_request(std::string_view zip) {
  return {{"ZipFile", common::base64_encode(zip)}};
}

std::string function_path(std::string_view name, std::string_view suffix) {
  return fmt::format("{}/{}{}", kFunctionsPath,
                     httplib::detail::encode_query_param(std::string(name)), suffix);
}

std::string list_target(const std::optional<std::string>& marker) {
  httplib::Params params{{"MaxItems", std::to_string(kListPageSize)}};
  if (marker) params.emplace("Marker", *marker);
  return httplib::append_query_params(std::string(kFunctionsPath) + "/", params);
}

std::expected<std::vector<HttpCall>, std::string> build_calls(ClientCommand command,
                                                              const ClientOptions& options) {
  switch (command) {
    case ClientCommand::Create: {
      auto code = load_code(options);
      if (!code) return std::unexpected(code.error());
      if (!*code)
        return std::unexpected("create needs the function's code: --zip FILE or --code DIR");
      auto body = build_create_request(options, **code);
      if (!body) return std::unexpected(body.error());
      return std::vector{json_call("POST", std::string(kFunctionsPath), *body)};
    }
    case ClientCommand::Update: {
      auto code = load_code(options);
      if (!code) return std::unexpected(code.error());
      auto config = build_update_configuration_request(options);
      if (!config) return std::unexpected(config.error());
      std::vector<HttpCall> calls;
      if (*code)
        calls.push_back(json_call("PUT", function_path(options.name, "/code"),
                                  build_update_code_request(**code)));
      if (!config->empty())
        calls.push_back(json_call("PUT", function_path(options.name, "/configuration"), *config));
      if (calls.empty())
        return std::unexpected("nothing to update: give --zip/--code and/or configuration options");
      return calls;
    }
    case ClientCommand::Get:
      return std::vector{HttpCall{"GET", function_path(options.name)}};
    case ClientCommand::List:
      return std::vector{HttpCall{"GET", list_target(std::nullopt)}};
    case ClientCommand::Delete:
      return std::vector{HttpCall{"DELETE", function_path(options.name)}};
    case ClientCommand::Invoke: {
      auto payload = read_payload(options.payload);
      if (!payload) return std::unexpected(payload.error());
      HttpCall call{"POST",
                    function_path(options.name, "/invocations"),
                    {{"X-Amz-Invocation-Type", options.invocation_type}},
                    std::move(*payload),
                    "application/json"};
      if (options.log) call.headers["X-Amz-Log-Type"] = "Tail";
      return std::vector{std::move(call)};
    }
    case ClientCommand::Logs: {
      httplib::Params params;
      if (options.follow) params.emplace("follow", "1");
      if (options.tail) params.emplace("tail", std::to_string(*options.tail));
      if (options.all) params.emplace("offset", "0");
      const std::string path = fmt::format("/runtimed/v1/functions/{}/logs",
                                           httplib::detail::encode_query_param(options.name));
      return std::vector{
          HttpCall{"GET", params.empty() ? path : httplib::append_query_params(path, params)}};
    }
  }
  return std::unexpected("unknown command");
}

std::string readable_log_text(std::string_view chunk, bool& after_cr) {
  std::string out;
  out.reserve(chunk.size());
  for (const char c : chunk) {
    if (c == '\n' && after_cr) {
      after_cr = false;  // the second half of "\r\n": already a newline
      continue;
    }
    after_cr = c == '\r';
    out += after_cr ? '\n' : c;
  }
  return out;
}

std::string format_function_table(const json& functions) {
  std::vector<std::array<std::string, 5>> rows{
      {"NAME", "RUNTIME", "MEMORY", "TIMEOUT", "LAST-MODIFIED"}};
  auto text = [](const json& f, const char* key) -> std::string {
    auto it = f.find(key);
    if (it == f.end() || it->is_null()) return "-";
    return it->is_string() ? it->get<std::string>() : it->dump();
  };
  for (const auto& f : functions)
    rows.push_back({text(f, "FunctionName"), text(f, "Runtime"), text(f, "MemorySize"),
                    text(f, "Timeout"), text(f, "LastModified")});
  std::array<size_t, 5> width{};
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    out += line + '\n';
  }
  return out;
}

}  // namespace runtimed
