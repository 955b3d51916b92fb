// The stacks table behind /runtimed/v1/stacks, on a real SQLite file: put replaces, get and list
// read back what was put, remove says whether there was one.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/ids.hpp"
#include "runtimed/stack_routes.hpp"
#include "runtimed/store/stack_store.hpp"

namespace {

namespace fs = std::filesystem;
using runtimed::StackStore;
using runtimed::StateDb;

TEST(StackStoreTest, PutGetListRemove) {
  const fs::path dir = fs::temp_directory_path() / ("rt-stacks-" + common::random_hex(8));
  {
    auto db = StateDb::open(dir);
    ASSERT_TRUE(db) << db.error();
    StackStore stacks(**db);
    ASSERT_TRUE(stacks.put("b", R"({"Resources":{}})", 1));
    ASSERT_TRUE(stacks.put("a", R"({"Resources":{"X":{}}})", 2));
    ASSERT_TRUE(stacks.put("a", R"({"Resources":{"Y":{}}})", 3));
    auto a = stacks.get("a");
    ASSERT_TRUE(a && *a);
    EXPECT_EQ((*a)->record, R"({"Resources":{"Y":{}}})");
    EXPECT_EQ((*a)->updated_ms, 3);
    auto none = stacks.get("c");
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
    auto all = stacks.list();
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].name, "a");
    EXPECT_EQ((*all)[1].name, "b");
    EXPECT_EQ(stacks.remove("a"), true);
    EXPECT_EQ(stacks.remove("a"), false);
    EXPECT_EQ(stacks.list()->size(), 1u);
  }
  fs::remove_all(dir);
}

TEST(StackStoreTest, StackNamesAreCloudFormations) {
  EXPECT_TRUE(runtimed::valid_stack_name("shop-prod-2"));
  EXPECT_FALSE(runtimed::valid_stack_name(""));
  EXPECT_FALSE(runtimed::valid_stack_name("2shop"));
  EXPECT_FALSE(runtimed::valid_stack_name("shop_prod"));
  EXPECT_FALSE(runtimed::valid_stack_name("a/b"));
  EXPECT_FALSE(runtimed::valid_stack_name(std::string(129, 'a')));
}

}  // namespace
