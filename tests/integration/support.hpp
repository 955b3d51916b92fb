// Shared helpers for integration tests: paths of built binaries, temp dirs.
#pragma once

#include <filesystem>
#include <string>

namespace testsupport {

std::filesystem::path bin_path(const std::string& name);  // build/bin/<name>
std::filesystem::path source_path(const std::string& rel);

// A loopback port nothing listens on right now (the kernel's pick for an ephemeral bind).
int free_port();

// A temporary directory removed (recursively) at destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "rt-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace testsupport
