// The plan of an environment's filesystem view: which host directories appear read-only, what is
// generated, where /tmp comes from. Pure data built in the daemon; runtimed-init executes it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "sandbox/init_protocol.hpp"

namespace sandbox {

struct FilesystemViewOptions {
  std::filesystem::path staging_root;  // empty host directory the init mounts the new root on
  std::filesystem::path scratch_dir;   // host mount point of the environment's /tmp
  // sbx_user1051's ids: Lambda's 993/990 here, the environment's own uid in SandboxHost.
  uid_t sandbox_uid = 993;
  gid_t sandbox_gid = 990;
  // Host paths offered read-only, when they exist (symlinked ones are recreated as symlinks).
  std::vector<std::string> system_dirs = {"/usr",   "/bin",   "/sbin",  "/lib",
                                          "/lib32", "/lib64", "/libx32"};
  // /etc entries python3, node and TLS clients need.
  std::vector<std::string> etc_entries = {
      "/etc/ld.so.cache",   "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
      "/etc/nsswitch.conf", "/etc/hosts",      "/etc/ssl",          "/etc/ca-certificates",
      "/etc/alternatives",  "/etc/mime.types", "/etc/protocols",    "/etc/services",
      "/etc/python3",       "/etc/python3.11", "/etc/python3.12",   "/etc/python3.13",
      "/etc/gai.conf",      "/etc/host.conf"};
  // /etc/resolv.conf's text (NetworkHost's, from the host's); empty without networking.
  std::string resolv_conf;
  std::vector<std::string> dev_nodes = {"null", "zero", "full", "random", "urandom"};
};

// Filesystem queries, replaceable in unit tests.
struct HostFilesystem {
  std::function<bool(const std::string&)> exists;  // lstat succeeds
  std::function<bool(const std::string&)> is_symlink;
  std::function<bool(const std::string&)> is_directory;  // follows symlinks
  std::function<std::string(const std::string&)> read_link;
  static HostFilesystem real();
};

// The steps run once at prepare() by the init inside its own mount namespace, ending with the
// pivot into the new root. /var/task and /var/runtime are left as empty mount points that launch
// fills with detached mounts of the code and runtime directories.
std::vector<init_protocol::Step> plan_filesystem_view(const FilesystemViewOptions& options,
                                                      const HostFilesystem& host);

// The generated /etc/passwd and /etc/group (root and the sandbox user).
std::string generated_passwd(uid_t uid, gid_t gid);
std::string generated_group(gid_t gid);

}  // namespace sandbox
