// CgroupHost: which cgroup hierarchies are mounted and where this process sits in each.
#include <array>
#include <cerrno>
#include <string>
#include <vector>

#include "sandbox/cgroup.hpp"
#include "sandbox/cgroup_files.hpp"

namespace sandbox {

namespace {

// v1 controller names; anything else in a cgroup mount's options (rw, xattr, name=systemd,
// clone_children, ...) is not a controller.
constexpr std::array<std::string_view, 15> kV1Controllers = {
    "cpuset",     "cpu",      "cpuacct", "blkio", "memory", "devices", "freezer", "net_cls",
    "perf_event", "net_prio", "hugetlb", "pids",  "rdma",   "misc",    "debug"};

bool is_v1_controller(std::string_view s) {
  for (auto c : kV1Controllers)
    if (c == s) return true;
  return false;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t pos = s.find(sep);
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) break;
    s.remove_prefix(pos + 1);
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      auto octal = [](char c) { return c >= '0' && c <= '7'; };
      if (octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
        out.push_back(
            static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

struct Mount {
  std::string root;         // field 4: the path of the hierarchy shown at the mount point
  std::string mount_point;  // field 5
  std::string fstype;
  std::vector<std::string> controllers;  // v1 only
};

std::vector<Mount> cgroup_mounts(std::string_view mountinfo) {
  std::vector<Mount> mounts;
  for (auto line : split(mountinfo, '\n')) {
    auto fields = split(line, ' ');
    size_t sep = 0;
    while (sep < fields.size() && fields[sep] != "-") ++sep;
    if (sep < 5 || sep + 3 > fields.size()) continue;
    std::string_view fstype = fields[sep + 1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    Mount m{unescape(fields[3]), unescape(fields[4]), std::string(fstype), {}};
    if (fstype == "cgroup") {
      for (auto opt : split(fields[sep + 3], ','))
        if (is_v1_controller(opt)) m.controllers.emplace_back(opt);
      if (m.controllers.empty()) continue;  // a named hierarchy such as name=systemd
    }
    mounts.push_back(std::move(m));
  }
  return mounts;
}

// `path` as seen through a mount of the hierarchy whose root is `root`; nullopt when the mount
// does not show it (a container's bind mount of another part of the tree).
std::optional<std::string> relative_to_root(const std::string& path, const std::string& root) {
  if (root == "/") return path;
  if (path == root) return std::string("/");
  if (path.starts_with(root) && path[root.size()] == '/') return path.substr(root.size());
  return std::nullopt;
}

}  // namespace

Result<CgroupHost> CgroupHost::parse(std::string_view mountinfo,
                                     std::string_view proc_self_cgroup) {
  std::map<std::string, std::string> v1_paths;  // controller -> path in its hierarchy
  std::optional<std::string> unified_path;
  for (auto line : split(proc_self_cgroup, '\n')) {
    if (line.empty()) continue;
    size_t a = line.find(':');
    size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos)
      return fail("parse /proc/self/cgroup", EINVAL, std::string(line));
    std::string_view id = line.substr(0, a), ctrls = line.substr(a + 1, b - a - 1),
                     path = line.substr(b + 1);
    if (id == "0" && ctrls.empty()) {
      unified_path = std::string(path);
      continue;
    }
    for (auto c : split(ctrls, ','))
      if (is_v1_controller(c)) v1_paths[std::string(c)] = std::string(path);
  }

  CgroupHost host;
  for (const auto& m : cgroup_mounts(mountinfo)) {
    if (m.fstype == "cgroup2") {
      if (host.unified || !unified_path) continue;
      auto own = relative_to_root(*unified_path, m.root);
      if (!own) {
        cgfs::logger()->warn("cgroup2 mount {} (root {}) does not show our cgroup {}",
                             m.mount_point, m.root, *unified_path);
        continue;
      }
      host.unified = Hierarchy{m.mount_point, *own};
      continue;
    }
    for (const auto& c : m.controllers) {
      auto it = v1_paths.find(c);
      if (it == v1_paths.end() || host.v1.contains(c)) continue;
      auto own = relative_to_root(it->second, m.root);
      if (!own) {
        cgfs::logger()->warn("cgroup mount {} (root {}) does not show our {} cgroup {}",
                             m.mount_point, m.root, c, it->second);
        continue;
      }
      host.v1[c] = Hierarchy{m.mount_point, *own};
    }
  }
  host.unified_has_controllers = host.unified.has_value() && !host.v1.contains("memory");
  return host;
}

Result<CgroupHost> CgroupHost::detect() {
  auto mountinfo = cgfs::read_text("/proc/self/mountinfo");
  if (!mountinfo) return std::unexpected(mountinfo.error());
  auto cgroup = cgfs::read_text("/proc/self/cgroup");
  if (!cgroup) return std::unexpected(cgroup.error());
  auto host = parse(*mountinfo, *cgroup);
  if (host && host->unified_has_controllers) {
    // A cgroup2 mount with no controllers at all is a hybrid host's, used for freeze/kill only.
    auto ctrls = cgfs::read_text(host->unified->mount_point / "cgroup.controllers");
    host->unified_has_controllers = ctrls && ctrls->find_first_not_of(" \n") != std::string::npos;
  }
  return host;
}

std::optional<uint64_t> CgroupHost::memory_limit_bytes() const {
  // The lowest limit on the path from this process's cgroup up to the root: a parent's limit
  // binds its children (and on v2 the daemon may already sit in its own "supervisor" child).
  const Hierarchy* hierarchy = nullptr;
  const char* file = nullptr;
  if (unified && unified_has_controllers) {
    hierarchy = &*unified;
    file = "memory.max";  // "max" (no limit) does not read as a number
  } else if (auto it = v1.find("memory"); it != v1.end()) {
    hierarchy = &it->second;
    file = "memory.limit_in_bytes";
  }
  if (hierarchy == nullptr) return std::nullopt;
  std::optional<uint64_t> lowest;
  std::filesystem::path rel = std::filesystem::path(hierarchy->own_path).relative_path();
  for (;;) {
    if (auto limit = cgfs::read_u64(hierarchy->mount_point / rel / file))
      if (!lowest || *limit < *lowest) lowest = limit;
    if (rel.empty()) break;
    rel = rel.parent_path();
  }
  return lowest;
}

}  // namespace sandbox
