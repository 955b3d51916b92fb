// Integration tests of NetNamespace: isolation of the Runtime API socket in a fresh network
// namespace.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/net_namespace.hpp"
#include "sandbox/unique_fd.hpp"

namespace {

using sandbox::NetNamespace;
using sandbox::UniqueFd;

ino_t thread_netns_inode() {
  struct stat st {};
  if (::stat("/proc/thread-self/ns/net", &st) != 0) return 0;
  return st.st_ino;
}

ino_t fd_inode(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return 0;
  return st.st_ino;
}

// A port nothing in the host namespace listens on (the kernel picks a free one; we release it).
uint16_t free_host_port() {
  UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return 0;
  return ntohs(addr.sin_port);
}

// Connects to 127.0.0.1:port from the calling thread's namespace. Returns the socket, or -errno.
int connect_loopback(uint16_t port, UniqueFd& out) {
  UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return -errno;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return -errno;
  out = std::move(sock);
  return 0;
}

// Runs `body` on a new thread that has first joined the namespace `ns_fd`.
template <class F>
void in_namespace(int ns_fd, F body) {
  std::thread thread([&] {
    ASSERT_EQ(::setns(ns_fd, CLONE_NEWNET), 0) << std::strerror(errno);
    body();
  });
  thread.join();
}

bool has_pending_connection(int listen_fd, int timeout_ms) {
  pollfd pfd{listen_fd, POLLIN, 0};
  return ::poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLIN);
}

TEST(NetNamespace, CallingThreadIsBackInItsOriginalNamespace) {
  ino_t before = thread_netns_inode();
  auto ns = NetNamespace::create(free_host_port());
  ASSERT_TRUE(ns.has_value()) << ns.error().to_string();
  EXPECT_EQ(thread_netns_inode(), before);
  EXPECT_NE(fd_inode(ns->ns_fd()), before);  // and the namespace it holds is another one
}

TEST(NetNamespace, FailureStillRestoresTheCallingThreadsNamespace) {
  // In a child limited to one more fd: /proc/thread-self/ns/net opens, then creating the socket
  // that brings lo up fails with EMFILE after unshare, inside the new namespace.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ino_t before = thread_netns_inode();
    int lowest_free = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::close(lowest_free);
    rlimit limit{static_cast<rlim_t>(lowest_free) + 1, static_cast<rlim_t>(lowest_free) + 1};
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(2);
    auto ns = NetNamespace::create(9001);
    if (ns.has_value() || ns.error().err != EMFILE) ::_exit(3);
    ::_exit(thread_netns_inode() == before ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(NetNamespace, ClientInsideConnectsAndIsAcceptedOnTheListenFd) {
  uint16_t port = free_host_port();
  auto ns = NetNamespace::create(port);
  ASSERT_TRUE(ns.has_value()) << ns.error().to_string();

  int connect_result = 1;
  uint16_t client_port = 0;
  UniqueFd client;
  in_namespace(ns->ns_fd(), [&] {
    connect_result = connect_loopback(port, client);
    sockaddr_in local{};
    socklen_t len = sizeof local;
    if (connect_result == 0 &&
        ::getsockname(client.get(), reinterpret_cast<sockaddr*>(&local), &len) == 0)
      client_port = ntohs(local.sin_port);
  });
  ASSERT_EQ(connect_result, 0) << std::strerror(-connect_result);

  ASSERT_TRUE(has_pending_connection(ns->listen_fd(), 2000));
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  UniqueFd accepted(
      ::accept4(ns->listen_fd(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted) << std::strerror(errno);
  EXPECT_EQ(ntohl(peer.sin_addr.s_addr), INADDR_LOOPBACK);
  EXPECT_EQ(ntohs(peer.sin_port), client_port);  // it is our client's connection
}

TEST(NetNamespace, HostNamespaceCannotReachTheListener) {
  uint16_t port = free_host_port();
  auto ns = NetNamespace::create(port);
  ASSERT_TRUE(ns.has_value()) << ns.error().to_string();
  UniqueFd client;
  EXPECT_EQ(connect_loopback(port, client), -ECONNREFUSED);
  EXPECT_FALSE(has_pending_connection(ns->listen_fd(), 100));
}

TEST(NetNamespace, OnlyLoopbackExistsInsideAndItIsUp) {
  auto ns = NetNamespace::create(free_host_port());
  ASSERT_TRUE(ns.has_value()) << ns.error().to_string();
  std::vector<std::string> names;
  short lo_flags = 0;
  in_namespace(ns->ns_fd(), [&] {
    // if_nameindex() asks over netlink, which answers for the asking thread's namespace.
    struct if_nameindex* list = ::if_nameindex();
    ASSERT_NE(list, nullptr);
    for (struct if_nameindex* it = list; it->if_index != 0; ++it) names.emplace_back(it->if_name);
    ::if_freenameindex(list);
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    ASSERT_EQ(::ioctl(sock.get(), SIOCGIFFLAGS, &request), 0);
    lo_flags = request.ifr_flags;
  });
  EXPECT_EQ(names, std::vector<std::string>{"lo"});
  EXPECT_TRUE(lo_flags & IFF_UP);
}

TEST(NetNamespace, TwoNamespacesCanBindTheSamePort) {
  uint16_t port = free_host_port();
  auto first = NetNamespace::create(port);
  ASSERT_TRUE(first.has_value()) << first.error().to_string();
  auto second = NetNamespace::create(port);
  ASSERT_TRUE(second.has_value()) << second.error().to_string();
  EXPECT_NE(fd_inode(first->ns_fd()), fd_inode(second->ns_fd()));
}

TEST(NetNamespace, TakeListenFdHandsOverTheSocket) {
  auto ns = NetNamespace::create(free_host_port());
  ASSERT_TRUE(ns.has_value()) << ns.error().to_string();
  int fd = ns->listen_fd();
  UniqueFd taken = ns->take_listen_fd();
  EXPECT_EQ(taken.get(), fd);
  EXPECT_EQ(ns->listen_fd(), -1);
}

}  // namespace
