// This daemon as a member of a cluster (`serve --cluster URL`): a thread that registers the node
// in PostgreSQL under a new fencing token, renews its lease every third of it, registers again
// when the lease was lost, and marks the node left when stopped. The database being unreachable
// never stops the daemon: the thread logs a warning and retries with backoff.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/thread_annotations.hpp"
#include "runtimed/cluster/live_view.hpp"
#include "runtimed/cluster/membership_store.hpp"
#include "runtimed/cluster/pg_connection.hpp"

namespace cluster {

struct ClusterNodeOptions {
  std::string database_url;  // postgresql://… or key=value conninfo
  std::string node_id;
  std::chrono::milliseconds lease{10000};
  // How long start() waits for the first registration before serving without it.
  std::chrono::milliseconds startup_wait{5000};
  // Each connection attempt, per host address (libpq's connect_timeout, at least 2 s).
  std::chrono::seconds connect_timeout{2};
  // Each statement, on the server (statement_timeout).
  std::chrono::milliseconds statement_timeout{5000};
  // The longest wait between attempts while the database is unreachable (and at most half the
  // lease).
  std::chrono::milliseconds max_backoff{8000};
  // A node dead or left this long is removed from the table when a node registers.
  std::chrono::milliseconds forget_after{std::chrono::hours(24)};
  // Invocations in flight, sent with each heartbeat; empty: 0.
  std::function<int64_t()> in_flight;
  // Called on the membership thread after the set of live nodes changed (a node joined, left or
  // died; this one registered or left): what is split across the nodes is split again.
  std::function<void()> on_members_changed;
};

class ClusterNode {
 public:
  explicit ClusterNode(ClusterNodeOptions options);
  ~ClusterNode();  // stop()
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // Starts the membership thread, advertising `address`, and waits until the node is registered,
  // the first attempt failed, or startup_wait passed: whether it is registered (when not, the
  // thread keeps trying).
  bool start(std::string address);
  // Marks the node left (one attempt) and stops the thread. Idempotent.
  void stop();

  // Every node as the database sees it, through a connection of the caller's own (not the
  // heartbeat's, so a slow status read never delays a renewal).
  std::expected<std::vector<NodeStatus>, PgError> nodes();
  // The shared async queue's depth, likewise.
  std::expected<AsyncQueueDepth, PgError> async_queue();
  const std::string& node_id() const { return options_.node_id; }
  std::chrono::milliseconds lease() const { return options_.lease; }
  // The fencing token of the registration in force; 0 while unregistered.
  int64_t fencing_token() const;
  // The live nodes at the last heartbeat (this one always among them), without touching the
  // database; null while unregistered.
  std::shared_ptr<const LiveView> live_view() const;

 private:
  void run();
  // One step of the thread: connect, migrate, register or renew. False on a database error
  // (the connection is dropped and the thread backs off).
  bool step();
  // Waits up to `d` unless stop() is called; false when stopping.
  bool wait(std::chrono::milliseconds d);
  void leave_once();
  // Reads the live nodes on the heartbeat's connection into view_ (keeping the last one when the
  // read fails: the lease was just renewed, so this node is still a member).
  void refresh_view(int64_t token, int64_t in_flight);
  std::expected<void, PgError> ensure_connected(std::optional<PgConnection>& connection) const;

  const ClusterNodeOptions options_;
  std::string address_;
  std::thread thread_;
  mutable common::Mutex mutex_;
  std::condition_variable_any changed_;  // stopping_ or first_attempt_done_ set
  bool stopping_ GUARDED_BY(mutex_) = false;
  bool first_attempt_done_ GUARDED_BY(mutex_) = false;
  int64_t token_ GUARDED_BY(mutex_) = 0;
  // Its own lock: read on every invocation, never held across a query.
  mutable common::Mutex view_mutex_;
  std::shared_ptr<const LiveView> view_ GUARDED_BY(view_mutex_);
  // The thread's own state.
  std::optional<PgConnection> connection_;
  bool migrated_ = false;
  bool reported_unreachable_ = false;
  // The status reads' connection.
  common::Mutex status_mutex_;
  std::optional<PgConnection> status_connection_ GUARDED_BY(status_mutex_);
};

}  // namespace cluster
