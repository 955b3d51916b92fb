// Routing synchronous invokes to their home node (see invoke_forwarder.hpp).
#include "runtimed/forwarding/invoke_forwarder.hpp"

#include <fmt/format.h>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "api/lambda_error.hpp"
#include "common/module_logger.hpp"

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
  api::HttpResponse r = api::to_http(
      api::ApiError::service(fmt::format(
          "The call was forwarded to node {}, whose connection broke before it answered ({}). The "
          "function may have run there, so it was not run again on another node.",
          node, detail)),
      request_id);
  r.status = 502;
  return r;
}

}  // namespace

InvokeForwarder::InvokeForwarder(cluster::ClusterNode& node, Options options)
    : node_(node), options_(options), peers_(options.peers), pool_(options.threads) {}

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
  if (in_flight_.load(std::memory_order_relaxed) >= options_.threads) return std::nullopt;
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
  if (order.empty() || view->nodes[order.front()].node_id == node_.node_id()) return std::nullopt;
  return Plan{std::move(view), std::move(order)};
}

void InvokeForwarder::forward(const api::HttpRequest& request, Plan plan, api::Reply reply,
                              RunHere run_here, const std::string& request_id) {
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  // The request is copied once, for the pool thread: the io thread's goes with its connection.
  boost::asio::post(pool_, [this, request, plan = std::move(plan), reply = std::move(reply),
                            run_here = std::move(run_here), request_id]() {
    try {
      run(request, plan, reply, run_here, request_id);
    } catch (const std::exception& e) {
      logger()->error("request {}: forwarding: {}", request_id, e.what());
      reply(api::to_http(
          api::ApiError::service("An internal error occurred: " + std::string(e.what())),
          request_id));
    }
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
  });
}

void InvokeForwarder::run(const api::HttpRequest& request, const Plan& plan,
                          const api::Reply& reply, const RunHere& run_here,
                          const std::string& request_id) {
  const std::vector<std::pair<std::string, std::string>> marker = {
      {kForwardedFromHeader, node_.node_id()}};
  std::optional<api::HttpResponse> throttled;  // the last host-capacity 429
  for (size_t i : plan.order) {
    const cluster::LiveNode& target = plan.view->nodes[i];
    if (target.node_id == node_.node_id()) return run_here(reply);
    {
      common::MutexLock lock(mutex_);
      ++forwarding_[target.node_id];
    }
    auto answer = peers_.send(target.address, request, marker);
    {
      common::MutexLock lock(mutex_);
      if (--forwarding_[target.node_id] == 0) forwarding_.erase(target.node_id);
    }
    if (!answer && answer.error().kind == PeerFailure::Kind::NotSent) {
      // Gone before its lease ran out (or cut off): passed over until the view catches up.
      common::MutexLock lock(mutex_);
      const auto until = std::chrono::steady_clock::now() + node_.lease();
      if (suspects_.insert_or_assign(target.node_id, until).second)
        logger()->warn("cluster: node {} at {} did not take a call ({}); passing it over for {} ms",
                       target.node_id, target.address, answer.error().detail,
                       node_.lease().count());
      continue;
    }
    if (!answer) {
      logger()->warn("request {}: node {} broke the connection mid-call ({}); answered 502",
                     request_id, target.node_id, answer.error().detail);
      return reply(broken_after_send(target.node_id, answer.error().detail, request_id));
    }
    if (host_capacity_throttle(*answer)) {
      throttled = std::move(*answer);
      continue;
    }
    return reply(std::move(*answer));
  }
  if (throttled) return reply(std::move(*throttled));
  // Not reached while this node is in its own view (it always is): every other node refused.
  run_here(reply);
}

}  // namespace runtimed
