// Per-environment uids: each environment runs as its own uid (and gid of the same number) from a
// configured range, so the kernel's per-user limits (inotify instances, pipe buffer pages,
// RLIMIT_NPROC, pending signals) are not shared between environments. A uid is held by a
// UidLease, released when the environment is destroyed; an flock on one file per uid keeps two
// daemons on one host apart and frees a crashed daemon's uids with its process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sandbox/error.hpp"
#include "sandbox/unique_fd.hpp"

namespace sandbox {

struct UidRange {
  uid_t first = 0;
  uint32_t count = 0;
  // "A-B", both inclusive, A <= B, within 1..4294967294 and clear of uid 65534 (nobody).
  static Result<UidRange> parse(const std::string& text);
};

class UidPool;

// One uid held for one environment. Move-only; the destructor gives the uid back.
class UidLease {
 public:
  UidLease() = default;
  UidLease(UidLease&& other) noexcept;
  UidLease& operator=(UidLease&& other) noexcept;
  UidLease(const UidLease&) = delete;
  UidLease& operator=(const UidLease&) = delete;
  ~UidLease();

  uid_t uid() const { return uid_; }
  gid_t gid() const { return static_cast<gid_t>(uid_); }
  explicit operator bool() const { return pool_ != nullptr; }

 private:
  friend class UidPool;
  struct Shared;
  UidLease(std::shared_ptr<Shared> pool, uid_t uid, UniqueFd lock)
      : pool_(std::move(pool)), uid_(uid), lock_(std::move(lock)) {}
  void release();

  std::shared_ptr<Shared> pool_;
  uid_t uid_ = 0;
  UniqueFd lock_;  // flock(LOCK_EX) on <lock_dir>/<uid>
};

class UidPool {
 public:
  // `lock_dir` is shared by every runtimed on the host (created 0700 when missing).
  static Result<std::unique_ptr<UidPool>> open(UidRange range, std::filesystem::path lock_dir);

  // The lowest uid of the range that neither this pool nor another process holds.
  Result<UidLease> acquire();

  const UidRange& range() const { return range_; }

 private:
  UidPool() = default;
  UidRange range_;
  std::shared_ptr<UidLease::Shared> shared_;
};

}  // namespace sandbox
