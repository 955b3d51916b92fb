// Content-addressed function code: each zip is unpacked once into <root>/<hex sha256>/.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

namespace runtimed {

// Lambda's limits for a directly uploaded zip.
struct CodeLimits {
  uint64_t max_zip_bytes = 50ull * 1024 * 1024;
  uint64_t max_unzipped_bytes = 262144000;  // 250 MiB
};

enum class CodeErrorKind {
  ZipTooLarge,
  UnzippedTooLarge,
  NotAZip,
  UnsafeEntry,  // escapes the code directory, or is a device/fifo/socket
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

  // Unpacks `zip` into its directory, or reuses the directory when the same zip was stored before.
  // Safe to call concurrently; a failed unpack leaves nothing behind.
  std::expected<StoredCode, CodeError> put(std::string_view zip);

  std::filesystem::path dir(const std::string& key) const { return root_ / key; }
  const std::filesystem::path& root() const { return root_; }

  // Removes every code directory whose key is not in `referenced`; returns how many it removed.
  // The caller must make sure no put() whose key is not yet referenced is in flight.
  size_t collect_garbage(const std::set<std::string>& referenced);

 private:
  std::expected<void, CodeError> unpack(std::string_view zip,
                                        const std::filesystem::path& into) const;

  std::filesystem::path root_;
  CodeLimits limits_;
};

}  // namespace runtimed
