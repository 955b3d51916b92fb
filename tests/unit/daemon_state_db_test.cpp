// StateDb::write, the group commit under every durable async write, on a real SQLite file:
// concurrent writers all land, writers that arrive during a commit share the next one, and a
// failing writer is rolled back alone. And Transaction: begin, commit, roll back.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "common/ids.hpp"
#include "runtimed/store/state_db.hpp"

namespace {

namespace fs = std::filesystem;
using runtimed::StateDb;

class StateDbWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rt-statedb-" + common::random_hex(8));
    auto db = StateDb::open(dir_);
    ASSERT_TRUE(db) << db.error();
    db_ = std::move(*db);
    auto lock = db_->lock();
    ASSERT_TRUE(db_->exec("CREATE TABLE t (v INTEGER NOT NULL)"));
  }
  void TearDown() override {
    db_.reset();
    fs::remove_all(dir_);
  }
  std::expected<void, common::StoreError> insert(int64_t v) {
    auto stmt = db_->prepare("INSERT INTO t (v) VALUES (?1)");
    if (!stmt) return std::unexpected(stmt.error());
    return stmt->bind(1, v).run();
  }
  int64_t count(const std::string& where = "1") {
    auto lock = db_->lock();
    auto stmt = db_->prepare("SELECT COUNT(*) FROM t WHERE " + where);
    EXPECT_TRUE(stmt && stmt->step().value_or(false));
    return stmt->column_int64(0);
  }
  fs::path dir_;
  std::unique_ptr<StateDb> db_;
};

TEST_F(StateDbWriteTest, ConcurrentWritersAllCommit) {
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 16; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i)
        if (!db_->write([&] { return insert(t * 1000 + i); })) ++failures;
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(count(), 16 * 40);
}

TEST_F(StateDbWriteTest, WritersArrivingDuringACommitShareTheNextOne) {
  // The first writer is slow inside its transaction; the others arrive meanwhile and are run by
  // that leader's thread in one batch, not each on its own thread with its own sync.
  std::atomic<bool> leader_inside{false};
  std::thread leader([&] {
    ASSERT_TRUE(db_->write([&] {
      leader_inside = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return insert(-1);
    }));
  });
  while (!leader_inside) std::this_thread::yield();
  std::mutex mu;
  std::set<std::thread::id> ran_on;
  std::vector<std::thread> followers;
  for (int i = 0; i < 8; ++i) {
    followers.emplace_back([&, i] {
      ASSERT_TRUE(db_->write([&] {
        std::lock_guard lock(mu);
        ran_on.insert(std::this_thread::get_id());
        return insert(i);
      }));
    });
  }
  for (auto& f : followers) f.join();
  leader.join();
  EXPECT_EQ(count(), 9);
  EXPECT_EQ(ran_on.size(), 1u) << "the followers' writes should run in one batch on one thread";
}

TEST_F(StateDbWriteTest, AFailingWriterIsRolledBackAloneAndReportsItsError) {
  std::atomic<bool> leader_inside{false};
  std::thread leader([&] {
    EXPECT_TRUE(db_->write([&] {
      leader_inside = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      return insert(1);
    }));
  });
  while (!leader_inside) std::this_thread::yield();
  std::thread failing([&] {
    auto r = db_->write([&]() -> std::expected<void, common::StoreError> {
      if (auto ok = insert(2); !ok) return ok;
      return std::unexpected(common::StoreError::internal("refused after writing"));
    });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), common::StoreError::internal("refused after writing"));
  });
  std::thread after([&] { EXPECT_TRUE(db_->write([&] { return insert(3); })); });
  failing.join();
  after.join();
  leader.join();
  EXPECT_EQ(count("v = 1"), 1);
  EXPECT_EQ(count("v = 2"), 0);
  EXPECT_EQ(count("v = 3"), 1);
}

// The database holds functions' environment variables: no other local user may read it, its
// write-ahead log or its shared-memory index, including files an older runtimed left readable.
TEST_F(StateDbWriteTest, ATransactionCommitsOnlyWhenAskedAndAFailedBeginIsAnError) {
  {
    auto lock = db_->lock();
    std::optional<runtimed::Transaction> moved;
    {
      auto tx = runtimed::Transaction::begin(*db_);
      ASSERT_TRUE(tx) << tx.error();
      ASSERT_TRUE(insert(1));
      // One connection, one transaction: a second BEGIN fails and says so, rather than handing
      // out a transaction that is not open.
      auto nested = runtimed::Transaction::begin(*db_);
      ASSERT_FALSE(nested);
      EXPECT_EQ(nested.error().kind, common::StoreErrorKind::Internal);
      EXPECT_FALSE(nested.error().message.empty());
      moved.emplace(std::move(*tx));
    }  // the moved-from transaction is gone and must not have rolled back
    ASSERT_TRUE(moved->commit());
  }
  EXPECT_EQ(count(), 1);
  {
    auto lock = db_->lock();
    auto tx = runtimed::Transaction::begin(*db_);
    ASSERT_TRUE(tx) << tx.error();
    ASSERT_TRUE(insert(2));
  }  // dropped without commit: rolled back
  EXPECT_EQ(count(), 1);
}

TEST(StateDbFileModes, StateDirIsOwnerOnlyAndTheSqliteFilesAre0600) {
  const fs::path dir = fs::temp_directory_path() / ("rt-statedb-modes-" + common::random_hex(8));
  fs::create_directories(dir);
  ::chmod(dir.c_str(), 0755);
  // As an older runtimed left them under umask 022.
  for (const char* name : {"runtimed.db-wal", "runtimed.db-shm"}) {
    const int fd = ::open((dir / name).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  {
    auto db = StateDb::open(dir);
    ASSERT_TRUE(db) << db.error();
    auto lock = (*db)->lock();
    ASSERT_TRUE((*db)->exec("CREATE TABLE secrets (v TEXT)"));
    ASSERT_TRUE((*db)->exec("INSERT INTO secrets VALUES ('AWS_SECRET_ACCESS_KEY=x')"));
    auto mode = [](const fs::path& p) {
      struct stat st {};
      EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
      return st.st_mode & 07777;
    };
    EXPECT_EQ(mode(dir), 0700u);
    for (const char* name : {"runtimed.db", "runtimed.db-wal", "runtimed.db-shm"}) {
      EXPECT_EQ(mode(dir / name), 0600u) << name;
    }
  }
  fs::remove_all(dir);
}

}  // namespace
