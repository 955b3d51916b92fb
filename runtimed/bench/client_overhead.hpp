// The bench's own cost: the same client code timed against a bare loopback HTTP server in this
// process that answers every Invoke with a fixed Invoke-shaped response (REPORT tail and all), so
// what the bench reports for a real endpoint can be read beside what it cannot measure below.
#pragma once

#include <chrono>
#include <cstddef>
#include <expected>
#include <string>

#include "runtimed/bench/bench_summary.hpp"

namespace runtimed::bench {

struct ClientOverhead {
  LatencySummary per_call;  // one call at a time, ms
  double max_rate = 0;      // calls/s with `workers` connections calling back to back
  size_t workers = 0;
};

// `serial_calls` timed one by one (after a few untimed), then `workers` connections for
// `rate_duration`.
std::expected<ClientOverhead, std::string> measure_client_overhead(
    size_t serial_calls, size_t workers, std::chrono::milliseconds rate_duration);

}  // namespace runtimed::bench
