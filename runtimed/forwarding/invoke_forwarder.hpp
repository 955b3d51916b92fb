// Cluster mode's routing of synchronous invokes (docs/cluster.md): a call reaching any node runs
// on its function's home node (the ring over the live nodes, with bounded loads), so warm
// environments are found. A call whose home is another node is forwarded there verbatim over a
// pooled keep-alive connection and its answer relayed; a full home (a host-capacity 429) or an
// unreachable one passes the call to the next node on the ring, this one included. A function
// whose reservation is split across the nodes (cluster/reservation_split.hpp) is tried on each
// node holding a share in turn, this one included, until one has room.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/http_types.hpp"
#include "common/thread_annotations.hpp"
#include "runtimed/cluster/cluster_node.hpp"
#include "runtimed/cluster/hash_ring.hpp"
#include "runtimed/cluster/live_view.hpp"
#include "runtimed/forwarding/peer_client_pool.hpp"
#include "runtimed/forwarding/peer_connections.hpp"

namespace api {
class HttpServer;
}

namespace runtimed {

// Set on a forwarded request (the forwarding node's id): the receiver runs it itself, so a call
// makes one hop at most. Any client may set it too, which only makes the node it reaches run the
// call itself, as a node without --cluster would (docs/cluster.md).
inline constexpr const char* kForwardedFromHeader = "X-Runtimed-Forwarded-From";
// On every synchronous invoke's answer in cluster mode: the node that ran it.
inline constexpr const char* kNodeHeader = "X-Runtimed-Node";

class InvokeForwarder {
 public:
  struct Options {
    // At low load a node is never passed over for load alone: warm environments matter more.
    cluster::BoundedLoad bound{.epsilon = 0.25, .min_capacity = 4};
    // Forwards in flight at once; beyond that, calls run where they arrive.
    size_t max_in_flight = 1024;
    // Threads for forwards to https:// peers (cpp-httplib, blocking: each holds a thread while
    // the peer runs the call); http:// peers are called from the io thread itself.
    size_t tls_threads = 16;
    PeerClientPool::Options peers;
    // A function's reserved concurrency as configured (nullopt: none); empty: none is split.
    std::function<std::optional<int>(const std::string& function)> reserved_of;
  };

  // The node's live view gives the ring; a node that did not answer is passed over for a lease
  // (by then the view no longer has it, or it answers again). `server`'s io threads carry the
  // forwards to http:// peers.
  InvokeForwarder(cluster::ClusterNode& node, api::HttpServer& server, Options options);
  ~InvokeForwarder();  // stop()
  InvokeForwarder(const InvokeForwarder&) = delete;
  InvokeForwarder& operator=(const InvokeForwarder&) = delete;

  // Where a call of `function` (its unqualified name: every version and alias shares a home)
  // goes, in order: nullopt when this node is first (unless its share of a split reservation may
  // be used up), or alone, or has too many forwards in flight.
  struct Plan {
    std::shared_ptr<const cluster::LiveView> view;
    std::vector<size_t> order;  // indices into view->nodes
    // The function's reservation is split over several nodes of the order: a reserved-limit 429
    // (this node's own included) passes the call on too, since the next node's share may have room.
    bool split_reservation = false;
  };
  std::optional<Plan> plan(const std::string& function);

  // Forwards `request` to each node of the order in turn until one answers (passing over a
  // refused connection and a host-capacity 429), calling `run_here` with the reply when the turn
  // comes to this node. A connection that broke after the request was sent is answered 502: the
  // peer may have run the call, so it is not run again. Called on an io thread, which then does
  // the I/O to http:// peers itself.
  using RunHere = std::function<void(api::Reply)>;
  void forward(const api::HttpRequest& request, Plan plan, api::Reply reply, RunHere run_here,
               const std::string& request_id);

  // Waits for the forwards to https:// peers in flight. Idempotent.
  void stop() { tls_pool_.join(); }

  struct Walk;

 private:
  // Sends the walk to its next node (or runs it here, or answers its last 429).
  void step(const std::shared_ptr<Walk>& walk);
  void answered(const std::shared_ptr<Walk>& walk, const cluster::LiveNode& target,
                std::expected<api::HttpResponse, PeerFailure> answer);
  bool suspect(const std::string& node_id, std::chrono::steady_clock::time_point now)
      REQUIRES(mutex_);

  cluster::ClusterNode& node_;
  api::HttpServer& server_;
  const Options options_;
  PeerConnections connections_;
  PeerClientPool peers_;
  std::atomic<size_t> in_flight_{0};
  common::Mutex mutex_;
  // Nodes whose connection was refused, until when they are passed over.
  std::map<std::string, std::chrono::steady_clock::time_point> suspects_ GUARDED_BY(mutex_);
  // Forwards in flight to each node: its load is its last heartbeat's in-flight plus these.
  std::map<std::string, int64_t> forwarding_ GUARDED_BY(mutex_);
  boost::asio::thread_pool tls_pool_;
};

}  // namespace runtimed
