// Small file helpers for cgroupfs: whole-value writes, keyed reads, pids, removal of subtrees.
#include "sandbox/cgroup_files.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <system_error>
#include <thread>

#include "common/module_logger.hpp"
#include "sandbox/unique_fd.hpp"

namespace sandbox::cgfs {

std::shared_ptr<spdlog::logger> logger() {
  static const std::shared_ptr<spdlog::logger> log = common::module_logger("sandbox");
  return log;
}

Result<std::string> read_text(const fs::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail("open cgroup file", errno, file.string());
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("read cgroup file", errno, file.string());
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<void> write_text(const fs::path& file, std::string_view value, bool create) {
  int flags = O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0);
  UniqueFd fd(::open(file.c_str(), flags, 0644));
  if (!fd) return fail("open cgroup file", errno, file.string());
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail("write cgroup file", errno, file.string() + " <- " + std::string(value));
  if (static_cast<size_t>(n) != value.size())
    return fail("short write to cgroup file", EIO, file.string() + " <- " + std::string(value));
  return {};
}

static std::optional<uint64_t> to_u64(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> read_u64(const fs::path& file) {
  auto text = read_text(file);
  if (!text) return std::nullopt;
  return to_u64(*text);
}

OpenCounterFile OpenCounterFile::open(const fs::path& file) {
  OpenCounterFile f;
  f.fd_.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  return f;
}

std::optional<uint64_t> OpenCounterFile::read() const {
  if (!fd_) return std::nullopt;
  char buf[64];
  const ssize_t n = ::pread(fd_.get(), buf, sizeof buf, 0);
  if (n <= 0) return std::nullopt;
  return to_u64(std::string_view(buf, static_cast<size_t>(n)));
}

std::optional<uint64_t> parse_keyed(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ')
      return to_u64(line.substr(key.size() + 1));
  }
  return std::nullopt;
}

std::optional<uint64_t> read_keyed(const fs::path& file, std::string_view key) {
  auto text = read_text(file);
  if (!text) return std::nullopt;
  return parse_keyed(*text, key);
}

std::vector<pid_t> read_pids(const fs::path& dir) {
  std::vector<pid_t> pids;
  auto text = read_text(dir / "cgroup.procs");
  if (!text) return pids;
  std::string_view rest = *text;
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    if (auto v = to_u64(rest.substr(0, eol)); v && *v > 0) pids.push_back(static_cast<pid_t>(*v));
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
  }
  return pids;
}

void kill_listed(const fs::path& dir, bool fake) {
  if (fake) return;  // a fake tree's cgroup.procs names whatever the test wrote: never signal it
  for (pid_t pid : read_pids(dir)) {
    if (pid == ::getpid()) {
      logger()->error("not killing this process, listed in {}", dir.string());
      continue;
    }
    ::kill(pid, SIGKILL);
  }
}

bool path_exists(const fs::path& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

Result<void> make_dir(const fs::path& dir, bool exist_ok) {
  if (::mkdir(dir.c_str(), 0755) == 0) return {};
  if (errno == EEXIST && exist_ok) return {};
  return fail("mkdir cgroup", errno, dir.string());
}

Result<void> make_dirs(const fs::path& dir) {
  if (path_exists(dir)) return {};
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    if (auto r = make_dirs(dir.parent_path()); !r) return r;
  }
  return make_dir(dir, true);
}

Result<void> remove_dir(const fs::path& dir, bool fake) {
  if (fake) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) return fail("remove fake cgroup", ec.value(), dir.string());
    return {};
  }
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
  return fail("rmdir cgroup", errno, dir.string());
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Every directory at or below `dir`, parents before children.
static std::vector<fs::path> subtree_dirs(const fs::path& dir) {
  std::vector<fs::path> dirs{dir};
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) dirs.push_back(it->path());
  }
  return dirs;
}

static bool subtree_empty(const fs::path& top, const std::vector<fs::path>& dirs) {
  if (auto populated = read_keyed(top / "cgroup.events", "populated")) return *populated == 0;
  for (const auto& d : dirs) {
    if (!read_pids(d).empty()) return false;
  }
  return true;
}

Result<void> remove_subtree(const fs::path& dir, bool fake) {
  if (!path_exists(dir)) return {};
  if (fake) return remove_dir(dir, true);
  auto dirs = subtree_dirs(dir);
  auto kill_all = [&] {
    // cgroup.kill takes the whole subtree at once and races no fork.
    if (path_exists(dir / "cgroup.kill") && write_text(dir / "cgroup.kill", "1", false)) return;
    for (const auto& d : dirs) kill_listed(d, false);
    // A SIGKILLed task in a frozen v1 freezer cgroup only dies once thawed.
    for (const auto& d : dirs) {
      auto state = read_text(d / "freezer.state");
      if (state && !state->starts_with("THAWED"))
        (void)write_text(d / "freezer.state", "THAWED", false);
    }
  };
  kill_all();
  bool empty = wait_for([&] {
    if (subtree_empty(dir, dirs)) return true;
    kill_all();  // tasks forked after the first round
    return false;
  });
  if (!empty) return fail("cgroup still has processes after SIGKILL", EBUSY, dir.string());
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    if (auto r = remove_dir(*it, false); !r) return r;
  }
  return {};
}

}  // namespace sandbox::cgfs
