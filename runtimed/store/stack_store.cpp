// SQLite rows of the stacks table (see stack_store.hpp).
#include "runtimed/store/stack_store.hpp"

namespace runtimed {

std::expected<void, std::string> StackStore::put(const std::string& name, const std::string& record,
                                                 int64_t updated_ms) {
  auto lock = db_.lock();
  auto stmt = db_.prepare(
      "INSERT INTO stacks (name, record, updated_ms) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (name) DO UPDATE SET record = excluded.record, updated_ms = "
      "excluded.updated_ms");
  if (!stmt) return std::unexpected(stmt.error().message);
  if (auto ok = stmt->bind(1, name).bind(2, record).bind(3, updated_ms).run(); !ok)
    return std::unexpected(ok.error().message);
  return {};
}

std::expected<std::optional<StackRecord>, std::string> StackStore::get(const std::string& name) {
  auto lock = db_.lock();
  auto stmt = db_.prepare("SELECT record, updated_ms FROM stacks WHERE name = ?1");
  if (!stmt) return std::unexpected(stmt.error().message);
  stmt->bind(1, name);
  auto row = stmt->step();
  if (!row) return std::unexpected(row.error().message);
  if (!*row) return std::optional<StackRecord>{};
  return StackRecord{name, stmt->column_text(0), stmt->column_int64(1)};
}

std::expected<bool, std::string> StackStore::remove(const std::string& name) {
  auto existing = get(name);
  if (!existing) return std::unexpected(existing.error());
  auto lock = db_.lock();
  auto stmt = db_.prepare("DELETE FROM stacks WHERE name = ?1");
  if (!stmt) return std::unexpected(stmt.error().message);
  if (auto ok = stmt->bind(1, name).run(); !ok) return std::unexpected(ok.error().message);
  return existing->has_value();
}

std::expected<std::vector<StackRecord>, std::string> StackStore::list() {
  auto lock = db_.lock();
  auto stmt = db_.prepare("SELECT name, record, updated_ms FROM stacks ORDER BY name");
  if (!stmt) return std::unexpected(stmt.error().message);
  std::vector<StackRecord> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return std::unexpected(row.error().message);
    if (!*row) break;
    out.push_back({stmt->column_text(0), stmt->column_text(1), stmt->column_int64(2)});
  }
  return out;
}

}  // namespace runtimed
