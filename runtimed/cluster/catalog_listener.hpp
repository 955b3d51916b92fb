// Keeps a node's caches of the shared catalog true: a thread LISTENs on runtimed_catalog, where
// the database's triggers announce every change to a cached table (schema migration 2), and hands
// each change made by another node to `on_change`. While it is not listening (before the first
// connection, after one broke) changes may be missed, so each time it starts listening again it
// calls `on_resync`, and the owner drops everything it cached. The same connection LISTENs on
// runtimed_async, so a node wakes when another enqueues an event.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/thread_annotations.hpp"
#include "runtimed/cluster/pg_state_backend.hpp"
#include "sandbox/unique_fd.hpp"

namespace cluster {

// One changed row: its table and its key columns (name, version, alias, qualifier, …).
struct CatalogChange {
  std::string table;
  nlohmann::json row;
};

struct CatalogListenerOptions {
  PgStateOptions database;
  std::chrono::milliseconds max_backoff{8000};
  // The server processes of this node's own connections: their changes are not handed on.
  std::function<bool(int sender_pid)> is_own;
  std::function<void(const CatalogChange&)> on_change;
  std::function<void()> on_resync;
  // Another node enqueued async events (runtimed_async, schema migration 5): the dispatcher
  // looks at the queue now rather than at its next poll.
  std::function<void()> on_async_enqueued;
};

class CatalogListener {
 public:
  explicit CatalogListener(CatalogListenerOptions options);
  ~CatalogListener();  // stop()
  CatalogListener(const CatalogListener&) = delete;
  CatalogListener& operator=(const CatalogListener&) = delete;

  void start();
  void stop();  // idempotent
  // Whether it is listening now (tests wait for it before changing the catalog).
  bool listening() const;

 private:
  void run();
  // Listens until the connection breaks or stop(): false when stopping.
  bool listen(PgConnection& connection);
  // Waits up to `d` unless stop() is called: false when stopping.
  bool wait(std::chrono::milliseconds d);

  const CatalogListenerOptions options_;
  sandbox::UniqueFd wake_;  // an eventfd: stop() writes it to end a poll at once
  std::thread thread_;
  mutable common::Mutex mutex_;
  bool stopping_ GUARDED_BY(mutex_) = false;
  bool listening_ GUARDED_BY(mutex_) = false;
};

}  // namespace cluster
