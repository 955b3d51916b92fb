#include "runtimed/cluster/pg_state_backend.hpp"

#include <cctype>

#include "runtimed/cluster/schema_migrations.hpp"

namespace cluster {

namespace {

common::StoreError store_error(const PgError& e) { return common::StoreError::internal(e.message); }

// A statement's rows, fetched whole when first stepped (the catalog's results are small).
class PgCursor final : public runtimed::SqlCursor {
 public:
  PgCursor(PgStateBackend& backend, std::string sql) : backend_(backend), sql_(std::move(sql)) {}

  void bind_text(int index, std::string_view text) override { slot(index) = std::string(text); }
  void bind_int64(int index, int64_t value) override { slot(index) = std::to_string(value); }
  void bind_null(int index) override { slot(index) = std::nullopt; }

  std::expected<bool, common::StoreError> step() override {
    if (!result_) {
      auto result = backend_.run(sql_, params_);
      if (!result) return std::unexpected(result.error());
      result_.emplace(std::move(*result));
      row_ = -1;
    }
    return ++row_ < result_->rows();
  }

  std::string column_text(int index) const override {
    return std::string(result_->text(row_, index));
  }
  int64_t column_int64(int index) const override { return result_->integer(row_, index); }
  bool column_is_null(int index) const override { return result_->is_null(row_, index); }

 private:
  PgParam& slot(int index) {
    const auto i = static_cast<size_t>(index - 1);
    if (params_.size() <= i) params_.resize(i + 1);
    return params_[i];
  }

  PgStateBackend& backend_;
  std::string sql_;
  std::vector<PgParam> params_;
  std::optional<PgResult> result_;
  int row_ = -1;
};

bool starts_with_word(std::string_view sql, std::string_view word) {
  if (sql.size() < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(sql[i])) != word[i]) return false;
  return sql.size() == word.size() || !std::isalpha(static_cast<unsigned char>(sql[word.size()]));
}

}  // namespace

std::string postgres_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // a literal or quoted identifier, copied whole ('' and "" too)
      const size_t end = sql.find(c, i + 1);
      const size_t stop = end == std::string_view::npos ? sql.size() : end + 1;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      const size_t stop = end == std::string_view::npos ? sql.size() : end;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '?' && i + 1 < sql.size() &&
               std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      out.push_back('$');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::expected<void, common::StoreError> PgStateBackend::connect() {
  // Between transactions a connection the server closed is replaced before use, so the first
  // statement after a database restart does not fail (inside one, its loss is the error).
  if (connection_ && (in_transaction_ ? connection_->ok() : connection_->open_when_idle()))
    return {};
  if (in_transaction_)
    return std::unexpected(common::StoreError::internal(
        "the connection to the cluster database broke inside a transaction"));
  connection_.reset();
  backend_pid_ = 0;
  const auto now = std::chrono::steady_clock::now();
  if (now < reconnect_after_)
    return std::unexpected(common::StoreError::internal(last_connect_error_));
  auto failed = [&](const PgError& e) {
    reconnect_after_ = now + kReconnectPause;
    last_connect_error_ = e.message;
    return std::unexpected(store_error(e));
  };
  auto connected = PgConnection::connect(options_.database_url, options_.connect_timeout,
                                         options_.statement_timeout);
  if (!connected) return failed(connected.error());
  // Nodes of this build may meet a database no node has migrated yet.
  if (auto migrated = migrate(*connected); !migrated) return failed(migrated.error());
  connection_.emplace(std::move(*connected));
  backend_pid_ = connection_->backend_pid();
  return {};
}

std::expected<PgResult, common::StoreError> PgStateBackend::run(
    const std::string& sql, const std::vector<PgParam>& params) {
  if (auto ok = connect(); !ok) return std::unexpected(ok.error());
  auto result = connection_->exec(sql, params);
  if (!result) return std::unexpected(store_error(result.error()));
  return std::move(*result);
}

std::expected<std::unique_ptr<runtimed::SqlCursor>, common::StoreError> PgStateBackend::prepare(
    std::string_view sql) {
  return std::make_unique<PgCursor>(*this, postgres_placeholders(sql));
}

std::expected<void, common::StoreError> PgStateBackend::exec(const std::string& sql) {
  const bool ends = starts_with_word(sql, "COMMIT") ||
                    (starts_with_word(sql, "ROLLBACK") && sql.find(" TO ") == std::string::npos);
  if (ends && !(connection_ && connection_->ok())) {
    // The transaction died with its connection: a COMMIT fails, a ROLLBACK has nothing to do.
    in_transaction_ = false;
    if (starts_with_word(sql, "COMMIT"))
      return std::unexpected(common::StoreError::internal(
          "the connection to the cluster database broke before the transaction committed"));
    return {};
  }
  auto done = run(sql, {});
  if (starts_with_word(sql, "BEGIN") && done) in_transaction_ = true;
  if (ends) in_transaction_ = false;
  if (!done) return std::unexpected(done.error());
  // PostgreSQL answers COMMIT of a transaction an error aborted with "ROLLBACK", not an error.
  if (starts_with_word(sql, "COMMIT") && done->command_status() == "ROLLBACK")
    return std::unexpected(common::StoreError::internal(
        "the transaction was rolled back: a statement in it had failed"));
  return {};
}

}  // namespace cluster
