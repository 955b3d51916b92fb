// One environment's output on its way to its function's log: the runtime's stdout and stderr
// pipe read in whole lines (LineFramer, so environments appending to one log never splice
// mid-line), Lambda's START, END and REPORT lines around each invocation, and the invocation's
// last lines for X-Amz-Log-Result. Thread-safe: the monitor thread pumps output while io threads
// start and end invocations.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/thread_annotations.hpp"
#include "runtimed/controller/function_log.hpp"
#include "sandbox/unique_fd.hpp"

namespace runtimed {

// What REPORT says about one invocation.
struct InvocationReport {
  double duration_ms = 0;
  int memory_size_mb = 0;
  uint64_t max_memory_used_mb = 0;
  std::optional<double> init_duration_ms;  // the first invocation of an environment only
};

// "END RequestId: …\nREPORT RequestId: …\tDuration: 1.23 ms\t…\n", as Lambda writes them.
std::string end_and_report_lines(const std::string& request_id, const InvocationReport& report);

class InvocationLog {
 public:
  // `version`: the function version its environment runs, named in START lines.
  InvocationLog(std::shared_ptr<FunctionLog> log, std::string version)
      : log_(std::move(log)), version_(std::move(version)) {}

  // The read end of the runtime's output pipe (non-blocking).
  void attach_output(sandbox::UniqueFd read_end);
  int output_fd() {
    common::MutexLock lock(mu_);
    return output_read_.get();
  }

  // Moves what the runtime wrote into the log, whole lines only; at the end of an invocation
  // (`end_of_invocation`) a held partial line is written too.
  void pump(bool end_of_invocation = false);
  // What the runtime printed before this event goes first, then START; with `capture` the
  // invocation's lines are kept for its X-Amz-Log-Result.
  void start(const std::string& request_id, bool capture);
  // Ends the invocation: its last output, END and REPORT. Returns the captured lines (ending with
  // END and REPORT), or "" without capture.
  std::string end(const std::string& request_id, const InvocationReport& report);
  // A platform line (a timeout, a crash) straight into the function's log.
  void append_platform_line(const std::string& line);

 private:
  void pump_locked(bool end_of_invocation) REQUIRES(mu_);
  void write_locked(const std::string& lines) REQUIRES(mu_);

  std::shared_ptr<FunctionLog> log_;
  const std::string version_;
  common::Mutex mu_;  // one reader of the pipe at a time keeps lines in order
  sandbox::UniqueFd output_read_ GUARDED_BY(mu_);
  // Kept here, not on the invocation, so text read by the monitor just as the invocation ends
  // is not lost.
  std::string captured_ GUARDED_BY(mu_);
  bool capture_ GUARDED_BY(mu_) = false;
  LineFramer lines_ GUARDED_BY(mu_);
};

}  // namespace runtimed
