// Reads a `runtimed bench --json` file (see bench_json_read.hpp).
#include "runtimed/bench/bench_json_read.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

#include "runtimed/bench/bench_summary.hpp"

namespace runtimed::bench {

namespace {

using nlohmann::json;

// Each reader answers the field's value, or an error naming it. Absent optional fields are fine.
struct Reader {
  const json& object;
  std::string where;  // "sample 12", "clientOverhead"

  std::expected<std::optional<double>, std::string> number(const char* key) const {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return std::nullopt;
    if (!it->is_number() || !std::isfinite(it->get<double>()))
      return std::unexpected(fmt::format("{}: \"{}\" is not a number", where, key));
    return it->get<double>();
  }
  std::expected<std::string, std::string> text(const char* key) const {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return std::string{};
    if (!it->is_string())
      return std::unexpected(fmt::format("{}: \"{}\" is not a string", where, key));
    return it->get<std::string>();
  }
  std::expected<bool, std::string> flag(const char* key) const {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return false;
    if (!it->is_boolean())
      return std::unexpected(fmt::format("{}: \"{}\" is not true or false", where, key));
    return it->get<bool>();
  }
};

std::expected<LatencySummary, std::string> read_latency(const json& j, const std::string& where) {
  const Reader r{j, where};
  LatencySummary out;
  const std::pair<const char*, double*> fields[] = {{"p50", &out.p50}, {"p90", &out.p90},
                                                    {"p99", &out.p99}, {"p999", &out.p999},
                                                    {"max", &out.max}, {"mean", &out.mean}};
  for (const auto& [key, value] : fields) {
    auto v = r.number(key);
    if (!v) return std::unexpected(v.error());
    *value = v->value_or(0);
  }
  auto count = r.number("count");
  if (!count) return std::unexpected(count.error());
  out.count = static_cast<size_t>(std::max(0.0, count->value_or(0)));
  return out;
}

std::expected<Sample, std::string> read_sample(const json& j, size_t index) {
  if (!j.is_object()) return std::unexpected(fmt::format("sample {} is not an object", index));
  const Reader r{j, fmt::format("sample {}", index)};
  Sample s;
  auto start = r.number("startMs");
  auto latency = r.number("latencyMs");
  auto status = r.number("status");
  if (!start) return std::unexpected(start.error());
  if (!latency) return std::unexpected(latency.error());
  if (!status) return std::unexpected(status.error());
  if (!*start || !*latency || !*status)
    return std::unexpected(fmt::format("sample {} lacks startMs, latencyMs or status", index));
  s.start_ms = **start;
  s.latency_ms = **latency;
  s.status = static_cast<int>(**status);
  auto cold = r.flag("cold");
  auto error_type = r.text("errorType");
  auto reason = r.text("throttleReason");
  auto function = r.text("function");
  if (!cold) return std::unexpected(cold.error());
  if (!error_type) return std::unexpected(error_type.error());
  if (!reason) return std::unexpected(reason.error());
  if (!function) return std::unexpected(function.error());
  s.cold = *cold;
  s.error_type = std::move(*error_type);
  s.throttle_reason = std::move(*reason);
  s.function = std::move(*function);

  auto duration = r.number("durationMs");
  auto billed = r.number("billedDurationMs");
  auto memory = r.number("memorySizeMB");
  auto used = r.number("maxMemoryUsedMB");
  auto init = r.number("initDurationMs");
  for (const auto* field : {&duration, &billed, &memory, &used, &init})
    if (!*field) return std::unexpected(field->error());
  if (*duration) {
    s.report = ReportLine{.duration_ms = **duration,
                          .billed_duration_ms = billed->value_or(0),
                          .memory_size_mb = static_cast<int>(memory->value_or(0)),
                          .max_memory_used_mb = static_cast<int>(used->value_or(0)),
                          .init_duration_ms = *init};
  }
  if (const auto phases = j.find("phases"); phases != j.end()) {
    if (!phases->is_object())
      return std::unexpected(fmt::format("sample {}: \"phases\" is not an object", index));
    const Reader p{*phases, r.where + " phases"};
    auto launch = p.number("launchMs");
    auto init_ms = p.number("initMs");
    auto invoke = p.number("invokeMs");
    for (const auto* field : {&launch, &init_ms, &invoke})
      if (!*field) return std::unexpected(field->error());
    s.phases = ColdPhases{launch->value_or(0), init_ms->value_or(0), invoke->value_or(0)};
  }
  auto thaw = r.number("thawMs");
  auto gap = r.number("idleGapSeconds");
  auto configured = r.number("configuredMemoryMB");
  for (const auto* field : {&thaw, &gap, &configured})
    if (!*field) return std::unexpected(field->error());
  s.thaw_ms = *thaw;
  s.idle_gap_s = *gap;
  s.memory_mb = static_cast<int>(configured->value_or(0));
  return s;
}

}  // namespace

std::expected<SavedRun, std::string> read_run_json(std::string_view text) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::unexpected("not JSON: a `runtimed bench --json` file is");
  if (!doc.is_object() || !doc.contains("samples") || !doc["samples"].is_array())
    return std::unexpected("not a `runtimed bench --json` file: it has no \"samples\" list");
  const json& samples = doc["samples"];
  if (samples.size() > kMaxSavedSamples)
    return std::unexpected(
        fmt::format("{} samples: at most {} are drawn", samples.size(), kMaxSavedSamples));
  SavedRun saved;
  saved.run.samples.reserve(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    auto sample = read_sample(samples[i], i);
    if (!sample) return std::unexpected(sample.error());
    saved.run.samples.push_back(std::move(*sample));
  }
  if (const auto summary = doc.find("summary"); summary != doc.end() && summary->is_object()) {
    auto duration = Reader{*summary, "summary"}.number("durationSeconds");
    if (!duration) return std::unexpected(duration.error());
    saved.run.duration_s = duration->value_or(0);
  }
  if (const auto overhead = doc.find("clientOverhead"); overhead != doc.end()) {
    if (!overhead->is_object() || !overhead->contains("perCall") ||
        !(*overhead)["perCall"].is_object())
      return std::unexpected("\"clientOverhead\" is not an object with \"perCall\"");
    auto per_call = read_latency((*overhead)["perCall"], "clientOverhead.perCall");
    if (!per_call) return std::unexpected(per_call.error());
    const Reader o{*overhead, "clientOverhead"};
    auto rate = o.number("maxRate");
    auto workers = o.number("workers");
    if (!rate) return std::unexpected(rate.error());
    if (!workers) return std::unexpected(workers.error());
    ClientOverhead c{.per_call = *per_call,
                     .max_rate = rate->value_or(0),
                     .workers = static_cast<size_t>(workers->value_or(0))};
    saved.run.overhead = c;
  }
  if (const auto notes = doc.find("notes"); notes != doc.end()) {
    if (!notes->is_array()) return std::unexpected("\"notes\" is not a list");
    for (const json& note : *notes) {
      if (!note.is_string()) return std::unexpected("\"notes\" holds something other than text");
      saved.run.notes.push_back(note.get<std::string>());
    }
  }
  if (const auto heading = doc.find("heading"); heading != doc.end()) {
    if (!heading->is_object()) return std::unexpected("\"heading\" is not an object");
    const Reader h{*heading, "heading"};
    auto mode = h.text("mode");
    auto function = h.text("function");
    auto endpoint = h.text("endpoint");
    auto when = h.text("when");
    for (const auto* field : {&mode, &function, &endpoint, &when})
      if (!*field) return std::unexpected(field->error());
    saved.heading = {*mode, *function, *endpoint, *when};
  }
  return saved;
}

}  // namespace runtimed::bench
