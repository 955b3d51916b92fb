// The init protocol's decoders on arbitrary messages: what runtimed-init decodes (Setup, Launch,
// Prestart, Resume)
// and what the daemon decodes from the init (Failed, Exited). A decoded message must re-encode to
// the very bytes it came from.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sandbox/init_protocol.hpp"

namespace ip = sandbox::init_protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > ip::kMaxMessage) return -1;  // a SOCK_SEQPACKET message is never longer
  const char* bytes = reinterpret_cast<const char*>(data);
  const std::string input(bytes, size);
  {
    ip::Reader r(bytes, size);
    const auto type = static_cast<ip::MessageType>(r.u32());
    if (type == ip::MessageType::Setup) {
      ip::SetupMessage m;
      if (ip::decode_setup(r, m)) {
        ip::Writer w(ip::MessageType::Setup);
        w.str(m.root).u32(static_cast<uint32_t>(m.steps.size()));
        for (const auto& s : m.steps) w.step(s);
        if (w.bytes() != input) std::abort();
      }
    } else if (type == ip::MessageType::Resume) {
      ip::ResumeMessage m;
      if (ip::decode_resume(r, m)) {
        ip::Writer w(ip::MessageType::Resume);
        w.str(m.hostname).strs(m.env).u32(m.has_opt_dir ? 1 : 0);
        const std::string one("\1\0\0\0", 4);
        const std::string zero(4, '\0');
        const std::string flag = input.size() >= 4 ? input.substr(input.size() - 4) : "";
        if ((flag == one || flag == zero) && w.bytes() != input) std::abort();
      }
    } else if (type == ip::MessageType::Launch || type == ip::MessageType::Prestart) {
      ip::LaunchMessage m;
      if (ip::decode_launch(r, m)) {
        ip::Writer w(type);
        w.str(m.hostname).strs(m.argv).strs(m.env).str(m.cwd).u32(m.uid).u32(m.gid);
        w.u32(static_cast<uint32_t>(m.rlimits.size()));
        for (const auto& l : m.rlimits)
          w.u32(l.resource).u64(l.value.rlim_cur).u64(l.value.rlim_max);
        w.str(m.seccomp).u32(m.has_runtime_dir ? 1 : 0).u32(m.has_opt_dir ? 1 : 0);
        // A flag is any non-zero u32 on the wire; only 1 round-trips.
        const std::string one("\1\0\0\0", 4);
        if (input.size() >= 8 && input.substr(input.size() - 8, 4) == one &&
            input.substr(input.size() - 4) == one && w.bytes() != input)
          std::abort();
      }
    }
  }
  {
    // The daemon's side (sandbox_host.cpp expect_from_init, environment.cpp wait_exit).
    ip::Reader r(bytes, size);
    const auto type = static_cast<ip::MessageType>(r.u32());
    if (type == ip::MessageType::Failed) {
      const std::string step = r.str();
      const int32_t err = r.i32();
      const std::string detail = r.str();
      if (r.ok() && step.size() + detail.size() + 16 > size) std::abort();
      (void)err;
    } else if (type == ip::MessageType::Exited || type == ip::MessageType::Started) {
      (void)r.i32();
    }
    std::vector<std::string> many = ip::Reader(bytes, size).strs();  // arbitrary counts
    (void)many;
  }
  return 0;
}
