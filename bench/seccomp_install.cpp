// Benchmark: what installing the function seccomp filter costs a process. Forks N children; each
// times PR_SET_NO_NEW_PRIVS + PR_SET_SECCOMP (as the sandbox init does) and reports it through a
// pipe. Then one child per program times an argument-checked call (ioctl, which runs the filter
// every time) and an unchecked one (getppid, decided by the kernel's action cache). With --compare
// FILE (a raw array of struct sock_filter, e.g. another generator's output or --dump of an older
// build), the two programs alternate child by child in the same run.
#include <fmt/format.h>
#include <linux/filter.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "sandbox/seccomp_policy.hpp"

using namespace bench;

namespace {

// One forked install; its duration in microseconds.
double install_once(const sandbox::SeccompProgram& program) {
  int fds[2];
  if (::pipe(fds) != 0) die("pipe");
  const pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    const auto t0 = Clock::now();
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(1);
    if (sandbox::install_seccomp_program(program) != 0) ::_exit(2);
    const double took = us(Clock::now() - t0);
    ::_exit(::write(fds[1], &took, sizeof took) == sizeof took ? 0 : 3);
  }
  ::close(fds[1]);
  double took = -1;
  const ssize_t n = ::read(fds[0], &took, sizeof took);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (n != sizeof took || !WIFEXITED(status) || WEXITSTATUS(status) != 0) die("install failed");
  return took;
}

// Nanoseconds per call of ioctl(-1, TCGETS) and of getppid() under `program`.
std::pair<double, double> per_call_ns(const sandbox::SeccompProgram& program) {
  int fds[2];
  if (::pipe(fds) != 0) die("pipe");
  const pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(1);
    if (sandbox::install_seccomp_program(program) != 0) ::_exit(2);
    constexpr int kCalls = 200000;
    double ns[2];
    auto t0 = Clock::now();
    for (int i = 0; i < kCalls; ++i) ::syscall(SYS_ioctl, -1, TCGETS, 0);
    ns[0] = us(Clock::now() - t0) * 1000 / kCalls;
    t0 = Clock::now();
    for (int i = 0; i < kCalls; ++i) ::syscall(SYS_getppid);
    ns[1] = us(Clock::now() - t0) * 1000 / kCalls;
    ::_exit(::write(fds[1], ns, sizeof ns) == sizeof ns ? 0 : 3);
  }
  ::close(fds[1]);
  double ns[2] = {-1, -1};
  const ssize_t n = ::read(fds[0], ns, sizeof ns);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (n != sizeof ns || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die("per-call child failed");
  return {ns[0], ns[1]};
}

sandbox::SeccompProgram load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) die("cannot read " + path);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0) die(path + ": not a BPF program");
  sandbox::SeccompProgram program;
  program.instructions.resize(bytes.size() / sizeof(sock_filter));
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(program.instructions.data()));
  return program;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 2000;
  std::string compare, dump;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (a == "--compare" && i + 1 < argc) {
      compare = argv[++i];
    } else if (a == "--dump" && i + 1 < argc) {
      dump = argv[++i];
    } else {
      die("usage: bench_seccomp_install [--runs N] [--compare PROGRAM.bpf] [--dump OUT.bpf]");
    }
  }
  const auto t0 = Clock::now();
  auto built = sandbox::build_function_seccomp_program();
  const double build_ms = ms_since(t0);
  if (!built) die(built.error().to_string());
  if (!dump.empty()) {
    std::ofstream out(dump, std::ios::binary);
    out.write(reinterpret_cast<const char*>(built->instructions.data()),
              static_cast<std::streamsize>(built->instructions.size() * sizeof(sock_filter)));
    if (!out) die("cannot write " + dump);
  }
  std::vector<sandbox::SeccompProgram> programs = {*built};
  std::vector<std::string> names = {"this build"};
  if (!compare.empty()) {
    programs.push_back(load(compare));
    names.push_back(compare);
  }
  std::vector<std::vector<double>> samples(programs.size());
  for (int i = 0; i < runs; ++i) {
    for (size_t p = 0; p < programs.size(); ++p) samples[p].push_back(install_once(programs[p]));
  }
  fmt::print("built in {:.1f} ms\n", build_ms);
  for (size_t p = 0; p < programs.size(); ++p) {
    const Stats s = stats(samples[p]);
    const auto [ioctl_ns, getppid_ns] = per_call_ns(programs[p]);
    fmt::print(
        "{}: {} instructions, install p50 {:.1f} us, p99 {:.1f} us ({} forked installs); "
        "ioctl {:.0f} ns/call, getppid {:.0f} ns/call\n",
        names[p], programs[p].instructions.size(), s.p50, s.p99, runs, ioctl_ns, getppid_ns);
  }
  return 0;
}
