// Keep-alive HTTP clients to the other nodes of a cluster, pooled per peer address: one exchange
// takes a client (a connection already open, when one is idle), sends a request verbatim and
// gives the client back. A failure says whether the peer can have run the request.
#pragma once

#include <chrono>
#include <cstddef>
#include <expected>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/http_types.hpp"
#include "common/thread_annotations.hpp"

namespace httplib {
class Client;
}

namespace runtimed {

struct PeerFailure {
  enum class Kind {
    // Nothing complete reached the peer (connection refused or timed out, a write cut off): it
    // cannot have run the request, which may go elsewhere.
    NotSent,
    // The request went out whole and the answer did not come back: the peer may have run it.
    BrokenAfterSend,
  };
  Kind kind;
  std::string detail;  // httplib's words
};

class PeerClientPool {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{500};
    // The peer enforces the function's timeout (at most 900 s); this only bounds a hung peer.
    std::chrono::seconds read_timeout{930};
    std::chrono::seconds write_timeout{10};
    size_t max_idle_per_peer = 32;
  };

  explicit PeerClientPool(Options options);
  ~PeerClientPool();
  PeerClientPool(const PeerClientPool&) = delete;
  PeerClientPool& operator=(const PeerClientPool&) = delete;

  // Sends `request` (method, raw path and query, headers but the hop-by-hop ones, body) to the
  // node at `address` (http(s)://host:port) with `extra_headers` added, and answers its response
  // without the hop-by-hop headers.
  std::expected<api::HttpResponse, PeerFailure> send(
      const std::string& address, const api::HttpRequest& request,
      const std::vector<std::pair<std::string, std::string>>& extra_headers);

 private:
  std::unique_ptr<httplib::Client> take(const std::string& address);
  void give_back(const std::string& address, std::unique_ptr<httplib::Client> client);

  const Options options_;
  common::Mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<httplib::Client>>> idle_ GUARDED_BY(mutex_);
};

}  // namespace runtimed
