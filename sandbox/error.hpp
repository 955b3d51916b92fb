// The sandbox layer's error: which step failed and the errno it failed with.
#pragma once

#include <cstring>
#include <expected>
#include <string>

namespace sandbox {

struct Error {
  std::string step;    // e.g. "mkdir cgroup", "pivot_root", "mount /var/task"
  int err = 0;         // errno, 0 when not a system call failure
  std::string detail;  // path or value involved, may be empty

  std::string to_string() const {
    std::string s = step;
    if (!detail.empty()) s += " (" + detail + ")";
    if (err != 0) s += ": " + std::string(std::strerror(err));
    return s;
  }
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(std::string step, int err, std::string detail = {}) {
  return std::unexpected(Error{std::move(step), err, std::move(detail)});
}

}  // namespace sandbox
