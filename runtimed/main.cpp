// runtimed: the daemon and its command-line client.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "runtimed/cli/bench_command.hpp"
#include "runtimed/cli/cli_cluster_commands.hpp"
#include "runtimed/cli/cli_commands.hpp"
#include "runtimed/cli/cli_deploy_commands.hpp"
#include "runtimed/cli/cli_queue_commands.hpp"
#include "runtimed/cli/cli_schedule_commands.hpp"
#include "runtimed/cli/sandbox_command.hpp"
#include "runtimed/daemon.hpp"

namespace {
constexpr int kUsageExitCode = 64;
}  // namespace

int main(int argc, char** argv) {
  // Quiet by default: warnings and errors only, until `serve --log-level` says otherwise.
  spdlog::set_level(spdlog::level::warn);
  CLI::App app{"runtimed: a Lambda-compatible function runtime for Linux"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "runtimed " RUNTIMED_VERSION);

  runtimed::SandboxCommandOptions sb;
  auto* sandbox_cmd =
      app.add_subcommand("sandbox", "Run one command inside one execution environment");
  sandbox_cmd->add_option("--memory-mb", sb.memory_mb, "Memory limit (MB)")
      ->check(CLI::Range(16, 10240));
  sandbox_cmd->add_option("--tmp-mb", sb.tmp_mb, "Size of /tmp (MB)")->check(CLI::Range(1, 10240));
  sandbox_cmd->add_option("--pids", sb.pids, "Process/thread limit")->check(CLI::Range(1, 1 << 20));
  sandbox_cmd->add_option("--code", sb.code_dir, "Directory bound read-only at /var/task")
      ->check(CLI::ExistingDirectory);
  sandbox_cmd->add_flag("--cpu-quota", sb.cpu_quota, "Hard CPU quota of memory/1769 CPUs");
  sandbox_cmd->add_flag("--tmpfs-tmp", sb.tmpfs_tmp, "/tmp on tmpfs (counts toward memory)");
  sandbox_cmd->add_option("--cgroup-parent", sb.cgroup_parent, "Parent cgroup of environments");
  sandbox_cmd->add_option("--state-dir", sb.state_dir,
                          "State directory (default: a temporary one)");
  sandbox_cmd->add_option("--env", sb.env, "KEY=VALUE for the command's environment");
  sandbox_cmd->add_option("command", sb.command, "Command and arguments (after --)")->required();

  runtimed::ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "Run the daemon");
  // `serve --help` shows each option's value when not given ([0] is "chosen at start").
  serve_cmd->option_defaults()->always_capture_default();
  serve_cmd->add_option(
      "--listen", serve.listen,
      "HOST:PORT on loopback (default 127.0.0.1:9000; port 0: any free one, printed)");
  serve_cmd->add_option("--state-dir", serve.state_dir, "State directory");
  serve_cmd->add_option("--memory-budget-mb", serve.memory_budget_mb,
                        "Memory for environments (default 80% of RAM or own cgroup limit)");
  serve_cmd->add_option("--concurrency-limit", serve.concurrency_limit, "Host-wide concurrency")
      ->check(CLI::Range(1, 100000));
  serve_cmd->add_option("--keep-alive", serve.keep_alive_s, "Idle environment lifetime (s)");
  serve_cmd->add_option("--freeze-after", serve.freeze_after_ms,
                        "Freeze idle environments after (ms)");
  serve_cmd->add_option("--region", serve.region, "Region in ARNs");
  serve_cmd->add_option("--account-id", serve.account_id, "Account id in ARNs");
  serve_cmd->add_option("--cgroup-parent", serve.cgroup_parent, "Parent cgroup of environments");
  serve_cmd->add_flag("--cpu-quota", serve.cpu_quota, "Hard CPU quota of memory/1769 CPUs");
  serve_cmd->add_option("--prepared-pool", serve.prepared_pool, "Environments kept prepared");
  serve_cmd->add_option("--stem-cells", serve.stem_cells,
                        "Runtimes started ahead per managed language (python), waiting for their "
                        "function: cold starts skip the interpreter's start-up; 0: none");
  serve_cmd->add_option("--io-threads", serve.io_threads, "HTTP io threads (0: one per CPU)");
  serve_cmd
      ->add_option(
          "--io-spin-us", serve.io_spin_us,
          "Microseconds an io thread polls after work before sleeping (default 50; 0: never)")
      ->check(CLI::Range(0, 10000));
  serve_cmd->add_option("--drain-timeout", serve.drain_timeout_s, "SIGTERM drain limit (s)");
  serve_cmd->add_option("--log-level", serve.log_level, "trace|debug|info|warn|error");
  serve_cmd->add_option("--runtimes-dir", serve.runtimes_dir, "Managed runtimes' bootstraps");
  serve_cmd->add_option("--min-unreserved", serve.min_unreserved,
                        "Concurrency reservations must leave unreserved (default 100)");
  serve_cmd->add_option("--async-retry-delays", serve.async_retry_delays,
                        "Seconds before the 2nd,3rd attempt after a function error (60,120)");
  serve_cmd
      ->add_option("--async-backoff", serve.async_backoff_s,
                   "First backoff after a throttle (s), doubling up to 5 min")
      ->check(CLI::Range(0, 300));
  serve_cmd
      ->add_option("--async-min-event-age", serve.async_min_event_age_s,
                   "Lowest MaximumEventAgeInSeconds accepted (default 60)")
      ->check(CLI::Range(1, 21600));
  serve_cmd
      ->add_option("--max-connections", serve.max_connections,
                   "Client connections open at once (default 0: half of RLIMIT_NOFILE, which "
                   "serve raises to its hard limit)")
      ->check(CLI::Range(0, 1 << 24));
  serve_cmd
      ->add_option("--request-timeout", serve.request_timeout_s,
                   "Seconds a client has to send a whole request, and an idle connection stays "
                   "open (default 30)")
      ->check(CLI::Range(1, 3600));

  serve_cmd->add_option("--uid-range", serve.uid_range,
                        "Uids (and gids) for environments, one each: A-B (default "
                        "2000000000-2000065535)");
  serve_cmd->add_option("--max-code-store-mb", serve.max_code_store_mb,
                        "Disk all functions' unpacked code may take; CreateFunction and "
                        "UpdateFunctionCode answer CodeStorageExceededException past it (0: no "
                        "limit)");
  serve_cmd->add_option("--disk-reserve-mb", serve.disk_reserve_mb,
                        "Free disk kept out of environments' /tmp: a cold start whose /tmp would "
                        "not fit answers 429 (default 1024)");

  serve_cmd
      ->add_option("--network", serve.network,
                   "Environments' network: bridge (an address on runtimed's bridge, NAT out; "
                   "the host, other environments and 169.254/16 unreachable) or none (loopback "
                   "only)")
      ->check(CLI::IsMember({"bridge", "none"}));
  serve_cmd->add_option("--network-bridge", serve.network_bridge,
                        "Name of runtimed's bridge (one runtimed per bridge)");
  serve_cmd->add_option("--network-cidr", serve.network_cidr,
                        "IPv4 network of the bridge: the gateway takes its first address");
  serve_cmd->add_option("--allow-host-port", serve.allow_host_ports,
                        "A TCP port of the host functions may reach (repeatable)");
  serve_cmd
      ->add_option("--egress-allow", serve.egress_allow,
                   "Only these CIDRs are reachable (comma-separated or repeated; default: all "
                   "but the host, other environments and 169.254.0.0/16)")
      ->delimiter(',');
  serve_cmd->add_option("--credentials", serve.credentials,
                        "Access keys (INI, mode 600; SIGHUP reloads): every request must be "
                        "SigV4-signed by one, and --listen may be any address (docs/security.md)");
  serve_cmd->add_option("--tls-cert", serve.tls_cert,
                        "Serve HTTPS (TLS 1.2+) with this PEM certificate chain (server first; "
                        "SIGHUP reloads); needs --tls-key (docs/security.md)");
  serve_cmd->add_option("--tls-key", serve.tls_key,
                        "The PEM private key of --tls-cert, unencrypted, not readable by every "
                        "user");
  serve_cmd->add_option("--http-listen", serve.http_listen,
                        "Serve Function URLs and HTTP APIs on this HOST:PORT (plain HTTP; off "
                        "when not given; docs/http-triggers.md)");
  serve_cmd->add_option("--http-public-url", serve.http_public_url,
                        "The base URL clients reach --http-listen at (behind a proxy); default "
                        "http://HOST:PORT of --http-listen");
  serve_cmd->add_flag("--schedule-second-rates", serve.schedule_second_rates,
                      "Accept rate(N seconds) in schedules (tests and demos; EventBridge's finest "
                      "rate is one minute)");
  serve_cmd
      ->add_option("--schedule-time-scale", serve.schedule_time_scale,
                   "Run schedules' clock N times faster than wall time (tests and demos: at 60, "
                   "rate(1 minute) ticks every second)")
      ->check(CLI::Range(int64_t{1}, int64_t{3600}))
      ->capture_default_str();
  serve_cmd->add_option("--resolv-conf", serve.resolv_conf,
                        "The host resolver configuration environments' /etc/resolv.conf is made "
                        "from");

  serve_cmd->add_option("--cluster", serve.cluster,
                        "Join a cluster whose nodes share this PostgreSQL database "
                        "(postgresql://…; docs/cluster.md). Membership only so far: functions are "
                        "not shared yet");
  serve_cmd->add_option("--node-id", serve.node_id,
                        "This node's id in the cluster (default: one generated once and kept in "
                        "the state dir)");
  serve_cmd
      ->add_option("--cluster-lease-seconds", serve.cluster_lease_s,
                   "A node not heard from for this long is dead to the others; it heartbeats "
                   "every third of it")
      ->check(CLI::Range(1, 3600));
  serve_cmd->add_option("--cluster-advertise", serve.cluster_advertise,
                        "The URL other nodes reach this node at, shown by `cluster status` "
                        "(default: http(s)://HOST:PORT of --listen; needed when --listen is "
                        "0.0.0.0)");

  runtimed::ClientCommands client;
  runtimed::add_client_commands(app, client);
  runtimed::QueueCommands queue;
  runtimed::add_queue_commands(app, queue);
  runtimed::ScheduleCommands schedule;
  runtimed::add_schedule_commands(app, schedule);
  runtimed::DeployCommands deploy;
  runtimed::add_deploy_commands(app, deploy);
  runtimed::BenchCommands bench;
  runtimed::add_bench_commands(app, bench);
  runtimed::ClusterCommands cluster;
  runtimed::add_cluster_commands(app, cluster);

  // Exit codes (docs/user-guide.md): 0 ok, 1 function error, 2 API or connection error, 64 usage
  // (sysexits' EX_USAGE). --help and --version are not errors.
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsageExitCode;
  }
  if (sandbox_cmd->parsed()) return runtimed::run_sandbox_command(sb);
  if (serve_cmd->parsed()) return runtimed::run_serve_command(serve);
  if (auto status = runtimed::run_client_command(client)) return *status;
  if (auto status = runtimed::run_queue_command(queue)) return *status;
  if (auto status = runtimed::run_schedule_command(schedule)) return *status;
  if (auto status = runtimed::run_deploy_command(deploy)) return *status;
  if (auto status = runtimed::run_bench_command(bench)) return *status;
  if (auto status = runtimed::run_cluster_command(cluster)) return *status;
  return 0;
}
