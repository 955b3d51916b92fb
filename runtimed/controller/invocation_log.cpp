// InvocationLog (see invocation_log.hpp).
#include "runtimed/controller/invocation_log.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>

#include "api/invoke_api.hpp"

namespace runtimed {

std::string end_and_report_lines(const std::string& request_id, const InvocationReport& report) {
  std::string lines = fmt::format(
      "END RequestId: {0}\nREPORT RequestId: {0}\tDuration: {1:.2f} ms\tBilled Duration: {2} "
      "ms\tMemory Size: {3} MB\tMax Memory Used: {4} MB\t",
      request_id, report.duration_ms, static_cast<uint64_t>(std::ceil(report.duration_ms)),
      report.memory_size_mb, report.max_memory_used_mb);
  if (report.init_duration_ms) {
    lines += fmt::format("Init Duration: {:.2f} ms\t", *report.init_duration_ms);
  }
  lines += '\n';
  return lines;
}

void InvocationLog::attach_output(sandbox::UniqueFd read_end) {
  common::MutexLock lock(mu_);
  output_read_ = std::move(read_end);
}

void InvocationLog::pump(bool end_of_invocation) {
  common::MutexLock lock(mu_);
  pump_locked(end_of_invocation);
}

void InvocationLog::start(const std::string& request_id, bool capture) {
  common::MutexLock lock(mu_);
  pump_locked(false);
  const std::string line = "START RequestId: " + request_id + " Version: " + version_ + "\n";
  // A line left unfinished before this invocation (init, a background thread) ends before START.
  log_->append(lines_.flush() + line);
  capture_ = capture;
  captured_ = capture ? line : std::string();
}

std::string InvocationLog::end(const std::string& request_id, const InvocationReport& report) {
  common::MutexLock lock(mu_);
  pump_locked(true);
  const std::string lines = end_and_report_lines(request_id, report);
  log_->append(lines);
  std::string tail = capture_ ? std::move(captured_) + lines : std::string();
  captured_.clear();
  capture_ = false;
  return tail;
}

void InvocationLog::append_platform_line(const std::string& line) { log_->append(line + "\n"); }

void InvocationLog::write_locked(const std::string& lines) {
  if (lines.empty()) return;
  log_->append(lines);
  if (capture_) {
    captured_.append(lines);
    if (captured_.size() > 2 * api::kLogTailBytes) {
      captured_.erase(0, captured_.size() - api::kLogTailBytes);
    }
  }
}

void InvocationLog::pump_locked(bool end_of_invocation) {
  if (output_read_) {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(output_read_.get(), buf, sizeof buf);
      if (n == 0) write_locked(lines_.flush());  // every writer is gone: nothing completes it
      if (n <= 0) break;
      write_locked(lines_.feed(std::string_view(buf, static_cast<size_t>(n))));
    }
  }
  if (end_of_invocation) write_locked(lines_.flush());
}

}  // namespace runtimed
