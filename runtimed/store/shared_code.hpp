// Where code zips live for nodes that share a catalog (cluster mode): a node that stored a zip
// uploads it, a node that meets a function whose code it lacks downloads it by its key (the hex
// SHA-256) and unpacks it into its own CodeStore. A single node has none: its CodeStore is all.
#pragma once

#include <expected>
#include <set>
#include <string>
#include <string_view>

#include "common/store_error.hpp"

namespace runtimed {

class SharedCode {
 public:
  virtual ~SharedCode() = default;
  // Keeps `zip` under `key` (nothing to do when it is there already).
  virtual std::expected<void, common::StoreError> upload(const std::string& key,
                                                         std::string_view zip) = 0;
  // The zip under `key`; NotFound when there is none.
  virtual std::expected<std::string, common::StoreError> download(const std::string& key) = 0;
  // Drops the zips no key in `referenced` names, once they are old enough that no node can be
  // between uploading one and saving the row that references it.
  virtual void collect_garbage(const std::set<std::string>& referenced) = 0;
};

}  // namespace runtimed
