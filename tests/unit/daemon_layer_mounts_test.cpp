// LayerMounts with real overlayfs mounts (the tests run as root): order, sharing, unmount on
// release, leftovers of a crashed daemon cleaned at start.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <fstream>

#include "runtimed/controller/layer_mounts.hpp"
#include "tests/unit/test_zip.hpp"

namespace {

namespace fs = std::filesystem;
using runtimed::LayerMounts;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool is_mount_point(const fs::path& dir) {
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mounts, line))
    if (line.find(" " + dir.string() + " ") != std::string::npos) return true;
  return false;
}

class LayerMountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* layer : {"a", "b"}) {
      fs::create_directories(tmp.path() / layer / "python");
      std::ofstream(tmp.path() / layer / "python" / "greet.py") << layer;
      std::ofstream(tmp.path() / layer / ("only-" + std::string(layer))) << layer;
    }
  }
  testzip::TempDir tmp;
};

TEST(OverlayLowerdirOption, TopLayerFirstAndSeparatorsEscaped) {
  EXPECT_EQ(runtimed::overlay_lowerdir_option({"/l/one", "/l/two"}), "lowerdir=/l/two:/l/one");
  EXPECT_EQ(runtimed::overlay_lowerdir_option({"/a:b", "/c,d\\e"}), "lowerdir=/c\\,d\\\\e:/a\\:b");
}

TEST_F(LayerMountsTest, ALaterLayerWinsAndOneMountIsSharedUntilTheLastUserLetsGo) {
  LayerMounts mounts(tmp.path() / "mounts");
  auto merged = mounts.merged({tmp.path() / "a", tmp.path() / "b"});
  ASSERT_TRUE(merged) << merged.error();
  const fs::path dir = (*merged)->dir();
  EXPECT_TRUE(is_mount_point(dir));
  EXPECT_EQ(read(dir / "python" / "greet.py"), "b");
  EXPECT_EQ(read(dir / "only-a"), "a");
  EXPECT_EQ(read(dir / "only-b"), "b");
  // Read-only: nothing a function does reaches a layer.
  EXPECT_FALSE(std::ofstream(dir / "new-file").is_open());

  auto same = mounts.merged({tmp.path() / "a", tmp.path() / "b"});
  ASSERT_TRUE(same);
  EXPECT_EQ(same->get(), merged->get());
  auto reversed = mounts.merged({tmp.path() / "b", tmp.path() / "a"});
  ASSERT_TRUE(reversed);
  EXPECT_EQ(read((*reversed)->dir() / "python" / "greet.py"), "a");

  merged->reset();
  EXPECT_TRUE(is_mount_point(dir));  // `same` still holds it
  same->reset();
  EXPECT_FALSE(is_mount_point(dir));
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(fs::exists(tmp.path() / "a" / "python" / "greet.py"));  // the layer is untouched
}

TEST_F(LayerMountsTest, OneLayerIsItsOwnDirectoryAndLeftoversAreUnmountedAtStart) {
  LayerMounts mounts(tmp.path() / "mounts");
  auto single = mounts.merged({tmp.path() / "a"});
  ASSERT_TRUE(single);
  EXPECT_EQ((*single)->dir(), tmp.path() / "a");

  // What a crashed daemon left: a mounted overlay under the mounts directory.
  const fs::path leftover = tmp.path() / "mounts" / "1-0";
  fs::create_directories(leftover);
  const std::string options =
      runtimed::overlay_lowerdir_option({tmp.path() / "a", tmp.path() / "b"});
  ASSERT_EQ(::mount("runtimed-layers", leftover.c_str(), "overlay", MS_RDONLY, options.c_str()), 0);
  ASSERT_TRUE(is_mount_point(leftover));
  LayerMounts restarted(tmp.path() / "mounts");
  EXPECT_FALSE(is_mount_point(leftover));
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_TRUE(fs::exists(tmp.path() / "b" / "only-b"));
}

}  // namespace
