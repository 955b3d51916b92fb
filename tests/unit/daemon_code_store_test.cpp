// CodeStore against real zips: modes, escapes, limits, reuse and garbage collection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "runtimed/store/code_store.hpp"
#include "tests/unit/test_zip.hpp"

namespace {

namespace fs = std::filesystem;
using runtimed::CodeErrorKind;
using runtimed::CodeLimits;
using runtimed::CodeStore;

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Nothing half-unpacked may stay behind after a refused zip.
void expect_only_code_dirs(const fs::path& root, size_t n) {
  size_t count = 0;
  for (const auto& e : fs::directory_iterator(root)) {
    EXPECT_EQ(e.path().filename().string().size(), 64u) << e.path();
    ++count;
  }
  EXPECT_EQ(count, n);
}

class CodeStoreTest : public ::testing::Test {
 protected:
  testzip::TempDir tmp;
  CodeStore store{tmp.path() / "code"};
};

TEST_F(CodeStoreTest, UnpacksZipKeepingExecutableBitAndNormalizingModes) {
  const std::string zip = testzip::make({testzip::file("bootstrap", "#!/bin/sh\n", 0700),
                                         testzip::file("lib/data.txt", "data", 0600),
                                         testzip::file("suid", "x", 04755)});
  auto stored = store.put(zip);
  ASSERT_TRUE(stored) << stored.error().message;
  const fs::path dir = store.dir(stored->key);
  EXPECT_EQ(read_file(dir / "bootstrap"), "#!/bin/sh\n");
  EXPECT_EQ(mode_of(dir / "bootstrap"), 0755u);
  EXPECT_EQ(mode_of(dir / "lib/data.txt"), 0644u);
  EXPECT_EQ(mode_of(dir / "lib"), 0755u);  // created implicitly, still readable by the sandbox user
  EXPECT_EQ(mode_of(dir / "suid"), 0755u);  // setuid stripped
  EXPECT_EQ(mode_of(dir), 0755u);
}

TEST_F(CodeStoreTest, ReportsLambdaShaSizeAndHexKey) {
  const std::string zip = testzip::make({testzip::file("a", "b")});
  auto stored = store.put(zip);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->zip_size, zip.size());
  EXPECT_EQ(stored->key.size(), 64u);
  EXPECT_EQ(stored->sha256_base64.size(), 44u);  // 32 bytes in base64, padded
  EXPECT_EQ(stored->sha256_base64.back(), '=');
  EXPECT_TRUE(fs::is_directory(store.dir(stored->key)));
}

TEST_F(CodeStoreTest, ZipMadeByZipCliKeepsBootstrapExecutable) {
  const fs::path src = tmp.path() / "src";
  fs::create_directories(src);
  std::ofstream(src / "bootstrap") << "#!/bin/sh\necho hi\n";
  fs::permissions(src / "bootstrap", fs::perms(0755));
  std::ofstream(src / "README") << "readme";
  const fs::path zip_path = tmp.path() / "fn.zip";
  const std::string cmd =
      "cd '" + src.string() + "' && zip -q -X '" + zip_path.string() + "' bootstrap README";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto stored = store.put(read_file(zip_path));
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(mode_of(store.dir(stored->key) / "bootstrap"), 0755u);
  EXPECT_EQ(mode_of(store.dir(stored->key) / "README"), 0644u);
}

TEST_F(CodeStoreTest, IdenticalZipReusesTheDirectory) {
  const std::string zip = testzip::make({testzip::file("bootstrap", "x", 0755)});
  auto first = store.put(zip);
  ASSERT_TRUE(first);
  std::ofstream(store.dir(first->key) / "marker") << "still here";
  auto second = store.put(zip);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->key, first->key);
  EXPECT_TRUE(fs::exists(store.dir(first->key) / "marker"));  // not unpacked again
  expect_only_code_dirs(store.root(), 1);
}

struct RefusedZip {
  std::string what;
  std::string zip;
  CodeErrorKind kind;
};

TEST_F(CodeStoreTest, RefusesEntriesThatEscapeOrAreNotFiles) {
  const std::vector<RefusedZip> cases = {
      {"dot-dot entry", testzip::make({testzip::file("../evil", "x")}), CodeErrorKind::UnsafeEntry},
      {"nested dot-dot entry", testzip::make({testzip::file("a/../../evil", "x")}),
       CodeErrorKind::UnsafeEntry},
      {"absolute path", testzip::make({testzip::file("/tmp/evil", "x")}),
       CodeErrorKind::UnsafeEntry},
      {"symlink to /etc/passwd", testzip::make({testzip::symlink("passwd", "/etc/passwd")}),
       CodeErrorKind::UnsafeEntry},
      {"symlink climbing out", testzip::make({testzip::symlink("sub/up", "../../etc")}),
       CodeErrorKind::UnsafeEntry},
      // Each link alone looks inside; together the kernel resolves d/l first and climbs out.
      {"symlink chain out",
       testzip::make(
           {testzip::dir("d/"), testzip::symlink("d/l", ".."), testzip::symlink("a", "d/l/..")}),
       CodeErrorKind::UnsafeEntry},
      {"write through symlink",
       testzip::make({testzip::symlink("d", "."), testzip::file("d/x", "x")}),
       CodeErrorKind::UnsafeEntry},
      {"not a zip", "this is not a zip file at all", CodeErrorKind::NotAZip},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto stored = store.put(c.zip);
    ASSERT_FALSE(stored);
    EXPECT_EQ(stored.error().kind, c.kind) << stored.error().message;
  }
  EXPECT_FALSE(fs::exists("/tmp/evil"));
  expect_only_code_dirs(store.root(), 0);
}

// libarchive's zip reader turns any type but directory and symlink into a regular file; the
// store must never create the special file the zip claims.
TEST_F(CodeStoreTest, FifoEntryNeverBecomesAFifo) {
  auto stored = store.put(
      testzip::with_unix_mode(testzip::make({testzip::file("pipe", "")}), S_IFIFO | 0644));
  if (!stored) {
    EXPECT_EQ(stored.error().kind, CodeErrorKind::UnsafeEntry);
    return;
  }
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(store.dir(stored->key) / "pipe")));
}

TEST_F(CodeStoreTest, NotAZipHasLambdaMessage) {
  auto stored = store.put("PK\x03\x04 truncated");
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().kind, CodeErrorKind::NotAZip);
  EXPECT_THAT(stored.error().message, ::testing::HasSubstr("Could not unzip uploaded file"));
}

TEST_F(CodeStoreTest, AcceptsSymlinkInsideTheDirectory) {
  auto stored = store.put(testzip::make({testzip::file("lib/real.so", "elf", 0755),
                                         testzip::symlink("lib/alias.so", "real.so"),
                                         testzip::symlink("top", "lib/real.so")}));
  ASSERT_TRUE(stored) << stored.error().message;
  const fs::path dir = store.dir(stored->key);
  EXPECT_EQ(fs::read_symlink(dir / "lib/alias.so"), "real.so");
  EXPECT_EQ(read_file(dir / "top"), "elf");
}

TEST(CodeStoreLimits, RefusesUnzippedSizeOverLimitWhileExtracting) {
  testzip::TempDir tmp;
  CodeStore store(tmp.path() / "code",
                  CodeLimits{.max_zip_bytes = 1 << 20, .max_unzipped_bytes = 1000});
  // Compresses to almost nothing, unpacks past the limit.
  auto stored = store.put(testzip::make(
      {testzip::file("a", std::string(600, 'a')), testzip::file("b", std::string(600, 'b'))}));
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().kind, CodeErrorKind::UnzippedTooLarge);
  EXPECT_EQ(stored.error().message, "Unzipped size must be smaller than 1000 bytes");
  expect_only_code_dirs(store.root(), 0);
  EXPECT_TRUE(store.put(testzip::make({testzip::file("a", std::string(1000, 'a'))})));
}

TEST(CodeStoreLimits, RefusesZipOverLimit) {
  testzip::TempDir tmp;
  CodeStore store(tmp.path() / "code",
                  CodeLimits{.max_zip_bytes = 100, .max_unzipped_bytes = 1 << 20});
  auto stored = store.put(std::string(101, 'z'));
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().kind, CodeErrorKind::ZipTooLarge);
}

TEST(CodeStoreLimits, DefaultsAreLambdas) {
  const CodeLimits limits;
  EXPECT_EQ(limits.max_zip_bytes, 52428800u);
  EXPECT_EQ(limits.max_unzipped_bytes, 262144000u);
}

TEST(CodeStoreLimits, DefaultEntryCapIsTheNonZip64Maximum) {
  EXPECT_EQ(CodeLimits{}.max_entries, 65535u);
}

TEST(CodeStoreLimits, RefusesMoreEntriesThanTheCapBeforeWritingThemAll) {
  testzip::TempDir tmp;
  CodeStore store(tmp.path() / "code", CodeLimits{.max_entries = 100});
  std::vector<testzip::Entry> entries;
  for (int i = 0; i < 101; ++i) entries.push_back(testzip::file("f" + std::to_string(i), ""));
  auto stored = store.put(testzip::make(entries));
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().kind, CodeErrorKind::TooManyEntries);
  EXPECT_THAT(stored.error().message, ::testing::HasSubstr("more than 100 entries"));
  expect_only_code_dirs(store.root(), 0);
  entries.pop_back();
  EXPECT_TRUE(store.put(testzip::make(entries)));  // exactly the cap is fine
}

TEST_F(CodeStoreTest, RefusesNamesOverTheFileSystemsLimitsAsTheClientsError) {
  const std::string component(256, 'n');  // NAME_MAX is 255
  std::string deep;                       // every component legal, the whole path far over PATH_MAX
  while (deep.size() < 5000) deep += std::string(200, 'd') + "/";
  deep += "file";
  const std::vector<RefusedZip> cases = {
      {"long file name", testzip::make({testzip::file(component, "x")}),
       CodeErrorKind::NameTooLong},
      {"long directory name", testzip::make({testzip::file(component + "/f", "x")}),
       CodeErrorKind::NameTooLong},
      {"long path", testzip::make({testzip::file(deep, "x")}), CodeErrorKind::NameTooLong},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto stored = store.put(c.zip);
    ASSERT_FALSE(stored);
    EXPECT_EQ(stored.error().kind, c.kind) << stored.error().message;
    EXPECT_THAT(stored.error().message, ::testing::HasSubstr("longer than"));
  }
  expect_only_code_dirs(store.root(), 0);
  // 255 bytes is still a name.
  EXPECT_TRUE(store.put(testzip::make({testzip::file(std::string(255, 'n'), "x")})));
}

TEST(CodeStoreLimits, WholeStoreIsCappedAndGarbageCollectionGivesRoomBack) {
  testzip::TempDir tmp;
  CodeStore store(tmp.path() / "code", CodeLimits{.max_store_bytes = 1 << 20});
  // ~600 KB each (incompressible enough not to matter: the cap counts unpacked blocks).
  auto first = store.put(testzip::make({testzip::file("a", std::string(600 * 1024, 'a'))}));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_GE(store.used_bytes(), 600u * 1024);
  auto second = store.put(testzip::make({testzip::file("b", std::string(600 * 1024, 'b'))}));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().kind, CodeErrorKind::StoreFull);
  EXPECT_THAT(second.error().message, ::testing::HasSubstr("Code storage limit exceeded"));
  expect_only_code_dirs(store.root(), 1);
  // The same code again takes no more room.
  EXPECT_TRUE(store.put(testzip::make({testzip::file("a", std::string(600 * 1024, 'a'))})));
  EXPECT_EQ(store.collect_garbage({}), 1u);
  EXPECT_EQ(store.used_bytes(), 0u);
  EXPECT_TRUE(store.put(testzip::make({testzip::file("b", std::string(600 * 1024, 'b'))})));
}

TEST(CodeStoreLimits, StoreUsageSurvivesARestart) {
  testzip::TempDir tmp;
  uint64_t used = 0;
  {
    CodeStore store(tmp.path() / "code");
    ASSERT_TRUE(store.put(testzip::make({testzip::file("a", std::string(100 * 1024, 'a'))})));
    used = store.used_bytes();
    EXPECT_GE(used, 100u * 1024);
  }
  CodeStore again(tmp.path() / "code");
  EXPECT_EQ(again.used_bytes(), used);
}

TEST_F(CodeStoreTest, GarbageCollectionRemovesOnlyUnreferencedCode) {
  auto keep = store.put(testzip::make({testzip::file("keep", "1")}));
  auto drop = store.put(testzip::make({testzip::file("drop", "2")}));
  ASSERT_TRUE(keep && drop);
  EXPECT_EQ(store.collect_garbage({keep->key}), 1u);
  EXPECT_TRUE(fs::exists(store.dir(keep->key)));
  EXPECT_FALSE(fs::exists(store.dir(drop->key)));
}

TEST(CodeStoreStartup, RemovesUnpackLeftovers) {
  testzip::TempDir tmp;
  fs::create_directories(tmp.path() / "code" / ".unpack-0123" / "half");
  CodeStore store(tmp.path() / "code");
  EXPECT_FALSE(fs::exists(tmp.path() / "code" / ".unpack-0123"));
}

}  // namespace
