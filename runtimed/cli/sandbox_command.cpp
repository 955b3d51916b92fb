// `runtimed sandbox` (see sandbox_command.hpp).
#include "runtimed/cli/sandbox_command.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "runtimed/install_paths.hpp"
#include "sandbox/sandbox_host.hpp"

namespace runtimed {

namespace {

// Removes a temporary state directory at scope exit.
struct TemporaryDir {
  std::filesystem::path path;
  ~TemporaryDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

int run_sandbox_command(const SandboxCommandOptions& o) {
  TemporaryDir temp;
  std::filesystem::path state = o.state_dir;
  if (state.empty()) {
    std::string templ = "/tmp/runtimed-sandbox-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
      std::perror("runtimed sandbox: mkdtemp");
      return 125;
    }
    state = temp.path = templ;
  }
  sandbox::SandboxOptions so;
  so.state_dir = state;
  so.cgroup_parent = o.cgroup_parent;
  so.init_path = runtimed_init_path();
  so.cpu_quota = o.cpu_quota;
  so.tmp_kind =
      o.tmpfs_tmp ? sandbox::ScratchDisk::Kind::Tmpfs : sandbox::ScratchDisk::Kind::LoopExt4;

  // Block the signals we forward before any thread starts, and wait for them on our own thread.
  sigset_t forwarded;
  sigemptyset(&forwarded);
  sigaddset(&forwarded, SIGINT);
  sigaddset(&forwarded, SIGTERM);
  sigaddset(&forwarded, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &forwarded, nullptr);

  auto host = sandbox::SandboxHost::open(so);
  if (!host) {
    std::fprintf(stderr, "runtimed sandbox: %s\n", host.error().to_string().c_str());
    return 125;
  }
  int status = 125;
  {
    auto env = (*host)->prepare(sandbox::PrepareOptions{o.tmp_mb});
    if (!env) {
      std::fprintf(stderr, "runtimed sandbox: prepare: %s\n", env.error().to_string().c_str());
      return 125;
    }
    std::filesystem::path code = o.code_dir;
    if (code.empty()) {
      code = state / "empty-task";
      std::filesystem::create_directories(code);
    }
    sandbox::LaunchSpec spec;
    spec.code_dir = std::filesystem::absolute(code);
    spec.argv = o.command;
    spec.env = {"PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
                "LANG=en_US.UTF-8",
                "TZ=:UTC",
                "LAMBDA_TASK_ROOT=/var/task",
                "LAMBDA_RUNTIME_DIR=/var/runtime",
                "HOME=/tmp"};
    spec.env.insert(spec.env.end(), o.env.begin(), o.env.end());
    spec.limits.memory_mb = o.memory_mb;
    spec.limits.pids_max = o.pids;
    spec.limits.cpu_quota = o.cpu_quota;
    spec.stdin_fd = 0;
    if (auto r = (*env)->launch(spec); !r) {
      std::fprintf(stderr, "runtimed sandbox: launch: %s\n", r.error().to_string().c_str());
      return 125;
    }
    std::atomic<bool> done{false};
    std::thread forwarder([&] {
      timespec tick{0, 100'000'000};
      while (!done) {
        if (sigtimedwait(&forwarded, nullptr, &tick) > 0) (*env)->terminate();
      }
    });
    const auto exit = (*env)->wait_exit();
    done = true;
    forwarder.join();
    if (exit.kind == sandbox::ExitStatus::Kind::SetupFailed) {
      std::fprintf(stderr, "runtimed sandbox: %s\n", exit.describe().c_str());
    } else if (exit.kind == sandbox::ExitStatus::Kind::OutOfMemory) {
      std::fprintf(stderr, "runtimed sandbox: killed: out of memory (limit %llu MB)\n",
                   static_cast<unsigned long long>(o.memory_mb));
    }
    status = exit.shell_status();
  }
  return status;
}

}  // namespace runtimed
