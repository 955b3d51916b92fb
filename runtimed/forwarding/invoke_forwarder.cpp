// Routing synchronous invokes to their home node (see invoke_forwarder.hpp).
#include "runtimed/forwarding/invoke_forwarder.hpp"

#include <fmt/format.h>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "api/http_server.hpp"
#include "api/lambda_error.hpp"
#include "common/module_logger.hpp"
#include "runtimed/cluster/reservation_split.hpp"

namespace runtimed {

namespace {

std::shared_ptr<spdlog::logger> logger() { return common::module_logger("cluster"); }

// A 429 the home answered because its host is full (concurrency or memory budget, disk), not
// because the function's own reserved concurrency is used: another node may have room. The
// controller says which in the body's Reason.
bool host_capacity_throttle(const api::HttpResponse& response) {
  if (response.status != 429) return false;
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_object()) return false;
  return body.value("Reason", "") != "ReservedFunctionConcurrentInvocationLimitExceeded";
}

// The connection to `node` broke after the whole request went out: Lambda's error shape, 502.
api::HttpResponse broken_after_send(const std::string& node, const std::string& detail,
                                    const std::string& request_id) {
  return api::to_http(
      api::ApiError::bad_gateway(fmt::format(
          "The call was forwarded to node {}, whose connection broke before it answered ({}). The "
          "function may have run there, so it was not run again on another node.",
          node, detail)),
      request_id);
}

}  // namespace

// One call's way along its plan.
struct InvokeForwarder::Walk {
  std::shared_ptr<const api::HttpRequest> request;
  Plan plan;
  api::Reply reply;
  RunHere run_here;
  std::string request_id;
  boost::asio::io_context* io = nullptr;  // the io thread the call arrived on
  size_t thread = 0;
  size_t next = 0;                             // into plan.order
  std::optional<api::HttpResponse> throttled;  // the last 429 passed over
  InvokeForwarder* owner = nullptr;

  ~Walk() { owner->in_flight_.fetch_sub(1, std::memory_order_relaxed); }
};

InvokeForwarder::InvokeForwarder(cluster::ClusterNode& node, api::HttpServer& server,
                                 Options options)
    : node_(node),
      server_(server),
      options_(std::move(options)),
      connections_(server.thread_count(), options_.peers),
      peers_(options_.peers),
      tls_pool_(options_.tls_threads) {}

InvokeForwarder::~InvokeForwarder() { stop(); }

bool InvokeForwarder::suspect(const std::string& node_id,
                              std::chrono::steady_clock::time_point now) {
  auto it = suspects_.find(node_id);
  if (it == suspects_.end()) return false;
  if (it->second > now) return true;
  suspects_.erase(it);
  return false;
}

std::optional<InvokeForwarder::Plan> InvokeForwarder::plan(const std::string& function) {
  auto view = node_.live_view();
  if (!view || view->nodes.size() < 2) return std::nullopt;
  if (in_flight_.load(std::memory_order_relaxed) >= options_.max_in_flight) return std::nullopt;
  std::vector<int64_t> loads(view->nodes.size());
  std::vector<size_t> order;
  {
    common::MutexLock lock(mutex_);
    for (size_t i = 0; i < view->nodes.size(); ++i) {
      auto it = forwarding_.find(view->nodes[i].node_id);
      loads[i] = view->nodes[i].in_flight + (it == forwarding_.end() ? 0 : it->second);
    }
    order = cluster::bounded_load_order(view->ring, function, loads, options_.bound);
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(order, [&](size_t i) REQUIRES(mutex_) {
      return view->nodes[i].node_id != node_.node_id() && suspect(view->nodes[i].node_id, now);
    });
  }
  bool split = false;
  if (auto reserved = options_.reserved_of ? options_.reserved_of(function) : std::nullopt;
      reserved && *reserved > 0) {
    // Only the nodes holding a share can run it.
    const auto shares = cluster::reserved_shares(view->ring, function, *reserved);
    std::erase_if(order, [&](size_t i) { return shares[i] == 0; });
    split = order.size() > 1;
  }
  if (order.empty() || (view->nodes[order.front()].node_id == node_.node_id() && !split))
    return std::nullopt;
  return Plan{std::move(view), std::move(order), split};
}

void InvokeForwarder::forward(const api::HttpRequest& request, Plan plan, api::Reply reply,
                              RunHere run_here, const std::string& request_id) {
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  auto walk = std::make_shared<Walk>();
  walk->owner = this;
  // Copied once: the io thread's request goes with its connection, and a retry needs it again.
  walk->request = std::make_shared<const api::HttpRequest>(request);
  walk->plan = std::move(plan);
  walk->reply = std::move(reply);
  walk->run_here = std::move(run_here);
  walk->request_id = request_id;
  walk->io = server_.current_io_context();
  walk->thread = static_cast<size_t>(std::max(server_.current_thread_index(), 0L));
  step(walk);
}

void InvokeForwarder::step(const std::shared_ptr<Walk>& walk) {
  if (walk->next >= walk->plan.order.size()) {
    if (walk->throttled) return walk->reply(std::move(*walk->throttled));
    // Not reached while this node is in its own view (it always is): every other node refused.
    return walk->run_here(std::move(walk->reply));
  }
  const cluster::LiveNode& target = walk->plan.view->nodes[walk->plan.order[walk->next++]];
  if (target.node_id == node_.node_id()) {
    if (!walk->plan.split_reservation || walk->next >= walk->plan.order.size())
      return walk->run_here(std::move(walk->reply));
    // This node's share may be used: then the walk goes on (from whichever thread answers).
    return walk->run_here([this, walk](api::HttpResponse answer) {
      if (answer.status == 429) {
        walk->throttled = std::move(answer);
        return step(walk);
      }
      walk->reply(std::move(answer));
    });
  }
  {
    common::MutexLock lock(mutex_);
    ++forwarding_[target.node_id];
  }
  std::vector<std::pair<std::string, std::string>> marker = {
      {kForwardedFromHeader, node_.node_id()}};
  // http:// peers from the io thread the call is on (its own connections); https:// ones, or a
  // walk that went on from another thread, through cpp-httplib on the TLS pool.
  if (walk->io && walk->io == server_.current_io_context() &&
      PeerConnections::handles(target.address)) {
    return connections_.send(
        *walk->io, walk->thread, target.address, *walk->request, marker,
        [this, walk, &target](auto answer) { answered(walk, target, std::move(answer)); });
  }
  boost::asio::post(tls_pool_, [this, walk, &target, marker = std::move(marker)]() {
    try {
      answered(walk, target, peers_.send(target.address, *walk->request, marker));
    } catch (const std::exception& e) {
      logger()->error("request {}: forwarding: {}", walk->request_id, e.what());
      walk->reply(api::to_http(
          api::ApiError::service("An internal error occurred: " + std::string(e.what())),
          walk->request_id));
    }
  });
}

void InvokeForwarder::answered(const std::shared_ptr<Walk>& walk, const cluster::LiveNode& target,
                               std::expected<api::HttpResponse, PeerFailure> answer) {
  {
    common::MutexLock lock(mutex_);
    if (--forwarding_[target.node_id] == 0) forwarding_.erase(target.node_id);
  }
  if (!answer && answer.error().kind == PeerFailure::Kind::NotSent) {
    // Gone before its lease ran out (or cut off): passed over until the view catches up.
    {
      common::MutexLock lock(mutex_);
      const auto until = std::chrono::steady_clock::now() + node_.lease();
      if (suspects_.insert_or_assign(target.node_id, until).second)
        logger()->warn("cluster: node {} at {} did not take a call ({}); passing it over for {} ms",
                       target.node_id, target.address, answer.error().detail,
                       node_.lease().count());
    }
    return step(walk);
  }
  if (!answer) {
    logger()->warn("request {}: node {} broke the connection mid-call ({}); answered 502",
                   walk->request_id, target.node_id, answer.error().detail);
    return walk->reply(broken_after_send(target.node_id, answer.error().detail, walk->request_id));
  }
  if (host_capacity_throttle(*answer) || (walk->plan.split_reservation && answer->status == 429)) {
    walk->throttled = std::move(*answer);
    return step(walk);
  }
  walk->reply(std::move(*answer));
}

}  // namespace runtimed
