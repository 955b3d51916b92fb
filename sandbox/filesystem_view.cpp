// Builds the filesystem-view plan (see filesystem_view.hpp).
#include "sandbox/filesystem_view.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <string>

namespace sandbox {

using init_protocol::Step;
using init_protocol::StepKind;

HostFilesystem HostFilesystem::real() {
  HostFilesystem fs;
  fs.exists = [](const std::string& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0;
  };
  fs.is_symlink = [](const std::string& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
  };
  fs.is_directory = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  };
  fs.read_link = [](const std::string& p) {
    std::string buf(4096, '\0');
    const ssize_t n = ::readlink(p.c_str(), buf.data(), buf.size());
    buf.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return buf;
  };
  return fs;
}

std::string generated_passwd(uid_t uid, gid_t gid) {
  return "root:x:0:0:root:/root:/usr/sbin/nologin\n"
         "sbx_user1051:x:" +
         std::to_string(uid) + ":" + std::to_string(gid) +
         "::/home/sbx_user1051:/usr/sbin/nologin\n"
         "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
}

std::string generated_group(gid_t gid) {
  return "root:x:0:\nsbx_user1051:x:" + std::to_string(gid) + ":\nnogroup:x:65534:\n";
}

std::vector<Step> plan_filesystem_view(const FilesystemViewOptions& o, const HostFilesystem& host) {
  std::vector<Step> steps;
  auto add = [&](StepKind kind, std::string source, std::string target, std::string data = {},
                 uint32_t mode = 0) {
    steps.push_back(Step{kind, std::move(source), std::move(target), std::move(data), mode});
  };
  const std::string root = o.staging_root.string();

  // Nothing we mount may propagate back to the host.
  add(StepKind::MakeRootPrivate, "", "/");
  // The root itself: a small tmpfs holding mount points and generated files, read-only at the end.
  add(StepKind::Tmpfs, "", root, "size=1m,nr_inodes=4096,mode=0755", 0755);

  for (const auto& dir : {"/etc", "/var", "/var/task", "/var/runtime", "/opt", "/proc", "/dev",
                          "/tmp", "/home", "/root"}) {
    add(StepKind::Mkdir, "", dir, "", 0755);
  }

  for (const auto& dir : o.system_dirs) {
    if (!host.exists(dir)) continue;
    if (host.is_symlink(dir)) {
      add(StepKind::Symlink, host.read_link(dir), dir);
    } else if (host.is_directory(dir)) {
      add(StepKind::Mkdir, "", dir, "", 0755);
      add(StepKind::BindReadOnly, dir, dir);
    }
  }

  for (const auto& entry : o.etc_entries) {
    if (!host.exists(entry)) continue;
    if (host.is_symlink(entry) && !host.is_directory(entry)) {
      // e.g. /etc/localtime -> /usr/share/zoneinfo/...: the target is inside /usr.
      add(StepKind::Symlink, host.read_link(entry), entry);
    } else if (host.is_directory(entry)) {
      add(StepKind::Mkdir, "", entry, "", 0755);
      add(StepKind::BindReadOnly, entry, entry);
    } else {
      add(StepKind::CreateFile, "", entry, "", 0644);
      add(StepKind::BindReadOnly, entry, entry);
    }
  }
  add(StepKind::WriteFile, "", "/etc/passwd", generated_passwd(o.sandbox_uid, o.sandbox_gid), 0644);
  add(StepKind::WriteFile, "", "/etc/group", generated_group(o.sandbox_gid), 0644);
  add(StepKind::WriteFile, "", "/etc/resolv.conf", o.resolv_conf, 0644);
  add(StepKind::Mkdir, "", "/home/sbx_user1051", "", 0755);

  // A minimal /dev: its own tmpfs with the host's harmless character devices bound in.
  add(StepKind::Tmpfs, "", "/dev", "size=64k,nr_inodes=64,mode=0755", 0755);
  for (const auto& node : o.dev_nodes) {
    const std::string path = "/dev/" + node;
    if (!host.exists(path)) continue;
    add(StepKind::CreateFile, "", path, "", 0666);
    add(StepKind::BindWritable, path, path);
  }
  add(StepKind::Symlink, "/proc/self/fd", "/dev/fd");
  add(StepKind::Symlink, "/proc/self/fd/0", "/dev/stdin");
  add(StepKind::Symlink, "/proc/self/fd/1", "/dev/stdout");
  add(StepKind::Symlink, "/proc/self/fd/2", "/dev/stderr");
  add(StepKind::RemountReadOnly, "", "/dev");

  add(StepKind::Proc, "", "/proc");
  add(StepKind::BindWritable, o.scratch_dir.string(), "/tmp");

  add(StepKind::RemountReadOnly, "", root);
  // Pivoting here keeps launch() to two move_mount calls: the code arrives as a detached mount
  // (open_tree in the daemon), which, unlike a path, can cross into this mount namespace.
  add(StepKind::PivotRoot, "", root);
  return steps;
}

}  // namespace sandbox
