// Creates and tears down an environment's /tmp: an ext4 image on an autoclear loop device, or
// tmpfs.
#include "sandbox/scratch_disk.hpp"

#include <fcntl.h>
#include <linux/loop.h>
#include <spawn.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

#include "common/module_logger.hpp"
#include "sandbox/unique_fd.hpp"

namespace sandbox {
namespace {

// The "sandbox" module logger.
spdlog::logger& log() {
  static const std::shared_ptr<spdlog::logger> logger = common::module_logger("sandbox");
  return *logger;
}

// Debian's e2fsprogs path; /sbin is a symlink to /usr/sbin on merged-/usr systems.
constexpr const char* kMkfs = "/sbin/mkfs.ext4";
// Lost LOOP_CONFIGURE races (another process took the "free" device) before giving up.
constexpr int kLoopAttachAttempts = 32;

// Runs mkfs.ext4 on the image as a plain child (posix_spawn: Boost.Process 1.74 would pull
// Boost.Filesystem into rt_sandbox's link). Returns its stderr in the error on failure.
Result<void> format_ext4(const std::filesystem::path& image) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail("pipe for mkfs.ext4", errno);
  UniqueFd err_read(pipe_fds[0]);
  UniqueFd err_write(pipe_fds[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);

  // No journal: the disk dies with the environment, so crash consistency buys nothing. Lazy init
  // and nodiscard keep mkfs from writing (or trimming) the whole sparse image; -m 0: no root
  // reserve, the function gets the full EphemeralStorage.
  std::string image_str = image.string();
  std::array<const char*, 13> argv = {kMkfs,
                                      "-q",
                                      "-F",
                                      "-O",
                                      "^has_journal",
                                      "-E",
                                      "lazy_itable_init=1,lazy_journal_init=1,nodiscard",
                                      "-m",
                                      "0",
                                      "-b",
                                      "4096",
                                      image_str.c_str(),
                                      nullptr};
  // A fixed environment: no MKE2FS_CONFIG or locale from the daemon's environment leaks in.
  std::array<const char*, 3> envp = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", nullptr};

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, kMkfs, &actions, nullptr, const_cast<char* const*>(argv.data()),
                         const_cast<char* const*>(envp.data()));
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return fail("spawn mkfs.ext4", rc, kMkfs);
  err_write.reset();

  std::string stderr_text;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(err_read.get(), buf, sizeof buf);
    if (n > 0) {
      if (stderr_text.size() < 4096) stderr_text.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return fail("waitpid mkfs.ext4", errno);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string detail = image_str + ", status " + std::to_string(status);
    if (!stderr_text.empty()) detail += ": " + stderr_text;
    return fail("mkfs.ext4", 0, detail);
  }
  return {};
}

// <dir>/ext4-<size>M.img: an empty formatted image of that size, made once (mkfs into a private
// name, then renamed, so a reader never sees half of one) and opened read-only.
Result<UniqueFd> formatted_template(const std::filesystem::path& dir, uint64_t size_mb) {
  static std::mutex mu;  // one maker per size at a time within the process
  std::lock_guard lock(mu);
  const auto path = dir / ("ext4-" + std::to_string(size_mb) + "M.img");
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd) return fd;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const auto partial = dir / (path.filename().string() + ".partial-" + std::to_string(::getpid()));
  {
    UniqueFd out(
        ::open(partial.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!out) return fail("create image template", errno, partial);
    if (::ftruncate(out.get(), static_cast<off_t>(size_mb) << 20) != 0)
      return fail("ftruncate image template", errno, partial);
  }
  if (auto formatted = format_ext4(partial); !formatted) {
    std::filesystem::remove(partial, ec);
    return std::unexpected(formatted.error());
  }
  if (::rename(partial.c_str(), path.c_str()) != 0)
    return fail("rename image template", errno, path);
  fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return fail("open image template", errno, path);
  return fd;
}

// Copies the data extents of `from` into `to` (already of the same size, all hole), leaving the
// holes holes: the copy is as sparse as the template.
Result<void> copy_data_extents(int from, int to) {
  const off_t end = ::lseek(from, 0, SEEK_END);
  off_t data = 0;
  while (data < end) {
    data = ::lseek(from, data, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // no data after this point
      return fail("SEEK_DATA image template", errno);
    }
    off_t hole = ::lseek(from, data, SEEK_HOLE);
    if (hole < 0) return fail("SEEK_HOLE image template", errno);
    loff_t in = data, out = data;
    while (in < hole) {
      const ssize_t n = ::copy_file_range(from, &in, to, &out, static_cast<size_t>(hole - in), 0);
      if (n < 0) return fail("copy image template", errno);
      if (n == 0) break;
    }
    data = hole;
  }
  return {};
}

// Binds the image to a free loop device with autoclear; the returned fd keeps it attached until
// something else (the mount) holds it.
Result<UniqueFd> attach_loop(int image_fd, std::string& device) {
  UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!control) return fail("open /dev/loop-control", errno);
  for (int attempt = 0; attempt < kLoopAttachAttempts; ++attempt) {
    int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return fail("LOOP_CTL_GET_FREE", errno);
    device = "/dev/loop" + std::to_string(n);
    UniqueFd dev(::open(device.c_str(), O_RDWR | O_CLOEXEC));
    if (!dev) return fail("open loop device", errno, device);

    loop_config config{};
    config.fd = static_cast<__u32>(image_fd);
    config.block_size = 4096;  // the fs block size; lets the loop device use direct I/O
    // Direct I/O: the backing file's pages are not cached a second time under the fs's own.
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO;
    if (::ioctl(dev.get(), LOOP_CONFIGURE, &config) == 0) return dev;
    if (errno != EBUSY) return fail("LOOP_CONFIGURE", errno, device);
    log().debug("{} taken between LOOP_CTL_GET_FREE and LOOP_CONFIGURE, retrying", device);
  }
  return fail("LOOP_CONFIGURE", EBUSY, "no free loop device after retries");
}

}  // namespace

Result<ScratchDisk> ScratchDisk::create(const std::filesystem::path& image_path,
                                        const std::filesystem::path& mount_point, uint64_t size_mb,
                                        Kind kind, const std::filesystem::path& template_dir) {
  if (size_mb == 0) return fail("scratch disk size", EINVAL, "0 MB");
  // Partial progress is undone by the destructor of `disk` on any early return.
  ScratchDisk disk;
  disk.image_path_ = image_path;
  disk.mount_point_ = mount_point;
  disk.size_mb_ = size_mb;
  disk.kind_ = kind;

  if (::mkdir(mount_point.c_str(), 0755) != 0) return fail("mkdir", errno, mount_point);
  disk.mount_point_created_ = true;

  if (kind == Kind::Tmpfs) {
    // Explicit size: tmpfs's default (half of RAM) would be no cap at all.
    std::string options = "size=" + std::to_string(size_mb) + "m,mode=1777";
    if (::mount("tmpfs", mount_point.c_str(), "tmpfs", MS_NODEV | MS_NOSUID, options.c_str()) != 0)
      return fail("mount tmpfs", errno, mount_point);
    disk.mounted_ = true;
  } else {
    UniqueFd image(
        ::open(image_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!image) return fail("create image", errno, image_path);
    disk.image_created_ = true;
    // Sparse: blocks are allocated on the host only as the function writes them.
    if (::ftruncate(image.get(), static_cast<off_t>(size_mb) << 20) != 0)
      return fail("ftruncate image", errno, image_path);
    if (template_dir.empty()) {
      if (auto formatted = format_ext4(image_path); !formatted)
        return std::unexpected(formatted.error());
    } else {
      auto formatted = formatted_template(template_dir, size_mb);
      if (!formatted) return std::unexpected(formatted.error());
      if (auto copied = copy_data_extents(formatted->get(), image.get()); !copied)
        return std::unexpected(copied.error());
    }

    std::string device;
    auto loop = attach_loop(image.get(), device);
    if (!loop) return std::unexpected(loop.error());
    // noinit_itable: the inode tables of a fresh sparse image already read as zeroes, so the
    // kernel's background zeroing would only write (and allocate) them for nothing.
    if (::mount(device.c_str(), mount_point.c_str(), "ext4", MS_NODEV | MS_NOSUID,
                "nodiscard,noinit_itable") != 0)
      return fail("mount ext4", errno, device + " on " + mount_point.string());
    disk.mounted_ = true;
    // `loop` closes here: from now on the mount alone holds the device, and autoclear detaches it
    // when the last mount of it (ours or a sandbox namespace's copy) goes away.
  }

  // Private: later mounts under it propagate nowhere, and a sandbox namespace's copy is its own,
  // so our unmount does not yank /tmp out of a still-running sandbox (nor vice versa).
  if (::mount(nullptr, mount_point.c_str(), nullptr, MS_PRIVATE, nullptr) != 0)
    return fail("make scratch mount private", errno, mount_point);
  // Lambda's /tmp is writable by the sandbox user; sticky so users cannot delete others' files.
  if (::chmod(mount_point.c_str(), 01777) != 0) return fail("chmod", errno, mount_point);
  log().debug("scratch disk {} MB at {}", size_mb, mount_point.string());
  return disk;
}

ScratchDisk::ScratchDisk(ScratchDisk&& other) noexcept
    : image_path_(std::move(other.image_path_)),
      mount_point_(std::move(other.mount_point_)),
      size_mb_(std::exchange(other.size_mb_, 0)),
      kind_(other.kind_),
      mounted_(std::exchange(other.mounted_, false)),
      image_created_(std::exchange(other.image_created_, false)),
      mount_point_created_(std::exchange(other.mount_point_created_, false)) {}

ScratchDisk& ScratchDisk::operator=(ScratchDisk&& other) noexcept {
  if (this != &other) {
    if (auto destroyed = destroy(); !destroyed)
      log().warn("scratch disk: {}", destroyed.error().to_string());
    image_path_ = std::move(other.image_path_);
    mount_point_ = std::move(other.mount_point_);
    size_mb_ = std::exchange(other.size_mb_, 0);
    kind_ = other.kind_;
    mounted_ = std::exchange(other.mounted_, false);
    image_created_ = std::exchange(other.image_created_, false);
    mount_point_created_ = std::exchange(other.mount_point_created_, false);
  }
  return *this;
}

ScratchDisk::~ScratchDisk() {
  if (auto destroyed = destroy(); !destroyed)
    log().warn("scratch disk: {}", destroyed.error().to_string());
}

Result<void> ScratchDisk::destroy() {
  if (mounted_) {
    // Lazy: a sandbox's mount namespace may still reference the fs; the kernel finishes the
    // unmount (and autoclear detaches the loop device) when the last reference goes.
    if (::umount2(mount_point_.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL)
      return fail("umount", errno, mount_point_);  // everything kept, so destroy() can be retried
    mounted_ = false;
  }
  if (mount_point_created_) {
    if (::rmdir(mount_point_.c_str()) != 0 && errno != ENOENT)
      return fail("rmdir", errno, mount_point_);
    mount_point_created_ = false;
  }
  if (image_created_) {
    // An image still attached to a loop device (a sandbox holds the mount) is freed when it is.
    if (::unlink(image_path_.c_str()) != 0 && errno != ENOENT)
      return fail("unlink image", errno, image_path_);
    image_created_ = false;
  }
  return {};
}

}  // namespace sandbox
