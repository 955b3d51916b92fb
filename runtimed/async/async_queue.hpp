// The durable queue of asynchronous invocation events (table async_events in the state database).
// An event is `queued` (waiting until next_ms) or `in_flight` (an attempt was recorded and
// dispatched); it leaves the table when it succeeds or fails for good. See docs/async.md.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtimed/store/state_db.hpp"

namespace runtimed {

struct AsyncEvent {
  int64_t id = 0;
  std::string request_id;
  std::string function;
  std::string qualifier;  // the version or alias it was invoked with; "" for none ($LATEST)
  std::string payload;
  int64_t enqueued_ms = 0;
  int64_t next_ms = 0;
  int invoke_count = 0;     // attempts dispatched (approximateInvokeCount)
  int function_errors = 0;  // attempts that ended in a function error (spend retries)
  int throttles = 0;        // throttles and platform errors (back off, spend nothing)
  int last_status = 0;      // HTTP status of the last failure: 200 function error, 429, 5xx
  std::string last_error;   // the last failure's payload or message
  bool expired = false;     // claim(): too old to run; the caller ends it
  int64_t claim_token = 0;  // claim(): the fencing token it was claimed under (0: one node)
};

struct AsyncBacklog {
  int64_t queued = 0;
  int64_t in_flight = 0;
  int64_t retrying = 0;  // queued after at least one failed attempt
  std::optional<int64_t> oldest_enqueued_ms;
};

// Unfinished events of one function in one state, and when the oldest of them was enqueued.
struct AsyncDepth {
  std::string function;
  std::string state;  // queued, in_flight
  int64_t count = 0;
  int64_t oldest_enqueued_ms = 0;
};

// On a single node the queue is the node's SQLite database. In cluster mode it is the cluster's
// PostgreSQL database, shared by every node: an event is claimed with FOR UPDATE SKIP LOCKED under
// the claiming node's fencing token, its outcome is recorded only under that same token, and an
// event held under the token of a node no longer live (dead, left, or registered again since) goes
// back to the queue (recover_in_flight), so a node cut off cannot settle what another now runs.
class AsyncQueue {
 public:
  explicit AsyncQueue(StateDb& db) : db_(db) {}

  // Cluster mode: the node's fencing token now (0 while it is not registered: it claims nothing).
  void set_fencing_token(std::function<int64_t()> token) { fencing_token_ = std::move(token); }
  // Whether other nodes share this queue.
  bool shared() const { return db_.dialect() == SqlDialect::Postgres; }

  // Stores a new event and commits (synchronous=FULL) before returning.
  std::expected<void, common::StoreError> enqueue(const std::string& function,
                                                  const std::string& payload,
                                                  const std::string& request_id, int64_t now_ms,
                                                  const std::string& qualifier = "");
  // The same inside the caller's transaction (db lock held).
  std::expected<void, common::StoreError> enqueue_locked(const std::string& function,
                                                         const std::string& payload,
                                                         const std::string& request_id,
                                                         int64_t now_ms,
                                                         const std::string& qualifier = "");

  // Functions with events due at `now_ms`, and how many each. (An event is always due by its
  // expiry: next_ms is never set past it.)
  std::expected<std::vector<std::pair<std::string, int64_t>>, common::StoreError> due(
      int64_t now_ms);
  // Marks in flight and returns `function`'s events older than `max_age_s` (with `expired` set,
  // whether due or not, no attempt counted) and up to `max` other due events, oldest first; those
  // count as an attempt (invoke_count + 1) when `count_attempt`. One transaction.
  std::expected<std::vector<AsyncEvent>, common::StoreError> claim(const std::string& function,
                                                                   int64_t max, int64_t now_ms,
                                                                   int max_age_s,
                                                                   bool count_attempt);
  // Back to the queue, due at `next_ms`, after a function error or a throttle/platform error.
  // Conflict when the event's claim was lost (cluster mode): the outcome is not recorded.
  std::expected<void, common::StoreError> requeue(const AsyncEvent& event, int64_t next_ms,
                                                  bool function_error, int status,
                                                  const std::string& error);
  // Inside the caller's transaction: the event is done (Conflict when its claim was lost).
  std::expected<void, common::StoreError> remove_locked(const AsyncEvent& event);
  // Attempts cut off count as platform errors, due at `next_ms`: at startup on a single node,
  // every in-flight event; in cluster mode (called again and again), those claimed under a token
  // no live node holds.
  std::expected<int64_t, common::StoreError> recover_in_flight(int64_t next_ms);
  // The earliest next_ms of a queued event.
  std::expected<std::optional<int64_t>, common::StoreError> next_due_ms();
  std::expected<AsyncBacklog, common::StoreError> backlog(const std::string& function);
  // Every function's unfinished events by state, for the metrics scrape: one pass over the
  // (state, function) index, without reading a row per event.
  std::expected<std::vector<AsyncDepth>, common::StoreError> depth_by_function();

  StateDb& db() { return db_; }

 private:
  StateDb& db_;
  std::function<int64_t()> fencing_token_;
};

}  // namespace runtimed
