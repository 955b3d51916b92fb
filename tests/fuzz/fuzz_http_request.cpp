// The client API's request path: raw bytes over loopback to the real api::HttpServer (Boost.Beast
// parser, header/body limits, Expect, keep-alive, pipelining, percent-decoding of path and query),
// whose handler routes as the daemon's Router does (runtimed/daemon.cpp) to the Invoke parser and
// to the function API over the real FunctionStore. The bytes sent back must parse as a sequence
// of HTTP responses, none of them a 5xx.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <string>

#include "api/function_api.hpp"
#include "api/http_server.hpp"
#include "api/invoke_api.hpp"
#include "fuzz_support.hpp"
#include "runtimed/store/function_store.hpp"

namespace http = boost::beast::http;

namespace {

struct Fixture {
  std::unique_ptr<runtimed::FunctionStore> store;
  std::unique_ptr<api::FunctionApi> functions;
  api::HttpServer server{1};
  api::ListenerOptions options;
  uint16_t port = 0;

  Fixture() {
    fuzz::openssl_without_exit_cleanup();
    fuzz::quiet_logs();
    auto opened = runtimed::FunctionStore::open(
        fuzz::scratch_dir("http"),
        runtimed::CodeLimits{.max_zip_bytes = 1 << 20, .max_unzipped_bytes = 4 << 20});
    if (!opened) std::abort();
    store = std::move(*opened);
    functions = std::make_unique<api::FunctionApi>(*store, "us-east-1", "123456789012");
    options.body_limit = 64 * 1024;  // reachable by the fuzzer, unlike the real 6 MB
    options.idle_timeout = std::chrono::seconds(2);
    options.request_timeout = std::chrono::seconds(2);
    auto id = server.listen(
        "127.0.0.1", 0, [this](api::HttpRequest&& r, api::Reply reply) { route(r, reply); },
        options);
    if (!id) std::abort();
    port = server.local_port(*id);
  }

  void route(const api::HttpRequest& request, const api::Reply& reply) {
    if (api::is_invoke_path(request.path)) {
      auto parsed = api::parse_invoke_request(request);
      if (!parsed) return reply(api::to_http(parsed.error(), "req-1"));
      api::InvokeResult result;
      result.payload = parsed->payload;
      return reply(api::to_http(result, *parsed, "req-1"));
    }
    if (api::FunctionApi::matches(request)) return reply(functions->handle(request, "req-1"));
    if (request.path == "/runtimed/v1/health") return reply(api::HttpResponse{.body = "{}"});
    reply(api::to_http(api::ApiError::not_found("No route for " + request.path), "req-1"));
  }
};

// Which of the input's requests are HEAD, in order: their answers have a head and no body. A
// request that does not parse ends the list (the server answers it, if at all, and closes).
std::vector<bool> head_requests(std::string_view input, size_t header_limit, size_t body_limit) {
  std::vector<bool> heads;
  while (!input.empty()) {
    http::request_parser<http::string_body> parser;
    parser.eager(true);
    parser.header_limit(static_cast<uint32_t>(header_limit));
    parser.body_limit(body_limit);
    boost::beast::error_code ec;
    const size_t used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
    if (parser.is_header_done()) heads.push_back(parser.get().method() == http::verb::head);
    if (ec || !parser.is_done()) break;
    input.remove_prefix(used);
  }
  return heads;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture f;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string answer = fuzz::exchange(f.port, input, 3000, 0, [] {});
  const std::vector<bool> heads =
      head_requests(input, f.options.header_limit, f.options.body_limit);
  size_t answered = 0;
  // The answers: complete HTTP/1.1 responses back to back, none a server error.
  boost::beast::flat_buffer buffer;
  buffer.commit(boost::asio::buffer_copy(buffer.prepare(answer.size()),
                                         boost::asio::buffer(answer.data(), answer.size())));
  while (buffer.size() > 0) {
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(16 << 20);
    // The answer to HEAD is a head alone, with the Content-Length a GET would get.
    if (answered < heads.size() && heads[answered]) parser.skip(true);
    boost::beast::error_code ec;
    const size_t used = parser.put(buffer.data(), ec);
    if (ec || !parser.is_done()) {
      std::fprintf(stderr, "unparsable answer: %s\n", ec.message().c_str());
      std::abort();
    }
    buffer.consume(used);
    // 100 Continue is an interim answer: the request's own answer follows it.
    if (parser.get().result_int() >= 200) ++answered;
    if (parser.get().result_int() >= 500) std::abort();
    // Created functions do not outlive the input.
    if (parser.get().result_int() == 201) {
      auto page = f.store->list(std::nullopt, 100);
      for (const auto& c : page ? page->functions : std::vector<common::FunctionConfig>{})
        (void)f.store->remove(c.name);
    }
  }
  return 0;
}
