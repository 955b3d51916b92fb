// ChildProcess: pidfd-based ownership of a child (see child_process.hpp).
#include "sandbox/child_process.hpp"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace sandbox {

namespace {
int status_from_siginfo(const siginfo_t& si) {
  switch (si.si_code) {
    case CLD_EXITED:
      return (si.si_status & 0xff) << 8;
    case CLD_KILLED:
      return si.si_status & 0x7f;
    case CLD_DUMPED:
      return (si.si_status & 0x7f) | 0x80;
    default:
      return 0;
  }
}
}  // namespace

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)), status_(o.status_) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    kill_and_wait();
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::move(o.pidfd_);
    status_ = o.status_;
  }
  return *this;
}

ChildProcess::~ChildProcess() { kill_and_wait(); }

bool ChildProcess::signal(int sig) const {
  if (!pidfd_ || status_) return false;
  return ::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0) == 0;
}

int ChildProcess::wait() {
  if (status_) return *status_;
  if (!pidfd_) return 0;
  siginfo_t si{};
  while (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &si, WEXITED) != 0) {
    if (errno != EINTR) return 0;
  }
  status_ = status_from_siginfo(si);
  return *status_;
}

std::optional<int> ChildProcess::try_wait() {
  if (status_ || !pidfd_) return status_;
  siginfo_t si{};
  if (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &si, WEXITED | WNOHANG) == 0 &&
      si.si_pid != 0) {
    status_ = status_from_siginfo(si);
  }
  return status_;
}

void ChildProcess::kill_and_wait() {
  if (pid_ <= 0 || status_ || !pidfd_) return;
  signal(SIGKILL);
  wait();
}

}  // namespace sandbox
