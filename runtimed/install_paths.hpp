// Where the daemon finds what ships beside it: the sandbox init and the managed runtimes'
// bootstraps, both for an installed tree (`cmake --install`) and for a build in any directory.
#pragma once

#include <filesystem>

namespace runtimed {

// runtimed-init, the sandboxes' PID 1: next to the running binary (build/bin/ or <prefix>/bin/).
std::filesystem::path runtimed_init_path();

// The managed runtimes' bootstraps (runtimes/<language>/): <binary>/../share/runtimed/runtimes
// when installed, else the source tree's runtimes/ this binary was built from.
std::filesystem::path default_runtimes_dir();

}  // namespace runtimed
