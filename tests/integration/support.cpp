#include "tests/integration/support.hpp"

#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace testsupport {

std::filesystem::path bin_path(const std::string& name) {
  return std::filesystem::path(RUNTIMED_BIN_DIR) / name;
}
std::filesystem::path source_path(const std::string& rel) {
  return std::filesystem::path(RUNTIMED_SOURCE_DIR) / rel;
}

TempDir::TempDir(const std::string& prefix) {
  std::string templ = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace testsupport
