// runtimed-init: PID 1 of every execution environment. Builds the filesystem view when the daemon
// prepares the environment, starts the runtime when it launches it, reaps orphans (so zombies never
// eat the pids limit), forwards SIGTERM to the runtime and reports how the runtime ended.
// Static, single-threaded, and speaking only to the daemon over fd 3 (SOCK_SEQPACKET).
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "sandbox/init_protocol.hpp"

namespace ip = sandbox::init_protocol;

namespace {

constexpr int kCtl = ip::kControlFd;

void send_bytes(const std::string& bytes) {
  while (::send(kCtl, bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

void send_failed(const char* step, int err, const std::string& detail) {
  send_bytes(ip::Writer(ip::MessageType::Failed).str(step).i32(err).str(detail).bytes());
}

// Receives one message and up to `max_fds` passed descriptors.
ssize_t receive(std::vector<char>& buf, std::vector<int>& fds, size_t max_fds) {
  buf.resize(ip::kMaxMessage);
  iovec iov{buf.data(), buf.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * max_fds);
  ssize_t n;
  do {
    n = ::recvmsg(kCtl, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const int* p = reinterpret_cast<const int*>(CMSG_DATA(c));
      for (size_t i = 0; i < count; ++i) fds.push_back(p[i]);
    }
  }
  buf.resize(static_cast<size_t>(n));
  return n;
}

struct StepError {
  const char* step = nullptr;
  int err = 0;
  std::string detail;
};

bool write_file(const std::string& path, const std::string& content, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return false;
  const bool ok =
      ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ::fchmod(fd, mode);
  ::close(fd);
  return ok;
}

bool run_step(const ip::Step& s, const std::string& root, StepError& e) {
  const std::string target = s.target == root ? root : root + s.target;
  e.detail = s.target;
  switch (s.kind) {
    case ip::StepKind::MakeRootPrivate:
      e.step = "make / private";
      return ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
    case ip::StepKind::Tmpfs:
      e.step = "mount tmpfs";
      return ::mount("tmpfs", target.c_str(), "tmpfs", MS_NOSUID | MS_NODEV * (s.target != "/dev"),
                     s.data.c_str()) == 0;
    case ip::StepKind::Mkdir:
      e.step = "mkdir";
      return ::mkdir(target.c_str(), s.mode) == 0 || errno == EEXIST;
    case ip::StepKind::CreateFile: {
      e.step = "create file";
      const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, s.mode);
      if (fd < 0) return false;
      ::close(fd);
      return true;
    }
    case ip::StepKind::BindReadOnly:
    case ip::StepKind::BindWritable: {
      e.step = "bind mount";
      if (::mount(s.source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
        return false;
      }
      unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID;
      if (s.kind == ip::StepKind::BindReadOnly) flags |= MS_RDONLY | MS_NODEV;
      if (s.target == "/tmp") flags |= MS_NODEV;
      e.step = "remount bind";
      return ::mount(nullptr, target.c_str(), nullptr, flags, nullptr) == 0;
    }
    case ip::StepKind::Proc:
      e.step = "mount proc";
      return ::mount("proc", target.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) ==
             0;
    case ip::StepKind::Symlink:
      e.step = "symlink";
      return ::symlink(s.source.c_str(), target.c_str()) == 0;
    case ip::StepKind::WriteFile:
      e.step = "write file";
      return write_file(target, s.data, s.mode);
    case ip::StepKind::RemountReadOnly:
      e.step = "remount read-only";
      return ::mount(nullptr, target.c_str(), nullptr,
                     MS_REMOUNT | MS_RDONLY | MS_NOSUID | (s.target == "/dev" ? MS_NOEXEC : 0),
                     nullptr) == 0;
    case ip::StepKind::PivotRoot: {
      e.step = "pivot_root";
      if (::chdir(root.c_str()) != 0) return false;
      // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only ours.
      if (::syscall(SYS_pivot_root, ".", ".") != 0) return false;
      e.step = "detach old root";
      if (::umount2(".", MNT_DETACH) != 0) return false;
      return ::chdir("/") == 0;
    }
  }
  e.step = "unknown step";
  errno = EINVAL;
  return false;
}

// What the runtime child needs; everything prepared before fork so the child only makes calls.
using LaunchPlan = ip::LaunchMessage;

// Gives up root for good: no capability in any set (bounding and ambient included) and the
// environment's uid/gid. Returns the failed step, or nullptr. The bounding set goes first, while
// CAP_SETPCAP is still effective.
const char* drop_privileges(uid_t uid, gid_t gid) {
  for (int cap = 0; cap <= 63; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return "drop bounding cap";
  }
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (::setgroups(0, nullptr) != 0) return "setgroups";
  if (::setresgid(gid, gid, gid) != 0) return "setresgid";
  // Leaving uid 0 for a non-zero uid in all three ids clears the permitted and effective sets.
  if (::setresuid(uid, uid, uid) != 0) return "setresuid";
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return "no_new_privs";
  return nullptr;
}

// Runs in the forked runtime child. Reports the failing step over `err_fd` and exits 127. A stem
// (stem_fd >= 0) finds the pipe its function's environment will come through at kStemFd.
[[noreturn]] void exec_runtime(const LaunchPlan& p, const std::vector<int>& stdio, int stem_fd,
                               int err_fd, char* const* argv, char* const* envp) {
  // A plain fork of this single-threaded init: allocating here is safe.
  auto die = [&](const char* step) {
    const int err = errno;
    ip::Writer w(ip::MessageType::Failed);
    w.str(step).i32(err).str(argv[0]);
    (void)!::write(err_fd, w.bytes().data(), w.bytes().size());
    ::_exit(127);
  };
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::setsid() < 0) die("setsid");
  for (int i = 0; i < 3; ++i) {
    if (::dup2(stdio[static_cast<size_t>(i)], i) < 0) die("dup2 stdio");
  }
  // dup2 replaces the control socket's copy at fd 3 (close-on-exec anyway) and clears the flag.
  if (stem_fd >= 0 && ::dup2(stem_fd, ip::kStemFd) < 0) die("dup2 stem fd");
  // The init shields itself from the OOM killer; the runtime must not inherit that.
  const int oom = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (oom >= 0) {
    (void)!::write(oom, "0", 1);
    ::close(oom);
  }
  // Every limit explicitly, while CAP_SYS_RESOURCE still lets a hard limit rise above the daemon's.
  for (const auto& l : p.rlimits) {
    if (::setrlimit(static_cast<__rlimit_resource>(l.resource), &l.value) != 0) die("setrlimit");
  }
  if (const char* step = drop_privileges(p.uid, p.gid)) die(step);
  if (::chdir(p.cwd.c_str()) != 0) die("chdir");
  if (!p.seccomp.empty()) {
    sock_fprog prog{static_cast<unsigned short>(p.seccomp.size() / sizeof(sock_filter)),
                    reinterpret_cast<sock_filter*>(const_cast<char*>(p.seccomp.data()))};
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) die("seccomp");
  }
  ::execve(argv[0], argv, envp);
  die("execve");
  ::_exit(127);
}

// The runtime as the init started it.
struct Runtime {
  pid_t pid = -1;
  int stem_fd = -1;  // a stem's end of its environment pipe, until Resume writes it
  uid_t uid = 0;
  gid_t gid = 0;
};

std::vector<char*> c_strings(std::vector<std::string>& v);

// Forks the runtime child and waits until it has exec'd (the close-on-exec pipe's EOF) or said
// which step failed. Sends Failed itself and returns -1 on failure; the stdio fds are closed.
// `stem_read` (or -1) becomes the child's kStemFd.
pid_t start_runtime(LaunchPlan& p, std::vector<int>& stdio, int stem_read,
                    const std::function<bool(pid_t)>& before_exec_report) {
  auto close_stdio = [&] {
    for (int fd : stdio) ::close(fd);
    stdio.clear();
  };
  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0) {
    const int err = errno;
    close_stdio();
    send_failed("pipe", err, "");
    return -1;
  }
  auto argv = c_strings(p.argv);
  auto envp = c_strings(p.env);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(errpipe[0]);
    exec_runtime(p, stdio, stem_read, errpipe[1], argv.data(), envp.data());
  }
  ::close(errpipe[1]);
  close_stdio();
  if (pid < 0) {
    ::close(errpipe[0]);
    send_failed("fork runtime", errno, "");
    return -1;
  }
  if (!before_exec_report(pid)) {
    ::close(errpipe[0]);
    return -1;
  }
  char report[512];
  ssize_t n;
  do {
    n = ::read(errpipe[0], report, sizeof report);
  } while (n < 0 && errno == EINTR);
  ::close(errpipe[0]);
  if (n > 0) {
    send_bytes(std::string(report, static_cast<size_t>(n)));
    return -1;
  }
  return pid;
}

// Setup is over: what is left (reaping, forwarding SIGTERM to the runtime, reporting its end)
// needs no privilege once the init shares the runtime's uid. Not dumpable, so the runtime cannot
// reach the init's memory or descriptors through /proc/1 (ptrace, kcmp, pidfd_getfd are refused
// by seccomp as well). Changing the effective uid clears the parent-death signal: armed again (the
// control socket's EOF ends the init too when the daemon dies). On failure the runtime is killed.
bool give_up_init_privileges(pid_t runtime, uid_t uid, gid_t gid) {
  const char* step = drop_privileges(uid, gid);
  if (step == nullptr && ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 &&
      ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0)
    return true;
  const int err = errno;
  ::kill(runtime, SIGKILL);
  send_failed(step != nullptr ? step : "not dumpable", err, "runtimed-init");
  return false;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

int main() {
  // Signals come through a signalfd so one poll loop sees them with the control socket.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  ::prctl(PR_SET_NAME, "runtimed-init", 0, 0, 0);
  // Only the control socket crosses into the sandbox; nothing the daemon leaked may reach the
  // runtime.
  ::close_range(4, ~0U, 0);
  ::fcntl(kCtl, F_SETFD, FD_CLOEXEC);
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  {
    const int oom = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (oom >= 0) {
      (void)!::write(oom, "-1000", 5);
      ::close(oom);
    }
  }

  std::vector<char> buf;
  std::vector<int> fds;
  Runtime runtime;
  bool reported = false;
  std::string root;  // the staging root built at Setup

  for (;;) {
    pollfd pfds[2] = {{kCtl, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (::poll(pfds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 111;
    }
    if (pfds[1].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
          if (runtime.pid > 0) ::kill(runtime.pid, static_cast<int>(si.ssi_signo));
        }
      }
      // Reap everything: the runtime and any orphan reparented to us.
      int status = 0;
      pid_t pid;
      while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == runtime.pid && !reported) {
          send_bytes(ip::Writer(ip::MessageType::Exited).i32(status).bytes());
          reported = true;
          // The environment ends with its runtime; exiting as PID 1 kills what is left.
          return 0;
        }
      }
    }
    if (pfds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      fds.clear();
      const ssize_t n = receive(buf, fds, 8);
      if (n <= 0) return 0;  // the daemon went away: PID 1 exits, the kernel kills the rest
      ip::Reader r(buf.data(), buf.size());
      const auto type = static_cast<ip::MessageType>(r.u32());
      if (type == ip::MessageType::Setup) {
        ip::SetupMessage setup;
        if (!ip::decode_setup(r, setup)) {
          send_failed("decode setup", EINVAL, "");
          continue;
        }
        root = setup.root;
        StepError e;
        bool ok = true;
        for (const ip::Step& step : setup.steps) {
          if (!run_step(step, root, e)) {
            send_failed(e.step, errno, e.detail);
            ok = false;
            break;
          }
        }
        if (ok) send_bytes(ip::Writer(ip::MessageType::Ready).bytes());
      } else if (type == ip::MessageType::Launch || type == ip::MessageType::Prestart) {
        const bool stem = type == ip::MessageType::Prestart;
        LaunchPlan p;
        const bool decoded = ip::decode_launch(r, p);
        const bool has_runtime_dir = p.has_runtime_dir;
        // fds: stdin, stdout, stderr, code tree (not for a stem), [runtime tree], [/opt tree]
        // (detached mounts from open_tree)
        auto close_fds = [&] {
          for (int fd : fds) ::close(fd);
          fds.clear();
        };
        const size_t want = (stem ? 3 : 4) + (has_runtime_dir ? 1 : 0) + (p.has_opt_dir ? 1 : 0);
        // A stem has its runtime's tree and nothing of a function's.
        const bool shape_ok = !stem || (has_runtime_dir && !p.has_opt_dir);
        if (!decoded || !shape_ok || fds.size() != want || runtime.pid > 0) {
          close_fds();
          send_failed(stem ? "decode prestart" : "decode launch", EINVAL, "");
          continue;
        }
        auto attach = [&](int tree, const char* target) {
          if (::move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) == 0) return true;
          const int err = errno;
          close_fds();
          send_failed("move_mount", err, target);
          return false;
        };
        size_t next = 3;
        if (!stem && !attach(fds[next++], "/var/task")) continue;
        if (has_runtime_dir && !attach(fds[next++], "/var/runtime")) continue;
        if (p.has_opt_dir && !attach(fds[next++], "/opt")) continue;
        for (size_t i = 3; i < fds.size(); ++i) ::close(fds[i]);
        fds.resize(3);
        if (!stem && !p.hostname.empty() &&
            ::sethostname(p.hostname.data(), p.hostname.size()) != 0) {
          const int err = errno;
          close_fds();
          send_failed("sethostname", err, p.hostname);
          continue;
        }
        // A stem's environment pipe, above the stdio numbers its child dup2s onto.
        int stem_pipe[2] = {-1, -1};
        if (stem) {
          int raw[2];
          if (::pipe2(raw, O_CLOEXEC) != 0) {
            const int err = errno;
            close_fds();
            send_failed("pipe", err, "stem");
            continue;
          }
          stem_pipe[0] = ::fcntl(raw[0], F_DUPFD_CLOEXEC, 10);
          stem_pipe[1] = ::fcntl(raw[1], F_DUPFD_CLOEXEC, 10);
          ::close(raw[0]);
          ::close(raw[1]);
          if (stem_pipe[0] < 0 || stem_pipe[1] < 0) {
            for (int fd : stem_pipe)
              if (fd >= 0) ::close(fd);
            close_fds();
            send_failed("pipe", EMFILE, "stem");
            continue;
          }
        }
        // A launched runtime's init gives up root before the runtime can run function code; a
        // stem's keeps it until Resume has bound the code, and the stem runs only the runtime's
        // own bootstrap until then (it waits on kStemFd).
        const pid_t pid = start_runtime(p, fds, stem_pipe[0], [&](pid_t started) {
          return stem || give_up_init_privileges(started, p.uid, p.gid);
        });
        if (stem_pipe[0] >= 0) ::close(stem_pipe[0]);
        if (pid < 0) {
          if (stem_pipe[1] >= 0) ::close(stem_pipe[1]);
          continue;
        }
        runtime = Runtime{pid, stem_pipe[1], p.uid, p.gid};
        send_bytes(ip::Writer(ip::MessageType::Started).u32(static_cast<uint32_t>(pid)).bytes());
      } else if (type == ip::MessageType::Resume) {
        ip::ResumeMessage m;
        const bool decoded = ip::decode_resume(r, m);
        auto close_fds = [&] {
          for (int fd : fds) ::close(fd);
          fds.clear();
        };
        if (!decoded || runtime.stem_fd < 0 || fds.size() != (m.has_opt_dir ? 2u : 1u)) {
          close_fds();
          send_failed("decode resume", EINVAL, "");
          continue;
        }
        if (::move_mount(fds[0], "", AT_FDCWD, "/var/task", MOVE_MOUNT_F_EMPTY_PATH) != 0 ||
            (m.has_opt_dir &&
             ::move_mount(fds[1], "", AT_FDCWD, "/opt", MOVE_MOUNT_F_EMPTY_PATH) != 0)) {
          const int err = errno;
          close_fds();
          send_failed("move_mount", err, "/var/task or /opt");
          continue;
        }
        close_fds();
        if (!m.hostname.empty() && ::sethostname(m.hostname.data(), m.hostname.size()) != 0) {
          send_failed("sethostname", errno, m.hostname);
          continue;
        }
        if (!give_up_init_privileges(runtime.pid, runtime.uid, runtime.gid)) continue;
        // The environment, NUL-separated, then EOF: the stem reads until the end.
        std::string block;
        for (const auto& entry : m.env) block.append(entry).push_back('\0');
        size_t sent = 0;
        while (sent < block.size()) {
          const ssize_t n = ::write(runtime.stem_fd, block.data() + sent, block.size() - sent);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;
          sent += static_cast<size_t>(n);
        }
        ::close(runtime.stem_fd);
        runtime.stem_fd = -1;
        if (sent != block.size()) {
          send_failed("write stem environment", errno, "");
          continue;
        }
        send_bytes(
            ip::Writer(ip::MessageType::Started).u32(static_cast<uint32_t>(runtime.pid)).bytes());
      } else if (type == ip::MessageType::Terminate) {
        if (runtime.pid > 0) ::kill(runtime.pid, SIGTERM);
      }
    }
  }
}
