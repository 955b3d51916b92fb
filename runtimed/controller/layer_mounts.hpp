// The merged /opt of functions' layers: one read-only overlayfs mount per distinct ordered list of
// layer directories, shared by every environment of every function that uses that list, and
// unmounted when the last user lets go. A single layer needs no overlay: its own directory is /opt.
#pragma once

#include <expected>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace runtimed {

// One merged /opt; the mount (if any) lives as long as this does.
class LayerMount {
 public:
  LayerMount(std::filesystem::path dir, bool mounted) : dir_(std::move(dir)), mounted_(mounted) {}
  ~LayerMount();  // unmounts and removes the mount point it made
  LayerMount(const LayerMount&) = delete;
  LayerMount& operator=(const LayerMount&) = delete;

  // The directory to bind read-only at /opt.
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  bool mounted_;
};

class LayerMounts {
 public:
  // Mount points go under `root` (created on first use), which must be this daemon's alone: ones
  // a crashed daemon left there are unmounted and removed first. Empty: only single layers work.
  explicit LayerMounts(std::filesystem::path root);

  // `layer_dirs` in the function's order: a later layer's file wins, as on Lambda. Concurrent
  // callers with the same list share one mount.
  std::expected<std::shared_ptr<const LayerMount>, std::string> merged(
      const std::vector<std::filesystem::path>& layer_dirs);

 private:
  std::filesystem::path root_;
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<const LayerMount>> mounts_;  // by joined layer paths
  uint64_t next_id_ = 0;
};

// overlayfs's lowerdir option for `layer_dirs` (the last one on top), with ':' ',' and '\' in a
// path escaped as the kernel expects.
std::string overlay_lowerdir_option(const std::vector<std::filesystem::path>& layer_dirs);

}  // namespace runtimed
