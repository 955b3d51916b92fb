// SharedCode in the cluster database's code_blobs table, over a connection of its own, so a
// 50 MB upload or download never holds the catalog's connection.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/thread_annotations.hpp"
#include "runtimed/cluster/pg_state_backend.hpp"
#include "runtimed/store/shared_code.hpp"

namespace cluster {

class PgCodeBlobs final : public runtimed::SharedCode {
 public:
  // Zips unreferenced for longer than `grace` are dropped by collect_garbage.
  explicit PgCodeBlobs(PgStateOptions options,
                       std::chrono::seconds grace = std::chrono::minutes(10));

  std::expected<void, common::StoreError> upload(const std::string& key,
                                                 std::string_view zip) override;
  std::expected<std::string, common::StoreError> download(const std::string& key) override;
  void collect_garbage(const std::set<std::string>& referenced) override;

 private:
  const std::chrono::seconds grace_;
  common::Mutex mutex_;
  PgStateBackend backend_ GUARDED_BY(mutex_);
};

}  // namespace cluster
