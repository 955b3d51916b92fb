// Zips a directory in memory (libarchive), as `runtimed create --code DIR` uploads it.
#pragma once

#include <expected>
#include <filesystem>
#include <string>

namespace runtimed {

// The zip's bytes: paths relative to `dir`, in sorted order, file modes kept (an executable
// bootstrap stays executable), symlinks stored as symlinks (not followed). Errors name the path.
std::expected<std::string, std::string> zip_directory(const std::filesystem::path& dir);

}  // namespace runtimed
