// The Runtime API endpoint (api/runtime_api.cpp, its state machine api/runtime_api_state.cpp, and
// the Beast server under it): raw bytes from a "runtime" over loopback to a fresh endpoint. When
// the endpoint goes quiet (a parked /next), the harness delivers the next invocation, with ids
// req-1, req-2, ... so that seeds can answer them. Outcomes must name a delivered invocation.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <future>
#include <string>

#include "api/http_server.hpp"
#include "api/runtime_api.hpp"
#include "fuzz_support.hpp"

namespace {

struct Fixture {
  Fixture() {
    fuzz::openssl_without_exit_cleanup();
    fuzz::quiet_logs();
  }
  api::HttpServer server{1};
};

// A listening loopback socket on a free port, as net_namespace.cpp hands the endpoint one.
int listen_loopback(uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 16) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    std::abort();
  *port = ntohs(addr.sin_port);
  return fd;
}

// A caller's end of a streamed response: checks that pieces come only between begin and the
// invocation's outcome, and never past the streamed-response limit.
struct CheckingSink : api::ResponseStreamSink {
  std::atomic<int> begins{0};
  std::atomic<size_t> bytes{0};
  void begin(const std::string&, const std::string&) override { ++begins; }
  void write(std::string piece) override {
    if (begins.load() != 1 || piece.empty()) std::abort();
    bytes += piece.size();
    if (bytes.load() > api::RuntimeApiEndpoint::kMaxStreamedPayload) std::abort();
  }
  size_t backlog() const override { return 0; }
  void when_below(size_t, std::function<void()> resume) override { resume(); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture f;
  uint16_t port = 0;
  const int fd = listen_loopback(&port);
  int delivered = 0;    // harness thread only
  int bad_outcome = 0;  // io thread only, read after the barrier below
  api::RuntimeApiCallbacks callbacks;
  auto delivered_ids = std::make_shared<std::atomic<int>>(0);
  callbacks.on_outcome = [delivered_ids, &bad_outcome](const std::string& id,
                                                       api::InvocationOutcome outcome) {
    // Only a handed-out invocation can be answered.
    const int n = delivered_ids->load();
    bool known = false;
    for (int i = 1; i <= n; ++i) known = known || id == "req-" + std::to_string(i);
    if (!known) ++bad_outcome;
    if (outcome.kind == api::InvocationOutcome::Kind::FunctionError && outcome.error_type.empty())
      ++bad_outcome;
  };
  callbacks.on_init_error = [](api::InvocationOutcome) {};
  callbacks.on_first_next = [] {};
  // A small payload limit, so that inputs reach the 413 path (Function.ResponseSizeTooLarge).
  auto endpoint = api::RuntimeApiEndpoint::create(f.server, fd, 0, callbacks, 4096);
  if (!endpoint) std::abort();
  auto deliver = [&] {
    ++delivered;
    delivered_ids->store(delivered);
    api::InvocationEvent e;
    e.request_id = "req-" + std::to_string(delivered);
    e.deadline_ms = 1;
    e.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f";
    e.payload = "{}";
    // Every other invocation has a streaming caller; the rest gather a streamed response.
    if (delivered % 2 == 0) e.stream_sink = std::make_shared<CheckingSink>();
    (*endpoint)->deliver(std::move(e));
  };
  // The first invocation may already wait when the runtime starts (a cold start).
  if (size > 0 && (data[0] & 1)) deliver();
  fuzz::exchange(port, std::string_view(reinterpret_cast<const char*>(data), size), 1, 3, deliver);
  (*endpoint)->close();
  // Barrier: everything the endpoint's io thread had queued for this input has run.
  std::promise<void> done;
  f.server.post(0, [&done] { done.set_value(); });
  done.get_future().wait();
  if (bad_outcome) std::abort();
  return 0;
}
