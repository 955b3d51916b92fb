#include "runtimed/store/sqlite_backend.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace runtimed {

namespace {

common::StoreError sqlite_error(sqlite3* db) {
  return common::StoreError::internal(sqlite3_errmsg(db));
}

class SqliteCursor final : public SqlCursor {
 public:
  SqliteCursor(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteCursor() override { sqlite3_finalize(stmt_); }
  SqliteCursor(const SqliteCursor&) = delete;
  SqliteCursor& operator=(const SqliteCursor&) = delete;

  void bind_text(int index, std::string_view text) override {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void bind_int64(int index, int64_t value) override { sqlite3_bind_int64(stmt_, index, value); }
  void bind_null(int index) override { sqlite3_bind_null(stmt_, index); }

  std::expected<bool, common::StoreError> step() override {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return std::unexpected(sqlite_error(db_));
  }

  std::string column_text(int index) const override {
    const auto* p = sqlite3_column_text(stmt_, index);
    const int n = sqlite3_column_bytes(stmt_, index);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n))
             : std::string();
  }
  int64_t column_int64(int index) const override { return sqlite3_column_int64(stmt_, index); }
  bool column_is_null(int index) const override {
    return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

}  // namespace

std::expected<std::unique_ptr<SqliteBackend>, std::string> SqliteBackend::open(
    const std::filesystem::path& path) {
  // The rows hold functions' environment variables: owner only. SQLite gives the -wal and -shm
  // files the database file's mode, so the database is created 0600 before SQLite opens it, and
  // files left by an older runtimed (0644 under the usual umask) are fixed here.
  ::chmod(path.parent_path().c_str(), 0700);
  if (const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600); fd >= 0) {
    ::close(fd);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const auto file = path.string() + suffix;
    if (::chmod(file.c_str(), 0600) != 0 && errno != ENOENT) {
      return std::unexpected("cannot chmod " + file + ": " + std::strerror(errno));
    }
  }
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return std::unexpected("cannot open " + path.string() + ": " + msg);
  }
  std::unique_ptr<SqliteBackend> backend(new SqliteBackend(raw, path));
  sqlite3_busy_timeout(raw, 5000);  // another process (the CLI) may hold it briefly
  // WAL for concurrent readers; FULL so a committed change survives power loss (async events).
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (auto ok = backend->exec(pragma); !ok) return std::unexpected(ok.error().message);
  }
  return backend;
}

SqliteBackend::~SqliteBackend() { sqlite3_close_v2(db_); }

std::expected<std::unique_ptr<SqlCursor>, common::StoreError> SqliteBackend::prepare(
    std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK)
    return std::unexpected(sqlite_error(db_));
  return std::make_unique<SqliteCursor>(db_, stmt);
}

std::expected<void, common::StoreError> SqliteBackend::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return std::unexpected(common::StoreError::internal(std::move(msg)));
  }
  return {};
}

}  // namespace runtimed
