// A fresh network namespace with only `lo`, up, and the Runtime API's listening socket
// (127.0.0.1:port) bound inside it, so the daemon serves that environment and nothing else.
#pragma once

#include <cstdint>
#include <functional>

#include "sandbox/error.hpp"
#include "sandbox/unique_fd.hpp"

namespace sandbox {

class NetNamespace {
 public:
  // Creates the namespace from the calling thread (unshare, configure, setns back). The thread is
  // always back in its original namespace on return; if the kernel refuses that, the process
  // aborts rather than keep a daemon thread inside an environment's network.
  // `inside`, when set, runs in the new namespace (given its fd) before the thread returns: the
  // place to plug the environment into a network.
  using InsideStep = std::function<Result<void>(int netns_fd)>;
  static Result<NetNamespace> create(uint16_t runtime_api_port = 9001,
                                     const InsideStep& inside = {});

  int ns_fd() const { return ns_fd_.get(); }
  int listen_fd() const { return listen_fd_.get(); }
  UniqueFd take_listen_fd() { return std::move(listen_fd_); }

 private:
  UniqueFd ns_fd_;
  UniqueFd listen_fd_;
};

}  // namespace sandbox
