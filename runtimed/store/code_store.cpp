#include "runtimed/store/code_store.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>
#include <memory>

#include "common/base64.hpp"
#include "common/ids.hpp"
#include "common/module_logger.hpp"

namespace runtimed {

namespace fs = std::filesystem;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static const auto log = common::module_logger("code_store");
  return log;
}

constexpr std::string_view kTempPrefix = ".unpack-";
constexpr std::string_view kNotAZip =
    "Could not unzip uploaded file. Please check your file, then try to upload again.";

struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

// Removes the directory on destruction unless released (the unpack failed half-way).
class TempDir {
 public:
  explicit TempDir(fs::path p) : path_(std::move(p)) {}
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  fs::path path_;
};

bool is_hex_key(std::string_view name) {
  if (name.size() != 64) return false;
  for (char c : name)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// True when `rel` (relative, lexically normal) stays inside its root.
bool stays_inside(const fs::path& rel) {
  if (rel.empty() || rel.is_absolute()) return false;
  const auto first = *rel.begin();
  return first != "..";
}

bool within(const fs::path& root, const fs::path& p) {
  const auto rel = p.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

CodeError unsafe(std::string_view entry, std::string_view why) {
  return {CodeErrorKind::UnsafeEntry,
          fmt::format("Could not unzip uploaded file: entry '{}' {}", entry, why)};
}

// An entry's name → its path relative to the code directory, or an error when it would escape.
std::expected<fs::path, CodeError> safe_relative(std::string_view name) {
  if (name.empty()) return std::unexpected(unsafe(name, "has an empty name"));
  const fs::path p(name);
  if (p.is_absolute()) return std::unexpected(unsafe(name, "has an absolute path"));
  for (const auto& part : p)
    if (part == "..") return std::unexpected(unsafe(name, "contains '..'"));
  return p.lexically_normal();
}

// File-system limits, checked before anything is written so they answer 400, not an I/O error.
std::expected<void, CodeError> check_name_lengths(std::string_view name, const fs::path& rel,
                                                  size_t max_rel_path) {
  for (const auto& part : rel)
    if (part.native().size() > NAME_MAX)
      return std::unexpected(CodeError{
          CodeErrorKind::NameTooLong,
          fmt::format("Could not unzip uploaded file: entry '{:.64}...' has a name longer than "
                      "{} bytes",
                      name, NAME_MAX)});
  if (rel.native().size() > max_rel_path)
    return std::unexpected(CodeError{
        CodeErrorKind::NameTooLong,
        fmt::format("Could not unzip uploaded file: entry '{:.64}...' has a path longer than {} "
                    "bytes",
                    name, max_rel_path)});
  return {};
}

// Bytes a directory tree takes on disk (allocated blocks, the directories' own included).
uint64_t disk_usage(const fs::path& dir) {
  uint64_t total = 0;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_blocks) * 512;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (::lstat(it->path().c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

}  // namespace

CodeStore::CodeStore(fs::path root, CodeLimits limits) : root_(std::move(root)), limits_(limits) {
  std::error_code ec;
  fs::create_directories(root_, ec);
  // A canonical root has no symlinks above the code: libarchive's symlink checks walk it.
  if (auto canonical = fs::canonical(root_, ec); !ec) root_ = canonical;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(kTempPrefix)) {
      fs::remove_all(entry.path(), ec);
    } else if (is_hex_key(name)) {
      const uint64_t size = disk_usage(entry.path());
      sizes_[name] = size;
      used_bytes_ += size;
    }
  }
}

uint64_t CodeStore::used_bytes() {
  std::lock_guard lock(mu_);
  return used_bytes_;
}

CodeError CodeStore::store_full() const {
  // Lambda's error for an account over its code storage quota, with this store's limit.
  return {CodeErrorKind::StoreFull,
          fmt::format("Code storage limit exceeded: all functions' unzipped code may take at most "
                      "{} MB on this host (runtimed serve --max-code-store-mb)",
                      limits_.max_store_bytes >> 20)};
}

std::expected<StoredCode, CodeError> CodeStore::put(std::string_view zip) {
  if (zip.size() > limits_.max_zip_bytes)
    return std::unexpected(
        CodeError{CodeErrorKind::ZipTooLarge,
                  fmt::format("Zipped size must be smaller than {} bytes", limits_.max_zip_bytes)});

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(zip.data(), zip.size(), digest, &digest_len, EVP_sha256(), nullptr) != 1)
    return std::unexpected(CodeError{CodeErrorKind::Io, "SHA-256 failed"});
  StoredCode stored;
  stored.zip_size = zip.size();
  stored.sha256_base64 = common::base64_encode({reinterpret_cast<const char*>(digest), digest_len});
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned i = 0; i < digest_len; ++i) {
    stored.key.push_back(kHex[digest[i] >> 4]);
    stored.key.push_back(kHex[digest[i] & 0xf]);
  }

  const fs::path final_dir = dir(stored.key);
  std::error_code ec;
  if (fs::is_directory(final_dir, ec)) return stored;  // same zip as before

  TempDir tmp(root_ / (std::string(kTempPrefix) + common::random_hex(16)));
  if (!fs::create_directory(tmp.path(), ec))
    return std::unexpected(
        CodeError{CodeErrorKind::Io, "cannot create " + tmp.path().string() + ": " + ec.message()});
  uint64_t room = std::numeric_limits<uint64_t>::max();
  if (limits_.max_store_bytes > 0) {
    std::lock_guard lock(mu_);
    room = limits_.max_store_bytes > used_bytes_ ? limits_.max_store_bytes - used_bytes_ : 0;
  }
  if (auto ok = unpack(zip, tmp.path(), room); !ok) return std::unexpected(ok.error());
  // What the disk counts, not the bytes of the files: a zip of many small files takes a block each.
  const uint64_t size = disk_usage(tmp.path());
  {
    std::lock_guard lock(mu_);
    if (limits_.max_store_bytes > 0 && used_bytes_ + size > limits_.max_store_bytes)
      return std::unexpected(store_full());
    used_bytes_ += size;  // counted now: concurrent puts see it
    sizes_[stored.key] += size;
  }
  // Given back if the code does not become visible below.
  auto uncount = [&] {
    std::lock_guard lock(mu_);
    used_bytes_ -= size;
    sizes_[stored.key] -= size;
    if (sizes_[stored.key] == 0) sizes_.erase(stored.key);
  };

  // Durable before it is visible: the function's database row will point at it.
  if (int fd = ::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    ::syncfs(fd);
    ::close(fd);
  }
  if (::rename(tmp.path().c_str(), final_dir.c_str()) != 0) {
    const int err = errno;
    uncount();
    // A concurrent put of the same zip got there first: its directory is just as good.
    if ((err == ENOTEMPTY || err == EEXIST) && fs::is_directory(final_dir, ec)) return stored;
    return std::unexpected(CodeError{
        CodeErrorKind::Io, "cannot rename into " + final_dir.string() + ": " + std::strerror(err)});
  }
  tmp.release();
  if (int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  logger()->info("unpacked code {} ({} bytes zipped)", stored.key, stored.zip_size);
  return stored;
}

std::expected<void, CodeError> CodeStore::unpack(std::string_view zip, const fs::path& into,
                                                 uint64_t store_room) const {
  std::unique_ptr<archive, ArchiveReadFree> in(archive_read_new());
  std::unique_ptr<archive, ArchiveWriteFree> out(archive_write_disk_new());
  if (!in || !out)
    return std::unexpected(CodeError{CodeErrorKind::Io, "libarchive: out of memory"});
  archive_read_support_format_zip(in.get());
  // No OWNER: files belong to the daemon. SECURE_*: libarchive's own refusal to write through
  // symlinks or '..', on top of the checks below.
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  if (archive_read_open_memory(in.get(), zip.data(), zip.size()) != ARCHIVE_OK)
    return std::unexpected(CodeError{CodeErrorKind::NotAZip, std::string(kNotAZip)});

  const auto not_a_zip = [&](const char* detail) {
    logger()->debug("unzip failed: {}", detail ? detail : "?");
    return std::unexpected(CodeError{CodeErrorKind::NotAZip, std::string(kNotAZip)});
  };
  const auto too_big = [&] {
    return std::unexpected(CodeError{
        CodeErrorKind::UnzippedTooLarge,
        fmt::format("Unzipped size must be smaller than {} bytes", limits_.max_unzipped_bytes)});
  };

  // A write that failed for want of space is the store being full, not an internal error.
  const auto write_error = [&](const std::string& name) {
    if (archive_errno(out.get()) == ENOSPC || archive_errno(out.get()) == EDQUOT)
      return std::unexpected(store_full());
    return std::unexpected(CodeError{
        CodeErrorKind::Io, fmt::format("writing {}: {}", name, archive_error_string(out.get()))});
  };
  // The longest relative path that still fits in PATH_MAX both here and at /var/task/ in the
  // sandbox.
  const size_t max_rel_path =
      PATH_MAX - 1 - std::max(into.native().size(), std::string_view("/var/task").size()) - 1;

  const auto too_many = [&] {
    return std::unexpected(
        CodeError{CodeErrorKind::TooManyEntries,
                  fmt::format("Could not unzip uploaded file: it has more than {} entries (files, "
                              "directories and links)",
                              limits_.max_entries)});
  };

  // First the listing alone (headers, no data): the entry count, names and declared sizes are
  // refused before anything is written, so a zip of 500,000 empty directories costs milliseconds,
  // not 500,000 inodes created and removed.
  {
    std::unique_ptr<archive, ArchiveReadFree> list(archive_read_new());
    if (!list) return std::unexpected(CodeError{CodeErrorKind::Io, "libarchive: out of memory"});
    archive_read_support_format_zip(list.get());
    if (archive_read_open_memory(list.get(), zip.data(), zip.size()) != ARCHIVE_OK)
      return not_a_zip(archive_error_string(list.get()));
    uint64_t count = 0, declared = 0;
    archive_entry* e = nullptr;
    while (true) {
      const int r = archive_read_next_header(list.get(), &e);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) return not_a_zip(archive_error_string(list.get()));
      if (++count > limits_.max_entries) return too_many();
      const char* raw = archive_entry_pathname(e);
      const std::string name = raw ? raw : "";
      auto rel = safe_relative(name);
      if (!rel) return std::unexpected(rel.error());
      if (auto ok = check_name_lengths(name, *rel, max_rel_path); !ok)
        return std::unexpected(ok.error());
      if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size_is_set(e)) {
        declared += static_cast<uint64_t>(std::max<la_int64_t>(archive_entry_size(e), 0));
        if (declared > limits_.max_unzipped_bytes) return too_big();
      }
    }
  }

  uint64_t total = 0;
  uint64_t entries = 0;
  archive_entry* entry = nullptr;
  while (true) {
    const int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return not_a_zip(archive_error_string(in.get()));
    if (++entries > limits_.max_entries) return too_many();  // the listing lied
    const char* raw_name = archive_entry_pathname(entry);
    const std::string name = raw_name ? raw_name : "";
    auto rel = safe_relative(name);
    if (!rel) return std::unexpected(rel.error());
    if (auto ok = check_name_lengths(name, *rel, max_rel_path); !ok)
      return std::unexpected(ok.error());

    const auto type = archive_entry_filetype(entry);
    if (const char* hardlink = archive_entry_hardlink(entry)) {
      auto target = safe_relative(hardlink);
      if (!target) return std::unexpected(unsafe(name, "is a hard link that escapes the code"));
      archive_entry_set_hardlink(entry, (into / *target).c_str());
    } else if (type == AE_IFLNK) {
      const char* raw_target = archive_entry_symlink(entry);
      const fs::path target = raw_target ? raw_target : "";
      // Resolved from the link's own directory, as the kernel will.
      if (target.empty() || target.is_absolute() ||
          !stays_inside((rel->parent_path() / target).lexically_normal()))
        return std::unexpected(unsafe(name, "is a symlink that points outside the code"));
    } else if (type != AE_IFREG && type != AE_IFDIR) {
      return std::unexpected(unsafe(name, "is not a regular file, directory or symlink"));
    }

    if (type == AE_IFREG && archive_entry_size_is_set(entry) &&
        static_cast<uint64_t>(archive_entry_size(entry)) > limits_.max_unzipped_bytes - total)
      return too_big();
    // The sandbox user must read everything; nothing may be setuid/setgid.
    const mode_t perm = archive_entry_perm(entry);
    archive_entry_set_perm(entry, type == AE_IFDIR || (perm & 0111) ? 0755 : 0644);
    archive_entry_set_pathname(entry, (into / *rel).c_str());

    if (archive_write_header(out.get(), entry) < ARCHIVE_WARN) {
      if (archive_errno(out.get()) == ENOSPC || archive_errno(out.get()) == EDQUOT)
        return std::unexpected(store_full());
      return std::unexpected(
          unsafe(name, fmt::format("could not be written: {}", archive_error_string(out.get()))));
    }
    if (type == AE_IFREG && archive_entry_size(entry) > 0) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      while (true) {
        const int d = archive_read_data_block(in.get(), &buf, &size, &offset);
        if (d == ARCHIVE_EOF) break;
        if (d < ARCHIVE_WARN) return not_a_zip(archive_error_string(in.get()));
        total += size;  // counted as it comes, whatever the header declared
        if (total > limits_.max_unzipped_bytes) return too_big();
        if (total > store_room) return std::unexpected(store_full());
        if (archive_write_data_block(out.get(), buf, size, offset) < ARCHIVE_WARN)
          return write_error(name);
      }
    }
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN) return write_error(name);
  }
  if (archive_write_close(out.get()) < ARCHIVE_WARN) return write_error("the code");

  // Second pass over what is on disk: symlinks must resolve inside even through other symlinks,
  // and directories libarchive created implicitly get the same readable modes.
  std::error_code ec;
  const fs::path root = fs::canonical(into, ec);
  if (ec) return std::unexpected(CodeError{CodeErrorKind::Io, ec.message()});
  if (::chmod(into.c_str(), 0755) != 0)
    return std::unexpected(CodeError{CodeErrorKind::Io, "chmod " + into.string()});
  for (auto it = fs::recursive_directory_iterator(into, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const auto status = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_symlink(status)) {
      const auto resolved = fs::weakly_canonical(it->path(), ec);
      if (ec || !within(root, resolved))
        return std::unexpected(
            unsafe(it->path().lexically_relative(into).string(), "resolves outside the code"));
    } else if (fs::is_directory(status)) {
      ::chmod(it->path().c_str(), 0755);
    }
  }
  if (ec)
    return std::unexpected(CodeError{CodeErrorKind::Io, "walking unpacked code: " + ec.message()});
  return {};
}

size_t CodeStore::collect_garbage(const std::set<std::string>& referenced) {
  size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!is_hex_key(name) || referenced.contains(name)) continue;
    std::error_code rm;
    fs::remove_all(entry.path(), rm);
    if (rm) {
      logger()->warn("cannot remove unreferenced code {}: {}", name, rm.message());
      continue;
    }
    logger()->info("removed unreferenced code {}", name);
    ++removed;
    std::lock_guard lock(mu_);
    if (auto it = sizes_.find(name); it != sizes_.end()) {
      used_bytes_ -= it->second;
      sizes_.erase(it);
    }
  }
  return removed;
}

}  // namespace runtimed
