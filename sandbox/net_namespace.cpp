// Creates an environment's network namespace (only `lo`, up) with the Runtime API socket in it.
#include "sandbox/net_namespace.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sandbox {
namespace {

constexpr int kListenBacklog = 64;

// Puts the calling thread back into `original` when the scope ends, whatever happened in it.
class NetnsRestore {
 public:
  explicit NetnsRestore(int original) : original_(original) {}
  NetnsRestore(const NetnsRestore&) = delete;
  NetnsRestore& operator=(const NetnsRestore&) = delete;
  ~NetnsRestore() {
    // A daemon thread left in an environment's namespace would serve every later socket from
    // there; that cannot be reported and carried on from, so it ends the process.
    if (::setns(original_, CLONE_NEWNET) != 0) {
      std::fprintf(stderr, "runtimed: cannot restore the thread's network namespace: %s\n",
                   std::strerror(errno));
      std::abort();
    }
  }

 private:
  int original_;
};

Result<void> bring_loopback_up() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return fail("socket for SIOCSIFFLAGS", errno);
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0) return fail("SIOCGIFFLAGS", errno, "lo");
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &request) != 0) return fail("SIOCSIFFLAGS", errno, "lo");
  return {};
}

Result<UniqueFd> listen_on_loopback(uint16_t port) {
  UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock) return fail("socket", errno);
  int one = 1;
  if (::setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    return fail("SO_REUSEADDR", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return fail("bind", errno, "127.0.0.1:" + std::to_string(port));
  if (::listen(sock.get(), kListenBacklog) != 0) return fail("listen", errno);
  return sock;
}

}  // namespace

Result<NetNamespace> NetNamespace::create(uint16_t runtime_api_port, const InsideStep& inside) {
  // thread-self, not self: namespaces are per thread and other threads may be elsewhere.
  UniqueFd original(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original) return fail("open /proc/thread-self/ns/net", errno);
  if (::unshare(CLONE_NEWNET) != 0) return fail("unshare(CLONE_NEWNET)", errno);
  NetnsRestore restore(original.get());  // declared after `original`: destroyed before it

  if (auto up = bring_loopback_up(); !up) return std::unexpected(up.error());
  auto listener = listen_on_loopback(runtime_api_port);
  if (!listener) return std::unexpected(listener.error());
  // Sockets keep their namespace for life, so the listener works from the daemon's own netns.
  UniqueFd ns(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!ns) return fail("open new /proc/thread-self/ns/net", errno);
  if (inside) {
    if (auto ok = inside(ns.get()); !ok) return std::unexpected(ok.error());
  }

  NetNamespace created;
  created.ns_fd_ = std::move(ns);
  created.listen_fd_ = std::move(*listener);
  return created;
}

}  // namespace sandbox
