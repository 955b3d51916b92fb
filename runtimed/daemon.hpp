// `runtimed serve`: the daemon. Wires the state (SQLite, code store, logs), the sandbox host, the
// HTTP server (Lambda API, Invoke API, runtimed's own endpoints) and the controller, and tears
// them down in order on SIGTERM.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "runtimed/controller/controller.hpp"

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
};

// The connection cap `serve` uses when --max-connections is 0, from the open-file limit.
size_t default_max_connections(uint64_t nofile_limit);

// Runs until SIGTERM/SIGINT; returns the process exit status.
int run_serve_command(const ServeOptions& options);

// "127.0.0.1:9000" -> host, port; refuses what is not a loopback address.
bool parse_loopback_listen(const std::string& listen, std::string* host, uint16_t* port,
                           std::string* error);

std::filesystem::path default_state_dir();

}  // namespace runtimed
