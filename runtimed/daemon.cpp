// The daemon's wiring and request routing (see daemon.hpp).
#include "runtimed/daemon.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <charconv>
#include <nlohmann/json.hpp>

#include "api/concurrency_api.hpp"
#include "api/event_invoke_config_api.hpp"
#include "api/function_api.hpp"
#include "api/function_name.hpp"
#include "api/http_server.hpp"
#include "api/invoke_api.hpp"
#include "api/json_response.hpp"
#include "api/lambda_routes.hpp"
#include "api/request_limits.hpp"
#include "common/ids.hpp"
#include "common/metrics_registry.hpp"
#include "runtimed/async/async_dispatcher.hpp"
#include "runtimed/async/queue_routes.hpp"
#include "runtimed/cli/sandbox_command.hpp"
#include "runtimed/controller/sandbox_environment_factory.hpp"
#include "runtimed/install_paths.hpp"
#include "runtimed/store/function_settings.hpp"
#include "runtimed/store/function_store.hpp"

namespace runtimed {

std::filesystem::path default_state_dir() {
  if (::geteuid() == 0) return "/var/lib/runtimed";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) {
    return std::filesystem::path(xdg) / "runtimed";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : "/tmp") / ".local/state/runtimed";
}

bool parse_loopback_listen(const std::string& listen, std::string* host, uint16_t* port,
                           std::string* error) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    *error = "--listen must be HOST:PORT";
    return false;
  }
  *host = listen.substr(0, colon);
  const int p = std::atoi(listen.substr(colon + 1).c_str());
  if (p <= 0 || p > 65535) {
    *error = "--listen: bad port";
    return false;
  }
  *port = static_cast<uint16_t>(p);
  in_addr addr{};
  if (*host == "localhost") *host = "127.0.0.1";
  if (::inet_pton(AF_INET, host->c_str(), &addr) != 1 || (ntohl(addr.s_addr) >> 24) != 127) {
    *error = "refusing to listen on " + *host +
             ": requests are not authenticated yet, so runtimed serves loopback (127.0.0.0/8) only";
    return false;
  }
  return true;
}

size_t default_max_connections(uint64_t nofile_limit) {
  return static_cast<size_t>(std::max<uint64_t>(16, nofile_limit / 2));
}

namespace {

using api::json_response;

// A decimal count from a query parameter; nullopt unless the whole text is one.
std::optional<uint64_t> parse_count(std::string_view text) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// Raises the soft open-file limit to the hard one: every client connection and environment costs
// fds, and running out makes accept() fail for everyone. Returns the limit now in force.
uint64_t raise_nofile_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  return rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : static_cast<uint64_t>(rl.rlim_cur);
}

// The one table that turns a request into an action.
class Router {
 public:
  struct Apis {
    api::FunctionApi& functions;
    api::ConcurrencyApi& concurrency;
    api::EventInvokeConfigApi& event_invoke_configs;
    QueueRoutes& queues;
  };
  Router(Controller& controller, AsyncDispatcher& dispatcher, Apis apis, FunctionLogs& logs,
         api::FunctionCatalog& catalog, const HostIdentity& host,
         const common::metrics::Registry& metrics)
      : metrics_(metrics),
        controller_(controller),
        dispatcher_(dispatcher),
        functions_(apis.functions),
        apis_(apis),
        logs_(logs),
        catalog_(catalog),
        host_(host) {}

  void handle(api::HttpRequest&& request, api::Reply reply) {
    const std::string request_id = common::new_request_id();
    if (api::is_invoke_path(request.path))
      return invoke(std::move(request), request_id, std::move(reply));
    // Before the APIs' own matches(): /functions/{name}/versions would otherwise be a 404.
    if (auto op = api::unimplemented_operation(request.method, request.path)) {
      return reply(api::to_http(api::ApiError::not_implemented(fmt::format(
                                    "runtimed does not implement the Lambda operation {} ({} {})",
                                    *op, request.method, request.path)),
                                request_id));
    }
    if (api::FunctionApi::matches(request)) {
      // Function management unzips and writes SQLite: never on an io thread.
      return blocking(std::move(request), request_id, std::move(reply),
                      [this](const api::HttpRequest& r, const std::string& id) {
                        return functions_.handle(r, id);
                      });
    }
    // The other management APIs read and write SQLite: never on an io thread either.
    if (api::ConcurrencyApi::matches(request)) {
      return blocking(std::move(request), request_id, std::move(reply),
                      [this](const api::HttpRequest& r, const std::string& id) {
                        return apis_.concurrency.handle(r, id);
                      });
    }
    if (api::EventInvokeConfigApi::matches(request)) {
      return blocking(std::move(request), request_id, std::move(reply),
                      [this](const api::HttpRequest& r, const std::string& id) {
                        return apis_.event_invoke_configs.handle(r, id);
                      });
    }
    if (QueueRoutes::matches(request)) {
      return blocking(std::move(request), request_id, std::move(reply),
                      [this](const api::HttpRequest& r, const std::string& id) {
                        return apis_.queues.handle(r, id);
                      });
    }
    if (request.path == "/runtimed/v1/health") return reply(health(request_id));
    if (request.method == "GET" && request.path == "/metrics") {
      api::HttpResponse response{.status = 200, .body = metrics_.expose()};
      response.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      return reply(std::move(response));
    }
    const std::string logs_prefix = "/runtimed/v1/functions/";
    if (request.method == "POST" && request.path.starts_with(logs_prefix) &&
        request.path.ends_with("/drain")) {
      const std::string name =
          request.path.substr(logs_prefix.size(), request.path.size() - logs_prefix.size() - 6);
      return blocking(
          std::move(request), request_id, std::move(reply),
          [this, name](const api::HttpRequest&, const std::string& id) { return drain(name, id); });
    }
    if (request.method == "GET" && request.path.starts_with(logs_prefix) &&
        request.path.ends_with("/logs")) {
      const std::string name =
          request.path.substr(logs_prefix.size(), request.path.size() - logs_prefix.size() - 5);
      return blocking(std::move(request), request_id, std::move(reply),
                      [this, name](const api::HttpRequest& r, const std::string& id) {
                        return logs(name, r, id);
                      });
    }
    // Not ResourceNotFound: SDKs read that as "the function does not exist".
    reply(api::to_http(
        api::ApiError::unknown_operation("No route for " + request.method + " " + request.path),
        request_id));
  }

  void stop() { blocking_.join(); }

 private:
  template <typename Handler>
  void blocking(api::HttpRequest&& request, const std::string& request_id, api::Reply reply,
                Handler handler) {
    on_blocking_pool(request_id, std::move(reply),
                     [request = std::move(request), request_id, handler = std::move(handler)](
                         const api::Reply& r) { r(handler(request, request_id)); });
  }

  // Every task of the blocking pool goes through here: an exception escaping a thread_pool task
  // would terminate the daemon, so it becomes a logged 500 ServiceException instead. (A reply
  // already sent makes the second one a no-op.)
  template <typename Work>
  void on_blocking_pool(const std::string& request_id, api::Reply reply, Work work) {
    boost::asio::post(
        blocking_, [request_id, reply = std::move(reply), work = std::move(work)]() mutable {
          try {
            work(reply);
          } catch (const std::exception& e) {
            spdlog::error("request {}: {}", request_id, e.what());
            reply(api::to_http(
                api::ApiError::service("An internal error occurred: " + std::string(e.what())),
                request_id));
          } catch (...) {
            spdlog::error("request {}: non-standard exception", request_id);
            reply(api::to_http(api::ApiError::service("An internal error occurred"), request_id));
          }
        });
  }

  void invoke(api::HttpRequest&& http, const std::string& request_id, api::Reply reply) {
    auto parsed = api::parse_invoke_request(http, {host_.region, host_.account_id});
    if (!parsed) return reply(api::to_http(parsed.error(), request_id));
    auto request = std::move(*parsed);
    if (request.type == api::InvocationType::DryRun) {
      on_blocking_pool(request_id, std::move(reply),
                       [this, request, request_id](const api::Reply& reply) {
                         auto config = catalog_.get(request.function_name);
                         if (!config) {
                           auto error = config.error();
                           error.message = common::function_not_found_message(
                               common::function_arn(host_, request.function_name));
                           return reply(api::to_http(error, request_id));
                         }
                         reply(api::to_http(api::InvokeResult{.status = 204}, request, request_id));
                       });
      return;
    }
    if (request.type == api::InvocationType::Event) {
      // 202 only once the event is committed to the state database (synchronous=FULL).
      on_blocking_pool(
          request_id, std::move(reply), [this, request, request_id](const api::Reply& reply) {
            if (auto config = catalog_.get(request.function_name); !config) {
              auto error = config.error();
              error.message = common::function_not_found_message(
                  common::function_arn(host_, request.function_name));
              return reply(api::to_http(error, request_id));
            }
            if (auto ok = dispatcher_.enqueue(request.function_name, request.payload, request_id);
                !ok) {
              spdlog::error("storing async event {}: {}", request_id, ok.error());
              return reply(api::to_http(
                  api::ApiError::service("The event could not be stored; it was not accepted"),
                  request_id));
            }
            reply(api::to_http(api::InvokeResult{.status = 202}, request, request_id));
          });
      return;
    }
    auto shared_request = std::make_shared<api::InvokeRequest>(request);
    controller_.invoke(std::move(request), request_id,
                       [reply = std::move(reply), shared_request, request_id](api::InvokeResult r) {
                         reply(api::to_http(r, *shared_request, request_id));
                       });
  }

  // Discards the function's idle environments (`runtimed drain`, `runtimed bench cold`).
  api::HttpResponse drain(const std::string& id, const std::string& request_id) {
    auto name = api::resolve_function_name(id, "", {host_.region, host_.account_id});
    if (!name) return api::to_http(name.error(), request_id);
    if (!catalog_.get(*name)) {
      return api::to_http(api::ApiError::not_found(common::function_not_found_message(
                              common::function_arn(host_, *name))),
                          request_id);
    }
    const size_t discarded = controller_.drain(*name);
    return json_response(200, {{"FunctionName", *name}, {"DiscardedEnvironments", discarded}},
                         request_id);
  }

  api::HttpResponse health(const std::string& request_id) {
    const auto s = controller_.stats();
    return json_response(200,
                         {{"status", "ok"},
                          {"environments", s.environments},
                          {"busy", s.busy},
                          {"idle", s.idle},
                          {"frozen", s.frozen},
                          {"prepared", s.prepared},
                          {"memoryUsedMB", s.memory_used_mb},
                          {"memoryBudgetMB", s.memory_budget_mb},
                          {"concurrencyLimit", s.concurrency_limit},
                          {"coldStarts", s.cold_starts},
                          {"warmStarts", s.warm_starts},
                          {"throttles", s.throttles},
                          {"reservedConcurrency", s.reserved},
                          {"unreservedBusy", s.unreserved_busy}},
                         request_id);
  }

  // Text from ?offset= (default: the last ?tail= bytes, 64 KiB); with ?follow=1 waits up to 20 s
  // for new text. X-Runtimed-Log-Offset says where to continue.
  api::HttpResponse logs(const std::string& id, const api::HttpRequest& request,
                         const std::string& request_id) {
    auto name = api::resolve_function_name(id, "", {host_.region, host_.account_id});
    if (!name) return api::to_http(name.error(), request_id);
    if (!catalog_.get(*name)) {
      return api::to_http(api::ApiError::not_found(common::function_not_found_message(
                              common::function_arn(host_, *name))),
                          request_id);
    }
    // Numbers from the query: a client's typo is a 400, never an exception.
    const std::string offset_param = request.query_param("offset");
    const std::string tail_param = request.query_param("tail");
    const auto offset_value = parse_count(offset_param);
    const auto tail_value = parse_count(tail_param);
    if ((!offset_param.empty() && !offset_value) || (!tail_param.empty() && !tail_value)) {
      return api::to_http(
          api::ApiError::invalid_parameter(fmt::format(
              "offset and tail must be non-negative integers (got offset '{}', tail '{}')",
              offset_param, tail_param)),
          request_id);
    }
    auto log = logs_.get(*name);
    uint64_t offset = 0;
    if (!offset_param.empty()) {
      offset = *offset_value;
    } else {
      // The last 64 KiB, or the last ?tail= lines of the last 1 MiB.
      const uint64_t window = tail_value ? (1 << 20) : 65536;
      const uint64_t end = log->end_offset();
      offset = end > window ? end - window : 0;
    }
    std::string text = log->read_from(offset, 1 << 20);
    if (offset_param.empty() && tail_value) {
      const uint64_t lines = *tail_value;
      size_t pos = text.size();
      if (pos > 0 && text[pos - 1] == '\n') --pos;  // a trailing newline ends the last line
      for (size_t count = 0; pos > 0;) {
        const size_t nl = text.rfind('\n', pos - 1);
        if (nl == std::string::npos) {
          pos = 0;
          break;
        }
        if (++count == lines) {
          pos = nl + 1;
          break;
        }
        pos = nl;
      }
      text = lines == 0 ? std::string() : text.substr(pos);
    }
    if (text.empty() && request.query_param("follow") == "1") {
      for (int i = 0; i < 200 && text.empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        text = log->read_from(offset, 1 << 20);
      }
    }
    api::HttpResponse r;
    r.set_header("Content-Type", "text/plain; charset=utf-8");
    r.set_header("x-amzn-RequestId", request_id);
    r.set_header("X-Runtimed-Log-Offset", std::to_string(offset));
    // Where the text starts: the CLI says so when that is not the start of the log.
    r.set_header("X-Runtimed-Log-Start", std::to_string(offset - text.size()));
    r.body = std::move(text);
    return r;
  }

  const common::metrics::Registry& metrics_;
  Controller& controller_;
  AsyncDispatcher& dispatcher_;
  api::FunctionApi& functions_;
  Apis apis_;
  FunctionLogs& logs_;
  api::FunctionCatalog& catalog_;
  HostIdentity host_;
  // Durable writes wait here, not on io threads; enough threads that concurrent Event invocations
  // share one group commit (StateDb::write) instead of queueing behind each other.
  boost::asio::thread_pool blocking_{16};
};

}  // namespace

int run_serve_command(const ServeOptions& o) {
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  std::string host;
  uint16_t port = 0;
  std::string error;
  if (!parse_loopback_listen(o.listen, &host, &port, &error)) {
    std::fprintf(stderr, "runtimed serve: %s\n", error.c_str());
    return 2;
  }
  const auto state_dir = o.state_dir.empty() ? default_state_dir() : o.state_dir;
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    std::fprintf(stderr, "runtimed serve: cannot create state dir %s: %s\n", state_dir.c_str(),
                 ec.message().c_str());
    return 2;
  }

  // Signals are taken by sigwait below; every thread started from here inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  sandbox::SandboxOptions so;
  so.state_dir = state_dir;
  so.cgroup_parent = o.cgroup_parent;
  so.init_path = runtimed_init_path();
  so.cpu_quota = o.cpu_quota;
  if (!o.uid_range.empty()) {
    auto uids = sandbox::UidRange::parse(o.uid_range);
    if (!uids) {
      std::fprintf(stderr, "runtimed serve: --uid-range: %s\n", uids.error().to_string().c_str());
      return 2;
    }
    so.uids = *uids;
  }
  auto sandboxes = sandbox::SandboxHost::open(so);
  if (!sandboxes) {
    std::fprintf(stderr, "runtimed serve: %s\n", sandboxes.error().to_string().c_str());
    return 1;
  }
  CodeLimits code_limits;
  code_limits.max_store_bytes = o.max_code_store_mb << 20;
  auto store = FunctionStore::open(state_dir, code_limits);
  if (!store) {
    std::fprintf(stderr, "runtimed serve: %s\n", store.error().c_str());
    return 1;
  }
  auto retry_delays = parse_retry_delays(o.async_retry_delays);
  if (!retry_delays) {
    std::fprintf(stderr, "runtimed serve: --async-retry-delays: %s\n",
                 retry_delays.error().c_str());
    return 2;
  }
  FunctionLogs logs(state_dir / "logs");
  HostIdentity identity{o.region, o.account_id};
  api::FunctionApi function_api(**store, o.region, o.account_id);
  FunctionSettings settings(**store, o.concurrency_limit, o.min_unreserved);
  api::ConcurrencyApi concurrency_api(settings, function_api);
  api::EventInvokeConfigApi event_invoke_config_api(settings, function_api,
                                                    o.async_min_event_age_s);
  AsyncQueue async_events((*store)->db());
  MessageQueues message_queues((*store)->db(), o.region, o.account_id);
  auto reservations = settings.all_reserved();
  if (!reservations) {
    std::fprintf(stderr, "runtimed serve: reading reservations: %s\n",
                 reservations.error().c_str());
    return 1;
  }
  int status = 0;
  {
    common::metrics::Registry metrics;
    api::HttpServer server(o.io_threads, std::chrono::microseconds(o.io_spin_us));
    ControllerOptions co;
    co.metrics = &metrics;
    co.host = identity;
    co.concurrency_limit = o.concurrency_limit;
    co.memory_budget_mb = o.memory_budget_mb;
    co.keep_alive = std::chrono::seconds(o.keep_alive_s);
    co.freeze_after = std::chrono::milliseconds(o.freeze_after_ms);
    co.cpu_quota = o.cpu_quota;
    co.disk_reserve_mb = o.disk_reserve_mb;
    co.runtimes_dir = o.runtimes_dir.empty() ? default_runtimes_dir() : o.runtimes_dir;
    spdlog::info("managed runtimes from {}, sandbox init {}", co.runtimes_dir.string(),
                 so.init_path.string());
    SandboxEnvironmentFactory environments(**sandboxes, o.prepared_pool,
                                           common::kDefaultEphemeralStorageMb);
    Controller controller(co, environments, server, **store, logs);
    for (const auto& [name, reserved] : *reservations)
      controller.set_reserved_concurrency(name, reserved);
    settings.on_reserved_changed = [&controller](const std::string& name,
                                                 std::optional<int> reserved) {
      controller.set_reserved_concurrency(name, reserved);
    };
    function_api.set_reserved_concurrency_source(
        [&controller](const std::string& name) { return controller.reserved_concurrency(name); });
    (*store)->on_changed = [&controller, &store](const std::string& name) {
      controller.function_changed(name);
      // A deleted function's reservation went with it.
      if (!(*store)->get(name)) controller.set_reserved_concurrency(name, std::nullopt);
    };
    AsyncDispatcherOptions ao;
    ao.host = identity;
    ao.policy.retry_delays = *retry_delays;
    ao.policy.initial_backoff = std::chrono::seconds(o.async_backoff_s);
    ao.max_in_flight = o.concurrency_limit;
    AsyncDispatcher dispatcher(ao, async_events, message_queues, controller, **store, settings,
                               logs);
    if (auto started = dispatcher.start(); !started) {
      std::fprintf(stderr, "runtimed serve: %s\n", started.error().c_str());
      return 1;
    }
    QueueRoutes queue_routes(message_queues, async_events, dispatcher, **store);
    Router router(
        controller, dispatcher,
        Router::Apis{function_api, concurrency_api, event_invoke_config_api, queue_routes}, logs,
        **store, identity, metrics);
    // Bounded resources (docs/limits.md): per-route body limits checked from the head, a global
    // connection cap, and a deadline for each request.
    const uint64_t nofile = raise_nofile_limit();
    api::ListenerOptions lo;
    lo.body_limit = api::kMaxClientRequest;
    lo.body_limit_for = [](const api::HttpRequest& head) {
      return api::client_body_limit(head).bytes;
    };
    lo.on_too_large = [](const api::HttpRequest& head) {
      return api::request_entity_too_large(head, common::new_request_id());
    };
    lo.max_connections =
        o.max_connections > 0 ? o.max_connections : default_max_connections(nofile);
    lo.request_timeout = std::chrono::seconds(o.request_timeout_s);
    lo.idle_timeout = lo.request_timeout;
    auto listener = server.listen(
        host, port,
        [&router](api::HttpRequest&& req, api::Reply reply) {
          router.handle(std::move(req), std::move(reply));
        },
        lo);
    if (!listener) {
      std::fprintf(stderr, "runtimed serve: cannot listen on %s: %s\n", o.listen.c_str(),
                   listener.error().c_str());
      status = 1;
    } else {
      spdlog::info("runtimed serving on {} (state {})", o.listen, state_dir.string());
      std::fprintf(stderr, "runtimed: listening on http://%s:%u (state dir %s)\n", host.c_str(),
                   static_cast<unsigned>(server.local_port(*listener)), state_dir.c_str());
      int sig = 0;
      sigwait(&signals, &sig);
      // The listener stays open while draining: removing it would also close the connections
      // whose invocations are still running. New invocations are refused by the controller.
      std::fprintf(stderr, "runtimed: %s, draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    }
    // Async attempts cut off by the shutdown are kept for the next start, not spent.
    dispatcher.stop();
    controller.shutdown(std::chrono::seconds(o.drain_timeout_s));
    dispatcher.join();
    router.stop();
    (*store)->on_changed = nullptr;
    server.stop(std::chrono::seconds(1));
  }
  return status;
}

}  // namespace runtimed
