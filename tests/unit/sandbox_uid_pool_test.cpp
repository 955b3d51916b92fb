// UidPool and UidRange: parsing, lowest-free allocation, release on destruction, and the flock
// that keeps two processes (two daemons) apart and frees a killed one's uids.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/ids.hpp"
#include "sandbox/uid_pool.hpp"

namespace sandbox {
namespace {

namespace fs = std::filesystem;

class UidPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rt-uid-pool-" + common::random_hex(8));
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<UidPool> pool(uid_t first, uint32_t count) {
    auto p = UidPool::open(UidRange{first, count}, dir_);
    EXPECT_TRUE(p.has_value()) << p.error().to_string();
    return p ? std::move(*p) : nullptr;
  }
  fs::path dir_;
};

TEST(UidRangeParse, AcceptsAnInclusiveRangeAndRefusesRootNobodyAndNonsense) {
  auto r = UidRange::parse("100000-165535");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, 100000u);
  EXPECT_EQ(r->count, 65536u);
  EXPECT_TRUE(UidRange::parse("2000000000-2000000000").has_value());
  for (const char* bad :
       {"", "5", "0-10", "10-5", "60000-70000", "a-b", "1-2x", "1--2", "1-4294967295", "-1-5"}) {
    EXPECT_FALSE(UidRange::parse(bad).has_value()) << bad;
  }
}

TEST_F(UidPoolTest, HandsOutTheLowestFreeUidAndTakesItBackOnDestruction) {
  auto p = pool(3000000000u, 3);
  auto a = p->acquire();
  auto b = p->acquire();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->uid(), 3000000000u);
  EXPECT_EQ(b->uid(), 3000000001u);
  EXPECT_EQ(b->gid(), 3000000001u);
  { UidLease gone = std::move(*a); }
  auto c = p->acquire();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->uid(), 3000000000u);
  auto d = p->acquire();
  ASSERT_TRUE(d);
  auto none = p->acquire();
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().err, EAGAIN);
}

TEST_F(UidPoolTest, AUidHeldByAKilledProcessIsFreeAgain) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    // Another daemon: holds the range's only uid, then crashes (SIGKILL, no destructor runs).
    auto p = UidPool::open(UidRange{3000000100u, 1}, dir_);
    if (!p) ::_exit(1);
    auto lease = (*p)->acquire();
    if (!lease) ::_exit(2);
    (void)!::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  auto p = pool(3000000100u, 1);
  auto busy = p->acquire();
  ASSERT_FALSE(busy.has_value()) << "held by the other process";
  EXPECT_EQ(busy.error().err, EAGAIN);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  auto freed = p->acquire();
  ASSERT_TRUE(freed.has_value()) << freed.error().to_string();
  EXPECT_EQ(freed->uid(), 3000000100u);
}

}  // namespace
}  // namespace sandbox
