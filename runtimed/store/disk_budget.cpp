// /tmp promises against free disk (see disk_budget.hpp).
#include "runtimed/store/disk_budget.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>

namespace runtimed {

uint64_t DiskBudget::free_bytes(const std::filesystem::path& dir) {
  struct statvfs s {};
  if (::statvfs(dir.c_str(), &s) != 0) return 0;
  return static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
}

DiskBudget::DiskBudget(std::filesystem::path images_dir, uint64_t reserve_mb)
    : images_dir_(std::move(images_dir)), reserve_mb_(reserve_mb) {}

void DiskBudget::Lease::release() {
  if (!promises_) return;
  {
    std::lock_guard lock(promises_->mu);
    promises_->mb -= mb_;
  }
  promises_.reset();
}

uint64_t DiskBudget::allocated_image_bytes() const {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& env : std::filesystem::directory_iterator(images_dir_, ec)) {
    struct stat st {};
    if (::stat((env.path() / "tmp.img").c_str(), &st) == 0)
      total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

std::optional<DiskBudget::Lease> DiskBudget::reserve(uint64_t mb) {
  std::lock_guard lock(reserve_mu_);
  const uint64_t need = (promised_mb() + mb + reserve_mb_) << 20;
  uint64_t have = free_bytes(images_dir_);
  if (need > have) have += allocated_image_bytes();
  if (need > have) return std::nullopt;
  {
    std::lock_guard promised(promises_->mu);
    promises_->mb += mb;
  }
  return Lease(promises_, mb);
}

uint64_t DiskBudget::promised_mb() {
  std::lock_guard lock(promises_->mu);
  return promises_->mb;
}

}  // namespace runtimed
