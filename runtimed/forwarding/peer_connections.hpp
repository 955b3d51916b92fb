// Keep-alive connections to the other nodes of a cluster (http:// addresses), used on the io
// thread that read the call: the forward is written and its answer read by that thread's own
// io_context, so a forwarded call costs no hand-off between threads (a thread wake-up costs tens
// of µs on a VM). Each io thread keeps its own idle connections per peer; nothing is shared, so
// nothing is locked.
#pragma once

#include <chrono>
#include <cstddef>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/http_types.hpp"
#include "runtimed/forwarding/peer_client_pool.hpp"

namespace boost::asio {
class io_context;
}

namespace runtimed {

class PeerConnections {
 public:
  using Options = PeerClientPool::Options;
  using Done = std::function<void(std::expected<api::HttpResponse, PeerFailure>)>;

  PeerConnections(size_t io_threads, Options options);
  ~PeerConnections();
  PeerConnections(const PeerConnections&) = delete;
  PeerConnections& operator=(const PeerConnections&) = delete;

  // Whether send() takes `address` (plain http://host:port).
  static bool handles(const std::string& address);

  // On io thread `thread` (whose io_context is `io`): sends `request` verbatim (see
  // PeerClientPool::send) with `extra_headers` to the node at `address` and calls `done` on the
  // same thread with its answer or how it failed.
  void send(boost::asio::io_context& io, size_t thread, const std::string& address,
            const api::HttpRequest& request,
            const std::vector<std::pair<std::string, std::string>>& extra_headers, Done done);

  struct Exchange;
  struct Idle;

 private:
  friend struct Exchange;
  const Options options_;
  // By io thread, then address: connections open and idle.
  std::vector<std::map<std::string, std::vector<std::unique_ptr<Idle>>>> idle_;
};

}  // namespace runtimed
