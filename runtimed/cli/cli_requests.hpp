// The command-line client's requests, built from parsed options without touching the network.
#pragma once

#include <expected>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtimed/cli/cli_commands.hpp"

namespace runtimed {

inline constexpr std::string_view kDefaultEndpoint = "http://127.0.0.1:9000";
inline constexpr std::string_view kDefaultRole = "arn:aws:iam::000000000000:role/runtimed";
// ListFunctions page size the client asks for; it follows NextMarker for the rest.
inline constexpr int kListPageSize = 1000;

enum class ClientCommand { Create, Update, Get, List, Delete, Invoke, Logs };

// Every client option; each subcommand fills the ones it declares.
struct ClientOptions {
  std::string endpoint{kDefaultEndpoint};
  std::string name;
  // create / update
  std::optional<std::string> runtime;
  std::optional<std::string> handler;
  std::optional<std::string> description;
  std::optional<std::string> role;
  std::optional<std::filesystem::path> zip_file;
  std::optional<std::filesystem::path> code_dir;
  std::optional<int> memory_mb;
  std::optional<int> timeout_s;
  std::optional<int> tmp_mb;
  std::vector<std::string> env;
  // list
  bool json = false;
  // invoke
  std::string payload = "{}";
  bool log = false;
  std::string invocation_type = "RequestResponse";
  // logs
  bool follow = false;
  std::optional<int> tail;
  bool all = false;  // everything the daemon still has, not the last 64 KiB
};

struct ParsedClientCommand {
  ClientCommand command;
  ClientOptions options;
};

// The client subcommand the last parse selected, with its options; nullopt if none.
// (Defined in cli_commands.cpp, which owns the option storage.)
std::optional<ParsedClientCommand> parsed_client_command(const ClientCommands& commands);

// One HTTP request to the daemon.
struct HttpCall {
  std::string method;
  std::string target;  // path and query, percent-encoded
  std::map<std::string, std::string> headers;
  std::string body;
  std::string content_type;  // empty when there is no body

  bool operator==(const HttpCall&) const = default;
};

// "K=V" strings → Environment.Variables; an entry without '=' or with an empty key is an error.
std::expected<std::map<std::string, std::string>, std::string> parse_env_assignments(
    const std::vector<std::string>& assignments);
// `--payload`: the JSON text itself, or "@FILE" for the file's contents.
std::expected<std::string, std::string> read_payload(const std::string& argument);
// The code the options name: the bytes of --zip FILE or --code DIR zipped; nullopt if neither.
std::expected<std::optional<std::string>, std::string> load_code(const ClientOptions& options);

// Log text as a terminal should show it: Lambda's Python runtime joins a multi-line record (a
// traceback) with '\r' so it stays one log event; each '\r' (or "\r\n") becomes a newline.
// `after_cr` carries a '\r' that ended the previous chunk (start with false).
std::string readable_log_text(std::string_view chunk, bool& after_cr);

// CreateFunction's body; `zip` is the package's raw bytes.
std::expected<nlohmann::json, std::string> build_create_request(const ClientOptions& options,
                                                                std::string_view zip);
// UpdateFunctionConfiguration's body with only the options given; an empty object if none.
std::expected<nlohmann::json, std::string> build_update_configuration_request(
    const ClientOptions& options);
nlohmann::json build_update_code_request(std::string_view zip);

// "/2015-03-31/functions/NAME" + suffix, the name percent-encoded.
std::string function_path(std::string_view name, std::string_view suffix = "");
// ListFunctions' target for the page after `marker` (the first page when nullopt).
std::string list_target(const std::optional<std::string>& marker);

// The requests a command makes, in order (for list: the first page only). Reads the files the
// options name (--zip, --code, --payload @FILE).
std::expected<std::vector<HttpCall>, std::string> build_calls(ClientCommand command,
                                                              const ClientOptions& options);

// `runtimed list`'s table: NAME RUNTIME MEMORY TIMEOUT LAST-MODIFIED, one line per function.
std::string format_function_table(const nlohmann::json& functions);

}  // namespace runtimed
