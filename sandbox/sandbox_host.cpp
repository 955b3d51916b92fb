// SandboxHost: opens the instance's shared resources and prepares environments (see header).
#include "sandbox/sandbox_host.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/ids.hpp"
#include "sandbox/filesystem_view.hpp"
#include "sandbox/init_protocol.hpp"

namespace sandbox {

namespace ip = init_protocol;

std::string instance_id_for(const std::filesystem::path& state_dir) {
  // FNV-1a: stable across builds, unlike std::hash.
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : state_dir.string()) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "i";
  for (int i = 0; i < 12; ++i) id.push_back(kHex[(h >> (i * 4)) & 0xf]);
  return id;
}

namespace {

// Unmounts (lazily) every mount point below `dir`, read from /proc/self/mountinfo.
void detach_mounts_under(const std::filesystem::path& dir) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  std::vector<std::string> targets;
  const std::string prefix = dir.string() + "/";
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    fields >> id >> parent >> dev >> root >> mount_point;
    if (mount_point.starts_with(prefix)) targets.push_back(mount_point);
  }
  // Deepest first.
  std::sort(targets.rbegin(), targets.rend());
  for (const auto& t : targets) ::umount2(t.c_str(), MNT_DETACH);
}

}  // namespace

Result<std::unique_ptr<SandboxHost>> SandboxHost::open(SandboxOptions options) {
  std::unique_ptr<SandboxHost> host(new SandboxHost());
  std::error_code ec;
  options.state_dir = std::filesystem::absolute(options.state_dir, ec);
  std::filesystem::create_directories(options.state_dir / "envs", ec);
  if (ec) return fail("create state dir", ec.value(), options.state_dir.string());
  // Owner only, including state dirs made by an older runtimed: it holds the functions' code,
  // environment variables (in SQLite) and every environment's /tmp mount.
  for (const auto& dir : {options.state_dir, options.state_dir / "envs"}) {
    if (::chmod(dir.c_str(), 0700) != 0) return fail("chmod state dir", errno, dir.string());
  }
  if (::access(options.init_path.c_str(), X_OK) != 0) {
    return fail("find runtimed-init", errno, options.init_path.string());
  }
  // Leftovers of a previous run of this state dir (a crash): the /tmp mounts were made in the
  // host's namespace and outlive the daemon; detach them (their loop devices auto-clear), then
  // remove the directories.
  detach_mounts_under(options.state_dir / "envs");
  for (const auto& entry : std::filesystem::directory_iterator(options.state_dir / "envs", ec)) {
    std::filesystem::remove_all(entry.path(), ec);
  }
  // Formatted /tmp templates are remade by this binary's mkfs (an upgrade may change it).
  std::filesystem::remove_all(options.state_dir / "disk-templates", ec);
  auto host_cgroups = CgroupHost::detect();
  if (!host_cgroups) return std::unexpected(host_cgroups.error());
  CgroupManager::Options cg;
  cg.parent = options.cgroup_parent;
  cg.instance_id = instance_id_for(options.state_dir);
  cg.state_dir = options.state_dir;
  auto manager = CgroupManager::open(*host_cgroups, cg);
  if (!manager) return std::unexpected(manager.error());
  host->cgroups_ = std::move(*manager);
  auto uids = UidPool::open(options.uids, options.uid_lock_dir);
  if (!uids) return std::unexpected(uids.error());
  host->uids_ = std::move(*uids);
  if (options.network) {
    auto network = NetworkHost::open(*options.network);
    if (!network) return std::unexpected(network.error());
    host->network_ = std::move(*network);
  }
  if (options.seccomp) {
    auto program = build_function_seccomp_program();
    if (!program) return std::unexpected(program.error());
    host->seccomp_ = std::move(*program);
  }
  host->options_ = std::move(options);
  host->spawner_ = std::make_unique<SpawnThread>();
  return host;
}

SandboxHost::~SandboxHost() = default;

Result<std::unique_ptr<Environment>> SandboxHost::prepare(const PrepareOptions& options) {
  return spawner_->run([&] { return prepare_on_spawn_thread(options); });
}

namespace {

// Everything the cloned child needs, prepared before clone: the child only makes system calls.
struct CloneArgs {
  int netns_fd;
  int control_fd;
  int error_fd;
  const char* init_path;
  char* const* argv;
  char* const* envp;
};

struct CloneFailure {
  char step[32];
  int err;
};

int clone_child(void* arg) {
  const auto* a = static_cast<const CloneArgs*>(arg);
  CloneFailure f{};
  auto die = [&](const char* step) {
    f.err = errno;
    std::strncpy(f.step, step, sizeof f.step - 1);
    (void)!::write(a->error_fd, &f, sizeof f);
    ::_exit(127);
  };
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) die("pdeathsig");
  if (::setns(a->netns_fd, CLONE_NEWNET) != 0) die("setns net");
  if (::dup2(a->control_fd, ip::kControlFd) != ip::kControlFd) die("dup2 control");
  ::execve(a->init_path, a->argv, a->envp);
  die("exec runtimed-init");
  return 127;
}

Result<std::string> receive_message(int fd) {
  std::string buf(ip::kMaxMessage, '\0');
  ssize_t n;
  do {
    n = ::recv(fd, buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail("receive from init", errno);
  if (n == 0) return fail("receive from init", EPIPE, "init exited");
  buf.resize(static_cast<size_t>(n));
  return buf;
}

}  // namespace

// Reads an init answer: the expected type, or its Failed report as an Error.
Result<std::string> expect_from_init(int fd, ip::MessageType expected) {
  auto msg = receive_message(fd);
  if (!msg) return msg;
  ip::Reader r(msg->data(), msg->size());
  const auto type = static_cast<ip::MessageType>(r.u32());
  if (type == ip::MessageType::Failed) {
    Error e;
    e.step = r.str();
    e.err = r.i32();
    e.detail = r.str();
    return std::unexpected(e);
  }
  if (type != expected) return fail("unexpected message from init", EPROTO);
  return msg;
}

Result<std::unique_ptr<Environment>> SandboxHost::prepare_on_spawn_thread(
    const PrepareOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<Environment> env(new Environment());
  env->host_ = this;
  env->name_ = "e" + common::random_hex(11);
  env->dir_.path = options_.state_dir / "envs" / env->name_;
  std::error_code ec;
  std::filesystem::create_directories(env->dir_.path / "root", ec);
  if (ec) return fail("create environment dir", ec.value(), env->dir_.path.string());
  // The /tmp mount below it is the function's: no other local user may reach it.
  if (::chmod(env->dir_.path.c_str(), 0700) != 0)
    return fail("chmod environment dir", errno, env->dir_.path.string());
  auto uid = uids_->acquire();
  if (!uid) return std::unexpected(uid.error());
  env->uid_ = std::move(*uid);

  // /tmp first: the init's mount namespace is a copy taken at clone time.
  auto scratch = ScratchDisk::create(
      env->dir_.path / "tmp.img", env->dir_.path / "tmp", options.tmp_mb, options_.tmp_kind,
      options_.disk_templates ? options_.state_dir / "disk-templates" : std::filesystem::path());
  if (!scratch) return std::unexpected(scratch.error());
  env->scratch_.emplace(std::move(*scratch));

  NetNamespace::InsideStep plug_in;
  if (options.network) {
    if (!network_) return fail("prepare a networked environment", ENONET, "networking is off");
    auto address = network_->lease_address();
    if (!address) return std::unexpected(address.error());
    env->address_ = std::move(*address);
    plug_in = [&](int netns_fd) {
      return network_->attach(EnvironmentLink{"rv" + env->name_, env->address_.address()},
                              netns_fd);
    };
  }
  auto net = NetNamespace::create(9001, plug_in);
  if (!net) return std::unexpected(net.error());
  env->net_ = std::move(*net);

  auto cgroup = cgroups_->create(env->name_);
  if (!cgroup) return std::unexpected(cgroup.error());
  env->cgroup_ = std::move(*cgroup);

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return fail("socketpair", errno);
  }
  env->control_.reset(sv[0]);
  UniqueFd child_end(sv[1]);
  int ep[2];
  if (::pipe2(ep, O_CLOEXEC) != 0) return fail("pipe", errno);
  UniqueFd err_read(ep[0]), err_write(ep[1]);

  std::string init_path = options_.init_path.string();
  std::string arg0 = "runtimed-init";
  char* argv[] = {arg0.data(), nullptr};
  char* envp[] = {nullptr};
  CloneArgs args{
      env->net_.ns_fd(), child_end.get(), err_write.get(), init_path.c_str(), argv, envp};
  // A small stack for the vfork-style child: it only makes system calls, then execs.
  static thread_local std::unique_ptr<char[]> stack(new char[64 * 1024]);
  int pidfd = -1;
  const int flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_NEWPID | CLONE_NEWNS |
                    CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
  const pid_t pid = ::clone(clone_child, stack.get() + 64 * 1024, flags, &args, &pidfd);
  if (pid < 0) return fail("clone environment", errno);
  env->init_ = ChildProcess(pid, UniqueFd(pidfd));
  err_write.reset();
  child_end.reset();
  CloneFailure failure{};
  if (::read(err_read.get(), &failure, sizeof failure) == sizeof failure) {
    return fail(failure.step, failure.err, init_path);
  }

  // Attaching costs an RCU grace period when writes are spaced out: it belongs here, not in launch.
  if (auto r = env->cgroup_->attach(pid); !r) return std::unexpected(r.error());

  FilesystemViewOptions view;
  view.staging_root = env->dir_.path / "root";
  view.scratch_dir = env->scratch_->mount_point();
  view.sandbox_uid = env->uid_.uid();
  view.sandbox_gid = env->uid_.gid();
  if (network_) view.resolv_conf = network_->resolv_conf();
  const auto steps = plan_filesystem_view(view, HostFilesystem::real());
  ip::Writer setup(ip::MessageType::Setup);
  setup.str(view.staging_root.string()).u32(static_cast<uint32_t>(steps.size()));
  for (const auto& s : steps) setup.step(s);
  if (::send(env->control_.get(), setup.bytes().data(), setup.bytes().size(), MSG_NOSIGNAL) < 0) {
    return fail("send setup to init", errno);
  }
  if (auto ready = expect_from_init(env->control_.get(), ip::MessageType::Ready); !ready) {
    return std::unexpected(ready.error());
  }
  env->prepare_duration_ = std::chrono::steady_clock::now() - started;
  return env;
}

}  // namespace sandbox
