// The access keys `serve --credentials FILE` accepts: an INI file, one section per access key id
// (AWS's own credentials-file shape). Refused when other users can read it, as ssh refuses a key;
// SIGHUP reloads it (a bad new file keeps the old keys). docs/security.md.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace runtimed {

struct AccessKey {
  std::string secret_access_key;
  std::string account_id;                 // 12 digits
  std::optional<uint64_t> max_memory_mb;  // this account's share of the memory budget
  bool admin = false;
};

// Reads and checks the file: mode (no group or other access), sections, required keys.
std::expected<std::map<std::string, AccessKey>, std::string> load_credentials(
    const std::filesystem::path& path);

class CredentialStore {
 public:
  // Each key acts in its account (docs/security.md, "Accounts"); the daemon's own account
  // (--account-id) keeps bare names.
  static std::expected<std::unique_ptr<CredentialStore>, std::string> open(
      std::filesystem::path path);
  // Reads the file again; on failure the keys in force stay.
  std::expected<size_t, std::string> reload();
  std::optional<AccessKey> find(const std::string& access_key_id) const;
  // Each capped account's share of the memory budget: the smallest max_memory_mb among its keys.
  std::map<std::string, uint64_t> account_memory_caps() const;
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit CredentialStore(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
  mutable std::mutex mu_;
  std::shared_ptr<const std::map<std::string, AccessKey>> keys_;
};

}  // namespace runtimed
