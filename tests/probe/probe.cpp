// rt-probe: a small static program the integration tests and benchmarks run inside environments.
// Each verb tries one thing from inside and prints `key=value` lines.
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

void kv(const char* key, long long value) { std::printf("%s=%lld\n", key, value); }
void kvs(const char* key, const std::string& value) { std::printf("%s=%s\n", key, value.c_str()); }

std::string read_file(const char* path) {
  std::string out;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

std::string status_field(const char* name) {
  const std::string status = read_file("/proc/self/status");
  const std::string key = std::string(name) + ":";
  auto pos = status.find(key);
  if (pos == std::string::npos) return "";
  auto end = status.find('\n', pos);
  std::string v = status.substr(pos + key.size(), end - pos - key.size());
  v.erase(0, v.find_first_not_of(" \t"));
  return v;
}

std::string ns_link(const char* ns) {
  char buf[64] = {};
  const std::string path = std::string("/proc/self/ns/") + ns;
  if (::readlink(path.c_str(), buf, sizeof buf - 1) < 0) return "";
  return buf;
}

int errno_of(bool ok) { return ok ? 0 : errno; }

int info() {
  kv("pid", ::getpid());
  kv("uid", ::getuid());
  kv("gid", ::getgid());
  kv("euid", ::geteuid());
  for (const char* ns : {"pid", "mnt", "net", "ipc", "uts"}) {
    kvs((std::string("ns_") + ns).c_str(), ns_link(ns));
  }
  kvs("seccomp", status_field("Seccomp"));
  kvs("no_new_privs", status_field("NoNewPrivs"));
  kvs("cap_eff", status_field("CapEff"));
  kvs("cap_bnd", status_field("CapBnd"));
  kv("sid_is_self", ::getsid(0) == ::getpid());
  kv("tty_open_errno", errno_of(::open("/dev/tty", O_RDWR) >= 0));
  // Processes visible in /proc.
  int procs = 0;
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] >= '0' && e->d_name[0] <= '9') ++procs;
    }
    ::closedir(d);
  }
  kv("visible_processes", procs);
  // Interfaces.
  std::string names;
  if (struct if_nameindex* ifs = ::if_nameindex()) {
    for (auto* i = ifs; i->if_index != 0; ++i)
      names += std::string(names.empty() ? "" : ",") + i->if_name;
    ::if_freenameindex(ifs);
  }
  kvs("interfaces", names);
  // Read-only paths.
  for (const char* p : {"/var/task/probe-write", "/usr/probe-write", "/etc/probe-write",
                        "/probe-write", "/opt/probe-write", "/tmp/probe-write"}) {
    const int fd = ::open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    kv((std::string("write_errno:") + p).c_str(), fd >= 0 ? 0 : errno);
    if (fd >= 0) {
      ::close(fd);
      ::unlink(p);
    }
  }
  struct stat st {};
  kv("host_root_marker_visible", ::stat("/root/.bashrc", &st) == 0 || ::stat("/work", &st) == 0);
  kvs("hostname", [] {
    char h[256] = {};
    ::gethostname(h, sizeof h - 1);
    return std::string(h);
  }());
  kv("nofile_limit", [] { return static_cast<long long>(::sysconf(_SC_OPEN_MAX)); }());
  return 0;
}

int seccomp_probes() {
  kv("unshare_user_errno", errno_of(::unshare(CLONE_NEWUSER) == 0));
  kv("ptrace_traceme_errno", errno_of(::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) == 0));
  kv("keyctl_errno",
     errno_of(::syscall(SYS_keyctl, 0 /*KEYCTL_GET_KEYRING_ID*/, -3 /*session*/, 1) >= 0));
  perf_event_attr attr{};
  attr.type = PERF_TYPE_SOFTWARE;
  attr.size = sizeof attr;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  kv("perf_event_open_errno", errno_of(::syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0) >= 0));
  kv("clone3_errno", errno_of(::syscall(SYS_clone3, nullptr, 0) >= 0));
  kv("mount_errno", errno_of(::syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, nullptr) == 0));
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  kv("fork_ok", child > 0);
  if (child > 0) ::waitpid(child, nullptr, 0);
  kvs("seccomp", status_field("Seccomp"));
  return 0;
}

// What a default-deny filter must refuse, each as `<name>_errno` (0: it worked).
int refusals() {
  auto call = [](long rc) { return rc < 0 ? errno : 0; };
  auto sock = [&](int family, int type, int protocol) {
    const int fd = ::socket(family, type | SOCK_CLOEXEC, protocol);
    if (fd >= 0) ::close(fd);
    return fd < 0 ? errno : 0;
  };
  constexpr int kAfVsock = 40;
  kv("socket_vsock_errno", sock(kAfVsock, SOCK_STREAM, 0));
  kv("socket_packet_errno", sock(AF_PACKET, SOCK_RAW, 0));
  kv("socket_alg_errno", sock(AF_ALG, SOCK_SEQPACKET, 0));
  kv("socket_netlink_audit_errno", sock(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT));
  kv("socket_netlink_route_errno", sock(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
  kv("socket_unix_errno", sock(AF_UNIX, SOCK_STREAM, 0));
  kv("socket_inet6_errno", sock(AF_INET6, SOCK_DGRAM, 0));
  // The kernel reads the family as an int: high bits must not smuggle one past the filter.
  kv("socket_vsock_high_bits_errno",
     call(::syscall(SYS_socket, (1L << 32) | kAfVsock, SOCK_STREAM, 0)));
  int sv[2];
  kv("socketpair_vsock_errno", call(::socketpair(kAfVsock, SOCK_STREAM, 0, sv)));
  unsigned char params[120] = {};  // struct io_uring_params
  kv("io_uring_setup_errno", call(::syscall(SYS_io_uring_setup, 1, params)));
  struct {
    unsigned int bytes;
    int type;
    unsigned char handle[128];
  } fh{128, 0, {}};
  int mount_id = 0;
  kv("name_to_handle_at_errno",
     call(::syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh, &mount_id, 0)));
  constexpr long kOpenTreeAttr = 467;  // Linux 6.15
  kv("open_tree_attr_errno", call(::syscall(kOpenTreeAttr, AT_FDCWD, "/tmp", 1, nullptr, 0)));
  char ldt[16];
  kv("modify_ldt_errno", call(::syscall(SYS_modify_ldt, 0, ldt, sizeof ldt)));
  kv("personality_no_randomize_errno", call(::syscall(SYS_personality, ADDR_NO_RANDOMIZE)));
  kv("personality_query_errno", call(::syscall(SYS_personality, 0xffffffffUL)));
  kv("fanotify_init_errno", call(::syscall(SYS_fanotify_init, 0, 0)));
  kv("fanotify_mark_errno", call(::syscall(SYS_fanotify_mark, 0, 0, 0, AT_FDCWD, "/")));
  kv("memfd_secret_errno", call(::syscall(SYS_memfd_secret, 0)));
  const long self = ::syscall(SYS_pidfd_open, ::getpid(), 0);
  kv("pidfd_getfd_errno", call(::syscall(SYS_pidfd_getfd, self, 0, 0)));
  kv("kcmp_errno", call(::syscall(SYS_kcmp, ::getpid(), ::getpid(), 0 /*KCMP_FILE*/, 0, 0)));
  kv("clone3_errno", call(::syscall(SYS_clone3, nullptr, 0)));
  kv("unknown_syscall_errno", call(::syscall(500)));
  char c = 'x';
  kv("ioctl_tiocsti_errno", call(::syscall(SYS_ioctl, 0, TIOCSTI, &c)));
  kv("ioctl_tiocsti_high_bits_errno", call(::syscall(SYS_ioctl, 0, (1L << 32) | TIOCSTI, &c)));
  kv("fork_errno", [] {
    const pid_t p = ::fork();
    if (p == 0) ::_exit(0);
    if (p < 0) return errno;
    ::waitpid(p, nullptr, 0);
    return 0;
  }());
  return 0;
}

// The capability sets of this process and of the init (PID 1), and what the init exposes.
int caps() {
  for (const char* set : {"CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh"}) {
    kvs((std::string("self_") + set).c_str(), status_field(set));
  }
  const std::string init = read_file("/proc/1/status");
  auto field = [&](const std::string& name) {
    auto pos = init.find("\n" + name + ":");
    if (pos == std::string::npos) return std::string();
    pos += name.size() + 2;
    auto end = init.find('\n', pos);
    std::string v = init.substr(pos, end - pos);
    v.erase(0, v.find_first_not_of(" \t"));
    return v;
  };
  for (const char* set : {"CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh", "NoNewPrivs"}) {
    kvs((std::string("init_") + set).c_str(), field(set));
  }
  kvs("init_Uid", field("Uid"));
  kvs("self_Uid", status_field("Uid"));
  kv("init_environ_errno", errno_of(::open("/proc/1/environ", O_RDONLY | O_CLOEXEC) >= 0));
  kv("init_fd_dir_errno", errno_of(::open("/proc/1/fd/3", O_RDONLY | O_CLOEXEC) >= 0));
  return 0;
}

int rlimits() {
  const std::pair<const char*, int> limits[] = {
      {"nofile", RLIMIT_NOFILE},     {"nproc", RLIMIT_NPROC},     {"core", RLIMIT_CORE},
      {"stack", RLIMIT_STACK},       {"memlock", RLIMIT_MEMLOCK}, {"cpu", RLIMIT_CPU},
      {"fsize", RLIMIT_FSIZE},       {"as", RLIMIT_AS},           {"sigpending", RLIMIT_SIGPENDING},
      {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},       {"rtprio", RLIMIT_RTPRIO}};
  for (const auto& [name, resource] : limits) {
    rlimit l{};
    ::getrlimit(resource, &l);
    // -1 for unlimited.
    kv((std::string("rlimit_") + name + "_soft").c_str(), static_cast<long long>(l.rlim_cur));
    kv((std::string("rlimit_") + name + "_hard").c_str(), static_cast<long long>(l.rlim_max));
  }
  return 0;
}

// Holds as many inotify instances as this user may have (fs.inotify.max_user_instances) for
// `seconds`, after saying how many it got.
int inotify_hold(long long seconds) {
  const long long max = std::atoll(read_file("/proc/sys/fs/inotify/max_user_instances").c_str());
  long long held = 0;
  int err = 0;
  for (; held < max; ++held) {
    if (::inotify_init1(IN_CLOEXEC) < 0) {
      err = errno;
      break;
    }
  }
  kv("max_user_instances", max);
  kv("held", held);
  kv("hold_errno", err);
  std::fflush(stdout);
  ::sleep(static_cast<unsigned>(seconds));
  return 0;
}

// Holds 2,000 pipes (four processes of 500: RLIMIT_NOFILE is 1024) for `seconds`: 32,000 pages
// of pipe buffers, past fs.pipe-user-pages-soft (16,384), after which the kernel gives this
// user's new pipes the minimum buffer.
int pipe_hold(long long seconds) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return 1;
  auto hold = [] {
    int held = 0;
    for (int p[2]; held < 500 && ::pipe2(p, O_CLOEXEC) == 0; ++held) {
    }
    return held;
  };
  for (int i = 0; i < 3; ++i) {
    if (::fork() == 0) {
      char held = static_cast<char>(hold() / 10);
      (void)!::write(ready[1], &held, 1);
      ::sleep(static_cast<unsigned>(seconds));
      ::_exit(0);
    }
  }
  long long held = hold();
  for (int i = 0; i < 3; ++i) {
    char c = 0;
    if (::read(ready[0], &c, 1) == 1) held += c * 10;
  }
  int p[2];
  long long own = ::pipe2(p, O_CLOEXEC) == 0 ? ::fcntl(p[0], F_GETPIPE_SZ) : -errno;
  kv("pipes_held", held);
  kv("own_new_pipe_size", own);
  std::fflush(stdout);
  ::sleep(static_cast<unsigned>(seconds));
  return 0;
}

int write_tmp(long long mb) {
  const int fd = ::open("/tmp/fill", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    kv("open_errno", errno);
    return 1;
  }
  std::vector<char> chunk(1 << 20, 'x');
  long long written = 0;
  int err = 0;
  while (written < mb * (1LL << 20)) {
    const ssize_t n = ::write(fd, chunk.data(), chunk.size());
    if (n < 0) {
      err = errno;
      break;
    }
    written += n;
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  kv("written_mb", written >> 20);
  kv("write_errno", err);
  return 0;
}

int memhog(long long mb) {
  std::vector<char*> blocks;
  for (long long i = 0; i < mb; ++i) {
    char* p = static_cast<char*>(std::malloc(1 << 20));
    if (p == nullptr) return 3;
    std::memset(p, 1, 1 << 20);
    blocks.push_back(p);
  }
  kv("allocated_mb", mb);
  return 0;
}

int forkbomb() {
  int forked = 0;
  int err = 0;
  for (int i = 0; i < 100000; ++i) {
    const pid_t p = ::fork();
    if (p < 0) {
      err = errno;
      break;
    }
    if (p == 0) {
      ::pause();
      ::_exit(0);
    }
    ++forked;
  }
  kv("forked", forked);
  kv("fork_errno", err);
  std::fflush(stdout);
  return 0;  // the environment ends with us: the init kills the rest
}

int connect_host(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  kv("connect_errno", errno_of(::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0));
  // And any non-loopback address (the host's default route would be needed).
  const int t = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  a.sin_addr.s_addr = inet_addr("10.0.2.2");
  kv("connect_external_errno",
     errno_of(::connect(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0));
  return 0;
}

double now_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

int spin(double seconds) {
  // Pinned to CPU 0 so two environments compete for one core.
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  ::sched_setaffinity(0, sizeof one, &one);
  const double end = now_seconds() + seconds;
  long long loops = 0;
  volatile long long sink = 0;
  while (now_seconds() < end) {
    for (int i = 0; i < 10000; ++i) sink = sink + i;
    ++loops;
  }
  kv("loops", loops);
  return 0;
}

int orphans(int n) {
  for (int i = 0; i < n; ++i) {
    const pid_t p = ::fork();
    if (p == 0) {
      if (::fork() == 0) ::_exit(0);  // the grandchild becomes an orphan of the init
      ::_exit(0);
    }
    ::waitpid(p, nullptr, 0);
  }
  ::usleep(300 * 1000);
  int zombies = 0;
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      const std::string stat = read_file((std::string("/proc/") + e->d_name + "/stat").c_str());
      const auto close = stat.rfind(')');
      if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z')
        ++zombies;
    }
    ::closedir(d);
  }
  kv("zombies", zombies);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::string verb = argc > 1 ? argv[1] : "first-byte";
  const long long arg = argc > 2 ? std::atoll(argv[2]) : 0;
  if (verb == "first-byte") {
    (void)!::write(1, "x", 1);
    return 0;
  }
  if (verb == "info") return info();
  if (verb == "seccomp") return seccomp_probes();
  if (verb == "refusals") return refusals();
  if (verb == "caps") return caps();
  if (verb == "rlimits") return rlimits();
  if (verb == "inotify-hold") return inotify_hold(arg);
  if (verb == "pipe-hold") return pipe_hold(arg);
  if (verb == "pipe-size") {
    int p[2];
    kv("pipe_size", ::pipe2(p, O_CLOEXEC) == 0 ? ::fcntl(p[0], F_GETPIPE_SZ) : -errno);
    return 0;
  }
  if (verb == "inotify-try") {
    kv("inotify_errno", errno_of(::inotify_init1(IN_CLOEXEC) >= 0));
    return 0;
  }
  if (verb == "write-tmp") return write_tmp(arg);
  if (verb == "memhog") return memhog(arg);
  if (verb == "forkbomb") return forkbomb();
  if (verb == "connect") return connect_host(static_cast<int>(arg));
  if (verb == "spin") return spin(static_cast<double>(arg));
  if (verb == "orphans") return orphans(static_cast<int>(arg));
  if (verb == "exit") return static_cast<int>(arg);
  if (verb == "sleep") {
    ::sleep(static_cast<unsigned>(arg));
    return 0;
  }
  if (verb == "kill-self") {
    ::kill(::getpid(), static_cast<int>(arg));
    ::pause();
  }
  std::fprintf(stderr, "rt-probe: unknown verb %s\n", verb.c_str());
  return 2;
}
