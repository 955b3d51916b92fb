// Integration tests of ScratchDisk (root, loop devices): the cap, ownership, and complete teardown.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/scratch_disk.hpp"
#include "tests/integration/support.hpp"

namespace {

namespace fs = std::filesystem;
using sandbox::ScratchDisk;

constexpr uid_t kSandboxUid = 993;  // Lambda's sandbox user

// The mountinfo line of the mount at `path`, if any (mount points here contain no spaces).
std::optional<std::string> mountinfo_line(const fs::path& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point;
    fields >> id >> parent >> devno >> root >> mount_point;
    if (mount_point == path.string()) return line;
  }
  return std::nullopt;
}

// Loop devices whose backing file is `image` (sysfs shows "<path> (deleted)" once it is unlinked).
std::vector<std::string> loops_backed_by(const fs::path& image) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator("/sys/block")) {
    std::ifstream backing(entry.path() / "loop" / "backing_file");
    std::string name;
    if (backing && std::getline(backing, name) && name.rfind(image.string(), 0) == 0)
      found.push_back(entry.path().filename());
  }
  return found;
}

// Writes 1 MiB blocks into a new file under `dir` until the fs refuses; returns bytes written.
uint64_t fill_until_enospc(const fs::path& dir, int& last_errno) {
  int fd = ::open((dir / "fill").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    last_errno = errno;
    return 0;
  }
  std::vector<char> block(1 << 20, 'x');
  uint64_t total = 0;
  last_errno = 0;
  for (;;) {
    ssize_t n = ::write(fd, block.data(), block.size());
    if (n < 0) {
      last_errno = errno;
      break;
    }
    total += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return total;
}

class ScratchDiskTest : public testing::Test {
 protected:
  // mkdtemp makes 0700 directories; the sandbox user must be able to reach the mount below.
  void SetUp() override {
    fs::permissions(dir_.path(),
                    fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  }
  testsupport::TempDir dir_{"rt-scratch"};
  fs::path image_ = dir_.path() / "tmp.img";
  fs::path mount_ = dir_.path() / "tmp";
};

TEST_F(ScratchDiskTest, WritingPastTheCapFailsWithEnospc) {
  auto disk = ScratchDisk::create(image_, mount_, 64);
  ASSERT_TRUE(disk.has_value()) << disk.error().to_string();
  int err = 0;
  uint64_t written = fill_until_enospc(mount_, err);
  EXPECT_EQ(err, ENOSPC);
  EXPECT_GE(written, 64ull * (1 << 20) * 9 / 10);  // ext4 metadata takes the rest
  EXPECT_LE(written, 64ull * (1 << 20));
}

// Disks copied from a formatted template: each is its own sparse ext4 with the full cap, made by
// one mkfs for the size; what one environment writes the next never sees.
TEST_F(ScratchDiskTest, DisksFromATemplateAreSparseCappedAndApart) {
  const fs::path templates = dir_.path() / "templates";
  auto first = ScratchDisk::create(image_, mount_, 64, ScratchDisk::Kind::LoopExt4, templates);
  ASSERT_TRUE(first.has_value()) << first.error().to_string();
  std::ofstream(mount_ / "left-behind") << "secret";
  const fs::path image2 = dir_.path() / "tmp2.img", mount2 = dir_.path() / "tmp2";
  auto second = ScratchDisk::create(image2, mount2, 64, ScratchDisk::Kind::LoopExt4, templates);
  ASSERT_TRUE(second.has_value()) << second.error().to_string();
  EXPECT_FALSE(fs::exists(mount2 / "left-behind"));
  EXPECT_TRUE(fs::exists(templates / "ext4-64M.img"));
  EXPECT_EQ(std::distance(fs::directory_iterator(templates), fs::directory_iterator()), 1);
  struct stat st {};
  ASSERT_EQ(::stat(image2.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 64 << 20);
  EXPECT_LT(st.st_blocks * 512, 8 << 20) << "the copy is not sparse";
  int err = 0;
  const uint64_t written = fill_until_enospc(mount2, err);
  EXPECT_EQ(err, ENOSPC);
  EXPECT_GE(written, 64ull * (1 << 20) * 9 / 10);
}

TEST_F(ScratchDiskTest, TmpfsKindAlsoCaps) {
  auto disk = ScratchDisk::create(image_, mount_, 16, ScratchDisk::Kind::Tmpfs);
  ASSERT_TRUE(disk.has_value()) << disk.error().to_string();
  auto line = mountinfo_line(mount_);
  ASSERT_TRUE(line.has_value());
  EXPECT_NE(line->find(" - tmpfs "), std::string::npos) << *line;
  EXPECT_FALSE(fs::exists(image_));  // tmpfs needs no image
  int err = 0;
  uint64_t written = fill_until_enospc(mount_, err);
  EXPECT_EQ(err, ENOSPC);
  EXPECT_EQ(written, 16ull * (1 << 20));
}

TEST_F(ScratchDiskTest, MountedExt4NodevNosuidAndPrivate) {
  auto disk = ScratchDisk::create(image_, mount_, 64);
  ASSERT_TRUE(disk.has_value()) << disk.error().to_string();
  auto line = mountinfo_line(mount_);
  ASSERT_TRUE(line.has_value());
  EXPECT_NE(line->find(" - ext4 /dev/loop"), std::string::npos) << *line;
  EXPECT_NE(line->find("nosuid"), std::string::npos) << *line;
  EXPECT_NE(line->find("nodev"), std::string::npos) << *line;
  EXPECT_EQ(line->find("shared:"), std::string::npos) << *line;  // no propagation peers
  EXPECT_EQ(line->find("master:"), std::string::npos) << *line;
}

TEST_F(ScratchDiskTest, RootIsStickyWorldWritableAndTheSandboxUserOwnsItsFiles) {
  auto disk = ScratchDisk::create(image_, mount_, 64);
  ASSERT_TRUE(disk.has_value()) << disk.error().to_string();
  struct stat root {};
  ASSERT_EQ(::stat(mount_.c_str(), &root), 0);
  EXPECT_EQ(root.st_mode & 07777, 01777u);
  EXPECT_EQ(root.st_uid, 0u);
  { std::ofstream(mount_ / "roots") << "x"; }

  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setgid(kSandboxUid) != 0 || ::setuid(kSandboxUid) != 0) ::_exit(10);
    int fd = ::open((mount_ / "mine").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) ::_exit(11);
    ::close(fd);
    // Sticky bit: another user's file in /tmp cannot be removed.
    if (::unlink((mount_ / "roots").c_str()) == 0 || errno != EPERM) ::_exit(12);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  struct stat mine {};
  ASSERT_EQ(::stat((mount_ / "mine").c_str(), &mine), 0);
  EXPECT_EQ(mine.st_uid, kSandboxUid);
  EXPECT_EQ(mine.st_gid, kSandboxUid);
}

TEST_F(ScratchDiskTest, DestroyLeavesNoLoopDeviceMountImageOrDirectory) {
  auto disk = ScratchDisk::create(image_, mount_, 64);
  ASSERT_TRUE(disk.has_value()) << disk.error().to_string();
  ASSERT_EQ(loops_backed_by(image_).size(), 1u);  // the check below can see our device
  ASSERT_TRUE(mountinfo_line(mount_).has_value());

  ASSERT_TRUE(disk->destroy().has_value());
  // Autoclear runs on the last close of the device; allow the kernel a moment to get there.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!loops_backed_by(image_).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(loops_backed_by(image_).empty());
  EXPECT_FALSE(mountinfo_line(mount_).has_value());
  EXPECT_FALSE(fs::exists(image_));
  EXPECT_FALSE(fs::exists(mount_));
  EXPECT_TRUE(disk->destroy().has_value());  // idempotent
}

TEST_F(ScratchDiskTest, MovingKeepsOneOwner) {
  std::optional<ScratchDisk> first;
  {
    auto created = ScratchDisk::create(image_, mount_, 64);
    ASSERT_TRUE(created.has_value()) << created.error().to_string();
    first.emplace(std::move(*created));
  }  // the moved-from `created` is destroyed here and must leave the mount alone
  ASSERT_TRUE(mountinfo_line(mount_).has_value());
  std::optional<ScratchDisk> owner(std::move(*first));
  first.reset();
  ASSERT_TRUE(mountinfo_line(mount_).has_value());
  EXPECT_EQ(owner->mount_point(), mount_);
  EXPECT_EQ(owner->size_mb(), 64u);

  testsupport::TempDir other_dir{"rt-scratch"};
  std::optional<ScratchDisk> other;
  {
    auto created = ScratchDisk::create(other_dir.path() / "img", other_dir.path() / "tmp", 64);
    ASSERT_TRUE(created.has_value()) << created.error().to_string();
    other.emplace(std::move(*created));
  }
  *other = std::move(*owner);  // move-assignment destroys what `other` had
  EXPECT_FALSE(mountinfo_line(other_dir.path() / "tmp").has_value());
  EXPECT_FALSE(fs::exists(other_dir.path() / "img"));
  owner.reset();
  ASSERT_TRUE(mountinfo_line(mount_).has_value());

  other.reset();
  EXPECT_FALSE(mountinfo_line(mount_).has_value());
  EXPECT_FALSE(fs::exists(image_));
}

TEST_F(ScratchDiskTest, FailedCreateLeavesNothingBehind) {
  // 2^40 MB is past any file size limit: ftruncate fails after the image and directory exist.
  auto disk = ScratchDisk::create(image_, mount_, uint64_t{1} << 40);
  ASSERT_FALSE(disk.has_value());
  EXPECT_EQ(disk.error().step, "ftruncate image");
  EXPECT_FALSE(fs::exists(image_));
  EXPECT_FALSE(fs::exists(mount_));
}

TEST_F(ScratchDiskTest, RefusesAnExistingMountPoint) {
  fs::create_directory(mount_);
  auto disk = ScratchDisk::create(image_, mount_, 64);
  ASSERT_FALSE(disk.has_value());
  EXPECT_EQ(disk.error().err, EEXIST);
  EXPECT_TRUE(fs::exists(mount_));  // not ours, so not removed
  EXPECT_FALSE(fs::exists(image_));
}

}  // namespace
