// Local SQS-style message queues kept durably in the state database: dead-letter queues and
// destinations name them by ARN (arn:aws:sqs:REGION:ACCOUNT:NAME) and they are created on first
// use. Messages received become invisible for a visibility timeout, then reappear until deleted.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/store_error.hpp"
#include "runtimed/store/state_db.hpp"

namespace runtimed {

struct QueueMessage {
  std::string message_id;
  std::string receipt_handle;
  std::string body;
  nlohmann::json attributes;    // SQS MessageAttributes: {"Name":{"DataType","StringValue"}}
  std::string source_function;  // dead letters: the function whose event this was
  int64_t sent_ms = 0;
  int64_t receive_count = 0;
};

// A queue's own settings (PUT /runtimed/v1/queues/{name}, an AWS::SQS::Queue): how long a received
// message stays hidden, and where a message received too often goes (SQS's redrive policy).
struct QueueSettings {
  int visibility_s = 30;
  std::string dead_letter_queue;  // "" for none
  int max_receive_count = 0;      // with a dead_letter_queue: receives before it moves there
};

struct QueueInfo {
  std::string name;
  std::string arn;
  int64_t visible = 0;
  int64_t not_visible = 0;  // received, within their visibility timeout
};

// The queue name an SQS ARN names, if it is one: arn:aws:sqs:REGION:ACCOUNT:NAME.
std::optional<std::string> sqs_queue_name(const std::string& arn);
// The function an ARN names, if it is a Lambda function ARN (unqualified or $LATEST).
std::optional<std::string> lambda_function_name(const std::string& arn);
bool valid_queue_name(const std::string& name);

class MessageQueues {
 public:
  MessageQueues(StateDb& db, std::string region, std::string account_id)
      : db_(db), region_(std::move(region)), account_id_(std::move(account_id)) {}

  std::string queue_arn(const std::string& name) const;

  // Within the caller's transaction (db lock held): creates the queue if needed and appends.
  std::expected<void, common::StoreError> send_locked(const std::string& queue,
                                                      const std::string& body,
                                                      const nlohmann::json& attributes,
                                                      const std::string& source_function,
                                                      int64_t now_ms);
  // The same in a transaction of its own.
  std::expected<void, common::StoreError> send(const std::string& queue, const std::string& body,
                                               const nlohmann::json& attributes,
                                               const std::string& source_function, int64_t now_ms);

  std::expected<std::vector<QueueInfo>, common::StoreError> list(int64_t now_ms);
  // Creates the queue, or changes its settings (idempotent).
  std::expected<void, common::StoreError> put_queue(const std::string& queue,
                                                    const QueueSettings& settings, int64_t now_ms);
  // Deletes the queue and its messages; false when there was none.
  std::expected<bool, common::StoreError> remove_queue(const std::string& queue);
  // The queue's settings; NotFound when it does not exist.
  std::expected<QueueSettings, common::StoreError> settings(const std::string& queue);
  // Up to `max` visible messages, oldest first; they become invisible for `visibility_s`. A
  // message already received max_receive_count times moves to the queue's dead-letter queue
  // instead (its redrive policy), as SQS moves it.
  std::expected<std::vector<QueueMessage>, common::StoreError> receive(const std::string& queue,
                                                                       int max, int visibility_s,
                                                                       int64_t now_ms);
  std::expected<void, common::StoreError> delete_message(const std::string& queue,
                                                         const std::string& receipt_handle);
  std::expected<int64_t, common::StoreError> purge(const std::string& queue);
  // Dead letters (visible or not) in `queue`, removed as they are handed to `take`, which runs
  // within the same transaction (so a message leaves only if `take` succeeds).
  std::expected<int64_t, common::StoreError> drain_dead_letters(
      const std::string& queue,
      const std::function<std::expected<void, common::StoreError>(const QueueMessage&)>& take);

  StateDb& db() { return db_; }

  // Called after send() has committed a message (no lock of the database held), so a poller
  // waiting for messages wakes at once. Messages sent within another transaction (send_locked)
  // do not call it; the poller finds those on its next look. nullptr unsets it; when this
  // returns, no call of the previous hook is running.
  void on_sent(std::function<void()> hook);

 private:
  std::expected<bool, common::StoreError> exists_locked(const std::string& queue);
  std::expected<QueueSettings, common::StoreError> settings_locked(const std::string& queue);

  StateDb& db_;
  std::string region_;
  std::string account_id_;
  std::mutex hook_mu_;  // held while the hook runs
  std::function<void()> on_sent_;
};

}  // namespace runtimed
