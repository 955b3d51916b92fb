// The Azure Functions trace reader and its replay schedule (see azure_trace.hpp).
#include "runtimed/bench/azure_trace.hpp"

#include <algorithm>
#include <charconv>
#include <random>
#include <string_view>

namespace runtimed::bench {

namespace {

std::vector<std::string_view> split_csv_line(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    const size_t comma = line.find(',');
    fields.push_back(line.substr(0, comma));
    if (comma == std::string_view::npos) break;
    line.remove_prefix(comma + 1);
  }
  return fields;
}

// Busier first; of two equally busy, the earlier row.
bool busier(const TraceFunction& a, const TraceFunction& b) {
  return a.total != b.total ? a.total > b.total : a.row < b.row;
}

}  // namespace

std::expected<Trace, std::string> parse_azure_trace(std::istream& in, size_t keep) {
  Trace trace;
  std::string line;
  if (!std::getline(in, line)) return std::unexpected("the trace is empty");
  if (line.ends_with('\r')) line.pop_back();
  const auto header = split_csv_line(line);
  const std::vector<std::string_view> names{"HashOwner", "HashApp", "HashFunction", "Trigger"};
  if (header.size() < names.size() + 1 || !std::equal(names.begin(), names.end(), header.begin()))
    return std::unexpected(
        "line 1: not an Azure Functions invocation trace (expected "
        "HashOwner,HashApp,HashFunction,Trigger,1,2,…)");
  for (size_t i = names.size(); i < header.size(); ++i) {
    if (header[i] != std::to_string(i - names.size() + 1))
      return std::unexpected("line 1: column " + std::to_string(i + 1) + " should be minute " +
                             std::to_string(i - names.size() + 1) + ", is '" +
                             std::string(header[i]) + "'");
  }
  trace.minutes = header.size() - names.size();
  // The busiest `keep` so far, as a heap whose front is the least busy of them.
  std::vector<TraceFunction> kept;
  size_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.ends_with('\r')) line.pop_back();
    if (line.empty()) continue;
    const auto fields = split_csv_line(line);
    if (fields.size() != header.size())
      return std::unexpected("line " + std::to_string(line_no) + ": " +
                             std::to_string(fields.size()) + " fields, the header has " +
                             std::to_string(header.size()));
    TraceFunction f;
    f.row = line_no;
    f.per_minute.reserve(trace.minutes);
    for (size_t i = names.size(); i < fields.size(); ++i) {
      uint32_t count = 0;
      const auto field = fields[i];
      const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), count);
      if (field.empty() || ec != std::errc() || end != field.data() + field.size())
        return std::unexpected("line " + std::to_string(line_no) + ", minute " +
                               std::to_string(i - names.size() + 1) + ": '" + std::string(field) +
                               "' is not a count");
      f.per_minute.push_back(count);
      f.total += count;
    }
    ++trace.rows;
    if (keep == 0) continue;
    if (kept.size() == keep && !busier(f, kept.front())) continue;
    f.owner = fields[0];
    f.app = fields[1];
    f.function = fields[2];
    f.trigger = fields[3];
    if (kept.size() == keep) {
      std::pop_heap(kept.begin(), kept.end(), busier);
      kept.pop_back();
    }
    kept.push_back(std::move(f));
    std::push_heap(kept.begin(), kept.end(), busier);
  }
  std::sort(kept.begin(), kept.end(), busier);
  trace.busiest = std::move(kept);
  return trace;
}

uint64_t replay_size(const Trace& trace, const ReplayOptions& options) {
  uint64_t total = 0;
  for (const TraceFunction& f : trace.busiest) {
    const auto& counts = f.per_minute;
    const size_t end = options.minutes == 0
                           ? counts.size()
                           : std::min(counts.size(), options.first_minute + options.minutes);
    for (size_t m = options.first_minute; m < end; ++m) total += counts[m];
  }
  return total;
}

std::vector<Arrival> replay_schedule(const Trace& trace, const ReplayOptions& options) {
  std::vector<Arrival> out;
  std::mt19937_64 random(options.seed);
  std::uniform_real_distribution<double> within_minute(0, 60);
  const size_t targets = std::max<size_t>(1, options.targets);
  const double speedup = options.speedup > 0 ? options.speedup : 1;
  for (size_t k = 0; k < trace.busiest.size(); ++k) {
    const auto& counts = trace.busiest[k].per_minute;
    const size_t end = options.minutes == 0
                           ? counts.size()
                           : std::min(counts.size(), options.first_minute + options.minutes);
    for (size_t m = options.first_minute; m < end; ++m) {
      const uint32_t c = counts[m];
      const double minute_start = 60.0 * static_cast<double>(m - options.first_minute);
      for (uint32_t i = 0; i < c; ++i) {
        const double offset = options.spread == Spread::Even
                                  ? (static_cast<double>(i) + 0.5) * 60.0 / c
                                  : within_minute(random);
        out.push_back(Arrival{(minute_start + offset) / speedup, k % targets});
      }
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Arrival& a, const Arrival& b) { return a.due_s < b.due_s; });
  return out;
}

}  // namespace runtimed::bench
