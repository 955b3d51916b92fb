// Reads back what `runtimed bench --json` wrote (run_json), so a saved run can be drawn again: the
// console's bench page posts the file and gets the HTML report's charts. The summary is not read:
// it is computed again from the samples, as the run computed it.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "runtimed/bench/bench_html.hpp"
#include "runtimed/bench/bench_runner.hpp"

namespace runtimed::bench {

struct SavedRun {
  BenchRun run;
  HtmlHeading heading;  // empty fields for files written before the heading was saved
};

// Past this many samples a file is refused rather than drawn (a run of 2 million calls is 400 MB
// of JSON; the console's request limit refuses far less first).
inline constexpr size_t kMaxSavedSamples = 2'000'000;

// The run, or a message naming what is wrong (not JSON, a field of the wrong type, a sample
// without its latency) and where.
std::expected<SavedRun, std::string> read_run_json(std::string_view text);

}  // namespace runtimed::bench
