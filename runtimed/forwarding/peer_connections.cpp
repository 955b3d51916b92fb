// Keep-alive connections to peer nodes on the io threads (see peer_connections.hpp).
#include "runtimed/forwarding/peer_connections.hpp"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <charconv>

#include "api/invoke_api.hpp"
#include "runtimed/forwarding/hop_by_hop.hpp"

namespace runtimed {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct HostPort {
  std::string host;
  std::string port;
};

std::optional<HostPort> parse_http_address(const std::string& address) {
  constexpr std::string_view kScheme = "http://";
  if (!address.starts_with(kScheme)) return std::nullopt;
  std::string rest = address.substr(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) return std::nullopt;
  return HostPort{rest.substr(0, colon), rest.substr(colon + 1)};
}

// An idle keep-alive connection the peer may have closed meanwhile (its idle timeout, or it died):
// readable with nothing to read means closed.
bool still_open(tcp::socket& socket) {
  char byte = 0;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

struct PeerConnections::Idle {
  explicit Idle(asio::io_context& io) : stream(io) {}
  beast::tcp_stream stream;
};

// One forward: connect (or reuse), write, read; holds itself alive through its handlers.
struct PeerConnections::Exchange : std::enable_shared_from_this<Exchange> {
  Exchange(PeerConnections& owner, asio::io_context& io, size_t thread, std::string address,
           HostPort peer, Done done)
      : owner(owner),
        io(io),
        thread(thread),
        address(std::move(address)),
        peer(std::move(peer)),
        resolver(io),
        done(std::move(done)) {}

  void start(const api::HttpRequest& request,
             const std::vector<std::pair<std::string, std::string>>& extra_headers) {
    out.method_string(request.method);
    std::string target = request.raw_path.empty() ? request.path : request.raw_path;
    if (!request.raw_query.empty()) target += "?" + request.raw_query;
    out.target(target);
    out.version(11);
    for (const auto& [name, value] : request.headers)
      if (!hop_by_hop(name)) out.insert(beast::string_view(name), beast::string_view(value));
    for (const auto& [name, value] : extra_headers)
      out.insert(beast::string_view(name), beast::string_view(value));
    if (out.find(http::field::host) == out.end())
      out.set(http::field::host, peer.host + ":" + peer.port);
    out.body() = request.body;
    out.keep_alive(true);
    out.prepare_payload();

    auto& idle = owner.idle_[thread][address];
    while (!idle.empty()) {
      std::unique_ptr<Idle> reused = std::move(idle.back());
      idle.pop_back();
      if (still_open(reused->stream.socket())) {
        stream = std::move(reused);
        return write();
      }
    }
    stream = std::make_unique<Idle>(io);
    resolver.async_resolve(
        peer.host, peer.port,
        [self = shared_from_this()](beast::error_code ec,
                                    const tcp::resolver::results_type& results) {
          if (ec) return self->finish(PeerFailure::Kind::NotSent, "resolving: " + ec.message());
          self->stream->stream.expires_after(self->owner.options_.connect_timeout);
          self->stream->stream.async_connect(
              results, [self](beast::error_code ec, const tcp::endpoint&) {
                if (ec)
                  return self->finish(PeerFailure::Kind::NotSent, "connecting: " + ec.message());
                self->stream->stream.socket().set_option(tcp::no_delay(true), ec);
                self->write();
              });
        });
  }

  void write() {
    stream->stream.expires_after(owner.options_.write_timeout);
    http::async_write(
        stream->stream, out, [self = shared_from_this()](beast::error_code ec, size_t) {
          // Not all of it went out: the peer never had the whole request, so cannot have run it.
          if (ec) return self->finish(PeerFailure::Kind::NotSent, "sending: " + ec.message());
          self->read();
        });
  }

  void read() {
    parser.emplace();
    parser->header_limit(64 * 1024);
    parser->body_limit(4 * api::kMaxSyncPayload);
    stream->stream.expires_after(owner.options_.read_timeout);
    http::async_read(stream->stream, buffer, *parser,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec)
                         return self->finish(PeerFailure::Kind::BrokenAfterSend,
                                             "reading the answer: " + ec.message());
                       self->answered();
                     });
  }

  void answered() {
    auto in = parser->release();
    api::HttpResponse response;
    response.status = static_cast<int>(in.result_int());
    for (const auto& field : in) {
      const std::string_view name(field.name_string().data(), field.name_string().size());
      if (!hop_by_hop(name))
        response.headers.emplace_back(std::string(name),
                                      std::string(field.value().data(), field.value().size()));
    }
    response.body = std::move(in.body());
    if (in.keep_alive() && buffer.size() == 0) {
      stream->stream.expires_never();
      auto& idle = owner.idle_[thread][address];
      if (idle.size() < owner.options_.max_idle_per_peer) idle.push_back(std::move(stream));
    }
    done(std::move(response));
  }

  void finish(PeerFailure::Kind kind, std::string detail) {
    stream.reset();  // a broken connection is never reused
    done(std::unexpected(PeerFailure{kind, std::move(detail)}));
  }

  PeerConnections& owner;
  asio::io_context& io;
  size_t thread;
  std::string address;
  HostPort peer;
  tcp::resolver resolver;
  Done done;
  std::unique_ptr<Idle> stream;
  http::request<http::string_body> out;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> parser;
};

PeerConnections::PeerConnections(size_t io_threads, Options options)
    : options_(options), idle_(std::max<size_t>(io_threads, 1)) {}

PeerConnections::~PeerConnections() = default;

bool PeerConnections::handles(const std::string& address) {
  return parse_http_address(address).has_value();
}

void PeerConnections::send(asio::io_context& io, size_t thread, const std::string& address,
                           const api::HttpRequest& request,
                           const std::vector<std::pair<std::string, std::string>>& extra_headers,
                           Done done) {
  auto peer = parse_http_address(address);
  if (!peer || thread >= idle_.size()) {
    return done(std::unexpected(
        PeerFailure{PeerFailure::Kind::NotSent, "not a plain http:// address: " + address}));
  }
  auto exchange =
      std::make_shared<Exchange>(*this, io, thread, address, std::move(*peer), std::move(done));
  exchange->start(request, extra_headers);
}

}  // namespace runtimed
