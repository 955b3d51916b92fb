// A fake cgroup tree (plain directories in a temp dir) for the cgroup layer's unit tests.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace cgtest {

namespace fs = std::filesystem;

class FakeTree {
 public:
  FakeTree() {
    std::string templ = (fs::temp_directory_path() / "rt-cgroup-fake-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    root_ = templ;
  }
  ~FakeTree() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  FakeTree(const FakeTree&) = delete;
  FakeTree& operator=(const FakeTree&) = delete;

  fs::path path(const std::string& rel) const { return root_ / rel; }
  fs::path dir(const std::string& rel) const {
    fs::create_directories(root_ / rel);
    return root_ / rel;
  }
  void write(const std::string& rel, const std::string& content) const {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << content;
  }
  // The file's content, or "<missing>".
  std::string read(const std::string& rel) const {
    std::ifstream in(root_ / rel);
    if (!in) return "<missing>";
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  bool exists(const std::string& rel) const { return fs::exists(root_ / rel); }

 private:
  fs::path root_;
};

}  // namespace cgtest
