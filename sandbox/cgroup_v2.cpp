// cgroup v2: an environment's single directory in the unified tree, and the tree's preparation.
#include <unistd.h>

#include <cerrno>
#include <string>

#include "sandbox/cgroup.hpp"
#include "sandbox/cgroup_files.hpp"
#include "sandbox/cgroup_impl.hpp"

namespace sandbox::cgimpl {

namespace {

bool lists_word(std::string_view text, std::string_view word) {
  size_t pos = 0;
  while ((pos = text.find(word, pos)) != std::string_view::npos) {
    bool starts = pos == 0 || text[pos - 1] == ' ' || text[pos - 1] == '\n';
    size_t end = pos + word.size();
    bool ends = end == text.size() || text[end] == ' ' || text[end] == '\n';
    if (starts && ends) return true;
    pos = end;
  }
  return false;
}

class V2Environment final : public EnvironmentCgroup {
 public:
  V2Environment(fs::path dir, std::string name, bool fake)
      : dir_(std::move(dir)), name_(std::move(name)), fake_(fake) {}
  V2Environment(const V2Environment&) = delete;
  V2Environment& operator=(const V2Environment&) = delete;
  ~V2Environment() override {
    if (auto r = destroy(); !r)
      cgfs::logger()->error("destroying cgroup {}: {}", name_, r.error().to_string());
  }

  Result<void> make() {
    if (auto r = cgfs::make_dir(dir_, false); !r) return r;
    made_ = true;
    // memory.peak exists from kernel 5.19; before it, the current usage is the best answer.
    peak_ = cgfs::OpenCounterFile::open(dir_ / "memory.peak");
    if (!peak_.read()) peak_ = cgfs::OpenCounterFile::open(dir_ / "memory.current");
    return {};
  }

  const std::string& name() const override { return name_; }

  Result<void> attach(pid_t pid) override {
    return cgfs::write_text(dir_ / "cgroup.procs", std::to_string(pid), fake_);
  }

  Result<void> apply(const CgroupLimits& limits) override {
    auto write = [&](const char* file, const std::string& value) {
      return cgfs::write_text(dir_ / file, value, fake_);
    };
    if (auto r = write("memory.max", std::to_string(limits.memory_mb * 1024 * 1024)); !r) return r;
    // memory.swap.max is absent when the kernel does no swap accounting: then there is nothing to
    // turn off.
    if (fake_ || cgfs::path_exists(dir_ / "memory.swap.max")) {
      if (auto r = write("memory.swap.max", "0"); !r) return r;
    }
    if (auto r = write("cpu.weight", std::to_string(cpu_weight_for_memory(limits.memory_mb))); !r)
      return r;
    std::string max = "max 100000";
    if (limits.cpu_quota) {
      auto q = cpu_quota_for_memory(limits.memory_mb);
      max = std::to_string(q.quota_us) + " " + std::to_string(q.period_us);
    }
    if (auto r = write("cpu.max", max); !r) return r;
    return write("pids.max", std::to_string(limits.pids_max));
  }

  Result<void> freeze() override { return cg2_set_frozen(dir_, true, fake_); }
  Result<void> thaw() override { return cg2_set_frozen(dir_, false, fake_); }
  Result<void> kill_all() override { return cg2_kill(dir_, fake_); }

  uint64_t memory_peak_bytes() const override {
    if (auto peak = peak_.read()) return *peak;
    if (auto peak = cgfs::read_u64(dir_ / "memory.peak")) return *peak;
    return memory_current_bytes();
  }
  uint64_t memory_current_bytes() const override {
    return cgfs::read_u64(dir_ / "memory.current").value_or(0);
  }
  uint64_t oom_kill_count() const override {
    return cgfs::read_keyed(dir_ / "memory.events", "oom_kill").value_or(0);
  }
  bool populated() const override { return cg2_populated(dir_); }

  Result<void> destroy() override {
    peak_ = {};
    if (!made_) return {};
    if (!fake_ && cgfs::path_exists(dir_)) {
      if (auto r = kill_all(); !r) return r;
      if (!cgfs::wait_for([&] { return !cg2_populated(dir_); }))
        return fail("cgroup still populated after SIGKILL", EBUSY, dir_.string());
    }
    if (auto r = cgfs::remove_dir(dir_, fake_); !r) return r;
    made_ = false;
    return {};
  }

  fs::path unified_dir() const override { return dir_; }

 private:
  fs::path dir_;
  std::string name_;
  bool fake_;
  bool made_ = false;
  cgfs::OpenCounterFile peak_;  // memory.peak (or memory.current), read after every invocation
};

}  // namespace

Result<void> cg2_set_frozen(const fs::path& dir, bool frozen, bool fake) {
  if (auto r = cgfs::write_text(dir / "cgroup.freeze", frozen ? "1" : "0", fake); !r) return r;
  if (fake) return {};
  uint64_t want = frozen ? 1 : 0;
  bool done =
      cgfs::wait_for([&] { return cgfs::read_keyed(dir / "cgroup.events", "frozen") == want; });
  if (!done)
    return fail(frozen ? "cgroup did not freeze" : "cgroup did not thaw", ETIMEDOUT, dir.string());
  return {};
}

Result<void> cg2_kill(const fs::path& dir, bool fake) {
  if (fake || cgfs::path_exists(dir / "cgroup.kill"))
    return cgfs::write_text(dir / "cgroup.kill", "1", fake);
  // Before Linux 5.14: freeze so nothing forks while we go through the list; killed tasks leave
  // the cgroup2 freezer on their own.
  if (auto r = cg2_set_frozen(dir, true, false); !r) return r;
  cgfs::kill_listed(dir, false);
  return cg2_set_frozen(dir, false, false);
}

bool cg2_populated(const fs::path& dir) {
  if (auto p = cgfs::read_keyed(dir / "cgroup.events", "populated")) return *p != 0;
  return !cgfs::read_pids(dir).empty();
}

Result<void> check_v2_delegation(const fs::path& top) {
  auto text = cgfs::read_text(top / "cgroup.controllers");
  if (!text) return std::unexpected(text.error());
  for (auto c : kV2Controllers) {
    if (!lists_word(*text, c))
      return fail(
          "cgroup2 controller not delegated", 0,
          "'" + std::string(c) + "' is not in " + (top / "cgroup.controllers").string() +
              "; delegate memory, cpu and pids to runtimed's cgroup (systemd: Delegate=yes)");
  }
  return {};
}

Result<void> move_self_to_supervisor(const fs::path& own, bool fake) {
  fs::path supervisor = own / "supervisor";
  if (auto r = cgfs::make_dir(supervisor, true); !r) return r;
  // On v2 writing the pid moves every thread of the process.
  return cgfs::write_text(supervisor / "cgroup.procs", std::to_string(::getpid()), fake);
}

Result<void> enable_v2_controllers(const std::vector<fs::path>& chain, bool fake) {
  std::string value;
  for (auto c : kV2Controllers) value += (value.empty() ? "+" : " +") + std::string(c);
  for (const auto& dir : chain) {
    if (auto r = cgfs::write_text(dir / "cgroup.subtree_control", value, fake); !r) return r;
  }
  return {};
}

Result<std::unique_ptr<EnvironmentCgroup>> create_v2_environment(const fs::path& instance_dir,
                                                                 std::string name, bool fake) {
  auto env = std::make_unique<V2Environment>(instance_dir / name, std::move(name), fake);
  if (auto r = env->make(); !r) return std::unexpected(r.error());
  return env;
}

}  // namespace sandbox::cgimpl
