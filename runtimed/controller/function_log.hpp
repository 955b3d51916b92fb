// Function output kept per function: one append-only file per function under <state>/logs, rotated
// at a size limit, written by the daemon (never by the sandboxed runtime) so a runtime that floods
// its stdout never blocks on a slow disk or a full pipe.
#pragma once

#include <chrono>
#include <condition_variable>
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
  // Waits until read_from(offset) has text (true), `deadline` passes or waits are released
  // (false). A follower waits here instead of polling.
  bool wait_for_text(uint64_t offset, std::chrono::steady_clock::time_point deadline);
  // Releases every wait, now and later (the daemon is shutting down).
  void release_waits();

 private:
  void rotate_locked();

  std::mutex mu_;
  std::condition_variable appended_;
  bool waits_released_ = false;
  std::filesystem::path dir_;
  uint64_t max_bytes_;
  int keep_files_;
  int fd_ = -1;
  uint64_t file_size_ = 0;   // bytes in the current file
  uint64_t file_start_ = 0;  // total offset at which the current file begins
};

// Frames one environment's output at newlines before it reaches the function's log, which several
// environments append to: each append then holds whole lines only, so lines of concurrent
// environments never splice mid-line. A line without its newline waits here until the rest
// arrives, the invocation ends, or the output closes (flush(), which ends it with a newline, as
// Lambda ends each log event). A line longer than kMaxLine is cut into kMaxLine pieces (Lambda
// splits events over 256 KB the same way) so a runtime that never prints a newline cannot grow
// the daemon. Not thread-safe: the controller holds the environment's output mutex.
class LineFramer {
 public:
  static constexpr size_t kMaxLine = 256 * 1024;

  // The complete lines `chunk` finishes (with what was held before), in order; keeps the rest.
  std::string feed(std::string_view chunk);
  // The held partial line ended with '\n', or "" when nothing is held.
  std::string flush();
  bool holding() const { return !partial_.empty(); }

 private:
  std::string partial_;
};

class FunctionLogs {
 public:
  explicit FunctionLogs(std::filesystem::path root, uint64_t max_bytes = 10ull << 20,
                        int keep_files = 5)
      : root_(std::move(root)), max_bytes_(max_bytes), keep_files_(keep_files) {}
  std::shared_ptr<FunctionLog> get(const std::string& function);
  // Forget (and delete) a function's logs when the function is deleted.
  void remove(const std::string& function);
  // Releases every log's waiting followers, now and later: a follower must not hold a thread
  // of the blocking pool, which shutdown joins.
  void release_waits();

 private:
  std::mutex mu_;
  bool waits_released_ = false;
  std::filesystem::path root_;
  uint64_t max_bytes_;
  int keep_files_;
  std::map<std::string, std::shared_ptr<FunctionLog>> logs_;
};

}  // namespace runtimed
