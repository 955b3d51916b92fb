// Function output kept per function: one append-only file per function under <state>/logs, rotated
// at a size limit, written by the daemon (never by the sandboxed runtime) so a runtime that floods
// its stdout never blocks on a slow disk or a full pipe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace runtimed {

class FunctionLog {
 public:
  FunctionLog(std::filesystem::path dir, uint64_t max_bytes, int keep_files);
  ~FunctionLog();
  FunctionLog(const FunctionLog&) = delete;
  FunctionLog& operator=(const FunctionLog&) = delete;

  void append(std::string_view bytes);
  // Total bytes ever appended (an offset clients can follow from).
  uint64_t end_offset();
  // The bytes from `offset` on that are still in the current file (older ones rotated away),
  // at most `max_bytes`; `offset` is updated to where the returned text ends.
  std::string read_from(uint64_t& offset, size_t max_bytes);

 private:
  void rotate_locked();

  std::mutex mu_;
  std::filesystem::path dir_;
  uint64_t max_bytes_;
  int keep_files_;
  int fd_ = -1;
  uint64_t file_size_ = 0;   // bytes in the current file
  uint64_t file_start_ = 0;  // total offset at which the current file begins
};

class FunctionLogs {
 public:
  explicit FunctionLogs(std::filesystem::path root, uint64_t max_bytes = 10ull << 20,
                        int keep_files = 5)
      : root_(std::move(root)), max_bytes_(max_bytes), keep_files_(keep_files) {}
  std::shared_ptr<FunctionLog> get(const std::string& function);
  // Forget (and delete) a function's logs when the function is deleted.
  void remove(const std::string& function);

 private:
  std::mutex mu_;
  std::filesystem::path root_;
  uint64_t max_bytes_;
  int keep_files_;
  std::map<std::string, std::shared_ptr<FunctionLog>> logs_;
};

}  // namespace runtimed
