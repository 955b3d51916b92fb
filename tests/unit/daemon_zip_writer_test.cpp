// zip_directory: paths, modes and symlinks survive a round trip through libarchive's zip reader.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>

#include "runtimed/cli/zip_writer.hpp"
#include "tests/unit/test_zip.hpp"

namespace {

namespace fs = std::filesystem;

struct ReadEntry {
  mode_t type = 0;
  mode_t perm = 0;
  std::string data;
  std::string symlink;
};

std::map<std::string, ReadEntry> read_zip(const std::string& zip) {
  std::map<std::string, ReadEntry> entries;
  archive* a = archive_read_new();
  archive_read_support_format_zip(a);
  EXPECT_EQ(archive_read_open_memory(a, zip.data(), zip.size()), ARCHIVE_OK);
  archive_entry* entry = nullptr;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    ReadEntry e;
    e.type = archive_entry_filetype(entry);
    e.perm = archive_entry_perm(entry);
    if (const char* target = archive_entry_symlink(entry)) e.symlink = target;
    char buf[4096];
    for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof buf)) > 0;) e.data.append(buf, n);
    entries[archive_entry_pathname(entry)] = e;
  }
  archive_read_free(a);
  return entries;
}

void write_file(const fs::path& path, const std::string& data, mode_t mode) {
  std::ofstream(path) << data;
  fs::permissions(path, static_cast<fs::perms>(mode));
}

class ZipWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(dir_.path() / "bootstrap", "#!/bin/sh\necho hi\n", 0755);
    fs::create_directories(dir_.path() / "lib" / "deep");
    write_file(dir_.path() / "lib" / "deep" / "data.txt", "nested contents", 0640);
    fs::create_symlink("bootstrap", dir_.path() / "link");
  }
  testzip::TempDir dir_;
};

TEST_F(ZipWriterTest, StoresRelativePathsOfEveryEntry) {
  auto zip = runtimed::zip_directory(dir_.path());
  ASSERT_TRUE(zip) << zip.error();
  auto entries = read_zip(*zip);
  std::vector<std::string> names;
  for (const auto& [name, e] : entries) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"bootstrap", "lib/", "lib/deep/", "lib/deep/data.txt",
                                             "link"}));
}

TEST_F(ZipWriterTest, KeepsExecutableModeAndContents) {
  auto entries = read_zip(runtimed::zip_directory(dir_.path()).value());
  const auto& bootstrap = entries.at("bootstrap");
  EXPECT_EQ(bootstrap.type, AE_IFREG);
  EXPECT_EQ(bootstrap.perm, 0755u);
  EXPECT_EQ(bootstrap.data, "#!/bin/sh\necho hi\n");
  const auto& nested = entries.at("lib/deep/data.txt");
  EXPECT_EQ(nested.perm, 0640u);
  EXPECT_EQ(nested.data, "nested contents");
  EXPECT_EQ(entries.at("lib/").type, AE_IFDIR);
}

TEST_F(ZipWriterTest, StoresSymlinksAsSymlinks) {
  auto entries = read_zip(runtimed::zip_directory(dir_.path()).value());
  const auto& link = entries.at("link");
  EXPECT_EQ(link.type, AE_IFLNK);
  EXPECT_EQ(link.symlink, "bootstrap");
}

TEST_F(ZipWriterTest, SameTreeGivesSameBytes) {
  EXPECT_EQ(runtimed::zip_directory(dir_.path()).value(),
            runtimed::zip_directory(dir_.path()).value());
}

// Reading a file moves its atime (relatime does so on the first read after a write), so a zip
// that stored atime differed between two zips of an unchanged tree: deploy's "No changes" and
// the CLI's tests depended on when the files were last read.
TEST_F(ZipWriterTest, ReadingTheFilesDoesNotChangeTheBytes) {
  const auto before = runtimed::zip_directory(dir_.path()).value();
  const timespec times[2] = {{.tv_sec = 1'000'000'000, .tv_nsec = 0},
                             {.tv_sec = 0, .tv_nsec = UTIME_OMIT}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir_.path() / "bootstrap").c_str(), times, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir_.path() / "lib").c_str(), times, 0), 0);
  EXPECT_EQ(runtimed::zip_directory(dir_.path()).value(), before);
}

TEST(ZipWriter, MissingDirectoryIsAnError) {
  testzip::TempDir dir;
  auto zip = runtimed::zip_directory(dir.path() / "nosuch");
  ASSERT_FALSE(zip);
  EXPECT_NE(zip.error().find("nosuch"), std::string::npos);
}

TEST(ZipWriter, RegularFileIsNotADirectory) {
  testzip::TempDir dir;
  write_file(dir.path() / "f", "x", 0644);
  EXPECT_FALSE(runtimed::zip_directory(dir.path() / "f"));
}

TEST(ZipWriter, SpecialFilesAreRefused) {
  testzip::TempDir dir;
  ASSERT_EQ(::mkfifo((dir.path() / "fifo").c_str(), 0644), 0);
  auto zip = runtimed::zip_directory(dir.path());
  ASSERT_FALSE(zip);
  EXPECT_NE(zip.error().find("fifo"), std::string::npos);
}

}  // namespace
