// The membership thread (see cluster_node.hpp).
#include "runtimed/cluster/cluster_node.hpp"

#include <algorithm>

#include "common/module_logger.hpp"
#include "runtimed/cluster/schema_migrations.hpp"

namespace cluster {

namespace {

std::shared_ptr<spdlog::logger> logger() { return common::module_logger("cluster"); }

constexpr std::chrono::milliseconds kFirstBackoff{500};

}  // namespace

ClusterNode::ClusterNode(ClusterNodeOptions options) : options_(std::move(options)) {}

ClusterNode::~ClusterNode() { stop(); }

bool ClusterNode::start(std::string address) {
  address_ = std::move(address);
  thread_ = std::thread([this] { run(); });
  common::MutexLock lock(mutex_);
  changed_.wait_for(lock, options_.startup_wait,
                    [this]() REQUIRES(mutex_) { return first_attempt_done_; });
  return token_ != 0;
}

void ClusterNode::stop() {
  {
    common::MutexLock lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t ClusterNode::fencing_token() const {
  common::MutexLock lock(mutex_);
  return token_;
}

bool ClusterNode::wait(std::chrono::milliseconds d) {
  common::MutexLock lock(mutex_);
  return !changed_.wait_for(lock, d, [this]() REQUIRES(mutex_) { return stopping_; });
}

std::expected<void, PgError> ClusterNode::ensure_connected(
    std::optional<PgConnection>& connection) const {
  if (connection && connection->open_when_idle()) return {};
  connection.reset();
  auto connected = PgConnection::connect(options_.database_url, options_.connect_timeout,
                                         options_.statement_timeout);
  if (!connected) return std::unexpected(connected.error());
  connection.emplace(std::move(*connected));
  return {};
}

bool ClusterNode::step() {
  auto fail = [this](std::string_view what, const PgError& error) {
    logger()->warn("cluster: {} failed (serving on, retrying): {}", what, error.message);
    reported_unreachable_ = true;
    connection_.reset();  // a fresh connection next time: this one may be broken mid-transaction
    return false;
  };
  if (auto connected = ensure_connected(connection_); !connected)
    return fail("connecting to the cluster database", connected.error());
  if (!migrated_) {
    auto applied = migrate(*connection_);
    if (!applied) return fail("migrating the cluster schema", applied.error());
    migrated_ = true;
  }
  const int64_t token = fencing_token();
  if (token != 0) {
    const int64_t in_flight = options_.in_flight ? options_.in_flight() : 0;
    auto renewed = renew_lease(*connection_, options_.node_id, token, options_.lease, in_flight);
    if (!renewed) return fail("renewing the lease", renewed.error());
    if (*renewed) {
      if (std::exchange(reported_unreachable_, false))
        logger()->warn("cluster: the database answers again; lease renewed");
      refresh_view(token, in_flight);
      return true;
    }
    // Expired while the database was out of reach, or taken by a newer registration of this
    // id: whatever was done under the old token is fenced off, so register again.
    logger()->warn("cluster: node {} lost its lease (token {}); registering again",
                   options_.node_id, token);
  }
  auto registered = register_node(*connection_, options_.node_id, address_, options_.lease);
  if (!registered) return fail("registering the node", registered.error());
  {
    common::MutexLock lock(mutex_);
    token_ = *registered;
  }
  reported_unreachable_ = false;
  logger()->info("cluster: node {} registered at {} with fencing token {}", options_.node_id,
                 address_, *registered);
  refresh_view(*registered, 0);
  // Housekeeping at registration (rare), so the table does not grow with every node ever seen.
  if (auto forgotten = forget_nodes(*connection_, options_.forget_after); !forgotten)
    logger()->warn("cluster: removing long-gone nodes failed: {}", forgotten.error().message);
  else if (*forgotten > 0)
    logger()->info("cluster: removed {} node(s) gone for over {} h", *forgotten,
                   std::chrono::duration_cast<std::chrono::hours>(options_.forget_after).count());
  return true;
}

void ClusterNode::run() {
  const auto heartbeat = std::max(options_.lease / 3, std::chrono::milliseconds(1));
  auto backoff = kFirstBackoff;
  // Never much longer than half a lease: a node out of the cluster while the database was away
  // rejoins (and claims events again) within about half a lease of its return.
  const auto longest = std::max(kFirstBackoff, std::min(options_.max_backoff, options_.lease / 2));
  while (true) {
    const bool ok = step();
    {
      common::MutexLock lock(mutex_);
      first_attempt_done_ = true;
    }
    changed_.notify_all();
    if (ok) backoff = kFirstBackoff;
    if (!wait(ok ? heartbeat : backoff)) break;
    if (!ok) backoff = std::min(backoff * 2, longest);
  }
  leave_once();
}

void ClusterNode::leave_once() {
  {
    // Leaving: this node routes nothing to the others any more.
    common::MutexLock lock(view_mutex_);
    view_.reset();
  }
  if (options_.on_members_changed) options_.on_members_changed();
  const int64_t token = fencing_token();
  if (token == 0) return;
  // One attempt: a daemon stopping must not wait on an unreachable database. Without it the
  // lease simply runs out and the others see the node dead instead of left.
  if (auto connected = ensure_connected(connection_); !connected) {
    logger()->warn("cluster: could not mark node {} left: {}", options_.node_id,
                   connected.error().message);
    return;
  }
  auto left = leave(*connection_, options_.node_id, token);
  if (!left)
    logger()->warn("cluster: could not mark node {} left: {}", options_.node_id,
                   left.error().message);
  else if (*left)
    logger()->info("cluster: node {} left (token {})", options_.node_id, token);
  common::MutexLock lock(mutex_);
  token_ = 0;
}

std::shared_ptr<const LiveView> ClusterNode::live_view() const {
  common::MutexLock lock(view_mutex_);
  return view_;
}

void ClusterNode::refresh_view(int64_t token, int64_t in_flight) {
  auto listed = list_nodes(*connection_);
  if (!listed) {
    logger()->warn("cluster: reading the live nodes failed (routing by the last view): {}",
                   listed.error().message);
    return;
  }
  auto view = make_live_view(*listed, LiveNode{options_.node_id, address_, in_flight, token});
  bool members_changed = false;
  {
    common::MutexLock lock(view_mutex_);
    members_changed = !view_ || view_->ring.nodes() != view->ring.nodes();
    view_ = std::move(view);
  }
  if (members_changed && options_.on_members_changed) options_.on_members_changed();
}

std::expected<std::vector<NodeStatus>, PgError> ClusterNode::nodes() {
  common::MutexLock lock(status_mutex_);
  if (auto connected = ensure_connected(status_connection_); !connected)
    return std::unexpected(connected.error());
  auto listed = list_nodes(*status_connection_);
  if (!listed) status_connection_.reset();
  return listed;
}

std::expected<AsyncQueueDepth, PgError> ClusterNode::async_queue() {
  common::MutexLock lock(status_mutex_);
  if (auto connected = ensure_connected(status_connection_); !connected)
    return std::unexpected(connected.error());
  auto depth = async_queue_depth(*status_connection_);
  if (!depth) status_connection_.reset();
  return depth;
}

}  // namespace cluster
