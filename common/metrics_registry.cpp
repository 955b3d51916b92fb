// The metrics registry and its text exposition (see metrics_registry.hpp).
#include "common/metrics_registry.hpp"

#include <fmt/format.h>

#include <cmath>

namespace common::metrics {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string Family::label_text(const Labels& values, std::string_view extra) const {
  if (label_names_.empty() && extra.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < label_names_.size() && i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += label_names_[i] + "=\"" + escape_label_value(values[i]) + '"';
  }
  if (!extra.empty()) {
    if (out.size() > 1) out += ',';
    out += extra;
  }
  out += '}';
  return out;
}

void Family::header(std::string& out, std::string_view type) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, help_, name_, type);
}

void CounterFamily::inc(const Labels& labels, double by) {
  std::lock_guard lock(mu_);
  series_[labels] += by;
}

double CounterFamily::value(const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second;
}

void CounterFamily::expose(std::string& out) const {
  header(out, "counter");
  std::lock_guard lock(mu_);
  if (series_.empty() && label_names_.empty()) out += name_ + " 0\n";
  for (const auto& [labels, value] : series_) {
    out += name_ + label_text(labels) + ' ' + format_value(value) + '\n';
  }
}

void GaugeFamily::set(const Labels& labels, double value) {
  std::lock_guard lock(mu_);
  series_[labels] = value;
}

void GaugeFamily::replace(std::map<Labels, double> series) {
  std::lock_guard lock(mu_);
  series_ = std::move(series);
}

void GaugeFamily::expose(std::string& out) const {
  header(out, "gauge");
  std::lock_guard lock(mu_);
  for (const auto& [labels, value] : series_) {
    out += name_ + label_text(labels) + ' ' + format_value(value) + '\n';
  }
}

void HistogramFamily::observe(const Labels& labels, double value) {
  size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  std::lock_guard lock(mu_);
  Series& s = series_[labels];
  if (s.buckets.empty()) s.buckets.assign(bounds_.size() + 1, 0);
  ++s.buckets[bucket];
  s.sum += value;
  ++s.count;
}

void HistogramFamily::expose(std::string& out) const {
  header(out, "histogram");
  std::lock_guard lock(mu_);
  for (const auto& [labels, s] : series_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += s.buckets[i];
      const std::string le = i < bounds_.size() ? format_value(bounds_[i]) : "+Inf";
      out += name_ + "_bucket" + label_text(labels, "le=\"" + le + '"') + ' ' +
             std::to_string(cumulative) + '\n';
    }
    out += name_ + "_sum" + label_text(labels) + ' ' + format_value(s.sum) + '\n';
    out += name_ + "_count" + label_text(labels) + ' ' + std::to_string(s.count) + '\n';
  }
}

CounterFamily& Registry::counter(std::string name, std::string help,
                                 std::vector<std::string> label_names) {
  auto family =
      std::make_unique<CounterFamily>(std::move(name), std::move(help), std::move(label_names));
  auto& ref = *family;
  std::lock_guard lock(mu_);
  families_.push_back(std::move(family));
  return ref;
}

GaugeFamily& Registry::gauge(std::string name, std::string help,
                             std::vector<std::string> label_names) {
  auto family =
      std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(label_names));
  auto& ref = *family;
  std::lock_guard lock(mu_);
  families_.push_back(std::move(family));
  return ref;
}

HistogramFamily& Registry::histogram(std::string name, std::string help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> bounds) {
  auto family = std::make_unique<HistogramFamily>(std::move(name), std::move(help),
                                                  std::move(label_names), std::move(bounds));
  auto& ref = *family;
  std::lock_guard lock(mu_);
  families_.push_back(std::move(family));
  return ref;
}

void Registry::on_scrape(std::function<void()> refresh) {
  std::lock_guard lock(mu_);
  refreshers_.push_back(std::move(refresh));
}

std::string Registry::expose() const {
  std::vector<std::function<void()>> refreshers;
  {
    std::lock_guard lock(mu_);
    refreshers = refreshers_;
  }
  for (auto& refresh : refreshers) refresh();
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& family : families_) family->expose(out);
  return out;
}

std::string BoundedLabel::operator()(const std::string& value) {
  std::lock_guard lock(mu_);
  if (seen_.count(value)) return value;
  if (seen_.size() >= limit_) return "_other";
  seen_.emplace(value, true);
  return value;
}

}  // namespace common::metrics
