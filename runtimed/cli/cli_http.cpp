// Sends the command-line client's requests with cpp-httplib and turns failures into messages.
#include "runtimed/cli/cli_http.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "api/percent_decode.hpp"
#include "api/sigv4.hpp"
#include "runtimed/cli/aws_credentials.hpp"

namespace runtimed {

namespace {

std::string& cli_ca_bundle() {
  static std::string path;
  return path;
}

// The bundle given on the command line, else AWS_CA_BUNDLE's, else none.
std::string ca_bundle() {
  if (!cli_ca_bundle().empty()) return cli_ca_bundle();
  const char* env = std::getenv("AWS_CA_BUNDLE");
  return env ? env : "";
}

// httplib's Client takes "scheme://host:port" only; a trailing '/' would make it a host name.
std::string trim_endpoint(std::string endpoint) {
  while (endpoint.ends_with('/')) endpoint.pop_back();
  return endpoint;
}

// httplib's own names ("Connection", "Read") are terse for a command line.
std::string reason(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
      return "connection failed (is the daemon running there?)";
    case httplib::Error::ConnectionTimeout:
      return "connection timed out";
    case httplib::Error::Read:
      return "no complete answer (connection closed or read timed out)";
    case httplib::Error::Write:
      return "sending the request failed";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed (is the daemon serving HTTPS there?)";
    case httplib::Error::SSLLoadingCerts:
      return "cannot load the CA bundle";
    default:
      return httplib::to_string(error);
  }
}

}  // namespace

void set_cli_ca_bundle(std::string path) { cli_ca_bundle() = std::move(path); }

void add_ca_bundle_option(CLI::App* cmd) {
  cmd->add_option_function<std::string>(
         "--ca-bundle", [](const std::string& path) { set_cli_ca_bundle(path); },
         "PEM certificates to verify an https:// endpoint with (default: AWS_CA_BUNDLE, else "
         "the system's)")
      ->check(CLI::ExistingFile);
}

std::string api_error_text(int status, const std::string& error_type_header,
                           std::string_view body) {
  std::string type = error_type_header.empty() ? fmt::format("HTTP {}", status) : error_type_header;
  // x-amzn-ErrorType may carry a ":http://..." suffix in AWS; keep only the name.
  if (auto colon = type.find(':'); colon != std::string::npos) type.resize(colon);
  std::string message;
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object()) {
    for (const char* key : {"message", "Message"}) {
      if (auto it = json.find(key); it != json.end() && it->is_string()) {
        message = it->get<std::string>();
        break;
      }
    }
  }
  if (message.empty() && !json.is_object()) message = std::string(body);
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
  if (message.empty()) message = "(no message)";
  return fmt::format("{}: {}", type, message);
}

DaemonClient::DaemonClient(std::string endpoint, std::chrono::seconds read_timeout)
    : endpoint_(trim_endpoint(std::move(endpoint))), client_(endpoint_) {
  client_.set_connection_timeout(kConnectTimeout);
  client_.set_read_timeout(read_timeout);
  client_.set_write_timeout(kDefaultReadTimeout);
  // httplib writes the head and the body apart: without TCP_NODELAY the body can wait out a
  // delayed ACK (40 ms) on a reused connection.
  client_.set_tcp_nodelay(true);
  // https:// only (httplib ignores it for http://); the server's certificate and name are checked.
  if (const std::string bundle = ca_bundle(); !bundle.empty()) client_.set_ca_cert_path(bundle);
}

httplib::Request DaemonClient::to_request(const HttpCall& call) const {
  httplib::Request req;
  req.method = call.method;
  req.path = call.target;
  for (const auto& [k, v] : call.headers) req.headers.emplace(k, v);
  if (!call.content_type.empty()) {
    req.headers.emplace("Content-Type", call.content_type);
    req.body = call.body;
  }
  sign(req);
  return req;
}

void DaemonClient::sign(httplib::Request& req) const {
  // As the AWS CLI finds its keys (aws_credentials.hpp). A named profile that is missing was
  // reported before the request (cli_commands' option check), so here it only means unsigned.
  auto keys = find_aws_credentials();
  if (!keys || !*keys) return;
  const std::string key = (*keys)->access_key_id;
  const std::string secret = (*keys)->secret_access_key;
  const char* region = std::getenv("AWS_REGION");
  if (region == nullptr) region = std::getenv("AWS_DEFAULT_REGION");
  api::HttpRequest signed_request;
  signed_request.method = req.method;
  const auto q = req.path.find('?');
  signed_request.raw_path = req.path.substr(0, q);
  if (q != std::string::npos)
    signed_request.query = api::parse_query(std::string_view(req.path).substr(q + 1));
  for (const auto& [k, v] : req.headers) signed_request.headers.emplace(k, v);
  const auto scheme = endpoint_.find("://");
  const std::string host = scheme == std::string::npos ? endpoint_ : endpoint_.substr(scheme + 3);
  signed_request.headers.emplace("Host", host);
  signed_request.body = req.body;
  api::sign_sigv4(signed_request, key, secret, region ? region : "us-east-1", "lambda",
                  std::chrono::system_clock::now());
  req.set_header("Host", host);
  req.set_header("X-Amz-Date", signed_request.header("X-Amz-Date"));
  req.set_header("Authorization", signed_request.header("Authorization"));
}

std::string DaemonClient::unreachable(httplib::Error error) {
  if (error == httplib::Error::SSLServerVerification) {
    const long result = client_.get_openssl_verify_result();
    return fmt::format(
        "cannot reach {}: the server's certificate is not trusted ({}; give the CA that signed it "
        "with --ca-bundle)",
        endpoint_,
        result != X509_V_OK ? X509_verify_cert_error_string(result) : "its name does not match");
  }
  return fmt::format("cannot reach {}: {}", endpoint_, reason(error));
}

std::string DaemonClient::invalid_endpoint() const {
  return fmt::format("cannot reach {}: not an http://HOST:PORT or https://HOST:PORT endpoint",
                     endpoint_);
}

std::expected<httplib::Response, std::string> DaemonClient::send(const HttpCall& call) {
  if (!client_.is_valid()) return std::unexpected(invalid_endpoint());
  auto result = client_.send(to_request(call));
  if (!result) return std::unexpected(unreachable(result.error()));
  return *result;
}

std::expected<httplib::Response, std::string> DaemonClient::stream(
    const HttpCall& call, const std::function<void(std::string_view)>& sink) {
  if (!client_.is_valid()) return std::unexpected(invalid_endpoint());
  httplib::Request req = to_request(call);
  int status = 0;
  std::string error_body;
  req.response_handler = [&](const httplib::Response& head) {
    status = head.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (status >= 400)
      error_body.append(data, n);
    else
      sink(std::string_view(data, n));
    return true;
  };
  auto result = client_.send(req);
  if (!result) return std::unexpected(unreachable(result.error()));
  httplib::Response response = *result;
  response.body = std::move(error_body);
  return response;
}

int call_and_print(const std::string& endpoint, const HttpCall& call,
                   const std::function<std::string(const nlohmann::json&)>& format) {
  DaemonClient client(endpoint, kDefaultReadTimeout);
  auto response = client.send(call);
  if (!response) {
    std::fprintf(stderr, "runtimed: %s\n", response.error().c_str());
    return 2;
  }
  if (response->status >= 400) {
    std::fprintf(stderr, "runtimed: %s\n",
                 api_error_text(response->status, response->get_header_value("x-amzn-ErrorType"),
                                response->body)
                     .c_str());
    return 2;
  }
  if (!format) return 0;
  const std::string text =
      format(nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false));
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace runtimed
