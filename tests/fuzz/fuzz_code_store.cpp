// Zip unpacking (runtimed/store/code_store.cpp, libarchive): arbitrary bytes as a function's zip.
// Whatever is accepted must stay inside its code directory (no file written elsewhere, no symlink
// resolving outside); whatever is refused must leave nothing behind.
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "fuzz_support.hpp"
#include "runtimed/store/code_store.hpp"

namespace fs = std::filesystem;

namespace {

struct Fixture {
  fs::path scratch = fuzz::scratch_dir("code");
  fs::path root = scratch / "code";
  // Smaller than Lambda's 250 MiB so that a zip bomb costs the fuzzer milliseconds, not seconds;
  // the limit is enforced by the same code whatever its value.
  runtimed::CodeStore store{
      root, runtimed::CodeLimits{.max_zip_bytes = 1 << 20, .max_unzipped_bytes = 4 << 20}};
  Fixture() {
    fuzz::openssl_without_exit_cleanup();
    fuzz::quiet_logs();
    root = store.root();
  }
};

bool within(const fs::path& root, const fs::path& p) {
  auto r = root.begin();
  auto i = p.begin();
  for (; r != root.end(); ++r, ++i) {
    if (i == p.end() || *r != *i) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture f;
  const auto stored = f.store.put(std::string_view(reinterpret_cast<const char*>(data), size));
  std::error_code ec;
  if (stored) {
    const fs::path dir = f.store.dir(stored->key);
    const fs::path canonical = fs::canonical(dir, ec);
    if (ec) std::abort();
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      const auto st = it->symlink_status(ec);
      if (ec) std::abort();
      if (fs::is_symlink(st) && !within(canonical, fs::weakly_canonical(it->path(), ec)))
        std::abort();
      if (!fs::is_symlink(st) && !fs::is_regular_file(st) && !fs::is_directory(st)) std::abort();
      if (fs::is_regular_file(st) && (fs::status(it->path()).permissions() &
                                      (fs::perms::set_uid | fs::perms::set_gid)) != fs::perms::none)
        std::abort();
    }
  }
  // Nothing outside the code root, and (after collection) nothing left inside it.
  for (const auto& e : fs::directory_iterator(f.scratch)) {
    if (e.path().filename() != "code") std::abort();
  }
  f.store.collect_garbage({});
  if (!fs::is_empty(f.root)) std::abort();
  return 0;
}
