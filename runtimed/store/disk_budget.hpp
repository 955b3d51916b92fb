// How much /tmp the controller may promise: each live environment's /tmp is a sparse image that can
// grow to its EphemeralStorage, so the sum of those promises must fit in the disk's free space
// minus a reserve for the daemon's own state (database, logs, code). Lambda never refuses an
// invocation for disk; on one host the alternative is a function's write failing with ENOSPC
// because another filled the disk, so admission refuses instead (429, see docs/limits.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

namespace runtimed {

class DiskBudget {
 public:
  // Free bytes of the file system holding `dir` (statvfs f_bavail).
  static uint64_t free_bytes(const std::filesystem::path& dir);

  // `images_dir`: the sandbox's envs/ directory, where each environment's <id>/tmp.img lives.
  DiskBudget(std::filesystem::path images_dir, uint64_t reserve_mb);
  DiskBudget(const DiskBudget&) = delete;
  DiskBudget& operator=(const DiskBudget&) = delete;

  struct Promises {
    std::mutex mu;
    uint64_t mb = 0;
  };

  // A promise of `mb` MB of /tmp, given back when the lease is destroyed (with its environment).
  // Holds the promises it counts in, so it may outlive the budget.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&& o) noexcept {
      if (this != &o) {
        release();
        promises_ = std::move(o.promises_);
        mb_ = o.mb_;
      }
      return *this;
    }
    ~Lease() { release(); }
    void release();

   private:
    friend class DiskBudget;
    Lease(std::shared_ptr<Promises> promises, uint64_t mb)
        : promises_(std::move(promises)), mb_(mb) {}
    std::shared_ptr<Promises> promises_;
    uint64_t mb_ = 0;
  };

  // A lease for a new environment's /tmp of `mb` MB, or nullopt when the promises of the live
  // environments plus this one would not fit in free disk minus the reserve. Blocks the images
  // already hold are part of their promise and no longer free, so they count back in; that needs a
  // walk of images_dir, done only when the quick test (free space alone) fails.
  std::optional<Lease> reserve(uint64_t mb);
  uint64_t promised_mb();

 private:
  uint64_t allocated_image_bytes() const;

  const std::filesystem::path images_dir_;
  const uint64_t reserve_mb_;
  std::mutex reserve_mu_;  // one reservation at a time: check and promise together
  std::shared_ptr<Promises> promises_ = std::make_shared<Promises>();
};

}  // namespace runtimed
