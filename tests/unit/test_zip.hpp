// Test helpers: zips built in memory with libarchive, and a temp directory removed afterwards.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/ids.hpp"

namespace testzip {

struct Entry {
  enum Kind { File, Dir, Symlink };
  std::string path;
  std::string data;  // file contents, or a symlink's target
  mode_t perm = 0644;
  Kind kind = File;
};

inline Entry file(std::string path, std::string data, mode_t perm = 0644) {
  return {std::move(path), std::move(data), perm, Entry::File};
}
inline Entry dir(std::string path) { return {std::move(path), "", 0755, Entry::Dir}; }
inline Entry symlink(std::string path, std::string target) {
  return {std::move(path), std::move(target), 0777, Entry::Symlink};
}

inline std::string make(const std::vector<Entry>& entries) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_open(
      a, &out, nullptr,
      [](archive*, void* data, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(data)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_perm(entry, e.perm);
    if (e.kind == Entry::File) {
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_size(entry, static_cast<la_int64_t>(e.data.size()));
    } else if (e.kind == Entry::Dir) {
      archive_entry_set_filetype(entry, AE_IFDIR);
    } else {
      archive_entry_set_filetype(entry, AE_IFLNK);
      archive_entry_set_symlink(entry, e.data.c_str());
    }
    if (archive_write_header(a, entry) != ARCHIVE_OK)
      throw std::runtime_error(std::string("zip header: ") + archive_error_string(a));
    if (e.kind == Entry::File && !e.data.empty())
      archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// Rewrites the unix mode in every central-directory entry (for entry types libarchive's zip
// writer will not produce, such as FIFOs).
inline std::string with_unix_mode(std::string zip, uint32_t mode) {
  for (size_t i = zip.find("PK\x01\x02"); i != std::string::npos;
       i = zip.find("PK\x01\x02", i + 4)) {
    zip[i + 5] = 3;  // "version made by": Unix, so readers honour the mode
    const uint32_t attrs = mode << 16;
    for (int b = 0; b < 4; ++b) zip[i + 38 + b] = static_cast<char>((attrs >> (8 * b)) & 0xff);
  }
  return zip;
}

class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::temp_directory_path() /
              ("runtimed-test-" + common::random_hex(12))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace testzip
