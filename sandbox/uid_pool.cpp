// UidPool and UidLease (see uid_pool.hpp).
#include "sandbox/uid_pool.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>

namespace sandbox {

struct UidLease::Shared {
  UidRange range;
  std::filesystem::path lock_dir;
  std::mutex mu;
  std::vector<bool> used;  // held by this process, indexed by uid - range.first
};

Result<UidRange> UidRange::parse(const std::string& text) {
  const auto dash = text.find('-');
  if (dash == std::string::npos) return fail("uid range", EINVAL, "expected A-B: " + text);
  uint64_t a = 0, b = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto ra = std::from_chars(begin, begin + dash, a);
  auto rb = std::from_chars(begin + dash + 1, end, b);
  if (ra.ec != std::errc() || ra.ptr != begin + dash || rb.ec != std::errc() || rb.ptr != end)
    return fail("uid range", EINVAL, "expected A-B: " + text);
  // 0 is root; 65534 is nobody, whose files and processes exist everywhere; -1 means "unchanged"
  // to setresuid.
  if (a == 0 || a > b || b >= 0xffffffffULL || (a <= 65534 && 65534 <= b))
    return fail("uid range", EINVAL, "must be within 1..4294967294 and not include 65534: " + text);
  return UidRange{static_cast<uid_t>(a), static_cast<uint32_t>(b - a + 1)};
}

UidLease::UidLease(UidLease&& other) noexcept
    : pool_(std::move(other.pool_)), uid_(other.uid_), lock_(std::move(other.lock_)) {}

UidLease& UidLease::operator=(UidLease&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::move(other.pool_);
    uid_ = other.uid_;
    lock_ = std::move(other.lock_);
  }
  return *this;
}

UidLease::~UidLease() { release(); }

void UidLease::release() {
  if (!pool_) return;
  {
    std::lock_guard lock(pool_->mu);
    pool_->used[uid_ - pool_->range.first] = false;
  }
  lock_.reset();  // closing the file drops the flock
  pool_.reset();
}

Result<std::unique_ptr<UidPool>> UidPool::open(UidRange range, std::filesystem::path lock_dir) {
  if (range.count == 0) return fail("uid range", EINVAL, "empty");
  std::error_code ec;
  std::filesystem::create_directories(lock_dir, ec);
  if (ec) return fail("create uid lock dir", ec.value(), lock_dir.string());
  ::chmod(lock_dir.c_str(), 0700);
  std::unique_ptr<UidPool> pool(new UidPool());
  pool->range_ = range;
  pool->shared_ = std::make_shared<UidLease::Shared>();
  pool->shared_->range = range;
  pool->shared_->lock_dir = std::move(lock_dir);
  pool->shared_->used.assign(range.count, false);
  return pool;
}

Result<UidLease> UidPool::acquire() {
  auto& s = *shared_;
  std::lock_guard lock(s.mu);
  // Lowest free first: the lock files stay as few as the peak number of environments.
  for (uint32_t i = 0; i < range_.count; ++i) {
    if (s.used[i]) continue;
    const uid_t uid = range_.first + i;
    const auto path = s.lock_dir / std::to_string(uid);
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return fail("open uid lock", errno, path.string());
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) continue;  // another runtimed holds it
      return fail("flock uid lock", errno, path.string());
    }
    s.used[i] = true;
    return UidLease(shared_, uid, std::move(fd));
  }
  return fail("acquire uid", EAGAIN, "every uid of the range is in use");
}

}  // namespace sandbox
