// Pooled keep-alive clients to peer nodes (see peer_client_pool.hpp).
#include "runtimed/forwarding/peer_client_pool.hpp"

#include <httplib.h>

#include <array>
#include <string_view>

#include "runtimed/forwarding/hop_by_hop.hpp"

namespace runtimed {

namespace {

PeerFailure::Kind kind_of(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
    case httplib::Error::BindIPAddress:
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
    // A write cut off: the peer never had the whole request, so it cannot have run it.
    case httplib::Error::Write:
      return PeerFailure::Kind::NotSent;
    default:
      return PeerFailure::Kind::BrokenAfterSend;
  }
}

}  // namespace

PeerClientPool::PeerClientPool(Options options) : options_(options) {}

PeerClientPool::~PeerClientPool() = default;

std::unique_ptr<httplib::Client> PeerClientPool::take(const std::string& address) {
  {
    common::MutexLock lock(mutex_);
    auto it = idle_.find(address);
    if (it != idle_.end() && !it->second.empty()) {
      auto client = std::move(it->second.back());
      it->second.pop_back();
      return client;
    }
  }
  auto client = std::make_unique<httplib::Client>(address);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);  // else Nagle and delayed ACKs add ~40 ms (PERFORMANCE.md)
  client->set_url_encode(false);  // the path goes as the client sent it: SigV4 signed it so
  client->set_decompress(false);  // the body is relayed as it came
  const auto connect_us =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.connect_timeout).count();
  client->set_connection_timeout(connect_us / 1000000, connect_us % 1000000);
  client->set_read_timeout(options_.read_timeout.count(), 0);
  client->set_write_timeout(options_.write_timeout.count(), 0);
  return client;
}

void PeerClientPool::give_back(const std::string& address,
                               std::unique_ptr<httplib::Client> client) {
  common::MutexLock lock(mutex_);
  auto& idle = idle_[address];
  if (idle.size() < options_.max_idle_per_peer) idle.push_back(std::move(client));
}

std::expected<api::HttpResponse, PeerFailure> PeerClientPool::send(
    const std::string& address, const api::HttpRequest& request,
    const std::vector<std::pair<std::string, std::string>>& extra_headers) {
  httplib::Request out;
  out.method = request.method;
  out.path = request.raw_path.empty() ? request.path : request.raw_path;
  if (!request.raw_query.empty()) out.path += "?" + request.raw_query;
  for (const auto& [name, value] : request.headers)
    if (!hop_by_hop(name)) out.headers.emplace(name, value);
  for (const auto& [name, value] : extra_headers) out.headers.emplace(name, value);
  out.body = request.body;

  auto client = take(address);
  httplib::Response in;
  httplib::Error error = httplib::Error::Success;
  if (!client->send(out, in, error)) {
    // The client is dropped with its connection: the next exchange opens a fresh one.
    return std::unexpected(PeerFailure{kind_of(error), httplib::to_string(error)});
  }
  give_back(address, std::move(client));
  api::HttpResponse response;
  response.status = in.status;
  for (auto& [name, value] : in.headers)
    if (!hop_by_hop(name)) response.headers.emplace_back(name, value);
  response.body = std::move(in.body);
  return response;
}

}  // namespace runtimed
