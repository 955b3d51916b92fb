// The Azure Functions 2019 public trace's invocation counts
// (invocations_per_function_md.anon.d*.csv: HashOwner,HashApp,HashFunction,Trigger,1,…,1440, one
// row per function, one column per minute of the day) and the open-model schedule that replays its
// busiest functions onto the bench's.
#pragma once

#include <cstdint>
#include <expected>
#include <istream>
#include <string>
#include <vector>

#include "runtimed/bench/arrival_schedule.hpp"

namespace runtimed::bench {

struct TraceFunction {
  std::string owner, app, function, trigger;  // hashed names, as in the trace
  std::vector<uint32_t> per_minute;           // invocations in each minute
  uint64_t total = 0;
  size_t row = 0;  // its line in the file, 2 for the first after the header
};

struct Trace {
  std::vector<TraceFunction> busiest;  // most invocations first (ties: file order)
  size_t rows = 0;                     // functions in the file
  size_t minutes = 0;                  // minute columns in the header
};

// Reads the trace, keeping only the `keep` busiest functions (a day's file has ~50,000 rows of
// 1,440 counts; this holds `keep` of them). The error names the line and what is wrong with it.
std::expected<Trace, std::string> parse_azure_trace(std::istream& in, size_t keep);

enum class Spread { Even, Random };

struct ReplayOptions {
  size_t targets = 1;  // the run's functions; trace function k goes to target k % targets
  double speedup = 1;  // a trace minute lasts 60 / speedup seconds
  Spread spread = Spread::Random;
  uint64_t seed = 1;        // for Spread::Random
  size_t first_minute = 0;  // replay minutes [first_minute, first_minute + minutes)
  size_t minutes = 0;       // 0: to the end of the trace
};

// How many calls replay_schedule would make (to refuse a schedule too big to hold).
uint64_t replay_size(const Trace& trace, const ReplayOptions& options);

// Every invocation of `trace.busiest` in the chosen minutes, spread within its minute (evenly:
// c calls at (i + ½)·60/c s; randomly: uniform over the minute), compressed by the speedup and
// sorted by due time.
std::vector<Arrival> replay_schedule(const Trace& trace, const ReplayOptions& options);

}  // namespace runtimed::bench
