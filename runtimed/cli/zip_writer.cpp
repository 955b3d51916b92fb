// Zips a directory in memory with libarchive: disk metadata via archive_read_disk, zip via
// archive_write.
#include "runtimed/cli/zip_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>
#include <system_error>
#include <vector>

namespace runtimed {

namespace {

namespace fs = std::filesystem;

struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

la_ssize_t append_to_string(archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

std::string error_of(archive* a) {
  const char* s = archive_error_string(a);
  return s != nullptr ? s : "unknown libarchive error";
}

// Every path under `dir`, not following symlinks, sorted so the zip is reproducible.
std::expected<std::vector<fs::path>, std::string> list_tree(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> paths;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  if (ec) return std::unexpected(fmt::format("cannot read {}: {}", dir.string(), ec.message()));
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    paths.push_back(it->path());
  }
  if (ec) return std::unexpected(fmt::format("cannot read {}: {}", dir.string(), ec.message()));
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::expected<void, std::string> write_contents(archive* zip, const fs::path& path) {
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
  if (file.fd < 0)
    return std::unexpected(fmt::format("cannot read {}: {}", path.string(),
                                       std::error_code(errno, std::system_category()).message()));
  std::array<char, 64 * 1024> buf;
  while (true) {
    const ssize_t n = ::read(file.fd, buf.data(), buf.size());
    if (n == 0) return {};
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(fmt::format("cannot read {}: {}", path.string(),
                                         std::error_code(errno, std::system_category()).message()));
    }
    if (archive_write_data(zip, buf.data(), static_cast<size_t>(n)) < 0)
      return std::unexpected(fmt::format("zip {}: {}", path.string(), error_of(zip)));
  }
}

}  // namespace

std::expected<std::string, std::string> zip_directory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return std::unexpected(fmt::format("{} is not a readable directory", dir.string()));
  auto paths = list_tree(dir);
  if (!paths) return std::unexpected(paths.error());

  std::unique_ptr<archive, ArchiveReadFree> disk(archive_read_disk_new());
  // Symlinks are stored, never followed.
  archive_read_disk_set_symlink_physical(disk.get());
  // A zip carries none of these; reading them only adds ways to fail.
  archive_read_disk_set_behavior(disk.get(), ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL |
                                                 ARCHIVE_READDISK_NO_FFLAGS |
                                                 ARCHIVE_READDISK_NO_SPARSE);
  std::string out;
  std::unique_ptr<archive, ArchiveWriteFree> zip(archive_write_new());
  if (archive_write_set_format_zip(zip.get()) != ARCHIVE_OK ||
      archive_write_open(zip.get(), &out, nullptr, append_to_string, nullptr) != ARCHIVE_OK)
    return std::unexpected(fmt::format("zip: {}", error_of(zip.get())));

  for (const auto& path : *paths) {
    std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
    archive_entry_copy_sourcepath(entry.get(), path.c_str());
    if (archive_read_disk_entry_from_file(disk.get(), entry.get(), -1, nullptr) != ARCHIVE_OK)
      return std::unexpected(
          fmt::format("cannot read {}: {}", path.string(), error_of(disk.get())));
    const auto type = archive_entry_filetype(entry.get());
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
      return std::unexpected(
          fmt::format("{}: only files, directories and symlinks can be zipped", path.string()));
    // Owners mean nothing inside a function's code; keep the zip about paths, modes and bytes.
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    archive_entry_set_uname(entry.get(), nullptr);
    archive_entry_set_gname(entry.get(), nullptr);
    // Only mtime says the code changed. atime moves whenever the file is read, so storing it
    // made two zips of an unchanged tree differ (and a re-deploy see a change that was not).
    archive_entry_unset_atime(entry.get());
    archive_entry_unset_ctime(entry.get());
    archive_entry_unset_birthtime(entry.get());
    std::string name = path.lexically_relative(dir).generic_string();
    if (type == AE_IFDIR) name += '/';
    archive_entry_set_pathname(entry.get(), name.c_str());
    if (archive_write_header(zip.get(), entry.get()) != ARCHIVE_OK)
      return std::unexpected(fmt::format("zip {}: {}", path.string(), error_of(zip.get())));
    if (type == AE_IFREG) {
      if (auto ok = write_contents(zip.get(), path); !ok) return std::unexpected(ok.error());
    }
  }
  if (archive_write_close(zip.get()) != ARCHIVE_OK)
    return std::unexpected(fmt::format("zip: {}", error_of(zip.get())));
  return out;
}

}  // namespace runtimed
