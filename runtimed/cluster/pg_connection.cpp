// libpq behind PgConnection and PgResult (see pg_connection.hpp).
#include "runtimed/cluster/pg_connection.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <charconv>

#include "common/module_logger.hpp"

namespace cluster {

namespace {

// libpq's messages span lines ("…failed: …\n\tIs the server running…\n"); a log line or an
// error is one line.
std::string trimmed(const char* message) {
  std::string text;
  for (const char* c = message ? message : ""; *c; ++c) {
    if (*c == '\n' || *c == '\t') {
      if (!text.empty() && text.back() != ' ') text += ' ';
    } else {
      text += *c;
    }
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// Server notices ("relation already exists, skipping") go to the log at debug, not to stderr.
void log_notice(void*, const char* message) {
  common::module_logger("cluster")->debug("postgresql: {}", trimmed(message));
}

}  // namespace

PgResult::~PgResult() {
  if (result_) PQclear(result_);
}

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}

int PgResult::rows() const { return PQntuples(result_); }

std::string_view PgResult::command_status() const { return PQcmdStatus(result_); }

bool PgResult::is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }

std::string_view PgResult::text(int row, int column) const {
  return {PQgetvalue(result_, row, column), static_cast<size_t>(PQgetlength(result_, row, column))};
}

int64_t PgResult::integer(int row, int column) const {
  const std::string_view t = text(row, column);
  int64_t value = 0;
  std::from_chars(t.data(), t.data() + t.size(), value);
  return value;
}

std::expected<void, std::string> PgConnection::check_url(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (!options) {
    std::string message = error ? trimmed(error) : "out of memory";
    PQfreemem(error);
    return std::unexpected(message);
  }
  PQconninfoFree(options);
  return {};
}

std::expected<PgConnection, PgError> PgConnection::connect(
    const std::string& url, std::chrono::seconds connect_timeout,
    std::chrono::milliseconds statement_timeout) {
  // Our defaults come first: the URL (expanded from dbname) overrides them where it sets them.
  const std::string timeout = std::to_string(connect_timeout.count());
  const char* keywords[] = {"application_name", "connect_timeout", "dbname", nullptr};
  const char* values[] = {"runtimed", timeout.c_str(), url.c_str(), nullptr};
  PgConnection connection(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (!connection.conn_) return std::unexpected(PgError{"libpq: out of memory", ""});
  if (PQstatus(connection.conn_) != CONNECTION_OK)
    return std::unexpected(PgError{trimmed(PQerrorMessage(connection.conn_)), ""});
  PQsetNoticeProcessor(connection.conn_, log_notice, nullptr);
  auto set = connection.exec("SELECT set_config('statement_timeout', $1, false)",
                             {std::to_string(statement_timeout.count())});
  if (!set) return std::unexpected(set.error());
  return connection;
}

PgConnection::~PgConnection() {
  if (conn_) PQfinish(conn_);
}

PgConnection& PgConnection::operator=(PgConnection&& other) noexcept {
  if (this != &other) {
    if (conn_) PQfinish(conn_);
    conn_ = std::exchange(other.conn_, nullptr);
  }
  return *this;
}

std::expected<PgResult, PgError> PgConnection::exec(std::string_view sql,
                                                    const std::vector<PgParam>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  const std::string statement(sql);
  PGresult* raw = PQexecParams(conn_, statement.c_str(), static_cast<int>(values.size()),
                               /*paramTypes=*/nullptr, values.data(), /*paramLengths=*/nullptr,
                               /*paramFormats=*/nullptr, /*resultFormat=*/0);
  if (!raw) return std::unexpected(PgError{trimmed(PQerrorMessage(conn_)), ""});
  PgResult result(raw);  // owns it from here, whatever is answered
  const ExecStatusType status = PQresultStatus(raw);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
    return std::unexpected(PgError{trimmed(PQresultErrorMessage(raw)), state ? state : ""});
  }
  return result;
}

bool PgConnection::ok() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

int PgConnection::backend_pid() const { return conn_ ? PQbackendPID(conn_) : 0; }

int PgConnection::socket() const { return conn_ ? PQsocket(conn_) : -1; }

bool PgConnection::open_when_idle() {
  if (!ok()) return false;
  // Nothing is due from the server between statements but a notice, a notification or its
  // goodbye (a FATAL message, then EOF): reading until nothing is left tells which. Bounded: a
  // chatty server is left to the next statement.
  for (int reads = 0; reads < 8; ++reads) {
    pollfd fd{.fd = socket(), .events = POLLIN, .revents = 0};
    if (::poll(&fd, 1, 0) <= 0) return true;
    if (!consume_input()) return false;
  }
  return ok();
}

bool PgConnection::consume_input() { return conn_ && PQconsumeInput(conn_) == 1 && ok(); }

std::optional<PgConnection::Notification> PgConnection::next_notification() {
  PGnotify* raw = conn_ ? PQnotifies(conn_) : nullptr;
  if (!raw) return std::nullopt;
  Notification n{raw->relname, raw->extra ? raw->extra : "", raw->be_pid};
  PQfreemem(raw);
  return n;
}

}  // namespace cluster
