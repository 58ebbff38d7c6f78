// Prometheus metrics and the text exposition format. See metrics.hpp.
#include <algorithm>
#include <br2k/net/metrics.hpp>
#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>

namespace br2k::net {

namespace {

bool is_name_start(char c, bool colon_ok) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
}

bool is_valid_name(std::string_view s, bool colon_ok) {
  if (s.empty() || !is_name_start(s[0], colon_ok))
    return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [&](char c) { return is_name_start(c, colon_ok) || (c >= '0' && c <= '9'); });
}

// A float as Prometheus parses it (Go's ParseFloat): shortest round-trip digits, +Inf, -Inf, NaN.
void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
  }
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// Label values escape backslash, double quote and line feed; HELP text escapes backslash and
// line feed only (format 0.0.4).
void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// `name{a="x",b="y"` plus an optional extra label (a histogram's le), then `}` and a space;
// no braces at all when there are no labels.
void append_series(std::string& out, std::string_view name, std::string_view suffix,
                   const std::vector<std::string>& label_names,
                   const std::vector<std::string>& values, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  if (!label_names.empty() || !extra_name.empty()) {
    out += '{';
    for (std::size_t i = 0; i < label_names.size(); ++i) {
      if (i > 0)
        out += ',';
      out += label_names[i];
      out += "=\"";
      append_escaped(out, values[i], true);
      out += '"';
    }
    if (!extra_name.empty()) {
      if (!label_names.empty())
        out += ',';
      out += extra_name;
      out += "=\"";
      out += extra_value;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

void append_header(std::string& out, const std::string& name, const std::string& help,
                   std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  append_escaped(out, help, false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void render_child(std::string& out, const std::string& name, const std::vector<std::string>& labels,
                  const std::vector<std::string>& values, const Counter& c) {
  append_series(out, name, "", labels, values);
  append_uint(out, c.value());
  out += '\n';
}

void render_child(std::string& out, const std::string& name, const std::vector<std::string>& labels,
                  const std::vector<std::string>& values, const Gauge& g) {
  append_series(out, name, "", labels, values);
  append_double(out, g.value());
  out += '\n';
}

void render_child(std::string& out, const std::string& name, const std::vector<std::string>& labels,
                  const std::vector<std::string>& values, const Histogram& h) {
  auto snap = h.snapshot();
  std::string le;
  for (std::size_t i = 0; i < h.bounds().size(); ++i) {
    le.clear();
    append_double(le, h.bounds()[i]);
    append_series(out, name, "_bucket", labels, values, "le", le);
    append_uint(out, snap.cumulative[i]);
    out += '\n';
  }
  append_series(out, name, "_bucket", labels, values, "le", "+Inf");
  append_uint(out, snap.count());
  out += '\n';
  append_series(out, name, "_sum", labels, values);
  append_double(out, snap.sum);
  out += '\n';
  append_series(out, name, "_count", labels, values);
  append_uint(out, snap.count());
  out += '\n';
}

template <class Metric>
constexpr std::string_view type_name() {
  if constexpr (std::is_same_v<Metric, Counter>) {
    return "counter";
  } else if constexpr (std::is_same_v<Metric, Gauge>) {
    return "gauge";
  } else {
    return "histogram";
  }
}

template <class Metric>
std::unique_ptr<Metric> make_metric(const std::vector<double>& bounds) {
  if constexpr (std::is_same_v<Metric, Histogram>) {
    return std::make_unique<Histogram>(bounds);
  } else {
    return std::make_unique<Metric>();
  }
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double v) noexcept {
  std::size_t i = bounds_.size();
  if (!std::isnan(v)) {
    i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                 bounds_.begin());
  }
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = total;
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> default_duration_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

template <class Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

template <class Metric>
Metric& Family<Metric>::labels(std::initializer_list<std::string_view> values) {
  return child(std::vector<std::string>(values.begin(), values.end()));
}

template <class Metric>
Metric& Family<Metric>::labels(const std::vector<std::string>& values) {
  return child(values);
}

template <class Metric>
Metric& Family<Metric>::child(std::vector<std::string> values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + ": " + std::to_string(values.size()) +
                                " label values for " + std::to_string(label_names_.size()) +
                                " labels");
  }
  std::lock_guard lock(mu_);
  auto it = children_.find(values);
  if (it == children_.end())
    it = children_.emplace(std::move(values), make_metric<Metric>(bounds_)).first;
  return *it->second;
}

template <class Metric>
void Family<Metric>::render(std::string& out) const {
  std::lock_guard lock(mu_);
  if (children_.empty())
    return;
  append_header(out, name_, help_, type_name<Metric>());
  for (const auto& [values, metric] : children_)
    render_child(out, name_, label_names_, values, *metric);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

template <class Metric>
Family<Metric>& MetricsRegistry::add(std::string_view name, std::string_view help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> bounds) {
  const std::string what = "metric '" + std::string(name) + "'";
  if (!is_valid_name(name, true))
    throw std::invalid_argument(what + ": invalid name");
  std::set<std::string_view> seen;
  for (const auto& l : label_names) {
    if (!is_valid_name(l, false) || l.starts_with("__") ||
        (std::is_same_v<Metric, Histogram> && l == "le")) {
      throw std::invalid_argument(what + ": invalid label name '" + l + "'");
    }
    if (!seen.insert(l).second)
      throw std::invalid_argument(what + ": repeated label name '" + l + "'");
  }
  if constexpr (std::is_same_v<Metric, Histogram>) {
    if (bounds.empty())
      throw std::invalid_argument(what + ": no buckets");
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
        throw std::invalid_argument(what + ": buckets must be finite and strictly increasing");
    }
  }
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    auto* existing = std::get_if<std::unique_ptr<Family<Metric>>>(&it->second);
    if (!existing || (*existing)->help() != help || (*existing)->label_names() != label_names ||
        (*existing)->bounds() != bounds) {
      throw std::invalid_argument(what +
                                  ": registered before with another type, help, labels "
                                  "or buckets");
    }
    return **existing;
  }
  const bool unlabelled = label_names.empty();
  auto family = std::make_unique<Family<Metric>>(std::string(name), std::string(help),
                                                 std::move(label_names), std::move(bounds));
  auto& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  if (unlabelled)
    ref.labels();
  return ref;
}

Family<Counter>& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                          std::vector<std::string> label_names) {
  return add<Counter>(name, help, std::move(label_names), {});
}

Family<Gauge>& MetricsRegistry::gauge(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names) {
  return add<Gauge>(name, help, std::move(label_names), {});
}

Family<Histogram>& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                              std::vector<double> bounds,
                                              std::vector<std::string> label_names) {
  return add<Histogram>(name, help, std::move(label_names), std::move(bounds));
}

std::string MetricsRegistry::render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, entry] : families_)
    std::visit([&](const auto& family) { family->render(out); }, entry);
  return out;
}

}  // namespace br2k::net
