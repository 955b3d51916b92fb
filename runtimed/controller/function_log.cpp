// Per-function rotating log files (see function_log.hpp).
#include "runtimed/controller/function_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace runtimed {

namespace {
std::filesystem::path numbered(const std::filesystem::path& dir, int n) {
  return n == 0 ? dir / "current.log" : dir / ("current.log." + std::to_string(n));
}
}  // namespace

FunctionLog::FunctionLog(std::filesystem::path dir, uint64_t max_bytes, int keep_files)
    : dir_(std::move(dir)), max_bytes_(max_bytes), keep_files_(keep_files) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  fd_ = ::open(numbered(dir_, 0).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ >= 0) {
    file_size_ = static_cast<uint64_t>(::lseek(fd_, 0, SEEK_END));
  }
}

FunctionLog::~FunctionLog() {
  if (fd_ >= 0) ::close(fd_);
}

void FunctionLog::rotate_locked() {
  if (fd_ >= 0) ::close(fd_);
  std::error_code ec;
  std::filesystem::remove(numbered(dir_, keep_files_ - 1), ec);
  for (int i = keep_files_ - 2; i >= 0; --i) {
    std::filesystem::rename(numbered(dir_, i), numbered(dir_, i + 1), ec);
  }
  fd_ =
      ::open(numbered(dir_, 0).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640);
  file_start_ += file_size_;
  file_size_ = 0;
}

void FunctionLog::append(std::string_view bytes) {
  if (bytes.empty()) return;
  std::lock_guard lock(mu_);
  if (file_size_ + bytes.size() > max_bytes_ && file_size_ > 0) rotate_locked();
  if (fd_ < 0) return;
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // a full disk loses log lines, never the invocation
    }
    done += static_cast<size_t>(n);
  }
  file_size_ += done;
  if (done > 0) appended_.notify_all();
}

bool FunctionLog::wait_for_text(uint64_t offset, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  // read_from() moves an offset that rotated away up to the current file's start.
  appended_.wait_until(lock, deadline, [&] {
    return waits_released_ || std::max(offset, file_start_) < file_start_ + file_size_;
  });
  return std::max(offset, file_start_) < file_start_ + file_size_;
}

void FunctionLog::release_waits() {
  {
    std::lock_guard lock(mu_);
    waits_released_ = true;
  }
  appended_.notify_all();
}

uint64_t FunctionLog::end_offset() {
  std::lock_guard lock(mu_);
  return file_start_ + file_size_;
}

std::string FunctionLog::read_from(uint64_t& offset, size_t max_bytes) {
  std::lock_guard lock(mu_);
  if (offset < file_start_) offset = file_start_;
  const uint64_t end = file_start_ + file_size_;
  if (offset >= end) {
    offset = end;
    return {};
  }
  const size_t want = static_cast<size_t>(std::min<uint64_t>(end - offset, max_bytes));
  std::string out(want, '\0');
  const int fd = ::open(numbered(dir_, 0).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  const ssize_t n = ::pread(fd, out.data(), want, static_cast<off_t>(offset - file_start_));
  ::close(fd);
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  offset += out.size();
  return out;
}

std::string LineFramer::feed(std::string_view chunk) {
  const size_t last_nl = chunk.rfind('\n');
  std::string out;
  if (last_nl != std::string_view::npos) {
    // Everything up to the chunk's last newline is whole lines (the held text starts the first).
    out.reserve(partial_.size() + last_nl + 1);
    out.append(partial_).append(chunk.substr(0, last_nl + 1));
    partial_.clear();
    chunk.remove_prefix(last_nl + 1);
  }
  partial_.append(chunk);
  // An endless line leaves in kMaxLine pieces, each ended so the next writer starts a new line.
  while (partial_.size() >= kMaxLine) {
    out.append(partial_, 0, kMaxLine).push_back('\n');
    partial_.erase(0, kMaxLine);
  }
  return out;
}

std::string LineFramer::flush() {
  if (partial_.empty()) return {};
  std::string out = std::move(partial_);
  partial_.clear();
  out.push_back('\n');
  return out;
}

std::shared_ptr<FunctionLog> FunctionLogs::get(const std::string& function) {
  std::lock_guard lock(mu_);
  auto& log = logs_[function];
  if (!log) {
    log = std::make_shared<FunctionLog>(root_ / function, max_bytes_, keep_files_);
    if (waits_released_) log->release_waits();
  }
  return log;
}

void FunctionLogs::remove(const std::string& function) {
  std::lock_guard lock(mu_);
  logs_.erase(function);
  std::error_code ec;
  std::filesystem::remove_all(root_ / function, ec);
}

void FunctionLogs::release_waits() {
  std::lock_guard lock(mu_);
  waits_released_ = true;
  for (auto& [name, log] : logs_) log->release_waits();
}

}  // namespace runtimed
