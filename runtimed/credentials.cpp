// The access keys serve accepts (see credentials.hpp).
#include "runtimed/credentials.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cctype>
#include <charconv>
#include <cstring>

namespace runtimed {
namespace {

// Boost's INI reader keeps a trailing "; comment" in the value; the file's documented form has
// them (`admin = true ; optional`).
std::string value_without_comment(std::string value) {
  for (const char* marker : {" ;", "\t;", " #", "\t#"})
    if (auto at = value.find(marker); at != std::string::npos) value.resize(at);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
  return value;
}

bool twelve_digits(const std::string& s) {
  if (s.size() != 12) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

std::expected<std::map<std::string, AccessKey>, std::string> load_credentials(
    const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return std::unexpected(
        fmt::format("cannot read credentials {}: {}", path.string(), std::strerror(errno)));
  if ((st.st_mode & 077) != 0)
    return std::unexpected(
        fmt::format("credentials {} are accessible by other users (mode {:04o}): chmod 600 it",
                    path.string(), st.st_mode & 07777));
  boost::property_tree::ptree tree;
  try {
    boost::property_tree::ini_parser::read_ini(path.string(), tree);
  } catch (const boost::property_tree::ini_parser_error& e) {
    return std::unexpected(fmt::format("credentials {}: {}", path.string(), e.what()));
  }
  std::map<std::string, AccessKey> keys;
  for (const auto& [key_id, section] : tree) {
    auto where = [&](const std::string& what) {
      return fmt::format("credentials {}: [{}]: {}", path.string(), key_id, what);
    };
    if (section.empty()) return std::unexpected(where("not a section of keys"));
    AccessKey key;
    for (const auto& [name, node] : section) {
      const std::string value = value_without_comment(node.get_value<std::string>());
      if (name == "secret_access_key") {
        key.secret_access_key = value;
      } else if (name == "account_id") {
        key.account_id = value;
      } else if (name == "max_memory_mb") {
        uint64_t mb = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), mb);
        if (value.empty() || ec != std::errc() || p != value.data() + value.size() || mb == 0)
          return std::unexpected(where("max_memory_mb must be a positive number"));
        key.max_memory_mb = mb;
      } else if (name == "admin") {
        if (value != "true" && value != "false")
          return std::unexpected(where("admin must be true or false"));
        key.admin = value == "true";
      } else {
        return std::unexpected(where("unknown setting " + name));
      }
    }
    if (key.secret_access_key.empty())
      return std::unexpected(where("secret_access_key is missing"));
    if (!twelve_digits(key.account_id))
      return std::unexpected(where("account_id must be 12 digits"));
    keys.emplace(key_id, std::move(key));
  }
  if (keys.empty()) return std::unexpected("credentials " + path.string() + " hold no key");
  return keys;
}

std::expected<std::unique_ptr<CredentialStore>, std::string> CredentialStore::open(
    std::filesystem::path path) {
  std::unique_ptr<CredentialStore> store(new CredentialStore(std::move(path)));
  if (auto loaded = store->reload(); !loaded) return std::unexpected(loaded.error());
  return store;
}

std::expected<size_t, std::string> CredentialStore::reload() {
  auto keys = load_credentials(path_);
  if (!keys) return std::unexpected(keys.error());
  const size_t n = keys->size();
  auto snapshot = std::make_shared<const std::map<std::string, AccessKey>>(std::move(*keys));
  std::lock_guard lock(mu_);
  keys_ = std::move(snapshot);
  return n;
}

std::map<std::string, uint64_t> CredentialStore::account_memory_caps() const {
  std::shared_ptr<const std::map<std::string, AccessKey>> keys;
  {
    std::lock_guard lock(mu_);
    keys = keys_;
  }
  std::map<std::string, uint64_t> caps;
  for (const auto& [id, key] : *keys) {
    if (!key.max_memory_mb) continue;
    auto [it, inserted] = caps.emplace(key.account_id, *key.max_memory_mb);
    if (!inserted) it->second = std::min(it->second, *key.max_memory_mb);
  }
  return caps;
}

std::optional<AccessKey> CredentialStore::find(const std::string& access_key_id) const {
  std::shared_ptr<const std::map<std::string, AccessKey>> keys;
  {
    std::lock_guard lock(mu_);
    keys = keys_;
  }
  auto it = keys->find(access_key_id);
  if (it == keys->end()) return std::nullopt;
  return it->second;
}

}  // namespace runtimed
