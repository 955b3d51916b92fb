// The daemon: building its parts in order, listening, and draining on SIGTERM (see daemon.hpp).
#include "runtimed/daemon.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>

#include "api/request_limits.hpp"
#include "api/sigv4.hpp"
#include "api/tls_context.hpp"
#include "common/ids.hpp"
#include "runtimed/async/async_policy.hpp"
#include "runtimed/cluster/node_identity.hpp"
#include "runtimed/cluster/pg_connection.hpp"
#include "runtimed/cluster/reservation_split.hpp"
#include "runtimed/console/console_assets.hpp"
#include "runtimed/controller/function_launch.hpp"
#include "runtimed/install_paths.hpp"

namespace runtimed {

std::filesystem::path default_state_dir() {
  if (::geteuid() == 0) return "/var/lib/runtimed";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) {
    return std::filesystem::path(xdg) / "runtimed";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : "/tmp") / ".local/state/runtimed";
}

std::expected<ListenAddress, std::string> parse_loopback_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return std::unexpected("--listen must be HOST:PORT");
  ListenAddress address{.host = listen.substr(0, colon)};
  // The whole text after the colon is the port: "80abc", "+80" and " 80" are refused. Port 0
  // lets the kernel choose one; the "listening on" line says which.
  const std::string_view digits = std::string_view(listen).substr(colon + 1);
  unsigned p = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || p > 65535) {
    return std::unexpected("--listen: bad port");
  }
  address.port = static_cast<uint16_t>(p);
  in_addr addr{};
  if (address.host == "localhost") address.host = "127.0.0.1";
  if (::inet_pton(AF_INET, address.host.c_str(), &addr) != 1 || (ntohl(addr.s_addr) >> 24) != 127) {
    return std::unexpected("refusing to listen on " + address.host +
                           ": requests are not authenticated yet, so runtimed serves loopback "
                           "(127.0.0.0/8) only");
  }
  return address;
}

std::expected<ListenAddress, std::string> parse_listen(const std::string& listen,
                                                       bool authenticated) {
  auto loopback = parse_loopback_listen(listen);
  if (loopback || !authenticated) {
    if (!loopback && loopback.error().starts_with("refusing"))
      return std::unexpected(loopback.error() + "; give --credentials to serve other addresses");
    return loopback;
  }
  if (loopback.error().find("bad port") != std::string::npos ||
      loopback.error().find("HOST:PORT") != std::string::npos)
    return loopback;
  const auto colon = listen.rfind(':');
  ListenAddress address{.host = listen.substr(0, colon)};
  in_addr addr{};
  if (::inet_pton(AF_INET, address.host.c_str(), &addr) != 1)
    return std::unexpected("--listen: " + address.host + " is not an IPv4 address");
  address.port = static_cast<uint16_t>(std::stoi(listen.substr(colon + 1)));
  return address;
}

size_t default_max_connections(uint64_t nofile_limit) {
  return static_cast<size_t>(std::max<uint64_t>(16, nofile_limit / 2));
}

namespace {

// Raises the soft open-file limit to the hard one: every client connection and environment costs
// fds, and running out makes accept() fail for everyone. Returns the limit now in force.
uint64_t raise_nofile_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  return rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : static_cast<uint64_t>(rl.rlim_cur);
}

std::unexpected<StartError> start_error(int status, std::string message) {
  return std::unexpected(StartError{status, std::move(message)});
}

// The stems kept per managed language (none with --stem-cells 0).
std::map<std::string, sandbox::StemSpec> stems(const ServeOptions& o) {
  if (o.stem_cells == 0) return {};
  return stem_specs(o.runtimes_dir.empty() ? default_runtimes_dir() : o.runtimes_dir);
}

ControllerOptions controller_options(const ServeOptions& o, const HostIdentity& identity,
                                     common::metrics::Registry& metrics) {
  ControllerOptions co;
  co.host = identity;
  co.metrics = &metrics;
  co.concurrency_limit = o.concurrency_limit;
  co.memory_budget_mb = o.memory_budget_mb;
  co.keep_alive = std::chrono::seconds(o.keep_alive_s);
  co.freeze_after = std::chrono::milliseconds(o.freeze_after_ms);
  co.cpu_quota = o.cpu_quota;
  co.disk_reserve_mb = o.disk_reserve_mb;
  co.runtimes_dir = o.runtimes_dir.empty() ? default_runtimes_dir() : o.runtimes_dir;
  co.stems = stems(o);
  co.layer_mounts_dir = (o.state_dir.empty() ? default_state_dir() : o.state_dir) / "layer-mounts";
  return co;
}

AsyncDispatcherOptions dispatcher_options(const ServeOptions& o, const HostIdentity& identity,
                                          std::vector<std::chrono::milliseconds> retry_delays,
                                          common::metrics::Registry& metrics) {
  AsyncDispatcherOptions ao;
  ao.host = identity;
  ao.metrics = &metrics;
  ao.policy.retry_delays = std::move(retry_delays);
  ao.policy.initial_backoff = std::chrono::seconds(o.async_backoff_s);
  ao.max_in_flight = o.concurrency_limit;
  return ao;
}

}  // namespace

struct Daemon::Opened {
  std::filesystem::path state_dir;
  std::unique_ptr<sandbox::SandboxHost> sandboxes;
  std::unique_ptr<FunctionStore> store;
  std::vector<std::chrono::milliseconds> retry_delays;
  std::unique_ptr<CredentialStore> credentials;
  std::shared_ptr<api::TlsServerContext> tls;
  std::unique_ptr<HttpTriggerStore> http_triggers;
  std::optional<cluster::ClusterNodeOptions> cluster;  // with --cluster
  std::unique_ptr<StateDb> node_db;                    // with --cluster
  std::unique_ptr<cluster::PgCodeBlobs> code_blobs;    // with --cluster
  std::function<bool(int)> is_own_catalog_connection;  // with --cluster
};

std::expected<std::unique_ptr<Daemon>, StartError> Daemon::open(const ServeOptions& o) {
  Opened opened;
  opened.state_dir = o.state_dir.empty() ? default_state_dir() : o.state_dir;
  const auto& state_dir = opened.state_dir;
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    return start_error(
        2, fmt::format("cannot create state dir {}: {}", state_dir.string(), ec.message()));
  }
  if (!o.cluster.empty()) {
    // Only the URL's syntax here: an unreachable database must not stop the daemon starting.
    if (auto url = cluster::PgConnection::check_url(o.cluster); !url)
      return start_error(2, "--cluster: " + url.error());
    if (o.cluster_lease_s < 1) return start_error(2, "--cluster-lease-seconds must be at least 1");
    if (!o.cluster_advertise.empty()) {
      const std::string_view url = o.cluster_advertise;
      const size_t scheme = url.starts_with("http://") ? 7 : url.starts_with("https://") ? 8 : 0;
      if (scheme == 0 || url.size() == scheme || url.find_first_of(" /", scheme) != url.npos)
        return start_error(
            2,
            "--cluster-advertise: an http:// or https:// URL of host and port, without a path: " +
                o.cluster_advertise);
    } else if (o.listen.starts_with("0.0.0.0:")) {
      // Every address is no address another node can call.
      return start_error(2, "--listen " + o.listen +
                                " listens on every address: give --cluster-advertise URL, the one "
                                "other nodes reach this node at");
    }
    // Each node's scaled schedule clock runs from its own start: nodes would disagree on the
    // shared schedules' times.
    if (o.schedule_time_scale != 1)
      return start_error(2, "--schedule-time-scale is for a single node, not with --cluster");
    if (!o.node_id.empty() && !cluster::valid_node_id(o.node_id))
      return start_error(2, "--node-id: 1-128 characters of A-Z a-z 0-9 . _ -");
    auto node_id = o.node_id.empty() ? cluster::stable_node_id(state_dir)
                                     : std::expected<std::string, std::string>(o.node_id);
    if (!node_id) return start_error(1, "--node-id: " + node_id.error());
    opened.cluster = cluster::ClusterNodeOptions{.database_url = o.cluster,
                                                 .node_id = *node_id,
                                                 .lease = std::chrono::seconds(o.cluster_lease_s)};
  }
  if (!o.credentials.empty()) {
    auto credentials = CredentialStore::open(o.credentials);
    if (!credentials) return start_error(2, credentials.error());
    opened.credentials = std::move(*credentials);
  }
  if (o.tls_cert.empty() != o.tls_key.empty())
    return start_error(2, "--tls-cert and --tls-key go together: give both or neither");
  if (!o.tls_cert.empty()) {
    auto tls = api::TlsServerContext::load(o.tls_cert, o.tls_key);
    if (!tls) return start_error(2, tls.error());
    opened.tls = std::move(*tls);
  }
  sandbox::SandboxOptions so;
  so.state_dir = state_dir;
  so.cgroup_parent = o.cgroup_parent;
  so.init_path = runtimed_init_path();
  so.cpu_quota = o.cpu_quota;
  if (!o.uid_range.empty()) {
    auto uids = sandbox::UidRange::parse(o.uid_range);
    if (!uids) return start_error(2, "--uid-range: " + uids.error().to_string());
    so.uids = *uids;
  }
  if (o.network == "bridge") {
    sandbox::NetworkOptions net;
    net.bridge = o.network_bridge;
    net.cidr = o.network_cidr;
    net.host_ports = o.allow_host_ports;
    net.egress_allow = o.egress_allow;
    net.resolv_conf = o.resolv_conf;
    so.network = std::move(net);
  } else if (o.network != "none") {
    return start_error(2, "--network: expected bridge or none, got " + o.network);
  }
  auto sandboxes = sandbox::SandboxHost::open(so);
  if (!sandboxes) return start_error(1, sandboxes.error().to_string());
  opened.sandboxes = std::move(*sandboxes);
  CodeLimits code_limits;
  code_limits.max_store_bytes = o.max_code_store_mb << 20;
  if (opened.cluster) {
    // The catalog is shared through the cluster's database; what is the node's own stays in its
    // SQLite database (docs/cluster.md says which is which).
    auto node_db = StateDb::open(state_dir);
    if (!node_db) return start_error(1, node_db.error());
    opened.node_db = std::move(*node_db);
    const cluster::PgStateOptions database{.database_url = o.cluster};
    auto backend = std::make_unique<cluster::PgStateBackend>(database);
    if (auto connected = backend->connect(); !connected)
      spdlog::warn(
          "cluster: the catalog database does not answer yet ({}); serving, and "
          "retrying on each use",
          connected.error().message);
    opened.is_own_catalog_connection = [pid = backend.get()](int sender) {
      return sender != 0 && sender == pid->backend_pid();
    };
    opened.code_blobs = std::make_unique<cluster::PgCodeBlobs>(database);
    opened.store = std::make_unique<FunctionStore>(
        std::make_unique<StateDb>(std::move(backend)),
        std::make_unique<CodeStore>(state_dir / "code", code_limits), *opened.code_blobs);
  } else {
    auto store = FunctionStore::open(state_dir, code_limits);
    if (!store) return start_error(1, store.error());
    opened.store = std::move(*store);
  }
  auto http_triggers =
      HttpTriggerStore::open(opened.node_db ? *opened.node_db : opened.store->db());
  if (!http_triggers) return start_error(1, http_triggers.error());
  opened.http_triggers = std::move(*http_triggers);
  auto retry_delays = parse_retry_delays(o.async_retry_delays);
  if (!retry_delays) return start_error(2, "--async-retry-delays: " + retry_delays.error());
  opened.retry_delays = std::move(*retry_delays);
  auto daemon = std::unique_ptr<Daemon>(new Daemon(o, std::move(opened)));
  daemon->apply_account_caps();
  if (auto loaded = daemon->load_concurrency_settings(); !loaded) {
    // A cluster's database may be down at start: the listener loads them once it answers.
    if (!daemon->catalog_listener_) return start_error(1, loaded.error());
    spdlog::warn("cluster: {}; retrying when the database answers", loaded.error());
  }
  return daemon;
}

std::expected<void, std::string> Daemon::load_concurrency_settings() {
  auto reservations = settings_.all_reserved();
  if (!reservations) return std::unexpected("reading reservations: " + reservations.error());
  for (const auto& [name, reserved] : *reservations)
    controller_.set_reserved_concurrency(name, reserved);
  auto provisioned = settings_.all_provisioned();
  if (!provisioned)
    return std::unexpected("reading provisioned concurrency: " + provisioned.error());
  for (const auto& [key, requested] : *provisioned)
    controller_.set_provisioned(key.first, key.second, static_cast<size_t>(requested));
  return {};
}

Daemon::Daemon(const ServeOptions& o, Opened opened)
    : options_(o),
      state_dir_(std::move(opened.state_dir)),
      identity_{o.region, o.account_id},
      credentials_(std::move(opened.credentials)),
      tls_(std::move(opened.tls)),
      sandboxes_(std::move(opened.sandboxes)),
      node_db_(std::move(opened.node_db)),
      code_blobs_(std::move(opened.code_blobs)),
      store_(std::move(opened.store)),
      logs_(state_dir_ / "logs"),
      function_api_(*store_, o.region, o.account_id),
      settings_(*store_, o.concurrency_limit, o.min_unreserved),
      concurrency_api_(settings_, function_api_),
      event_invoke_config_api_(settings_, function_api_, o.async_min_event_age_s),
      provisioned_concurrency_api_(settings_, function_api_),
      tags_api_(*store_, function_api_),
      version_api_(*store_, function_api_),
      alias_api_(*store_, function_api_),
      layer_api_(*store_, {o.region, o.account_id}),
      async_events_(store_->db()),
      message_queues_(store_->db(), o.region, o.account_id),
      http_triggers_(std::move(opened.http_triggers)),
      function_url_api_(*http_triggers_, function_api_, trigger_urls_),
      http_api_routes_(*http_triggers_, function_api_, identity_, trigger_urls_),
      server_(o.io_threads, std::chrono::microseconds(o.io_spin_us)),
      environments_(*sandboxes_, o.prepared_pool, common::kDefaultEphemeralStorageMb, stems(o),
                    o.stem_cells),
      controller_(controller_options(o, identity_, metrics_), environments_, server_, *store_,
                  logs_),
      dispatcher_(dispatcher_options(o, identity_, std::move(opened.retry_delays), metrics_),
                  async_events_, message_queues_, controller_, *store_, settings_, logs_),
      // In cluster mode the schedules are shared, fired by the node holding the schedule lease.
      scheduler_(
          {.identity = identity_,
           .allow_second_rates = o.schedule_second_rates,
           .time_scale = o.schedule_time_scale,
           .cluster = opened.cluster
                          ? std::optional(Scheduler::Options::ClusterLease{
                                .fencing_token = [this] { return cluster_->fencing_token(); },
                                .lease = opened.cluster->lease})
                          : std::nullopt},
          opened.cluster ? store_->db() : node_db(), function_api_, dispatcher_),
      event_source_mappings_(identity_, node_db(), message_queues_, function_api_, controller_),
      queue_routes_(message_queues_, async_events_, dispatcher_, *store_, identity_),
      stack_store_(store_->db()),
      stack_routes_(stack_store_, identity_),
      client_routes_(
          controller_, dispatcher_,
          ClientRoutes::Apis{function_api_, concurrency_api_, event_invoke_config_api_, tags_api_,
                             version_api_, alias_api_, layer_api_, provisioned_concurrency_api_,
                             queue_routes_, stack_routes_, function_url_api_, http_api_routes_,
                             scheduler_, event_source_mappings_},
          logs_, *store_, identity_, metrics_),
      http_trigger_server_(*http_triggers_, controller_, identity_,
                           credentials_ ? HttpTriggerServer::Authenticator(
                                              [this](const api::HttpRequest& request)
                                                  -> std::expected<std::string, api::ApiError> {
                                                auto key = authenticate(request);
                                                if (!key) return std::unexpected(key.error());
                                                return key->account_id;
                                              })
                                        : nullptr) {
  spdlog::info("managed runtimes from {}, sandbox init {}",
               (o.runtimes_dir.empty() ? default_runtimes_dir() : o.runtimes_dir).string(),
               runtimed_init_path().string());
  if (opened.cluster) {
    opened.cluster->in_flight = [this] { return static_cast<int64_t>(controller_.stats().busy); };
    // Reservations are split across the live nodes (docs/cluster.md, "Reserved concurrency").
    opened.cluster->on_members_changed = [this] { controller_.reshare_reservations(); };
    catalog_listener_ = std::make_unique<cluster::CatalogListener>(cluster::CatalogListenerOptions{
        .database = {.database_url = opened.cluster->database_url},
        .is_own = std::move(opened.is_own_catalog_connection),
        .on_change =
            [this](const cluster::CatalogChange& change) {
              store_->changed_elsewhere(change.table, change.row);
            },
        .on_resync =
            [this] {
              store_->resync();
              // Versions too: one deleted while nobody listened must not stay invocable here.
              controller_.forget_cached_functions();
              if (auto loaded = load_concurrency_settings(); !loaded)
                spdlog::warn("cluster: {}", loaded.error());
            },
        .on_async_enqueued = [this] { dispatcher_.wake(); }});
    cluster_ = std::make_unique<cluster::ClusterNode>(std::move(*opened.cluster));
    client_routes_.set_cluster(cluster_.get(), server_, [this](const std::string& name) {
      return controller_.reserved_concurrency(name);
    });
    controller_.set_reserved_share([this](const std::string& name, int reserved) {
      const auto view = cluster_->live_view();
      const auto self = view ? view->index_of(cluster_->node_id()) : std::nullopt;
      // Not a member (yet, or any more): the node is on its own.
      if (!self) return reserved;
      return cluster::reserved_shares(view->ring, name, reserved)[*self];
    });
    // Events are claimed, and their outcomes recorded, under the node's registration.
    async_events_.set_fencing_token([this] { return cluster_->fencing_token(); });
    store_->on_reserved_changed_elsewhere = [this](const std::string& name) {
      if (auto reserved = settings_.reserved(name); reserved)
        controller_.set_reserved_concurrency(name, *reserved);
    };
    store_->on_provisioned_changed_elsewhere = [this](const std::string& name,
                                                      const std::string& qualifier) {
      if (auto config = settings_.get_provisioned(name, qualifier); config)
        controller_.set_provisioned(name, qualifier,
                                    *config ? static_cast<size_t>((*config)->requested) : 0);
    };
  }
  if (credentials_) {
    client_routes_.set_authenticator([this](const api::HttpRequest& request)
                                         -> std::expected<ClientRoutes::Caller, api::ApiError> {
      // The console's static files: a browser opening the page cannot sign; they hold no data,
      // and every API call the page then makes is signed (docs/console.md).
      if ((request.method == "GET" || request.method == "HEAD") &&
          console::is_console_path(request.path))
        return ClientRoutes::Caller{};
      auto key = authenticate(request);
      if (!key) return std::unexpected(key.error());
      return caller_of(*key);
    });
  }
  settings_.host_limits = [this] {
    const ControllerStats s = controller_.stats();
    return api::HostLimits{static_cast<int64_t>(s.concurrency_limit),
                           static_cast<int64_t>(s.memory_budget_mb),
                           static_cast<int64_t>(s.memory_used_mb)};
  };
  settings_.on_provisioned_changed = [this](const std::string& name, const std::string& qualifier,
                                            int requested) {
    controller_.set_provisioned(name, qualifier, static_cast<size_t>(requested));
  };
  settings_.provisioned_allocation = [this](const std::string& name, const std::string& qualifier) {
    const ProvisionedState state = controller_.provisioned_state(name, qualifier);
    return api::ProvisionedAllocation{static_cast<int>(state.allocated), state.failure};
  };
  settings_.on_reserved_changed = [this](const std::string& name, std::optional<int> reserved) {
    controller_.set_reserved_concurrency(name, reserved);
  };
  function_api_.set_reserved_concurrency_source(
      [this](const std::string& name) { return controller_.reserved_concurrency(name); });
  store_->on_aliases_changed = [this](const std::string& function) {
    reconcile_provisioned(function);
    forget_urls_of_missing(function);
  };
  store_->on_changed = [this](const std::string& name) {
    controller_.function_changed(name);
    // A deleted version or function took its provisioned concurrency along.
    reconcile_provisioned(name.substr(0, name.find(':')));
    // A deleted function's reservation went with it.
    if (!store_->get(name)) controller_.set_reserved_concurrency(name, std::nullopt);
    forget_urls_of_missing(name.substr(0, name.find(':')));
  };
}

Daemon::~Daemon() { shutdown(); }

void Daemon::reconcile_provisioned(const std::string& function) {
  // Most changes are to functions with none: no database read for them.
  if (!controller_.has_provisioned(function)) return;
  auto configs = settings_.list_provisioned(function);
  if (!configs) return;
  std::map<std::string, size_t> configured;
  for (const auto& c : *configs) configured[c.qualifier] = static_cast<size_t>(c.requested);
  controller_.reconcile_provisioned(function, configured);
}

std::expected<AccessKey, api::ApiError> Daemon::authenticate(const api::HttpRequest& request) {
  const api::SigV4Policy policy{identity_.region, "lambda", std::chrono::seconds(300),
                                std::chrono::system_clock::now()};
  // The key verify_sigv4 looks up is the one answered: one lookup per request.
  std::optional<AccessKey> signer;
  auto verified =
      api::verify_sigv4(request, policy, [&](const std::string& key) -> std::optional<std::string> {
        signer = credentials_->find(key);
        if (!signer) return std::nullopt;
        return signer->secret_access_key;
      });
  if (!verified) return std::unexpected(verified.error());
  return std::move(*signer);
}

ClientRoutes::Caller Daemon::caller_of(const AccessKey& key) const {
  return {key.account_id == identity_.account_id ? "" : key.account_id, key.admin};
}

void Daemon::forget_urls_of_missing(const std::string& function) {
  const auto urls = http_triggers_->urls_of(function);
  if (urls.empty()) return;  // most changes: no store read
  auto missing = [](const auto& found) {
    return !found && found.error().kind == common::StoreErrorKind::NotFound;
  };
  const bool function_gone = missing(store_->get(function));
  for (const auto& url : urls) {
    const bool gone = function_gone || (!url.qualifier.empty() &&
                                        missing(store_->get_alias(function, url.qualifier)));
    if (!gone) continue;
    if (auto removed = http_triggers_->remove_url(function, url.qualifier); !removed)
      spdlog::error("removing the Function URL of {}: {}", function, removed.error().message);
  }
}

void Daemon::reload_credentials() {
  if (!credentials_) return;
  if (auto n = credentials_->reload(); n)
    spdlog::info("credentials: reloaded {} key(s) from {}", *n, credentials_->path().string());
  else
    spdlog::error("credentials: kept the keys in force: {}", n.error());
  apply_account_caps();
}

void Daemon::apply_account_caps() {
  if (!credentials_) return;
  std::map<std::string, uint64_t> by_scope;
  for (const auto& [account, mb] : credentials_->account_memory_caps())
    by_scope[account == identity_.account_id ? std::string() : account] = mb;
  controller_.set_account_memory_caps(by_scope);
}

void Daemon::reload_tls() {
  if (!tls_ || !listener_) return;
  auto tls = api::TlsServerContext::load(options_.tls_cert, options_.tls_key);
  if (!tls) {
    spdlog::error("tls: kept the certificate in force: {}", tls.error());
    return;
  }
  tls_ = std::move(*tls);
  server_.replace_tls(*listener_, tls_);
  spdlog::info("tls: reloaded {}", tls_->summary());
}

std::expected<void, StartError> Daemon::start() {
  if (auto started = dispatcher_.start(); !started) return start_error(1, started.error());
  if (auto started = scheduler_.start(); !started)
    return start_error(1, "reading schedules: " + started.error());
  if (auto started = event_source_mappings_.start(); !started)
    return start_error(1, "reading event source mappings: " + started.error());
  const auto listen = parse_listen(options_.listen, credentials_ != nullptr);
  if (!listen) return start_error(2, listen.error());
  const std::string& host = listen->host;
  const uint16_t port = listen->port;
  // Bounded resources (docs/limits.md): per-route body limits checked from the head, a global
  // connection cap, and a deadline for each request.
  const uint64_t nofile = raise_nofile_limit();
  api::ListenerOptions lo;
  lo.body_limit = api::kMaxClientRequest;
  lo.body_limit_for = [](const api::HttpRequest& head) {
    return api::client_body_limit(head).bytes;
  };
  lo.on_too_large = [](const api::HttpRequest& head) {
    return api::request_entity_too_large(head, common::new_request_id());
  };
  lo.max_connections =
      options_.max_connections > 0 ? options_.max_connections : default_max_connections(nofile);
  lo.request_timeout = std::chrono::seconds(options_.request_timeout_s);
  lo.idle_timeout = lo.request_timeout;
  lo.tls = tls_;  // the handshake is bounded by request_timeout too
  auto listener = server_.listen(
      host, port,
      [this](api::HttpRequest&& req, api::Reply reply) {
        client_routes_.handle(std::move(req), std::move(reply));
      },
      lo);
  if (!listener) {
    return start_error(1,
                       fmt::format("cannot listen on {}: {}", options_.listen, listener.error()));
  }
  listener_ = *listener;
  if (auto http = listen_http_triggers(); !http) return http;
  if (catalog_listener_) catalog_listener_->start();
  if (cluster_) {
    // Bounded: the first registration, or ClusterNodeOptions::startup_wait (5 s), whichever
    // comes first; without it the node serves on and keeps trying.
    const std::string address = !options_.cluster_advertise.empty()
                                    ? options_.cluster_advertise
                                    : fmt::format("{}://{}:{}", tls_ ? "https" : "http", host,
                                                  server_.local_port(*listener_));
    if (!cluster_->start(address))
      spdlog::warn(
          "cluster: node {} is not registered yet; serving, and retrying in the "
          "background",
          cluster_->node_id());
  }
  spdlog::info("runtimed serving {} on {} (state {})", tls_ ? "HTTPS" : "HTTP", options_.listen,
               state_dir_.string());
  if (tls_) spdlog::info("tls: {}", tls_->summary());
  return {};
}

uint16_t Daemon::port() const { return listener_ ? server_.local_port(*listener_) : 0; }

uint16_t Daemon::http_port() const {
  return http_listener_ ? server_.local_port(*http_listener_) : 0;
}

std::expected<void, StartError> Daemon::listen_http_triggers() {
  if (options_.http_listen.empty()) return {};
  // Function URLs with AuthType NONE are public by design, so any address may serve them.
  const auto listen = parse_listen(options_.http_listen, true);
  if (!listen) return start_error(2, "--http-listen: " + listen.error());
  api::ListenerOptions lo;
  lo.body_limit = 6 * 1024 * 1024;  // Lambda's synchronous payload limit
  lo.max_connections = options_.max_connections > 0 ? options_.max_connections : 1024;
  lo.request_timeout = std::chrono::seconds(options_.request_timeout_s);
  lo.idle_timeout = lo.request_timeout;
  lo.on_too_large = [](const api::HttpRequest&) { return HttpTriggerServer::too_large(); };
  auto listener = server_.listen(
      listen->host, listen->port,
      [this](api::HttpRequest&& req, api::Reply reply) {
        http_trigger_server_.handle(std::move(req), std::move(reply));
      },
      lo);
  if (!listener)
    return start_error(
        1, fmt::format("cannot listen on {}: {}", options_.http_listen, listener.error()));
  http_listener_ = *listener;
  trigger_urls_.set_base(
      options_.http_public_url.empty()
          ? fmt::format("http://{}:{}", listen->host, http_port())
          : options_.http_public_url.substr(0, options_.http_public_url.find_last_not_of('/') + 1));
  spdlog::info("HTTP triggers (Function URLs, HTTP APIs) on {}", trigger_urls_.base());
  return {};
}

void Daemon::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (catalog_listener_) catalog_listener_->stop();
  // The listener stays open while draining: removing it would also close the connections whose
  // invocations are still running. New invocations are refused by the controller.
  // No schedule fires into a stopping dispatcher, no queue is polled into a draining controller.
  scheduler_.stop();
  event_source_mappings_.stop();
  // Async attempts cut off by the shutdown are kept for the next start, not spent.
  dispatcher_.stop();
  controller_.shutdown(std::chrono::seconds(options_.drain_timeout_s));
  event_source_mappings_.drain();
  dispatcher_.join();
  // A cluster node leaves once its async attempts are recorded: leaving earlier would let other
  // nodes take over (and run again) events whose outcome it was about to record, and fence it
  // out of recording them. The others then see it left at once, not dead a lease later.
  if (cluster_) cluster_->stop();
  // Log followers answer with what they have, so the blocking pool has no 20 s wait to finish.
  logs_.release_waits();
  client_routes_.stop();
  store_->on_changed = nullptr;
  server_.stop(std::chrono::seconds(1));
}

int run_serve_command(const ServeOptions& o) {
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  const auto listen = parse_listen(o.listen, !o.credentials.empty());
  if (!listen) {
    std::fprintf(stderr, "runtimed serve: %s\n", listen.error().c_str());
    return 2;
  }
  // Signals are taken by sigwait below; every thread started from here inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto daemon = Daemon::open(o);
  if (!daemon) {
    std::fprintf(stderr, "runtimed serve: %s\n", daemon.error().message.c_str());
    return daemon.error().status;
  }
  if (auto started = (*daemon)->start(); !started) {
    std::fprintf(stderr, "runtimed serve: %s\n", started.error().message.c_str());
    return started.error().status;  // the destructor shuts down what open() built
  }
  std::fprintf(stderr, "runtimed: listening on %s://%s:%u (state dir %s)\n",
               o.tls_cert.empty() ? "http" : "https", listen->host.c_str(),
               static_cast<unsigned>((*daemon)->port()), (*daemon)->state_dir().c_str());
  if ((*daemon)->http_port() != 0)
    std::fprintf(stderr, "runtimed: HTTP triggers on port %u\n",
                 static_cast<unsigned>((*daemon)->http_port()));
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    (*daemon)->reload_credentials();
    (*daemon)->reload_tls();
  }
  std::fprintf(stderr, "runtimed: %s, draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*daemon)->shutdown();
  return 0;
}

}  // namespace runtimed
