// Prometheus metrics: counters, gauges and fixed-bucket histograms with labels, rendered in the
// text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format).
//
// Hand-written because prometheus-cpp is not among BR2K's dependencies (Boost, OpenSSL,
// nlohmann/json, spdlog, libcurl); the part we need (three metric types and the text format) is
// small. No I/O here: metrics_http.hpp serves a registry over HTTP.
//
// Usage:
//   MetricsRegistry registry;
//   auto& requests = registry.counter("app_requests_total", "Requests served.", {"route"});
//   Counter& puts = requests.labels({"put"});  // look a child up once, keep the reference
//   puts.inc();
//   std::string text = registry.render();
//
// Thread-safety: everything is thread-safe. Updating a metric is a relaxed atomic operation and
// takes no lock. Registering a family, looking up a labelled child and render() take a mutex.
// Families and children live as long as their registry; references to them stay valid.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace br2k::net {

// A count that only goes up (requests, bytes, errors). Integer-valued.
class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down (connections open, queue length, current epoch).
class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  void inc() noexcept { add(1); }
  void dec() noexcept { add(-1); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted in fixed buckets (upper bounds, inclusive) plus their sum, e.g. request
// durations in seconds.
class Histogram {
 public:
  // REQUIRES: `bounds` finite and strictly increasing (the registry checks this).
  explicit Histogram(std::vector<double> bounds);

  // Counts `v` in the first bucket whose bound is >= v (NaN and values above every bound go to
  // the implicit +Inf bucket) and adds it to the sum.
  void observe(double v) noexcept;

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count() const { return cumulative.empty() ? 0 : cumulative.back(); }
  };
  // The counts so far. Taken without a lock: under concurrent observe() the sum may be a few
  // observations ahead of or behind the counts, but the buckets are always cumulative and the
  // +Inf bucket equals the count.
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// Buckets for request durations in seconds, 0.5 ms to 10 s.
std::vector<double> default_duration_buckets();

// All metrics of one name: one child per combination of label values.
template <class Metric>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds);
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The child with these label values, in the order of label_names(); created (at zero) on first
  // use. Looking up allocates and locks: keep the reference on hot paths.
  // REQUIRES: values.size() == label_names().size(); throws std::invalid_argument otherwise (a
  // programming error). Any byte string is a valid value; render() escapes it.
  Metric& labels(std::initializer_list<std::string_view> values = {});
  Metric& labels(const std::vector<std::string>& values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& bounds() const { return bounds_; }

  // Appends this family in the text format (HELP, TYPE, one line per child sorted by label
  // values; nothing for a family without children).
  void render(std::string& out) const;

 private:
  Metric& child(std::vector<std::string> values);

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;  // guarded by mu_
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

// The set of metric families a program exposes.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers a family, or returns the one already registered under `name` when type, help,
  // label names (and buckets) are the same, so two components may share a metric. A family
  // without labels gets its one child at once, so it renders as 0 before first use.
  // Errors (std::invalid_argument, a programming error): a name not matching
  // [a-zA-Z_:][a-zA-Z0-9_:]*, a label name not matching [a-zA-Z_][a-zA-Z0-9_]* or starting with
  // "__" (or "le" for a histogram), a repeated label name, buckets that are empty, not finite or
  // not strictly increasing, or `name` registered differently before.
  Family<Counter>& counter(std::string_view name, std::string_view help,
                           std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(std::string_view name, std::string_view help,
                       std::vector<std::string> label_names = {});
  Family<Histogram>& histogram(std::string_view name, std::string_view help,
                               std::vector<double> bounds,
                               std::vector<std::string> label_names = {});

  // Every family with children, sorted by name, in the text exposition format 0.0.4.
  std::string render() const;

 private:
  using Entry = std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>,
                             std::unique_ptr<Family<Histogram>>>;
  template <class Metric>
  Family<Metric>& add(std::string_view name, std::string_view help,
                      std::vector<std::string> label_names, std::vector<double> bounds);

  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> families_;  // guarded by mu_
};

}  // namespace br2k::net
