// CgroupManager: picks v1 or v2, holds the instance lock, owns <parent>/<instance-id> in every
// hierarchy and removes leftovers of dead instances.
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <system_error>
#include <thread>
#include <vector>

#include "sandbox/cgroup.hpp"
#include "sandbox/cgroup_files.hpp"
#include "sandbox/cgroup_impl.hpp"
#include "sandbox/unique_fd.hpp"

namespace sandbox {

namespace {

namespace fs = std::filesystem;

// The v1 controllers an environment uses; freezer only matters without a cgroup2 mount.
constexpr std::string_view kV1Required[] = {"memory", "cpu", "pids"};
constexpr std::string_view kV1Optional[] = {"freezer"};

bool is_plain_name(std::string_view s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string_view::npos &&
         s.find('\0') == s.npos;
}

// The parent option's components; empty when it is not a usable path below a hierarchy root.
std::vector<std::string> parent_components(std::string_view parent) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < parent.size()) {
    size_t j = parent.find('/', i);
    if (j == std::string_view::npos) j = parent.size();
    std::string_view part = parent.substr(i, j - i);
    if (!part.empty()) {
      if (!is_plain_name(part)) return {};
      parts.emplace_back(part);
    }
    i = j + 1;
  }
  return parts;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

fs::path canonical_or_same(const fs::path& p) {
  std::error_code ec;
  auto c = fs::weakly_canonical(fs::absolute(p, ec), ec);
  return ec ? p : c;
}

// One hierarchy's share of this instance.
struct Tree {
  fs::path mount;
  bool unified = false;
  bool parent_is_relative = false;
  std::vector<std::string> controllers;  // v1 controllers served by this mount
  fs::path top;                          // v2: where controllers are first enabled
  fs::path parent;                       // <parent>
  fs::path instance;                     // <parent>/<instance-id>
};

class ManagerImpl final : public CgroupManager {
 public:
  ManagerImpl(CgroupManager::Options options, CgroupVersion version, bool fake,
              std::vector<Tree> trees, UniqueFd lock)
      : options_(std::move(options)),
        version_(version),
        fake_(fake),
        trees_(std::move(trees)),
        lock_(std::move(lock)) {}
  ManagerImpl(const ManagerImpl&) = delete;
  ManagerImpl& operator=(const ManagerImpl&) = delete;

  ~ManagerImpl() override {
    if (instance_made_) {
      for (const auto& t : trees_) {
        if (auto r = cgfs::remove_subtree(t.instance, fake_); !r)
          cgfs::logger()->error("removing instance cgroup: {}", r.error().to_string());
        // The shared parent goes too once no instance uses it (rmdir fails harmlessly otherwise),
        // so every directory we made is removed.
        if (!fake_) {
          for (fs::path p = t.parent; p != t.top && p.has_relative_path(); p = p.parent_path()) {
            if (::rmdir(p.c_str()) != 0) break;
          }
        }
      }
    }
    if (owner_recorded_) {
      auto record = cgfs::read_text(owner_record(options_.instance_id));
      if (record && canonical_or_same(trim(*record)) == canonical_or_same(options_.state_dir)) {
        std::error_code ec;
        fs::remove(owner_record(options_.instance_id), ec);
      }
    }
  }

  CgroupVersion version() const override { return version_; }

  Result<std::unique_ptr<EnvironmentCgroup>> create(std::string_view env_name) override {
    if (!is_plain_name(env_name))
      return fail("invalid environment cgroup name", EINVAL, std::string(env_name));
    if (version_ == CgroupVersion::V2)
      return cgimpl::create_v2_environment(trees_.front().instance, std::string(env_name), fake_);
    cgimpl::V1InstanceDirs dirs;
    for (const auto& t : trees_) {
      if (t.unified) {
        dirs.unified = t.instance;
        continue;
      }
      for (const auto& c : t.controllers) dirs.by_controller[c] = t.instance;
    }
    return cgimpl::create_v1_environment(dirs, std::string(env_name), fake_);
  }

  // v2: checks delegation, then moves this process out of the cgroup that will enable controllers.
  Result<void> start() {
    if (version_ == CgroupVersion::V1) return {};
    const Tree& t = trees_.front();
    // Checked before anything moves: a missing controller must leave the host untouched.
    if (auto r = cgimpl::check_v2_delegation(t.top); !r) return r;
    if (t.parent_is_relative) return cgimpl::move_self_to_supervisor(t.top, fake_);
    return {};
  }

  Result<void> record_owner() {
    std::error_code ec;
    fs::create_directories(options_.owners_dir, ec);
    if (ec) return fail("create cgroup owners dir", ec.value(), options_.owners_dir.string());
    auto r = cgfs::write_text(owner_record(options_.instance_id),
                              canonical_or_same(options_.state_dir).string() + "\n", true);
    if (r) owner_recorded_ = true;
    return r;
  }

  // Removes our own subtree left by a crash and those of instances whose owner's lock is free.
  Result<void> remove_leftovers() {
    std::set<std::string> names;
    for (const auto& t : trees_) {
      std::error_code ec;
      for (auto it = fs::directory_iterator(t.parent, ec); !ec && it != fs::directory_iterator();
           it.increment(ec))
        if (it->is_directory(ec)) names.insert(it->path().filename().string());
    }
    for (const auto& name : names) {
      UniqueFd owner_lock;  // held while the subtree goes so its owner cannot come back meanwhile
      if (name != options_.instance_id) {
        auto gone = take_owner_lock(name);
        if (!gone) continue;
        owner_lock = std::move(*gone);
      }
      cgfs::logger()->info("removing leftover cgroup subtree {}", name);
      for (const auto& t : trees_) {
        if (auto r = cgfs::remove_subtree(t.parent / name, fake_); !r) return r;
      }
      if (name != options_.instance_id) {
        std::error_code ec;
        fs::remove(owner_record(name), ec);
      }
    }
    return {};
  }

  Result<void> make_instance() {
    instance_made_ = true;  // from here on the destructor removes whatever was made
    for (const auto& t : trees_) {
      if (auto r = cgfs::make_dirs(t.parent); !r) return r;
      if (auto r = cgfs::make_dir(t.instance, false); !r) return r;
    }
    const uint64_t cpus = cpu_count();
    if (version_ == CgroupVersion::V1) {
      for (const auto& t : trees_) {
        if (std::ranges::find(t.controllers, "cpu") == t.controllers.end()) continue;
        if (auto r = weigh_workload(t, "cpu.shares", workload_cpu_shares(cpus)); !r) return r;
      }
      return {};
    }
    const Tree& t = trees_.front();
    std::vector<fs::path> chain{t.top};
    for (fs::path p = t.top; p != t.parent;) {
      p /= t.parent.lexically_relative(p).begin()->string();
      chain.push_back(p);
    }
    chain.push_back(t.instance);
    if (auto r = cgimpl::enable_v2_controllers(chain, fake_); !r) return r;
    return weigh_workload(t, "cpu.weight", workload_cpu_weight(cpus));
  }

 private:
  fs::path owner_record(const std::string& id) const { return options_.owners_dir / id; }

  // The environments' subtree weighs as many plain threads as there are CPUs against the daemon's
  // own threads beside it. At the default weight (one thread's) all environments together
  // competed as one thread, and a warm node function at concurrency 32 waited up to 305 ms to be
  // scheduled (docs/ARCHITECTURE.md, decisions). An operator's absolute parent keeps the weight
  // the operator gave it.
  Result<void> weigh_workload(const Tree& t, const char* file, uint64_t value) const {
    const std::string text = std::to_string(value);
    if (t.parent_is_relative) {
      if (auto r = cgfs::write_text(t.parent / file, text, fake_); !r) return r;
    }
    return cgfs::write_text(t.instance / file, text, fake_);
  }

  static uint64_t cpu_count() {
    cpu_set_t set;
    if (::sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
    return std::max(1U, std::thread::hardware_concurrency());
  }

  // The owner's lock when the owner of subtree `id` is gone; nullopt when it is alive or unknown.
  std::optional<UniqueFd> take_owner_lock(const std::string& id) {
    auto record = cgfs::read_text(owner_record(id));
    if (!record) return std::nullopt;  // not known to be ours: never touched
    fs::path owner_state = trim(*record);
    // Same state dir as ours: its lock is the one we hold, so that instance is gone.
    if (canonical_or_same(owner_state) == canonical_or_same(options_.state_dir)) return UniqueFd{};
    fs::path lock = owner_state / "lock";
    UniqueFd fd(::open(lock.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      // The owner could still hold the lock of a file unlinked from under it: leave it alone.
      cgfs::logger()->warn("cgroup subtree {}: cannot open owner lock {}: {}", id, lock.string(),
                           std::strerror(errno));
      return std::nullopt;
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return std::nullopt;  // alive
    return fd;
  }

  CgroupManager::Options options_;
  CgroupVersion version_;
  bool fake_;
  std::vector<Tree> trees_;  // the cgroup2 one first: cgroup.kill there also frees v1-frozen tasks
  UniqueFd lock_;
  bool owner_recorded_ = false;
  bool instance_made_ = false;
};

// <mount>/<own>/<parent> for a relative parent, <mount>/<parent> for an absolute one.
Tree make_tree(const Hierarchy& h, const std::vector<std::string>& parent, bool absolute,
               const std::string& instance) {
  Tree t;
  t.mount = h.mount_point;
  t.parent_is_relative = !absolute;
  // A daemon in the hierarchy's root cgroup ("/") is at the mount point itself: no trailing
  // separator, which would make `top` compare unequal to the directory it names.
  const fs::path own_relative = fs::path(h.own_path).relative_path();
  fs::path own = own_relative.empty() ? h.mount_point : h.mount_point / own_relative;
  t.top = absolute ? h.mount_point : own;
  t.parent = t.top;
  for (const auto& p : parent) t.parent /= p;
  t.instance = t.parent / instance;
  return t;
}

}  // namespace

Result<std::unique_ptr<CgroupManager>> CgroupManager::open(const CgroupHost& host,
                                                           Options options) {
  if (!is_plain_name(options.instance_id))
    return fail("invalid cgroup instance id", EINVAL, options.instance_id);
  auto parent = parent_components(options.parent);
  if (parent.empty())
    return fail("invalid cgroup parent (must name a directory below a hierarchy root)", EINVAL,
                options.parent);
  bool absolute = options.parent.starts_with('/');
  if (options.state_dir.empty()) return fail("cgroup state dir not set", EINVAL);

  std::vector<Tree> trees;
  CgroupVersion version;
  if (host.unified_has_controllers && host.unified) {
    version = CgroupVersion::V2;
    Hierarchy h = *host.unified;
    // Already moved by an earlier manager in this process: our cgroup is <own>/supervisor.
    fs::path own(h.own_path);
    if (own.filename() == "supervisor") h.own_path = own.parent_path().string();
    Tree t = make_tree(h, parent, absolute, options.instance_id);
    t.unified = true;
    trees.push_back(std::move(t));
  } else {
    version = CgroupVersion::V1;
    if (host.unified) {
      Tree t = make_tree(*host.unified, parent, absolute, options.instance_id);
      t.unified = true;
      trees.push_back(std::move(t));
    }
    auto add = [&](std::string_view c, bool required) -> Result<void> {
      auto it = host.v1.find(std::string(c));
      if (it == host.v1.end()) {
        if (!required) return {};
        return fail("cgroup v1 controller not mounted", ENOENT, std::string(c));
      }
      for (auto& t : trees) {
        if (!t.unified && t.mount == it->second.mount_point) {
          t.controllers.emplace_back(c);  // co-mounted with a controller already listed
          return {};
        }
      }
      Tree t = make_tree(it->second, parent, absolute, options.instance_id);
      t.controllers.emplace_back(c);
      trees.push_back(std::move(t));
      return {};
    };
    for (auto c : kV1Required)
      if (auto r = add(c, true); !r) return std::unexpected(r.error());
    for (auto c : kV1Optional)
      if (auto r = add(c, !host.unified); !r) return std::unexpected(r.error());
  }

  std::error_code ec;
  fs::create_directories(options.state_dir, ec);
  if (ec) return fail("create state dir", ec.value(), options.state_dir.string());
  fs::path lock_path = options.state_dir / "lock";
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock) return fail("open instance lock", errno, lock_path.string());
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK)
      return fail("another runtimed instance is running with this state dir", err,
                  lock_path.string());
    return fail("lock instance", err, lock_path.string());
  }

  auto manager = std::make_unique<ManagerImpl>(std::move(options), version, host.fake_tree,
                                               std::move(trees), std::move(lock));
  if (auto r = manager->start(); !r) return std::unexpected(r.error());
  if (auto r = manager->record_owner(); !r) return std::unexpected(r.error());
  if (auto r = manager->remove_leftovers(); !r) return std::unexpected(r.error());
  if (auto r = manager->make_instance(); !r) return std::unexpected(r.error());
  return manager;
}

}  // namespace sandbox
