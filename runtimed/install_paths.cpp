// Lookup of runtimed-init and the managed runtimes (see install_paths.hpp).
#include "runtimed/install_paths.hpp"

#include <system_error>

namespace runtimed {
namespace {

// Directory holding the runtimed binaries (runtimed-init sits beside runtimed).
std::filesystem::path own_binary_dir() {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
}

}  // namespace

std::filesystem::path runtimed_init_path() {
  return std::filesystem::path(own_binary_dir()) / "runtimed-init";
}

std::filesystem::path default_runtimes_dir() {
  const std::filesystem::path installed =
      std::filesystem::path(own_binary_dir()) / "../share/runtimed/runtimes";
  std::error_code ec;
  if (std::filesystem::is_directory(installed, ec))
    return std::filesystem::weakly_canonical(installed, ec);
  // A build tree's binary: the bootstraps are read from the sources it was built from, wherever
  // the build directory is (CMake compiles this path into this file only).
  const std::filesystem::path source = RUNTIMED_SOURCE_RUNTIMES_DIR;
  if (std::filesystem::is_directory(source, ec)) return source;
  return std::filesystem::weakly_canonical(installed, ec);
}

}  // namespace runtimed
