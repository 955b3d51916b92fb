// A PostgreSQL connection over libpq: move-only owners of a PGconn and a PGresult, and queries that
// take their values only as parameters (PQexecParams), never spliced into the SQL text.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// libpq's handles, declared here so that only cluster/'s sources include libpq-fe.h.
struct pg_conn;
struct pg_result;

namespace cluster {

// What failed: libpq's or the server's message, with the SQLSTATE when the server sent one.
struct PgError {
  std::string message;
  std::string sqlstate;  // "40P01", …; empty for connection failures
};

// One query's result; rows and columns by index, values as libpq's text format.
class PgResult {
 public:
  explicit PgResult(pg_result* result) : result_(result) {}
  ~PgResult();
  PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  // The command tag ("INSERT 0 1", "COMMIT", "ROLLBACK", …).
  std::string_view command_status() const;
  bool is_null(int row, int column) const;
  std::string_view text(int row, int column) const;
  // The value as an integer (bigint, int, a numeric without fraction); 0 when NULL or not one.
  int64_t integer(int row, int column) const;
  // "t"/"f" as a bool.
  bool boolean(int row, int column) const { return text(row, column) == "t"; }

 private:
  pg_result* result_;
};

// A query parameter: text, or SQL NULL.
using PgParam = std::optional<std::string>;

class PgConnection {
 public:
  // Connects to `url` (a postgresql:// URI or key=value conninfo), each host address tried for at
  // most `connect_timeout` (libpq rounds below 2 s up to 2 s), then sets `statement_timeout` for
  // the session so no query holds its caller longer.
  static std::expected<PgConnection, PgError> connect(const std::string& url,
                                                      std::chrono::seconds connect_timeout,
                                                      std::chrono::milliseconds statement_timeout);
  // Whether `url` parses as a connection string (no connection is made).
  static std::expected<void, std::string> check_url(const std::string& url);

  ~PgConnection();
  PgConnection(PgConnection&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}
  PgConnection& operator=(PgConnection&& other) noexcept;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // One statement with `params` as $1, $2, … (text format). A result that is not
  // PGRES_COMMAND_OK or PGRES_TUPLES_OK is the error.
  std::expected<PgResult, PgError> exec(std::string_view sql,
                                        const std::vector<PgParam>& params = {});
  // False once the connection broke (the server went away): the owner reconnects.
  bool ok() const;
  // For an idle connection (no statement in flight): ok(), and the server has not closed it
  // meanwhile (a restart, an idle timeout). libpq notices a close only when it next reads, which
  // would fail the next statement; a readable idle socket is read now instead (one poll).
  bool open_when_idle();

  // The server process serving this connection (NOTIFY names it as the sender).
  int backend_pid() const;

  // LISTEN's side: the socket to poll for input, reading what arrived (false once the connection
  // broke), and the notifications read so far, one at a time.
  struct Notification {
    std::string channel;
    std::string payload;
    int sender_pid = 0;
  };
  int socket() const;
  bool consume_input();
  std::optional<Notification> next_notification();

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  pg_conn* conn_;
};

}  // namespace cluster
