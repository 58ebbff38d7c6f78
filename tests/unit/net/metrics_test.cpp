// The Prometheus registry: exact text exposition format 0.0.4, escaping, validation, threads.
// Format reference: https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
#include <gtest/gtest.h>

#include <br2k/net/metrics.hpp>
#include <br2k/net/metrics_http.hpp>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

namespace br2k::net {
namespace {

TEST(Metrics, RendersCountersAndGaugesSortedByNameAndLabels) {
  MetricsRegistry r;
  auto& requests = r.counter("http_requests_total", "Requests served.", {"method", "code"});
  requests.labels({"post", "200"}).inc(1027);
  requests.labels({"get", "400"}).inc(3);
  r.gauge("a_temperature", "Current temperature.").labels().set(-2.5);
  auto& open = r.gauge("open_connections", "Open connections.");
  open.labels().inc();
  open.labels().inc();
  open.labels().dec();
  EXPECT_EQ(r.render(),
            "# HELP a_temperature Current temperature.\n"
            "# TYPE a_temperature gauge\n"
            "a_temperature -2.5\n"
            "# HELP http_requests_total Requests served.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{method=\"get\",code=\"400\"} 3\n"
            "http_requests_total{method=\"post\",code=\"200\"} 1027\n"
            "# HELP open_connections Open connections.\n"
            "# TYPE open_connections gauge\n"
            "open_connections 1\n");
}

TEST(Metrics, UnlabelledFamilyRendersZeroBeforeUseAndLabelledFamilyNothing) {
  MetricsRegistry r;
  r.counter("starts_total", "Starts.");
  r.counter("errors_total", "Errors.", {"kind"});
  EXPECT_EQ(r.render(),
            "# HELP starts_total Starts.\n"
            "# TYPE starts_total counter\n"
            "starts_total 0\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsRegistry r;
  auto& h = r.histogram("rpc_seconds", "RPC latency.", {0.25, 0.5, 1}, {"rpc"}).labels({"put"});
  // Binary fractions, so the sum is exact. A value equal to a bound counts in that bucket.
  for (double v : {0.125, 0.25, 0.375, 0.75, 3.0})
    h.observe(v);
  EXPECT_EQ(r.render(),
            "# HELP rpc_seconds RPC latency.\n"
            "# TYPE rpc_seconds histogram\n"
            "rpc_seconds_bucket{rpc=\"put\",le=\"0.25\"} 2\n"
            "rpc_seconds_bucket{rpc=\"put\",le=\"0.5\"} 3\n"
            "rpc_seconds_bucket{rpc=\"put\",le=\"1\"} 4\n"
            "rpc_seconds_bucket{rpc=\"put\",le=\"+Inf\"} 5\n"
            "rpc_seconds_sum{rpc=\"put\"} 4.5\n"
            "rpc_seconds_count{rpc=\"put\"} 5\n");
  auto snap = h.snapshot();
  EXPECT_EQ(snap.count(), 5u);
  EXPECT_EQ(snap.cumulative, (std::vector<std::uint64_t>{2, 3, 4, 5}));
}

TEST(Metrics, UnlabelledHistogramPutsLeAloneInBraces) {
  MetricsRegistry r;
  auto& h = r.histogram("wait_seconds", "Wait.", {1}).labels();
  h.observe(std::numeric_limits<double>::quiet_NaN());  // NaN goes to +Inf only
  EXPECT_EQ(r.render(),
            "# HELP wait_seconds Wait.\n"
            "# TYPE wait_seconds histogram\n"
            "wait_seconds_bucket{le=\"1\"} 0\n"
            "wait_seconds_bucket{le=\"+Inf\"} 1\n"
            "wait_seconds_sum NaN\n"
            "wait_seconds_count 1\n");
}

// Label values escape \\, \" and line feed; HELP escapes \\ and line feed but not quotes.
TEST(Metrics, EscapesLabelValuesAndHelp) {
  MetricsRegistry r;
  r.counter("paths_total", "Paths \"seen\" at C:\\ or\nelsewhere.", {"path"})
      .labels({"C:\\dir\\\"x\"\nnext"})
      .inc();
  EXPECT_EQ(r.render(),
            "# HELP paths_total Paths \"seen\" at C:\\\\ or\\nelsewhere.\n"
            "# TYPE paths_total counter\n"
            "paths_total{path=\"C:\\\\dir\\\\\\\"x\\\"\\nnext\"} 1\n");
}

TEST(Metrics, FormatsSpecialAndLargeFloats) {
  MetricsRegistry r;
  auto& g = r.gauge("g", "G.", {"k"});
  g.labels({"inf"}).set(std::numeric_limits<double>::infinity());
  g.labels({"neg_inf"}).set(-std::numeric_limits<double>::infinity());
  g.labels({"big"}).set(1e21);
  g.labels({"small"}).set(0.001);
  EXPECT_EQ(r.render(),
            "# HELP g G.\n"
            "# TYPE g gauge\n"
            "g{k=\"big\"} 1e+21\n"
            "g{k=\"inf\"} +Inf\n"
            "g{k=\"neg_inf\"} -Inf\n"
            "g{k=\"small\"} 0.001\n");
}

TEST(Metrics, SameRegistrationReturnsTheSameFamily) {
  MetricsRegistry r;
  auto& a = r.counter("x_total", "X.", {"k"});
  auto& b = r.counter("x_total", "X.", {"k"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.labels({"v"}), &b.labels({"v"}));
  std::vector<std::string> values{"v"};
  EXPECT_EQ(&a.labels(values), &a.labels({"v"}));
}

TEST(Metrics, RejectsInvalidOrConflictingRegistrations) {
  MetricsRegistry r;
  r.counter("x_total", "X.", {"k"});
  EXPECT_THROW(r.gauge("x_total", "X.", {"k"}), std::invalid_argument);    // other type
  EXPECT_THROW(r.counter("x_total", "Y.", {"k"}), std::invalid_argument);  // other help
  EXPECT_THROW(r.counter("x_total", "X.", {"j"}), std::invalid_argument);  // other labels
  EXPECT_THROW(r.counter("1x", "X."), std::invalid_argument);              // bad name
  EXPECT_THROW(r.counter("x-y", "X."), std::invalid_argument);             // bad name
  EXPECT_THROW(r.counter("ok", "X.", {"a:b"}), std::invalid_argument);     // colon in label
  EXPECT_THROW(r.counter("ok", "X.", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.counter("ok", "X.", {"a", "a"}), std::invalid_argument);    // repeated
  EXPECT_THROW(r.histogram("h", "H.", {1}, {"le"}), std::invalid_argument);  // le is reserved
  EXPECT_THROW(r.histogram("h", "H.", {}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "H.", {1, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "H.", {1, std::nan("")}), std::invalid_argument);
  EXPECT_THROW(r.counter("x_total", "X.", {"k"}).labels({"a", "b"}), std::invalid_argument);
  EXPECT_NO_THROW(r.counter("ns:sub_total", "Colons are fine in names."));
}

TEST(Metrics, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry r;
  auto& c = r.counter("c_total", "C.", {"t"});
  auto& g = r.gauge("g", "G.").labels();
  auto& h = r.histogram("h", "H.", {0.5}).labels();
  constexpr int kThreads = 4;
  constexpr int kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half the threads share a child looked up concurrently; each also renders meanwhile.
      auto& mine = c.labels({t % 2 == 0 ? "even" : "odd"});
      for (int i = 0; i < kEach; ++i) {
        mine.inc();
        g.add(1);
        h.observe(i % 2 == 0 ? 0.25 : 1.0);
        if (i % 5000 == 0)
          (void)r.render();
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(c.labels({"even"}).value() + c.labels({"odd"}).value(),
            std::uint64_t{kThreads} * kEach);
  EXPECT_EQ(g.value(), double{kThreads} * kEach);
  auto snap = h.snapshot();
  EXPECT_EQ(snap.count(), std::uint64_t{kThreads} * kEach);
  EXPECT_EQ(snap.cumulative[0], std::uint64_t{kThreads} * kEach / 2);
  EXPECT_EQ(snap.sum, kThreads * kEach / 2 * 1.25);
}

TEST(MetricsHttp, ScrapeGetsTextFormatAndOtherMethodsGet405) {
  MetricsRegistry r;
  r.counter("up_total", "Up.").labels().inc(2);
  HttpRequest get(boost::beast::http::verb::get, "/metrics", 11);
  auto res = metrics_response(r, get);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res[boost::beast::http::field::content_type], kMetricsContentType);
  EXPECT_EQ(res.body(), "# HELP up_total Up.\n# TYPE up_total counter\nup_total 2\n");
  HttpRequest post(boost::beast::http::verb::post, "/metrics", 11);
  res = metrics_response(r, post);
  EXPECT_EQ(res.result_int(), 405u);
  EXPECT_EQ(res[boost::beast::http::field::allow], "GET, HEAD");
}

TEST(HttpMessage, ErrorResponseIsJsonWithTheReason) {
  auto res = error_response(boost::beast::http::status::payload_too_large,
                            "body \"too\" large\xff");  // invalid UTF-8 is replaced
  EXPECT_EQ(res.result_int(), 413u);
  EXPECT_EQ(res[boost::beast::http::field::content_type], "application/json");
  EXPECT_EQ(res[boost::beast::http::field::content_length], std::to_string(res.body().size()));
  auto j = nlohmann::json::parse(res.body());
  EXPECT_EQ(j.at("error"), "body \"too\" large\xEF\xBF\xBD");
}

}  // namespace
}  // namespace br2k::net
