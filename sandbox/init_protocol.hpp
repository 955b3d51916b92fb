// The messages between the daemon and runtimed-init (the sandbox's PID 1) over a SOCK_SEQPACKET
// socketpair: a tiny length-prefixed encoding shared by both sides, header-only and exception-free.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace sandbox::init_protocol {

inline constexpr size_t kMaxMessage = 256 * 1024;
inline constexpr int kControlFd = 3;  // the init finds its end of the socketpair here

enum class MessageType : uint32_t {
  // daemon -> init
  Setup = 1,  // build the filesystem view (at prepare): steps, then pivot into it
  // bind code, start the runtime as uid/gid with the given rlimits, then drop the init's own
  // privileges (at launch); fds: stdin, stdout, stderr, code, runtime
  Launch = 2,
  Terminate = 3,  // forward SIGTERM to the runtime
  // init -> daemon
  Ready = 100,    // Setup done
  Started = 101,  // runtime running: u32 pid (as seen from the host is unknown to init; pid in ns)
  Failed = 102,   // a step failed: string step, i32 errno, string detail
  Exited = 103,   // runtime ended: i32 wait status
};

enum class StepKind : uint32_t {
  MakeRootPrivate = 1,   // mount --make-rprivate /
  Tmpfs = 2,             // target, data = mount options
  Mkdir = 3,             // target, mode
  BindReadOnly = 4,      // source (host path) -> target
  BindWritable = 5,      // source (host path) -> target
  Proc = 6,              // fresh procfs at target
  Symlink = 7,           // source = link text, target
  WriteFile = 8,         // target, data = content, mode
  CreateFile = 9,        // target, mode (an empty file to bind a device node onto)
  RemountReadOnly = 10,  // target (a tmpfs made earlier)
  PivotRoot = 11,        // target = the new root
};

// One step of building a filesystem view; targets are absolute paths inside the new root, except
// for Tmpfs/RemountReadOnly/PivotRoot of the root itself, whose target is the host staging path.
struct Step {
  StepKind kind;
  std::string source;
  std::string target;
  std::string data;
  uint32_t mode = 0;
};

class Writer {
 public:
  explicit Writer(MessageType type) { u32(static_cast<uint32_t>(type)); }
  Writer& u32(uint32_t v) { return raw(&v, sizeof v); }
  Writer& i32(int32_t v) { return raw(&v, sizeof v); }
  Writer& u64(uint64_t v) { return raw(&v, sizeof v); }
  Writer& str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    return raw(s.data(), s.size());
  }
  Writer& strs(const std::vector<std::string>& v) {
    u32(static_cast<uint32_t>(v.size()));
    for (const auto& s : v) str(s);
    return *this;
  }
  Writer& step(const Step& s) {
    u32(static_cast<uint32_t>(s.kind));
    str(s.source);
    str(s.target);
    str(s.data);
    return u32(s.mode);
  }
  const std::string& bytes() const { return buf_; }

 private:
  Writer& raw(const void* p, size_t n) {
    buf_.append(static_cast<const char*>(p), n);
    return *this;
  }
  std::string buf_;
};

// Reads fields in order; any overrun sets ok() false and yields zero values.
class Reader {
 public:
  Reader(const char* data, size_t size) : p_(data), end_(data + size) {}
  bool ok() const { return ok_; }
  uint32_t u32() {
    uint32_t v = 0;
    raw(&v, sizeof v);
    return v;
  }
  int32_t i32() {
    int32_t v = 0;
    raw(&v, sizeof v);
    return v;
  }
  uint64_t u64() {
    uint64_t v = 0;
    raw(&v, sizeof v);
    return v;
  }
  std::string str() {
    const uint32_t n = u32();
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) {
      ok_ = false;
      return {};
    }
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  std::vector<std::string> strs() {
    const uint32_t n = u32();
    std::vector<std::string> v;
    for (uint32_t i = 0; ok_ && i < n; ++i) v.push_back(str());
    return v;
  }
  Step step() {
    Step s{};
    s.kind = static_cast<StepKind>(u32());
    s.source = str();
    s.target = str();
    s.data = str();
    s.mode = u32();
    return s;
  }

 private:
  void raw(void* out, size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) {
      ok_ = false;
      return;
    }
    std::memcpy(out, p_, n);
    p_ += n;
  }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

}  // namespace sandbox::init_protocol
