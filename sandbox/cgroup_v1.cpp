// cgroup v1: an environment's directories in the memory, cpu, pids and freezer hierarchies (plus
// the cgroup2 one of a hybrid host, used for freeze and kill).
#include <cerrno>
#include <string>
#include <vector>

#include "sandbox/cgroup.hpp"
#include "sandbox/cgroup_files.hpp"
#include "sandbox/cgroup_impl.hpp"

namespace sandbox::cgimpl {

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

class V1Environment final : public EnvironmentCgroup {
 public:
  V1Environment(std::string name, bool fake) : name_(std::move(name)), fake_(fake) {}
  V1Environment(const V1Environment&) = delete;
  V1Environment& operator=(const V1Environment&) = delete;
  ~V1Environment() override {
    if (auto r = destroy(); !r)
      cgfs::logger()->error("destroying cgroup {}: {}", name_, r.error().to_string());
  }

  // Creates the directories; those made before a failure are removed by the destructor.
  Result<void> make(const V1InstanceDirs& instance) {
    std::map<fs::path, fs::path> made;  // instance dir -> env dir; co-mounted controllers share one
    for (const auto& [controller, parent] : instance.by_controller) {
      auto it = made.find(parent);
      if (it == made.end()) {
        fs::path dir = parent / name_;
        if (auto r = cgfs::make_dir(dir, false); !r) return r;
        v1_dirs_.push_back(dir);
        it = made.emplace(parent, dir).first;
      }
      by_controller_[controller] = it->second;
    }
    if (instance.unified) {
      fs::path dir = *instance.unified / name_;
      if (auto r = cgfs::make_dir(dir, false); !r) return r;
      unified_ = dir;
    }
    if (auto it = by_controller_.find("memory"); it != by_controller_.end())
      peak_ = cgfs::OpenCounterFile::open(it->second / "memory.max_usage_in_bytes");
    return {};
  }

  const std::string& name() const override { return name_; }

  Result<void> attach(pid_t pid) override {
    std::string value = std::to_string(pid);
    for (const auto& dir : v1_dirs_) {
      if (auto r = cgfs::write_text(dir / "cgroup.procs", value, fake_); !r) return r;
    }
    if (unified_) return cgfs::write_text(*unified_ / "cgroup.procs", value, fake_);
    return {};
  }

  Result<void> apply(const CgroupLimits& limits) override {
    if (auto r = apply_memory(limits.memory_mb * kMiB); !r) return r;
    if (auto r = apply_cpu(limits); !r) return r;
    return write("pids", "pids.max", std::to_string(limits.pids_max));
  }

  Result<void> freeze() override {
    if (unified_) return cg2_set_frozen(*unified_, true, fake_);
    return set_freezer(true);
  }
  Result<void> thaw() override {
    if (unified_) return cg2_set_frozen(*unified_, false, fake_);
    return set_freezer(false);
  }

  Result<void> kill_all() override {
    if (unified_) {
      if (auto r = cg2_kill(*unified_, fake_); !r) return r;
    } else if (by_controller_.contains("freezer")) {
      // Frozen, nothing forks while the list is gone through; killed tasks die once thawed.
      if (auto r = set_freezer(true); !r) return r;
    }
    // Also whatever sits only in a v1 hierarchy (an attach that failed half-way).
    for (const auto& dir : v1_dirs_) cgfs::kill_listed(dir, fake_);
    if (!unified_ && by_controller_.contains("freezer")) return set_freezer(false);
    return {};
  }

  uint64_t memory_peak_bytes() const override {
    if (auto peak = peak_.read()) return *peak;
    return read_memory("memory.max_usage_in_bytes");
  }
  uint64_t memory_current_bytes() const override { return read_memory("memory.usage_in_bytes"); }
  uint64_t oom_kill_count() const override {
    auto it = by_controller_.find("memory");
    if (it == by_controller_.end()) return 0;
    return cgfs::read_keyed(it->second / "memory.oom_control", "oom_kill").value_or(0);
  }

  bool populated() const override {
    if (unified_) return cg2_populated(*unified_);
    return any_listed();
  }

  Result<void> destroy() override {
    peak_ = {};
    if (v1_dirs_.empty() && !unified_) return {};
    if (!fake_ && any_dir_exists()) {
      // A hierarchy whose directory is already gone must not stop the others from being emptied.
      if (auto r = kill_all(); !r)
        cgfs::logger()->warn("killing cgroup {}: {}", name_, r.error().to_string());
      bool empty =
          cgfs::wait_for([&] { return !any_listed() && !(unified_ && cg2_populated(*unified_)); });
      if (!empty) return fail("cgroup still populated after SIGKILL", EBUSY, name_);
    }
    if (unified_) {
      if (auto r = cgfs::remove_dir(*unified_, fake_); !r) return r;
      unified_.reset();
    }
    while (!v1_dirs_.empty()) {
      if (auto r = cgfs::remove_dir(v1_dirs_.back(), fake_); !r) return r;
      v1_dirs_.pop_back();
    }
    by_controller_.clear();
    return {};
  }

  fs::path unified_dir() const override { return unified_.value_or(fs::path{}); }

 private:
  Result<void> write(const std::string& controller, const char* file, const std::string& value) {
    auto it = by_controller_.find(controller);
    if (it == by_controller_.end())
      return fail("cgroup v1 controller not mounted", ENOENT, controller);
    return cgfs::write_text(it->second / file, value, fake_);
  }

  Result<void> apply_memory(uint64_t limit) {
    auto it = by_controller_.find("memory");
    if (it == by_controller_.end())
      return fail("cgroup v1 controller not mounted", ENOENT, "memory");
    const fs::path& dir = it->second;
    // Without swap accounting (no memsw file) there is no swap limit to set.
    bool memsw = fake_ || cgfs::path_exists(dir / "memory.memsw.limit_in_bytes");
    // The kernel keeps memsw >= limit at every step: memsw goes first when raising, last when
    // lowering.
    bool raising = limit > cgfs::read_u64(dir / "memory.limit_in_bytes").value_or(UINT64_MAX);
    std::string value = std::to_string(limit);
    if (memsw && raising) {
      if (auto r = write("memory", "memory.memsw.limit_in_bytes", value); !r) return r;
    }
    if (auto r = write("memory", "memory.limit_in_bytes", value); !r) return r;
    if (memsw && !raising) {
      if (auto r = write("memory", "memory.memsw.limit_in_bytes", value); !r) return r;
    }
    return write("memory", "memory.swappiness", "0");
  }

  Result<void> apply_cpu(const CgroupLimits& limits) {
    if (auto r =
            write("cpu", "cpu.shares", std::to_string(cpu_shares_for_memory(limits.memory_mb)));
        !r)
      return r;
    if (limits.cpu_quota) {
      auto q = cpu_quota_for_memory(limits.memory_mb);
      if (auto r = write("cpu", "cpu.cfs_period_us", std::to_string(q.period_us)); !r) return r;
      return write("cpu", "cpu.cfs_quota_us", std::to_string(q.quota_us));
    }
    // A kernel without CFS bandwidth control has no quota to lift.
    if (!fake_ && !cgfs::path_exists(by_controller_["cpu"] / "cpu.cfs_quota_us")) return {};
    return write("cpu", "cpu.cfs_quota_us", "-1");
  }

  Result<void> set_freezer(bool frozen) {
    const char* state = frozen ? "FROZEN" : "THAWED";
    if (auto r = write("freezer", "freezer.state", state); !r) return r;
    if (fake_ || !frozen) return {};
    fs::path file = by_controller_["freezer"] / "freezer.state";
    // FREEZING may stick while a task is busy in the kernel; writing FROZEN again retries.
    bool done = cgfs::wait_for([&] {
      auto now = cgfs::read_text(file);
      if (now && now->starts_with("FROZEN")) return true;
      (void)cgfs::write_text(file, "FROZEN", false);
      return false;
    });
    if (!done) return fail("cgroup did not freeze", ETIMEDOUT, file.string());
    return {};
  }

  uint64_t read_memory(const char* file) const {
    auto it = by_controller_.find("memory");
    if (it == by_controller_.end()) return 0;
    return cgfs::read_u64(it->second / file).value_or(0);
  }

  bool any_listed() const {
    for (const auto& dir : v1_dirs_)
      if (!cgfs::read_pids(dir).empty()) return true;
    return false;
  }

  bool any_dir_exists() const {
    if (unified_ && cgfs::path_exists(*unified_)) return true;
    for (const auto& dir : v1_dirs_)
      if (cgfs::path_exists(dir)) return true;
    return false;
  }

  std::string name_;
  bool fake_;
  std::map<std::string, fs::path> by_controller_;
  std::vector<fs::path> v1_dirs_;  // distinct directories made, one per hierarchy
  std::optional<fs::path> unified_;
  cgfs::OpenCounterFile peak_;  // memory.max_usage_in_bytes, read after every invocation
};

}  // namespace

Result<std::unique_ptr<EnvironmentCgroup>> create_v1_environment(const V1InstanceDirs& instance,
                                                                 std::string name, bool fake) {
  auto env = std::make_unique<V1Environment>(std::move(name), fake);
  if (auto r = env->make(instance); !r) return std::unexpected(r.error());
  return env;
}

}  // namespace sandbox::cgimpl
