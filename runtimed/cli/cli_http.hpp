// The command-line client's HTTP plumbing: sends HttpCalls to the daemon and words failures.
#pragma once

#include <httplib.h>

#include <chrono>
#include <expected>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "runtimed/cli/cli_requests.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace runtimed {

inline constexpr std::chrono::seconds kConnectTimeout{10};
inline constexpr std::chrono::seconds kDefaultReadTimeout{60};
// A function's Timeout can be 900 s; the answer may come a little after it.
inline constexpr std::chrono::seconds kInvokeReadTimeout{910};
// `logs --follow` waits for new lines for as long as the user keeps it running.
inline constexpr std::chrono::seconds kFollowReadTimeout{std::chrono::hours(24 * 365)};

// `--ca-bundle`: the PEM certificates that https:// endpoints are verified against, as the AWS
// CLI's option (and its AWS_CA_BUNDLE variable, used when this is not given). Neither: the
// system's trusted certificates.
void set_cli_ca_bundle(std::string path);
// Adds `--ca-bundle FILE` (which calls set_cli_ca_bundle) to a subcommand.
void add_ca_bundle_option(CLI::App* cmd);

// "ResourceNotFoundException: Function not found: ..." from a status >= 400 response: the type
// from x-amzn-ErrorType (else "HTTP <status>"), the message from the JSON body's "message".
std::string api_error_text(int status, const std::string& error_type_header, std::string_view body);

// One call of a runtimed-specific subcommand (queue, schedule): prints `format(body)` of a
// successful JSON answer (nothing when `format` is empty) and returns 0, or prints the error to
// stderr and returns 2.
int call_and_print(const std::string& endpoint, const HttpCall& call,
                   const std::function<std::string(const nlohmann::json&)>& format);

class DaemonClient {
 public:
  DaemonClient(std::string endpoint, std::chrono::seconds read_timeout);

  // The response, whatever its status; on a connection failure the error reads
  // "cannot reach <endpoint>: <reason>".
  std::expected<httplib::Response, std::string> send(const HttpCall& call);
  // Like send, but a successful response's body goes to `sink` as it arrives (the returned
  // response then has an empty body); an error response's body is kept in the response.
  std::expected<httplib::Response, std::string> stream(
      const HttpCall& call, const std::function<void(std::string_view)>& sink);

 private:
  httplib::Request to_request(const HttpCall& call) const;
  // SigV4-signs the request when AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set (region from
  // AWS_REGION or AWS_DEFAULT_REGION, else us-east-1), for a daemon run with --credentials.
  void sign(httplib::Request& req) const;
  std::string unreachable(httplib::Error error);
  std::string invalid_endpoint() const;

  std::string endpoint_;
  httplib::Client client_;
};

}  // namespace runtimed
