#include "runtimed/cluster/catalog_listener.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "common/module_logger.hpp"

namespace cluster {

namespace {

constexpr std::string_view kChannel = "runtimed_catalog";
constexpr std::string_view kAsyncChannel = "runtimed_async";

std::shared_ptr<spdlog::logger> logger() {
  static const auto log = common::module_logger("cluster");
  return log;
}

}  // namespace

CatalogListener::CatalogListener(CatalogListenerOptions options)
    : options_(std::move(options)), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

CatalogListener::~CatalogListener() { stop(); }

void CatalogListener::start() {
  thread_ = std::thread([this] { run(); });
}

void CatalogListener::stop() {
  {
    common::MutexLock lock(mutex_);
    stopping_ = true;
  }
  const uint64_t one = 1;
  if (wake_) (void)::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

bool CatalogListener::listening() const {
  common::MutexLock lock(mutex_);
  return listening_;
}

bool CatalogListener::wait(std::chrono::milliseconds d) {
  pollfd fd{.fd = wake_.get(), .events = POLLIN, .revents = 0};
  (void)::poll(&fd, 1, static_cast<int>(d.count()));
  common::MutexLock lock(mutex_);
  return !stopping_;
}

void CatalogListener::run() {
  std::chrono::milliseconds backoff{250};
  bool reported = false;
  while (true) {
    {
      common::MutexLock lock(mutex_);
      if (stopping_) return;
    }
    auto connection =
        PgConnection::connect(options_.database.database_url, options_.database.connect_timeout,
                              options_.database.statement_timeout);
    if (connection) {
      auto listened = connection->exec("LISTEN " + std::string(kChannel));
      if (listened) listened = connection->exec("LISTEN " + std::string(kAsyncChannel));
      if (listened) {
        backoff = std::chrono::milliseconds(250);
        if (reported) logger()->info("listening to catalog changes again");
        reported = false;
        if (!listen(*connection)) return;
        continue;  // the connection broke: reconnect at once, then back off
      } else {
        connection = std::unexpected(listened.error());
      }
    }
    if (!reported)
      logger()->warn("cannot listen to catalog changes (nodes' caches may lag until it can): {}",
                     connection.error().message);
    reported = true;
    if (!wait(backoff)) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

bool CatalogListener::listen(PgConnection& connection) {
  {
    common::MutexLock lock(mutex_);
    listening_ = true;
  }
  // Whatever changed while nobody listened is unknown: the owner starts over.
  if (options_.on_resync) options_.on_resync();
  bool stopping = false;
  while (true) {
    pollfd fds[2] = {{.fd = connection.socket(), .events = POLLIN, .revents = 0},
                     {.fd = wake_.get(), .events = POLLIN, .revents = 0}};
    // The timeout only bounds how late a broken connection without a socket event is noticed.
    (void)::poll(fds, 2, 1000);
    {
      common::MutexLock lock(mutex_);
      stopping = stopping_;
    }
    if (stopping) break;
    if (!connection.consume_input()) break;
    bool async_enqueued = false;
    while (auto n = connection.next_notification()) {
      if (options_.is_own && options_.is_own(n->sender_pid)) continue;
      if (n->channel == kAsyncChannel) {
        async_enqueued = true;  // once for however many arrived together
        continue;
      }
      if (n->channel != kChannel) continue;
      auto row = nlohmann::json::parse(n->payload, nullptr, /*allow_exceptions=*/false);
      if (!row.is_object() || !row.contains("table") || !row["table"].is_string()) continue;
      CatalogChange change{row["table"].get<std::string>(), std::move(row)};
      change.row.erase("table");
      if (options_.on_change) options_.on_change(change);
    }
    if (async_enqueued && options_.on_async_enqueued) options_.on_async_enqueued();
  }
  {
    common::MutexLock lock(mutex_);
    listening_ = false;
  }
  if (!stopping) logger()->warn("lost the connection that listens to catalog changes");
  return !stopping;
}

}  // namespace cluster
