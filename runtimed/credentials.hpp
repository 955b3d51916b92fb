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
  // Accounts are not apart yet: every key must name `account_id` (the daemon's one account), at
  // start and at every reload, or a key would see functions it must not.
  static std::expected<std::unique_ptr<CredentialStore>, std::string> open(
      std::filesystem::path path, std::string account_id);
  // Reads the file again; on failure the keys in force stay.
  std::expected<size_t, std::string> reload();
  std::optional<AccessKey> find(const std::string& access_key_id) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  CredentialStore(std::filesystem::path path, std::string account_id)
      : path_(std::move(path)), account_id_(std::move(account_id)) {}
  std::filesystem::path path_;
  std::string account_id_;
  mutable std::mutex mu_;
  std::shared_ptr<const std::map<std::string, AccessKey>> keys_;
};

}  // namespace runtimed
