// Content-addressed function code: each zip is unpacked once into <root>/<hex sha256>/.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace runtimed {

// Lambda's limits for a directly uploaded zip.
struct CodeLimits {
  uint64_t max_zip_bytes = 50ull * 1024 * 1024;
  uint64_t max_unzipped_bytes = 262144000;  // 250 MiB
  // Entries (files, directories, links) per zip. Lambda has no such limit, but empty entries cost
  // nothing against the byte limit and an inode each on disk: a 50 MB zip of empty files holds
  // ~500,000. 65,535 is the most a zip without ZIP64 extensions can hold, so no package made by an
  // ordinary tool is refused, while the worst case stays 65,535 inodes per function.
  uint64_t max_entries = 65535;
  // All unpacked code together, as the disk counts it (blocks); 0 = unlimited
  // (--max-code-store-mb).
  uint64_t max_store_bytes = 0;
};

enum class CodeErrorKind {
  ZipTooLarge,
  UnzippedTooLarge,
  NotAZip,
  UnsafeEntry,  // escapes the code directory, or is a device/fifo/socket
  TooManyEntries,
  NameTooLong,  // a path component over NAME_MAX or a path over PATH_MAX
  StoreFull,    // max_store_bytes reached, or the disk is full
  Io,
};

struct CodeError {
  CodeErrorKind kind;
  std::string message;
};

struct StoredCode {
  std::string key;            // hex SHA-256 of the zip, names the directory
  std::string sha256_base64;  // Lambda's CodeSha256
  uint64_t zip_size = 0;
};

class CodeStore {
 public:
  // `root` is created if missing; unpacking leftovers from a previous run are removed.
  explicit CodeStore(std::filesystem::path root, CodeLimits limits = {});
  const CodeLimits& limits() const { return limits_; }

  // Unpacks `zip` into its directory, or reuses the directory when the same zip was stored before.
  // Safe to call concurrently; a failed unpack leaves nothing behind.
  std::expected<StoredCode, CodeError> put(std::string_view zip);

  std::filesystem::path dir(const std::string& key) const { return root_ / key; }
  const std::filesystem::path& root() const { return root_; }

  // Removes every code directory whose key is not in `referenced`; returns how many it removed.
  // The caller must make sure no put() whose key is not yet referenced is in flight.
  size_t collect_garbage(const std::set<std::string>& referenced);

  // Bytes the unpacked code directories take on disk (what max_store_bytes limits).
  uint64_t used_bytes();

 private:
  std::expected<void, CodeError> unpack(std::string_view zip, const std::filesystem::path& into,
                                        uint64_t store_room) const;
  CodeError store_full() const;

  std::filesystem::path root_;
  CodeLimits limits_;
  std::mutex mu_;
  uint64_t used_bytes_ = 0;                // guarded by mu_
  std::map<std::string, uint64_t> sizes_;  // guarded by mu_: each directory's share of it
};

}  // namespace runtimed
