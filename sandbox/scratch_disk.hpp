// An environment's /tmp: disk-backed and capped at EphemeralStorage, not charged to the function's
// memory cgroup. A sparse image file formatted ext4 (no journal), on a loop device, mounted at a
// host staging directory that the sandbox binds at /tmp. Move-only RAII owner.
//
// The mount is made private (no propagation either way); its parent should be private too (the
// daemon's staging root), since a new mount under a shared parent is copied into the parent's
// peers. The size is not range-checked here: EphemeralStorage limits belong to the API layer.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>

#include "sandbox/error.hpp"

namespace sandbox {

class ScratchDisk {
 public:
  enum class Kind { LoopExt4, Tmpfs };  // tmpfs only when asked for: its pages count as memory

  // With `template_dir`, the image is a sparse copy of a formatted one kept there per size (made
  // by mkfs.ext4 once): copying its few hundred KiB of metadata costs well under a millisecond,
  // spawning mkfs about 7 ms of every prepare. Without, each image is formatted by mkfs.
  static Result<ScratchDisk> create(const std::filesystem::path& image_path,
                                    const std::filesystem::path& mount_point, uint64_t size_mb,
                                    Kind kind = Kind::LoopExt4,
                                    const std::filesystem::path& template_dir = {});
  ScratchDisk(ScratchDisk&&) noexcept;
  ScratchDisk& operator=(ScratchDisk&&) noexcept;
  ScratchDisk(const ScratchDisk&) = delete;
  ScratchDisk& operator=(const ScratchDisk&) = delete;
  ~ScratchDisk();

  const std::filesystem::path& mount_point() const { return mount_point_; }
  uint64_t size_mb() const { return size_mb_; }
  // Unmounts (lazily if busy), detaches the loop device, deletes the image. Idempotent.
  // The mount point and image must not exist yet; create() makes both and destroy() removes both.
  Result<void> destroy();

 private:
  ScratchDisk() = default;
  std::filesystem::path image_path_;
  std::filesystem::path mount_point_;
  uint64_t size_mb_ = 0;
  Kind kind_ = Kind::LoopExt4;
  bool mounted_ = false;
  bool image_created_ = false;        // ours to unlink
  bool mount_point_created_ = false;  // ours to rmdir
};

}  // namespace sandbox
