// `runtimed serve`: the daemon. Owns the sandbox host, the state (SQLite, code store, logs), the
// HTTP server, the controller, the async dispatcher and the client API's routes, and drains and
// tears them down in order on SIGTERM.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/concurrency_api.hpp"
#include "api/event_invoke_config_api.hpp"
#include "api/function_api.hpp"
#include "api/http_server.hpp"
#include "common/metrics_registry.hpp"
#include "runtimed/async/async_dispatcher.hpp"
#include "runtimed/async/async_queue.hpp"
#include "runtimed/async/message_queues.hpp"
#include "runtimed/async/queue_routes.hpp"
#include "runtimed/client_routes.hpp"
#include "runtimed/cluster/catalog_listener.hpp"
#include "runtimed/cluster/cluster_node.hpp"
#include "runtimed/cluster/pg_code_blobs.hpp"
#include "runtimed/controller/controller.hpp"
#include "runtimed/controller/function_log.hpp"
#include "runtimed/controller/sandbox_environment_factory.hpp"
#include "runtimed/credentials.hpp"
#include "runtimed/store/function_settings.hpp"
#include "runtimed/store/function_store.hpp"
#include "runtimed/triggers/event_source_mappings.hpp"
#include "runtimed/triggers/function_url_api.hpp"
#include "runtimed/triggers/http_api_routes.hpp"
#include "runtimed/triggers/http_trigger_server.hpp"
#include "runtimed/triggers/http_trigger_store.hpp"
#include "runtimed/triggers/scheduler.hpp"
#include "runtimed/triggers/trigger_urls.hpp"

namespace runtimed {

struct ServeOptions {
  std::string listen = "127.0.0.1:9000";
  std::filesystem::path
      state_dir;  // empty: /var/lib/runtimed as root, else $XDG_STATE_HOME/runtimed
  uint64_t memory_budget_mb = 0;
  size_t concurrency_limit = 1000;
  int keep_alive_s = 600;
  int freeze_after_ms = 1000;
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string cgroup_parent = "runtimed";
  bool cpu_quota = false;
  size_t prepared_pool = 4;
  size_t stem_cells = 1;  // stems (prestarted runtimes) kept per managed language
  size_t io_threads = 0;
  int io_spin_us = 50;  // see HttpServer: poll this long after work before sleeping
  int drain_timeout_s = 30;
  std::string log_level = "warn";
  std::filesystem::path runtimes_dir;         // empty: default_runtimes_dir() (install_paths)
  size_t min_unreserved = 100;                // reservations leave at least this much unreserved
  std::string async_retry_delays = "60,120";  // seconds before the 2nd, 3rd attempt
  int async_backoff_s = 1;                    // first throttle backoff, doubling up to 5 min
  int async_min_event_age_s = 60;             // lowest MaximumEventAgeInSeconds accepted
  std::string uid_range;                      // "A-B": environments' uids; empty: the default
  uint64_t max_code_store_mb = 0;             // all functions' unpacked code; 0: unlimited
  uint64_t disk_reserve_mb = 1024;            // free disk no environment's /tmp is promised
  // Client API connections open at once; 0: half of RLIMIT_NOFILE (raised to its hard limit at
  // start), the other half left for environments and state.
  size_t max_connections = 0;
  int request_timeout_s = 30;  // a client must send a whole request within this (slowloris)
  // Environments' network (docs/networking.md): "bridge" (an eth0 on runtimed's bridge, source
  // NAT out) or "none" (loopback only, for every function).
  std::string network = "bridge";
  std::string network_bridge = "runtimed0";
  std::string network_cidr = "10.213.0.0/16";
  std::vector<uint16_t> allow_host_ports;
  std::vector<std::string> egress_allow;  // CIDRs; empty: everything but what is always blocked
  std::filesystem::path resolv_conf = "/etc/resolv.conf";
  // Access keys (docs/security.md): when set, every client-API request must be SigV4-signed by
  // one of them, and serve may listen beyond loopback.
  std::filesystem::path credentials;
  // HTTPS (docs/security.md): the certificate chain and private key, PEM; both or neither.
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  // The HTTP trigger listener (Function URLs, HTTP APIs; docs/http-triggers.md): "HOST:PORT", or
  // empty for none; and the base URL clients reach it at (empty: http://HOST:PORT).
  std::string http_listen;
  std::string http_public_url;
  // rate(N seconds) in schedules, for tests and demos (EventBridge's finest rate is a minute).
  bool schedule_second_rates = false;
  int64_t schedule_time_scale = 1;
  // Cluster mode (docs/cluster.md): the PostgreSQL URL nodes share (empty: a single node, no
  // connection at all), this node's id (empty: the one kept in the state dir) and its lease.
  std::string cluster;
  std::string node_id;
  int cluster_lease_s = 10;
  // The URL other nodes reach this one at (empty: http(s)://HOST:PORT of --listen).
  std::string cluster_advertise;
};

// The connection cap `serve` uses when --max-connections is 0, from the open-file limit.
size_t default_max_connections(uint64_t nofile_limit);

// Why the daemon did not start: the message for stderr and the exit status (2: bad options,
// 1: the host or the state refused).
struct StartError {
  int status;
  std::string message;
};

// The running daemon. open() builds it, start() starts the async dispatcher and listens, and
// shutdown() drains it; the destructor then releases what is left, in reverse order of the
// members below.
class Daemon {
 public:
  // Opens the sandbox host and the state and builds every part; nothing runs yet. SIGTERM and
  // SIGINT must already be blocked in the calling thread: every thread started here inherits that.
  static std::expected<std::unique_ptr<Daemon>, StartError> open(const ServeOptions& options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Starts the async dispatcher and listens on the client API's address.
  std::expected<void, StartError> start();
  // SIGHUP: reads --credentials again (the keys in force stay if the file is bad).
  void reload_credentials();
  // SIGHUP: reads --tls-cert and --tls-key again for new connections (the pair in force stays if
  // either is bad).
  void reload_tls();
  // The client API's port (useful with --listen HOST:0); 0 before start().
  uint16_t port() const;
  // The HTTP trigger listener's port; 0 when there is none.
  uint16_t http_port() const;
  const std::filesystem::path& state_dir() const { return state_dir_; }
  // Refuses new invocations, waits (up to --drain-timeout) for those in flight, stops the
  // environments and the async dispatcher, finishes the blocking pool's requests and closes the
  // HTTP server. Idempotent.
  void shutdown();

 private:
  // Tells the controller which provisioned concurrency configs of FUNCTION are still stored.
  void reconcile_provisioned(const std::string& function);
  // A request's SigV4 signature checked against --credentials: the key that signed it, or the
  // error.
  std::expected<AccessKey, api::ApiError> authenticate(const api::HttpRequest& request);
  // The credentials' per-account memory shares, to the controller.
  void apply_account_caps();
  // The account ("" for the daemon's own) and admin flag of an authenticated key.
  ClientRoutes::Caller caller_of(const AccessKey& key) const;
  // The database of what is this node's own (the store's on a single node).
  StateDb& node_db() { return node_db_ ? *node_db_ : store_->db(); }
  // Reads every reservation and provisioned concurrency config into the controller.
  std::expected<void, std::string> load_concurrency_settings();
  // Function URLs whose function or alias is gone go with it, as on Lambda.
  void forget_urls_of_missing(const std::string& function);
  std::expected<void, StartError> listen_http_triggers();
  struct Opened;  // what open() opens before the constructor builds the rest
  Daemon(const ServeOptions& options, Opened opened);

  const ServeOptions options_;
  const std::filesystem::path state_dir_;
  const HostIdentity identity_;
  std::unique_ptr<CredentialStore> credentials_;  // null: requests are not authenticated
  std::shared_ptr<api::TlsServerContext> tls_;    // null: plain HTTP
  // Members are declared in the order they depend on each other, so they are destroyed in
  // reverse: first what takes requests (the client routes' blocking pool, the dispatcher's
  // threads), then the controller that runs invocations, the HTTP server whose io threads carry
  // both the client API and every environment's Runtime API (so it outlives the controller), the
  // SQLite-backed APIs and queues, and last the state database and the sandbox host that every
  // other part uses. Draining needs steps interleaved across them (stop new async attempts, drain
  // the controller, then wait for the attempts it cut off), which shutdown() does before any
  // destructor runs.
  common::metrics::Registry metrics_;  // fed by the controller, read by GET /metrics
  std::unique_ptr<sandbox::SandboxHost> sandboxes_;
  // Cluster mode: the node's own SQLite database (event source mappings, HTTP triggers)
  // and the shared code zips; on a single node both are the store's.
  std::unique_ptr<StateDb> node_db_;
  std::unique_ptr<cluster::PgCodeBlobs> code_blobs_;
  std::unique_ptr<FunctionStore> store_;  // the state database (db()) and the code store
  FunctionLogs logs_;
  api::FunctionApi function_api_;
  FunctionSettings settings_;
  api::ConcurrencyApi concurrency_api_;
  api::EventInvokeConfigApi event_invoke_config_api_;
  api::ProvisionedConcurrencyApi provisioned_concurrency_api_;
  api::TagsApi tags_api_;
  api::VersionApi version_api_;
  api::AliasApi alias_api_;
  api::LayerApi layer_api_;
  AsyncQueue async_events_;
  MessageQueues message_queues_;
  std::unique_ptr<HttpTriggerStore> http_triggers_;
  TriggerUrls trigger_urls_;  // set once the HTTP trigger listener listens
  FunctionUrlApi function_url_api_;
  HttpApiRoutes http_api_routes_;
  api::HttpServer server_;
  SandboxEnvironmentFactory environments_;  // prepared environments, from the sandbox host
  Controller controller_;
  AsyncDispatcher dispatcher_;
  Scheduler scheduler_;                        // fires into the dispatcher: stopped before it
  EventSourceMappings event_source_mappings_;  // polls queues into the controller
  QueueRoutes queue_routes_;
  StackStore stack_store_;
  StackRoutes stack_routes_;
  // With --cluster: the membership thread (reads the controller's load; stopped first), and
  // the thread that keeps the store's caches in step with changes other nodes make.
  std::unique_ptr<cluster::ClusterNode> cluster_;
  std::unique_ptr<cluster::CatalogListener> catalog_listener_;
  ClientRoutes client_routes_;
  HttpTriggerServer http_trigger_server_;
  std::optional<api::ListenerId> listener_;
  std::optional<api::ListenerId> http_listener_;
  bool shut_down_ = false;
};

// Runs until SIGTERM/SIGINT; returns the process exit status.
int run_serve_command(const ServeOptions& options);

// "127.0.0.1:9000" -> host, port; refuses what is not a loopback address.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
std::expected<ListenAddress, std::string> parse_loopback_listen(const std::string& listen);
// As above, but any IPv4 address when requests are authenticated (--credentials).
std::expected<ListenAddress, std::string> parse_listen(const std::string& listen,
                                                       bool authenticated);

std::filesystem::path default_state_dir();

}  // namespace runtimed
