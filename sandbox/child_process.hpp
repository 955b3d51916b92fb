// Move-only owner of a child process held by a pidfd: the destructor SIGKILLs and reaps it.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <optional>

#include "sandbox/unique_fd.hpp"

namespace sandbox {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  bool running() const { return pid_ > 0 && !status_; }
  bool signal(int sig) const;
  // Blocks until the child exits; returns its wait status (as waitpid reports it).
  int wait();
  // Non-blocking: the wait status if the child has exited.
  std::optional<int> try_wait();
  // SIGKILL and reap. Idempotent.
  void kill_and_wait();

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<int> status_;
};

}  // namespace sandbox
