#include "runtimed/cluster/pg_code_blobs.hpp"

#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "common/module_logger.hpp"

namespace cluster {

PgCodeBlobs::PgCodeBlobs(PgStateOptions options, std::chrono::seconds grace)
    : grace_(grace), backend_(std::move(options)) {}

// Zips travel base64-encoded: libpq's text parameters cannot carry NUL bytes; stored as bytea.
std::expected<void, common::StoreError> PgCodeBlobs::upload(const std::string& key,
                                                            std::string_view zip) {
  common::MutexLock lock(mutex_);
  auto done = backend_.run(
      "INSERT INTO code_blobs (key, zip) VALUES ($1, decode($2, 'base64')) "
      "ON CONFLICT (key) DO UPDATE SET created_at = now()",
      {key, common::base64_encode(zip)});
  if (!done) return std::unexpected(done.error());
  return {};
}

std::expected<std::string, common::StoreError> PgCodeBlobs::download(const std::string& key) {
  common::MutexLock lock(mutex_);
  auto found = backend_.run("SELECT encode(zip, 'base64') FROM code_blobs WHERE key = $1", {key});
  if (!found) return std::unexpected(found.error());
  if (found->rows() == 0)
    return std::unexpected(
        common::StoreError::not_found(key, "Code " + key + " is not in the cluster database"));
  // encode() breaks its output into lines of 76 characters.
  std::string text;
  for (char c : found->text(0, 0))
    if (c != '\n') text.push_back(c);
  auto zip = common::base64_decode(text);
  if (!zip)
    return std::unexpected(common::StoreError::internal("code blob " + key + " is corrupt"));
  return std::move(*zip);
}

void PgCodeBlobs::collect_garbage(const std::set<std::string>& referenced) {
  common::MutexLock lock(mutex_);
  const nlohmann::json keys(referenced);
  auto done = backend_.run(
      "DELETE FROM code_blobs WHERE created_at < now() - make_interval(secs => $2) "
      "AND key NOT IN (SELECT jsonb_array_elements_text($1::jsonb))",
      {keys.dump(), std::to_string(grace_.count())});
  if (!done)
    common::module_logger("cluster")->warn("dropping unreferenced code blobs: {}",
                                           done.error().message);
}

}  // namespace cluster
