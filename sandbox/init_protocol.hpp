// The messages between the daemon and runtimed-init (the sandbox's PID 1) over a SOCK_SEQPACKET
// socketpair: a tiny length-prefixed encoding shared by both sides, header-only and exception-free.
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace sandbox::init_protocol {

inline constexpr size_t kMaxMessage = 256 * 1024;
inline constexpr int kControlFd = 3;  // the init finds its end of the socketpair here
inline constexpr int kStemFd = 3;     // a stem runtime reads its function's environment here

enum class MessageType : uint32_t {
  // daemon -> init
  Setup = 1,  // build the filesystem view (at prepare): steps, then pivot into it
  // bind code, start the runtime as uid/gid with the given rlimits, then drop the init's own
  // privileges (at launch); fds: stdin, stdout, stderr, code, runtime
  Launch = 2,
  Terminate = 3,  // forward SIGTERM to the runtime
  // start the runtime before its function is chosen (a stem cell), as Launch does but with no code
  // and keeping the init's privileges; the runtime reads its function's environment from fd 3
  // (kStemFd) when Resume comes. Body as Launch's; fds: stdin, stdout, stderr, runtime
  Prestart = 4,
  // give the stem its function: bind code (and /opt), set the hostname, drop the init's
  // privileges, then write the environment to the stem's fd 3 and close it; fds: code, [opt]
  Resume = 5,
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
  // True when every byte was read and nothing overran.
  bool done() const { return ok_ && p_ == end_; }
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

// A Setup message after its type: the staging root and the steps that build the view.
struct SetupMessage {
  std::string root;
  std::vector<Step> steps;
};

// A Launch message after its type (its fds travel beside it, see MessageType::Launch).
struct LaunchMessage {
  std::string hostname;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd;
  uint32_t uid = 0;  // the environment's own; never 0 (decode_launch refuses it)
  uint32_t gid = 0;
  struct Limit {
    uint32_t resource;
    rlimit value;
  };
  std::vector<Limit> rlimits;  // set in the runtime before it drops privileges
  std::string seccomp;         // raw sock_filter array
  bool has_runtime_dir = false;
  bool has_opt_dir = false;
};

// More rlimits than Linux has resources is a forged message.
constexpr uint32_t kMaxLaunchRlimits = 64;

// A Resume message after its type: what a stem needs to become its function's runtime.
struct ResumeMessage {
  std::string hostname;
  std::vector<std::string> env;  // "KEY=VALUE", written NUL-separated to the stem's kStemFd
  bool has_opt_dir = false;
};

// Decoders the init runs on what it receives (and the fuzz harness runs on anything): false when
// the message is truncated, has bytes left over, or is not what the daemon's Writer makes.
inline bool decode_setup(Reader& r, SetupMessage& out) {
  out.root = r.str();
  const uint32_t count = r.u32();
  // Each step takes at least 20 bytes, so a forged count cannot make this loop run long.
  for (uint32_t i = 0; r.ok() && i < count; ++i) out.steps.push_back(r.step());
  return r.done();
}

inline bool decode_launch(Reader& r, LaunchMessage& out) {
  out.hostname = r.str();
  out.argv = r.strs();
  out.env = r.strs();
  out.cwd = r.str();
  out.uid = r.u32();
  out.gid = r.u32();
  const uint32_t limits = r.u32();
  if (limits > kMaxLaunchRlimits) return false;
  for (uint32_t i = 0; r.ok() && i < limits; ++i) {
    LaunchMessage::Limit l{};
    l.resource = r.u32();
    l.value.rlim_cur = r.u64();
    l.value.rlim_max = r.u64();
    out.rlimits.push_back(l);
  }
  out.seccomp = r.str();
  out.has_runtime_dir = r.u32() != 0;
  out.has_opt_dir = r.u32() != 0;
  // uid or gid 0 would leave the runtime root: refused rather than run so.
  if (out.uid == 0 || out.gid == 0) return false;
  // A seccomp program is whole 8-byte sock_filter instructions, at most BPF_MAXINSNS (4096) of
  // them: the init hands its length to the kernel as an unsigned short count.
  constexpr size_t kFilterInsn = 8;
  if (out.seccomp.size() % kFilterInsn != 0 || out.seccomp.size() > 4096 * kFilterInsn)
    return false;
  return r.done() && !out.argv.empty();
}

inline bool decode_resume(Reader& r, ResumeMessage& out) {
  out.hostname = r.str();
  out.env = r.strs();
  out.has_opt_dir = r.u32() != 0;
  return r.done();
}

}  // namespace sandbox::init_protocol
