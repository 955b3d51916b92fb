// Small file helpers for cgroupfs: whole-value writes, keyed reads, pids, removal of subtrees.
#pragma once

#include <spdlog/spdlog.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/error.hpp"
#include "sandbox/unique_fd.hpp"

namespace sandbox::cgfs {

namespace fs = std::filesystem;

// How long to wait for the kernel to finish freezing or to empty a cgroup of killed tasks.
inline constexpr std::chrono::milliseconds kSettleTimeout{2000};

// The "sandbox" module logger (warnings and errors only unless raised).
std::shared_ptr<spdlog::logger> logger();

Result<std::string> read_text(const fs::path& file);
// One write(2) of the whole value: cgroupfs parses each write on its own. `create` (fake trees
// only) creates or truncates the file first.
Result<void> write_text(const fs::path& file, std::string_view value, bool create);
std::optional<uint64_t> read_u64(const fs::path& file);

// A counter file opened once and re-read from offset 0 each time, so reading it on the invocation
// path costs one pread instead of a path walk through cgroupfs.
class OpenCounterFile {
 public:
  OpenCounterFile() = default;
  // Not open (read() is nullopt) when the file is missing.
  static OpenCounterFile open(const fs::path& file);
  std::optional<uint64_t> read() const;

 private:
  UniqueFd fd_;
};
// The number after `key` in a file of "key value" lines (cgroup.events, memory.events,
// memory.oom_control).
std::optional<uint64_t> parse_keyed(std::string_view text, std::string_view key);
std::optional<uint64_t> read_keyed(const fs::path& file, std::string_view key);
// The pids in <dir>/cgroup.procs (empty when the file is missing).
std::vector<pid_t> read_pids(const fs::path& dir);
// SIGKILLs every pid listed in <dir>/cgroup.procs, never this process; no-op on fake trees.
void kill_listed(const fs::path& dir, bool fake);
bool path_exists(const fs::path& p);

// mkdir; an existing directory is an error unless `exist_ok`.
Result<void> make_dir(const fs::path& dir, bool exist_ok);
// mkdir -p.
Result<void> make_dirs(const fs::path& dir);
// rmdir of one cgroup (a fake tree's directory goes with its files); a missing one is fine.
Result<void> remove_dir(const fs::path& dir, bool fake);

// Polls `done` every few milliseconds until it holds or `timeout` passes.
bool wait_for(const std::function<bool()>& done,
              std::chrono::milliseconds timeout = kSettleTimeout);

// Kills every process in `dir` and its descendants (cgroup.kill where the file exists, else
// SIGKILL through cgroup.procs, thawing v1 freezers afterwards), waits until they are gone and
// removes the directories depth-first. A missing `dir` is fine.
Result<void> remove_subtree(const fs::path& dir, bool fake);

}  // namespace sandbox::cgfs
