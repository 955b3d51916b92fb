// Prometheus metrics: counter, gauge and histogram families with labels, and their text exposition
// (format 0.0.4, as `promtool check metrics` reads it). Debian packages no C++ Prometheus client
// (prometheus-cpp is not in bookworm), so this small one is ours; docs/metrics.md says why and
// what each metric means. Thread-safe: each family guards its series with its own mutex.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace common::metrics {

using Labels = std::vector<std::string>;  // values, in the family's label-name order

class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  virtual ~Family() = default;
  virtual void expose(std::string& out) const = 0;

 protected:
  // `{a="x",b="y"}` (with `extra` appended, e.g. le="0.5"), or "" without labels.
  std::string label_text(const Labels& values, std::string_view extra = {}) const;
  void header(std::string& out, std::string_view type) const;

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};

class CounterFamily final : public Family {
 public:
  using Family::Family;
  void inc(const Labels& labels, double by = 1);
  double value(const Labels& labels) const;
  void expose(std::string& out) const override;

 private:
  mutable std::mutex mu_;
  std::map<Labels, double> series_;
};

class GaugeFamily final : public Family {
 public:
  using Family::Family;
  void set(const Labels& labels, double value);
  // Every series at once (what a scrape read): series absent from `series` go away, so a gauge
  // read from elsewhere never keeps a stale value. One lock, so a scrape sees all or nothing.
  void replace(std::map<Labels, double> series);
  void expose(std::string& out) const override;

 private:
  mutable std::mutex mu_;
  std::map<Labels, double> series_;
};

class HistogramFamily final : public Family {
 public:
  // `bounds`: the buckets' upper bounds, ascending (+Inf is implied).
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds)
      : Family(std::move(name), std::move(help), std::move(label_names)),
        bounds_(std::move(bounds)) {}
  void observe(const Labels& labels, double value);
  void expose(std::string& out) const override;

 private:
  struct Series {
    std::vector<uint64_t> buckets;  // per bound, not cumulative; the last is +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<Labels, Series> series_;
};

class Registry {
 public:
  CounterFamily& counter(std::string name, std::string help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  HistogramFamily& histogram(std::string name, std::string help,
                             std::vector<std::string> label_names, std::vector<double> bounds);
  // A family of the caller's own kind (one whose hot path needs no lock or map, say); it lives as
  // long as the registry.
  template <typename F>
  F& add(std::unique_ptr<F> family) {
    auto& ref = *family;
    std::lock_guard lock(mu_);
    families_.push_back(std::move(family));
    return ref;
  }
  // Runs before every exposition: sets gauges read from elsewhere at scrape time.
  void on_scrape(std::function<void()> refresh);
  // Every family in registration order, in the text format.
  std::string expose() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::function<void()>> refreshers_;
};

// A label value as the text format writes it: \\, \" and \n escaped.
std::string escape_label_value(std::string_view value);
// A sample value: shortest round-trip decimal, "+Inf", "-Inf" or "NaN".
std::string format_value(double value);

// Caps how many distinct values a label takes (function names, say): the first `limit` values
// seen keep their name, later ones are reported as "_other", so a host with thousands of
// functions cannot grow every scrape without bound.
class BoundedLabel {
 public:
  explicit BoundedLabel(size_t limit) : limit_(limit) {}
  std::string operator()(const std::string& value);

 private:
  std::mutex mu_;
  size_t limit_;
  std::map<std::string, bool, std::less<>> seen_;
};

}  // namespace common::metrics
