// Deployed stacks' records (`runtimed deploy`): per stack name, the JSON the deployer last applied
// (resources with physical ids and content hashes, outputs). The daemon keeps them opaque.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "runtimed/store/state_db.hpp"

namespace runtimed {

struct StackRecord {
  std::string name;
  std::string record;  // JSON object text, as the deployer sent it
  int64_t updated_ms = 0;
};

class StackStore {
 public:
  explicit StackStore(StateDb& db) : db_(db) {}

  std::expected<void, std::string> put(const std::string& name, const std::string& record,
                                       int64_t updated_ms);
  std::expected<std::optional<StackRecord>, std::string> get(const std::string& name);
  // True when a stack of that name existed.
  std::expected<bool, std::string> remove(const std::string& name);
  std::expected<std::vector<StackRecord>, std::string> list();

 private:
  StateDb& db_;
};

}  // namespace runtimed
