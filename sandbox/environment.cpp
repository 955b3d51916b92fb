// Environment: launch, exit reporting and teardown of one execution environment (see header).
#include "sandbox/environment.hpp"

#include <fcntl.h>
#include <linux/filter.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "sandbox/init_protocol.hpp"
#include "sandbox/sandbox_host.hpp"

namespace sandbox {

namespace ip = init_protocol;

Result<std::string> expect_from_init(int fd, ip::MessageType expected);  // sandbox_host.cpp

int ExitStatus::shell_status() const {
  switch (kind) {
    case Kind::Exited:
      return code;
    case Kind::Signaled:
      return 128 + signal;
    case Kind::OutOfMemory:
    case Kind::Vanished:
      return 128 + SIGKILL;
    case Kind::SetupFailed:
      return 127;
  }
  return 1;
}

std::string ExitStatus::describe() const {
  switch (kind) {
    case Kind::Exited:
      return "exit status " + std::to_string(code);
    case Kind::Signaled: {
      // As Go's os.ProcessState reports it (what Lambda's messages show): "signal: aborted".
      std::string name = ::strsignal(signal);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return "signal: " + name;
    }
    case Kind::OutOfMemory:
      return "out of memory";
    case Kind::SetupFailed:
      return "setup failed: " + setup_error.to_string();
    case Kind::Vanished:
      return "signal: killed";
  }
  return "unknown";
}

std::vector<ResourceLimit> lambda_rlimits() {
  constexpr uint64_t kInf = RLIM_INFINITY;
  return {
      {RLIMIT_NOFILE, 1024, 1024},
      // Counted per user: with a uid per environment, per environment.
      {RLIMIT_NPROC, 1024, 1024},
      {RLIMIT_CORE, 0, 0},
      {RLIMIT_STACK, 8ULL << 20, kInf},
      {RLIMIT_MEMLOCK, 64ULL << 10, 64ULL << 10},
      {RLIMIT_SIGPENDING, 1024, 1024},
      {RLIMIT_MSGQUEUE, 819200, 819200},
      {RLIMIT_NICE, 0, 0},
      {RLIMIT_RTPRIO, 0, 0},
      {RLIMIT_RTTIME, kInf, kInf},
      {RLIMIT_CPU, kInf, kInf},
      {RLIMIT_FSIZE, kInf, kInf},
      {RLIMIT_DATA, kInf, kInf},
      {RLIMIT_RSS, kInf, kInf},
      {RLIMIT_AS, kInf, kInf},
      {RLIMIT_LOCKS, kInf, kInf},
  };
}

namespace {

Result<UniqueFd> detached_read_only_tree(const std::filesystem::path& dir) {
  UniqueFd tree(
      ::open_tree(AT_FDCWD, dir.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  if (!tree) return fail("open_tree", errno, dir.string());
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
    return fail("mount_setattr read-only", errno, dir.string());
  }
  return tree;
}

}  // namespace

Environment::OwnedDir::~OwnedDir() {
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

Environment::~Environment() {
  // Everything in the cgroup dies (the init is PID 1 of its namespace, so killing it is enough,
  // but a cgroup-wide kill also covers a runtime that somehow outlives it); the members then
  // release the cgroup, the namespace, /tmp and the directory in reverse order of creation.
  if (cgroup_) (void)cgroup_->kill_all();
  init_.kill_and_wait();
}

namespace {

// Sends one message with descriptors beside it.
Result<void> send_with_fds(int control, const std::string& bytes, const int* fds, size_t nfds) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  alignas(cmsghdr) char control_buf[CMSG_SPACE(sizeof(int) * 6)]{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (nfds > 0) {
    msg.msg_control = control_buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  if (::sendmsg(control, &msg, MSG_NOSIGNAL) < 0) return fail("send to init", errno);
  return {};
}

// The runtime-start part of Launch and Prestart: argv, env, cwd, ids, rlimits, seccomp.
void write_start(ip::Writer& w, const std::vector<std::string>& argv,
                 const std::vector<std::string>& env, const std::string& cwd, uid_t uid, gid_t gid,
                 const std::vector<ResourceLimit>& rlimits,
                 const std::vector<sock_filter>& program) {
  w.strs(argv).strs(env).str(cwd).u32(uid).u32(gid).u32(static_cast<uint32_t>(rlimits.size()));
  for (const auto& l : rlimits) w.u32(static_cast<uint32_t>(l.resource)).u64(l.soft).u64(l.hard);
  w.str(std::string_view(reinterpret_cast<const char*>(program.data()),
                         program.size() * sizeof(sock_filter)));
}

}  // namespace

Result<void> Environment::start_stem(const StemSpec& spec) {
  if (launched_ || stem_started_) return fail("start stem", EALREADY, name_);
  if (spec.argv.empty() || spec.runtime_dir.empty()) return fail("start stem", EINVAL, name_);
  auto runtime_dir = detached_read_only_tree(spec.runtime_dir);
  if (!runtime_dir) return std::unexpected(runtime_dir.error());
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return fail("pipe", errno, "stem output");
  UniqueFd output_read(out[0]);
  UniqueFd output_write(out[1]);
  // The stem's output may sit unread until its function's log drains it: a roomy pipe.
  ::fcntl(output_read.get(), F_SETPIPE_SZ, 1 << 20);
  ::fcntl(output_read.get(), F_SETFL, O_NONBLOCK);
  UniqueFd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ip::Writer w(ip::MessageType::Prestart);
  w.str("");  // the hostname comes with the function
  write_start(w, spec.argv, spec.env, "/", uid_.uid(), uid_.gid(), spec.rlimits,
              host_->seccomp_program().instructions);
  w.u32(1).u32(0);  // the runtime's tree, no /opt
  const int fds[4] = {dev_null.get(), output_write.get(), output_write.get(), runtime_dir->get()};
  if (auto sent = send_with_fds(control_.get(), w.bytes(), fds, 4); !sent) return sent;
  stem_started_ = true;
  auto started = expect_from_init(control_.get(), ip::MessageType::Started);
  if (!started) {
    exit_ = ExitStatus{ExitStatus::Kind::SetupFailed, 127, 0, started.error()};
    return std::unexpected(started.error());
  }
  stem_output_ = std::move(output_read);
  return {};
}

bool Environment::stem_alive() const {
  if (!stem_started_ || exit_) return false;
  // Anything from the init before Resume (its Exited report, or EOF) means the stem is gone.
  pollfd p{control_.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

Result<void> Environment::launch(const LaunchSpec& spec) {
  if (launched_) return fail("launch", EALREADY, name_);
  if (spec.argv.empty() && !stem_started_) return fail("launch", EINVAL, "empty argv");
  if (auto r = cgroup_->apply(spec.limits); !r) return r;
  oom_kills_at_launch_ = cgroup_->oom_kill_count();

  // Detached, read-only copies of the code and runtime directories: the init attaches them with
  // move_mount, which needs no path in its (already pivoted) mount namespace.
  auto code = detached_read_only_tree(spec.code_dir);
  if (!code) return std::unexpected(code.error());
  UniqueFd opt_dir;
  if (!spec.opt_dir.empty()) {
    auto tree = detached_read_only_tree(spec.opt_dir);
    if (!tree) return std::unexpected(tree.error());
    opt_dir = std::move(*tree);
  }
  if (stem_started_) {
    ip::Writer w(ip::MessageType::Resume);
    w.str(spec.hostname).strs(spec.env).u32(opt_dir ? 1 : 0);
    const int fds[2] = {code->get(), opt_dir.get()};
    if (auto sent = send_with_fds(control_.get(), w.bytes(), fds, opt_dir ? 2 : 1); !sent)
      return sent;
  } else {
    UniqueFd runtime_dir;
    if (!spec.runtime_dir.empty()) {
      auto tree = detached_read_only_tree(spec.runtime_dir);
      if (!tree) return std::unexpected(tree.error());
      runtime_dir = std::move(*tree);
    }
    UniqueFd dev_null;
    int stdin_fd = spec.stdin_fd;
    if (stdin_fd < 0) {
      dev_null.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      stdin_fd = dev_null.get();
    }
    ip::Writer w(ip::MessageType::Launch);
    w.str(spec.hostname);
    write_start(w, spec.argv, spec.env, spec.cwd, uid_.uid(), uid_.gid(), spec.rlimits,
                host_->seccomp_program().instructions);
    w.u32(runtime_dir ? 1 : 0).u32(opt_dir ? 1 : 0);
    // stdin, stdout, stderr, the code, then the optional trees in order.
    int fds[6] = {stdin_fd, spec.stdout_fd, spec.stderr_fd, code->get()};
    size_t nfds = 4;
    if (runtime_dir) fds[nfds++] = runtime_dir.get();
    if (opt_dir) fds[nfds++] = opt_dir.get();
    if (auto sent = send_with_fds(control_.get(), w.bytes(), fds, nfds); !sent) return sent;
  }
  launched_ = true;
  auto started = expect_from_init(control_.get(), ip::MessageType::Started);
  if (!started) {
    exit_ = ExitStatus{ExitStatus::Kind::SetupFailed, 127, 0, started.error()};
    return std::unexpected(started.error());
  }
  return {};
}

ExitStatus Environment::wait_exit() {
  if (exit_) return *exit_;
  ExitStatus status;
  std::string buf(ip::kMaxMessage, '\0');
  bool reported = false;
  for (;;) {
    const ssize_t n = ::recv(control_.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    ip::Reader r(buf.data(), static_cast<size_t>(n));
    if (static_cast<ip::MessageType>(r.u32()) == ip::MessageType::Exited) {
      const int ws = r.i32();
      if (WIFEXITED(ws)) {
        status.kind = ExitStatus::Kind::Exited;
        status.code = WEXITSTATUS(ws);
      } else {
        status.kind = ExitStatus::Kind::Signaled;
        status.signal = WTERMSIG(ws);
      }
      reported = true;
      break;
    }
  }
  if (!reported) status.kind = ExitStatus::Kind::Vanished;
  // A SIGKILL (or an unreported death) while the cgroup's OOM counter moved is the OOM killer's.
  const bool killed =
      !reported || (status.kind == ExitStatus::Kind::Signaled && status.signal == SIGKILL);
  if (killed && cgroup_->oom_kill_count() > oom_kills_at_launch_) {
    status.kind = ExitStatus::Kind::OutOfMemory;
    status.signal = SIGKILL;
  }
  // The environment ends with its runtime. The init, as PID 1, cannot finish exiting until every
  // process of its namespace is gone, so kill them all first rather than wait on a straggler.
  (void)cgroup_->kill_all();
  init_.wait();
  exit_ = status;
  return status;
}

void Environment::terminate() {
  ip::Writer w(ip::MessageType::Terminate);
  (void)::send(control_.get(), w.bytes().data(), w.bytes().size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void Environment::kill() {
  (void)cgroup_->kill_all();
  init_.signal(SIGKILL);
}

}  // namespace sandbox
