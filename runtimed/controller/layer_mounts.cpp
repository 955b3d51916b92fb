// Read-only overlay mounts of layers (see layer_mounts.hpp).
#include "runtimed/controller/layer_mounts.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/module_logger.hpp"

namespace runtimed {

namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = common::module_logger("layers");
  return logger;
}

// Unmounts (lazily: an environment still being torn down may hold a clone) and removes the
// directory; never removes anything below it, which may be a layer's files.
void unmount_and_remove(const std::filesystem::path& dir) {
  if (::umount2(dir.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    log()->warn("unmount {}: {}", dir.string(), std::strerror(errno));
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT)
    log()->warn("remove {}: {}", dir.string(), std::strerror(errno));
}

}  // namespace

LayerMount::~LayerMount() {
  if (mounted_) unmount_and_remove(dir_);
}

std::string overlay_lowerdir_option(const std::vector<std::filesystem::path>& layer_dirs) {
  std::string option = "lowerdir=";
  for (auto it = layer_dirs.rbegin(); it != layer_dirs.rend(); ++it) {
    if (it != layer_dirs.rbegin()) option += ':';
    for (char c : it->string()) {
      if (c == ':' || c == ',' || c == '\\') option += '\\';
      option += c;
    }
  }
  return option;
}

LayerMounts::LayerMounts(std::filesystem::path root) : root_(std::move(root)) {
  if (root_.empty()) return;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec))
    unmount_and_remove(entry.path());
}

std::expected<std::shared_ptr<const LayerMount>, std::string> LayerMounts::merged(
    const std::vector<std::filesystem::path>& layer_dirs) {
  if (layer_dirs.empty()) return std::unexpected("no layers");
  if (layer_dirs.size() == 1) return std::make_shared<const LayerMount>(layer_dirs[0], false);
  if (root_.empty()) return std::unexpected("no directory for layer mounts was configured");
  std::string key;
  for (const auto& dir : layer_dirs) key += dir.string() + '\n';
  std::lock_guard lock(mu_);
  if (auto it = mounts_.find(key); it != mounts_.end()) {
    if (auto live = it->second.lock()) return live;
  }
  std::erase_if(mounts_, [](const auto& entry) { return entry.second.expired(); });
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  const std::filesystem::path dir = root_ / fmt::format("{}-{}", ::getpid(), next_id_++);
  if (::mkdir(dir.c_str(), 0755) != 0)
    return std::unexpected(fmt::format("mkdir {}: {}", dir.string(), std::strerror(errno)));
  const std::string options = overlay_lowerdir_option(layer_dirs);
  if (::mount("runtimed-layers", dir.c_str(), "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV,
              options.c_str()) != 0) {
    const int err = errno;
    ::rmdir(dir.c_str());
    return std::unexpected(fmt::format("mount overlay of {} layers at {}: {}", layer_dirs.size(),
                                       dir.string(), std::strerror(err)));
  }
  auto mount = std::make_shared<const LayerMount>(dir, true);
  mounts_[key] = mount;
  log()->debug("merged {} layers at {}", layer_dirs.size(), dir.string());
  return mount;
}

}  // namespace runtimed
