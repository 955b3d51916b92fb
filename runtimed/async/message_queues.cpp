// Local SQS-style queues in SQLite (see message_queues.hpp).
#include "runtimed/async/message_queues.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <functional>

#include "common/account_scope.hpp"
#include "common/ids.hpp"

namespace runtimed {

using common::StoreError;
using nlohmann::json;

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

// A database failure, logged with SQLite's message; the caller sees only that it failed.
StoreError db_error(const std::string& what, const StoreError& error) {
  spdlog::error("message queues: {}: {}", what, error.message);
  return StoreError::internal("Internal error while accessing the message queues");
}

StoreError no_queue(const std::string& name) {
  return StoreError::not_found(name, "Queue not found: " + name);
}

// A row selected as (id, message_id, body, attributes, source_function, sent_ms, receive_count).
QueueMessage message_from_row(Statement& row) {
  QueueMessage m;
  m.message_id = row.column_text(1);
  m.body = row.column_text(2);
  m.attributes = json::parse(row.column_text(3), nullptr, false);
  m.source_function = row.column_text(4);
  m.sent_ms = row.column_int64(5);
  m.receive_count = row.column_int64(6);
  return m;
}

}  // namespace

bool valid_queue_name(const std::string& name) {
  if (name.empty() || name.size() > 80) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

std::optional<std::string> sqs_queue_name(const std::string& arn) {
  const auto p = split(arn, ':');
  if (p.size() != 6 || p[0] != "arn" || !p[1].starts_with("aws") || p[2] != "sqs" ||
      !valid_queue_name(p[5]))
    return std::nullopt;
  return p[5];
}

std::optional<std::string> lambda_function_name(const std::string& arn) {
  const auto p = split(arn, ':');
  if ((p.size() != 7 && p.size() != 8) || p[0] != "arn" || !p[1].starts_with("aws") ||
      p[2] != "lambda" || p[5] != "function" || p[6].empty())
    return std::nullopt;
  if (p.size() == 8 && p[7] != "$LATEST") return std::nullopt;
  return p[6];
}

std::string MessageQueues::queue_arn(const std::string& name) const {
  const common::ScopedName scoped = common::split_scoped_name(name);
  return fmt::format("arn:aws:sqs:{}:{}:{}", region_,
                     scoped.account.empty() ? std::string_view(account_id_) : scoped.account,
                     scoped.name);
}

std::expected<bool, common::StoreError> MessageQueues::exists_locked(const std::string& queue) {
  auto stmt = db_.prepare("SELECT 1 FROM queues WHERE name = ?1");
  if (!stmt) return std::unexpected(stmt.error());
  stmt->bind(1, queue);
  return stmt->step();
}

std::expected<void, common::StoreError> MessageQueues::send_locked(
    const std::string& queue, const std::string& body, const json& attributes,
    const std::string& source_function, int64_t now_ms) {
  auto create = db_.prepare(
      "INSERT INTO queues (name, arn, created_ms) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING");
  if (!create) return std::unexpected(create.error());
  if (auto ok = create->bind(1, queue).bind(2, queue_arn(queue)).bind(3, now_ms).run(); !ok)
    return ok;
  auto insert = db_.prepare(
      "INSERT INTO queue_messages (queue, message_id, body, attributes, source_function, sent_ms, "
      "visible_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)");
  if (!insert) return std::unexpected(insert.error());
  insert->bind(1, queue).bind(2, common::new_request_id()).bind(3, body).bind(4, attributes.dump());
  if (source_function.empty())
    insert->bind_null(5);
  else
    insert->bind(5, source_function);
  return insert->bind(6, now_ms).run();
}

std::expected<void, common::StoreError> MessageQueues::send(const std::string& queue,
                                                            const std::string& body,
                                                            const json& attributes,
                                                            const std::string& source_function,
                                                            int64_t now_ms) {
  auto sent =
      db_.write([&] { return send_locked(queue, body, attributes, source_function, now_ms); });
  if (sent) {
    std::lock_guard lock(hook_mu_);
    if (on_sent_) on_sent_();
  }
  return sent;
}

void MessageQueues::on_sent(std::function<void()> hook) {
  std::lock_guard lock(hook_mu_);
  on_sent_ = std::move(hook);
}

std::expected<std::vector<QueueInfo>, StoreError> MessageQueues::list(int64_t now_ms) {
  auto lock = db_.lock();
  auto stmt = db_.prepare(
      "SELECT q.name, q.arn, "
      "(SELECT COUNT(*) FROM queue_messages m WHERE m.queue = q.name AND m.visible_ms <= ?1), "
      "(SELECT COUNT(*) FROM queue_messages m WHERE m.queue = q.name AND m.visible_ms > ?1) "
      "FROM queues q ORDER BY q.name");
  if (!stmt) return std::unexpected(db_error("list queues", stmt.error()));
  stmt->bind(1, now_ms);
  std::vector<QueueInfo> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return std::unexpected(db_error("list queues", row.error()));
    if (!*row) break;
    out.push_back(
        {stmt->column_text(0), stmt->column_text(1), stmt->column_int64(2), stmt->column_int64(3)});
  }
  return out;
}

std::expected<void, StoreError> MessageQueues::put_queue(const std::string& queue,
                                                         const QueueSettings& settings,
                                                         int64_t now_ms) {
  auto lock = db_.lock();
  auto stmt = db_.prepare(
      "INSERT INTO queues (name, arn, created_ms, visibility_s, redrive_queue, max_receive) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO UPDATE SET visibility_s = "
      "excluded.visibility_s, redrive_queue = excluded.redrive_queue, max_receive = "
      "excluded.max_receive");
  if (!stmt) return std::unexpected(db_error("put queue", stmt.error()));
  stmt->bind(1, queue)
      .bind(2, queue_arn(queue))
      .bind(3, now_ms)
      .bind(4, int64_t{settings.visibility_s});
  if (settings.dead_letter_queue.empty())
    stmt->bind_null(5);
  else
    stmt->bind(5, settings.dead_letter_queue);
  stmt->bind(6, int64_t{settings.max_receive_count});
  if (auto ok = stmt->run(); !ok) return std::unexpected(db_error("put queue", ok.error()));
  return {};
}

std::expected<bool, StoreError> MessageQueues::remove_queue(const std::string& queue) {
  auto lock = db_.lock();
  auto tx = Transaction::begin(db_);
  if (!tx) return std::unexpected(db_error("delete queue", tx.error()));
  auto exists = exists_locked(queue);
  if (!exists) return std::unexpected(db_error("delete queue", exists.error()));
  if (!*exists) return false;
  for (const char* sql :
       {"DELETE FROM queue_messages WHERE queue = ?1", "DELETE FROM queues WHERE name = ?1"}) {
    auto stmt = db_.prepare(sql);
    if (!stmt) return std::unexpected(db_error("delete queue", stmt.error()));
    if (auto ok = stmt->bind(1, queue).run(); !ok)
      return std::unexpected(db_error("delete queue", ok.error()));
  }
  if (auto ok = tx->commit(); !ok) return std::unexpected(db_error("delete queue", ok.error()));
  return true;
}

std::expected<QueueSettings, StoreError> MessageQueues::settings(const std::string& queue) {
  auto lock = db_.lock();
  return settings_locked(queue);
}

std::expected<QueueSettings, StoreError> MessageQueues::settings_locked(const std::string& queue) {
  auto stmt = db_.prepare(
      "SELECT visibility_s, COALESCE(redrive_queue, ''), max_receive FROM queues WHERE name = ?1");
  if (!stmt) return std::unexpected(db_error("queue settings", stmt.error()));
  stmt->bind(1, queue);
  auto row = stmt->step();
  if (!row) return std::unexpected(db_error("queue settings", row.error()));
  if (!*row) return std::unexpected(no_queue(queue));
  return QueueSettings{static_cast<int>(stmt->column_int64(0)), stmt->column_text(1),
                       static_cast<int>(stmt->column_int64(2))};
}

std::expected<std::vector<QueueMessage>, StoreError> MessageQueues::receive(
    const std::string& queue, int max, int visibility_s, int64_t now_ms) {
  auto lock = db_.lock();
  auto tx = Transaction::begin(db_);
  if (!tx) return std::unexpected(db_error("receive", tx.error()));
  auto queue_settings = settings_locked(queue);
  if (!queue_settings) return std::unexpected(queue_settings.error());
  const bool redrives =
      !queue_settings->dead_letter_queue.empty() && queue_settings->max_receive_count > 0;
  // Shared by nodes (cluster mode): messages another node is receiving are skipped.
  auto select = db_.prepare(
      std::string("SELECT id, message_id, body, attributes, COALESCE(source_function, ''), "
                  "sent_ms, receive_count FROM queue_messages WHERE queue = ?1 AND visible_ms <= "
                  "?2 ORDER BY id LIMIT ?3") +
      (db_.dialect() == SqlDialect::Postgres ? " FOR UPDATE SKIP LOCKED" : ""));
  if (!select) return std::unexpected(db_error("receive", select.error()));
  select->bind(1, queue).bind(2, now_ms).bind(3, int64_t{max});
  std::vector<std::pair<int64_t, QueueMessage>> rows;
  std::vector<int64_t> dead;  // received max_receive_count times already: to the redrive queue
  while (true) {
    auto row = select->step();
    if (!row) return std::unexpected(db_error("receive", row.error()));
    if (!*row) break;
    QueueMessage m = message_from_row(*select);
    if (redrives && m.receive_count >= queue_settings->max_receive_count) {
      dead.push_back(select->column_int64(0));
      continue;
    }
    m.receive_count += 1;
    m.receipt_handle = common::random_hex(32);
    rows.emplace_back(select->column_int64(0), std::move(m));
  }
  if (!dead.empty()) {
    const std::string& dlq = queue_settings->dead_letter_queue;
    auto create = db_.prepare(
        "INSERT INTO queues (name, arn, created_ms) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING");
    if (!create || !create->bind(1, dlq).bind(2, queue_arn(dlq)).bind(3, now_ms).run())
      return std::unexpected(StoreError::internal("creating the dead-letter queue " + dlq));
    for (const int64_t id : dead) {
      auto move = db_.prepare(
          "UPDATE queue_messages SET queue = ?2, visible_ms = ?3, receipt_handle = NULL, "
          "receive_count = 0 WHERE id = ?1");
      if (!move) return std::unexpected(db_error("receive", move.error()));
      if (auto ok = move->bind(1, id).bind(2, dlq).bind(3, now_ms).run(); !ok)
        return std::unexpected(db_error("receive", ok.error()));
    }
  }
  std::vector<QueueMessage> out;
  for (auto& [id, m] : rows) {
    auto stmt = db_.prepare(
        "UPDATE queue_messages SET visible_ms = ?2, receipt_handle = ?3, "
        "receive_count = receive_count + 1 WHERE id = ?1");
    if (!stmt) return std::unexpected(db_error("receive", stmt.error()));
    stmt->bind(1, id).bind(2, now_ms + int64_t{visibility_s} * 1000).bind(3, m.receipt_handle);
    if (auto ok = stmt->run(); !ok) return std::unexpected(db_error("receive", ok.error()));
    out.push_back(std::move(m));
  }
  if (auto ok = tx->commit(); !ok) return std::unexpected(db_error("receive", ok.error()));
  return out;
}

std::expected<void, StoreError> MessageQueues::delete_message(const std::string& queue,
                                                              const std::string& receipt_handle) {
  auto lock = db_.lock();
  auto stmt = db_.prepare(
      "DELETE FROM queue_messages WHERE queue = ?1 AND receipt_handle = ?2 RETURNING id");
  if (!stmt) return std::unexpected(db_error("delete message", stmt.error()));
  stmt->bind(1, queue).bind(2, receipt_handle);
  auto row = stmt->step();
  if (!row) return std::unexpected(db_error("delete message", row.error()));
  if (!*row)
    return std::unexpected(
        StoreError::not_found(queue, "The receipt handle is not valid for queue " + queue +
                                         " (deleted or received again since)"));
  (void)stmt->run();
  return {};
}

std::expected<int64_t, StoreError> MessageQueues::purge(const std::string& queue) {
  auto lock = db_.lock();
  auto exists = exists_locked(queue);
  if (!exists) return std::unexpected(db_error("purge", exists.error()));
  if (!*exists) return std::unexpected(no_queue(queue));
  auto stmt = db_.prepare("DELETE FROM queue_messages WHERE queue = ?1 RETURNING id");
  if (!stmt) return std::unexpected(db_error("purge", stmt.error()));
  stmt->bind(1, queue);
  int64_t purged = 0;
  while (true) {
    auto row = stmt->step();
    if (!row) return std::unexpected(db_error("purge", row.error()));
    if (!*row) return purged;
    ++purged;
  }
}

std::expected<int64_t, StoreError> MessageQueues::drain_dead_letters(
    const std::string& queue,
    const std::function<std::expected<void, common::StoreError>(const QueueMessage&)>& take) {
  auto lock = db_.lock();
  auto tx = Transaction::begin(db_);
  if (!tx) return std::unexpected(db_error("redrive", tx.error()));
  auto exists = exists_locked(queue);
  if (!exists) return std::unexpected(db_error("redrive", exists.error()));
  if (!*exists) return std::unexpected(no_queue(queue));
  auto select = db_.prepare(
      "SELECT id, message_id, body, attributes, source_function, sent_ms, receive_count FROM "
      "queue_messages WHERE queue = ?1 AND source_function IS NOT NULL ORDER BY id");
  if (!select) return std::unexpected(db_error("redrive", select.error()));
  select->bind(1, queue);
  std::vector<std::pair<int64_t, QueueMessage>> rows;
  while (true) {
    auto row = select->step();
    if (!row) return std::unexpected(db_error("redrive", row.error()));
    if (!*row) break;
    QueueMessage m = message_from_row(*select);
    rows.emplace_back(select->column_int64(0), std::move(m));
  }
  for (const auto& [id, m] : rows) {
    if (auto ok = take(m); !ok) return std::unexpected(db_error("redrive", ok.error()));
    auto del = db_.prepare("DELETE FROM queue_messages WHERE id = ?1");
    if (!del) return std::unexpected(db_error("redrive", del.error()));
    if (auto ok = del->bind(1, id).run(); !ok)
      return std::unexpected(db_error("redrive", ok.error()));
  }
  if (auto ok = tx->commit(); !ok) return std::unexpected(db_error("redrive", ok.error()));
  return static_cast<int64_t>(rows.size());
}

}  // namespace runtimed
