// Proxy: forwarding through the ServiceClient. See proxy.hpp.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/beast/http/field.hpp>
#include <br2k/proxy/proxy.hpp>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

namespace br2k::proxy {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

// RFC 9110 7.6.1: connection-specific fields a proxy must not forward; plus those named in
// Connection. Host is set by the client for the leader.
constexpr std::array<http::field, 9> kHopByHop = {
    http::field::connection,          http::field::keep_alive, http::field::proxy_authenticate,
    http::field::proxy_authorization, http::field::te,         http::field::trailer,
    http::field::transfer_encoding,   http::field::upgrade,    http::field::proxy_connection};

bool is_hop_by_hop(http::field f) {
  return std::find(kHopByHop.begin(), kHopByHop.end(), f) != kHopByHop.end();
}

template <class Message>
void strip_hop_by_hop(Message& m) {
  // One pass over the fields (a handful) rather than a lookup per hop-by-hop name; the fields
  // named in Connection (rare) are looked up by name first.
  bool has_connection = false;
  for (const auto& f : m) {
    if (f.name() == http::field::connection) {
      has_connection = true;
      break;
    }
  }
  if (has_connection) {
    auto it = m.find(http::field::connection);
    std::string_view list(it->value().data(), it->value().size());
    std::vector<std::string> names;
    while (!list.empty()) {
      auto comma = list.find(',');
      auto name = list.substr(0, comma);
      while (!name.empty() && name.front() == ' ')
        name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ')
        name.remove_suffix(1);
      if (!name.empty())
        names.emplace_back(name);
      if (comma == std::string_view::npos)
        break;
      list.remove_prefix(comma + 1);
    }
    for (const auto& name : names)
      m.erase(name);
  }
  for (auto it = m.begin(); it != m.end();) {
    if (is_hop_by_hop(it->name()))
      it = m.erase(it);
    else
      ++it;
  }
}

}  // namespace

struct Proxy::State {
  State(boost::asio::any_io_executor ex, ProxyOptions o) : executor(ex), options(std::move(o)) {
    // The proxy runs on one single-threaded executor: its connections need no strand each.
    options.listen.single_threaded = true;
    if (!options.listen.metrics)
      options.listen.metrics = std::make_shared<net::MetricsRegistry>();
    metrics = options.listen.metrics;
    client = client::ServiceClient::create(executor, options.client);
    auto& m = *metrics;
    forwarded = &m.counter("br2k_proxy_requests_total",
                           "Requests forwarded, by outcome (answered, timeout, unknown, refused)",
                           {"outcome"});
    pending_gauge = &m.gauge("br2k_proxy_pending_requests", "Requests held now").labels();
    duration = &m.histogram("br2k_proxy_request_duration_seconds",
                            "From arrival to the leader's answer (or the proxy's error)",
                            net::default_duration_buckets())
                    .labels();
  }

  boost::asio::any_io_executor executor;
  ProxyOptions options;
  std::shared_ptr<net::MetricsRegistry> metrics;
  std::shared_ptr<client::ServiceClient> client;
  std::unique_ptr<net::HttpServer> server;
  std::size_t pending = 0;
  bool stopping = false;
  net::Family<net::Counter>* forwarded = nullptr;
  net::Counter* answered = nullptr;  // forwarded{outcome="answered"}, looked up at first use
  net::Counter* refused = nullptr;   // forwarded{outcome="refused"}, likewise
  net::Gauge* pending_gauge = nullptr;
  net::Histogram* duration = nullptr;

  void count_refused() {
    if (!refused)
      refused = &forwarded->labels({"refused"});
    refused->inc();
  }

  // Client-side figures as gauges, refreshed when /metrics is read.
  void export_client_metrics() {
    const auto& s = client->stats();
    auto& m = *metrics;
    m.gauge("br2k_proxy_failovers", "Leader changes seen").labels().set(double(s.failovers));
    m.gauge("br2k_proxy_retries", "Attempts retried").labels().set(double(s.retries));
    m.gauge("br2k_proxy_claims_sent", "Claims sent on chain").labels().set(double(s.claims_sent));
    m.gauge("br2k_proxy_abandoned_attempts",
            "Attempts to a replaced leader cut short and sent to the new one")
        .labels()
        .set(double(s.abandoned));
    m.gauge("br2k_proxy_stale_locations_ignored", "Locations refused for a lower epoch")
        .labels()
        .set(double(s.stale_ignored));
    auto loc = client->location();
    m.gauge("br2k_proxy_leader_epoch", "Epoch of the leader requests go to")
        .labels()
        .set(loc ? double(loc->epoch) : 0.0);
  }

  Task<net::HttpResponse> handle(net::HttpRequest&& request) {
    const std::string_view target(request.target().data(), request.target().size());
    if (target == "/-/br2k/status" || target.rfind("/-/br2k/status?", 0) == 0) {
      net::HttpResponse r{http::status::ok, request.version()};
      r.set(http::field::content_type, net::kJsonContentType);
      r.body() = status_json();
      co_return r;
    }
    if (target == "/metrics") {
      export_client_metrics();
      net::HttpResponse r{http::status::ok, request.version()};
      r.set(http::field::content_type, "text/plain; version=0.0.4");
      r.body() = metrics->render();
      co_return r;
    }
    if (stopping) {
      count_refused();
      co_return net::error_response(http::status::service_unavailable, "the proxy is stopping");
    }
    if (pending >= options.max_pending) {
      count_refused();
      auto r = net::error_response(http::status::service_unavailable,
                                   "too many requests waiting for the service (" +
                                       std::to_string(options.max_pending) + ")");
      r.set(http::field::retry_after, "1");
      co_return r;
    }
    const auto started = Clock::now();
    ++pending;
    pending_gauge->set(double(pending));
    const unsigned version = request.version();
    strip_hop_by_hop(request);
    client::RequestOptions ro;
    ro.deadline = started + options.request_timeout;
    auto reply = co_await client->request(std::move(request), ro);
    --pending;
    pending_gauge->set(double(pending));
    duration->observe(std::chrono::duration<double>(Clock::now() - started).count());
    if (!reply) {
      const auto& e = reply.error();
      http::status status = http::status::gateway_timeout;
      const char* outcome = "timeout";
      if (e.is(Errc::kOutcomeUnknown)) {
        status = http::status::bad_gateway;
        outcome = "unknown";
      } else if (e.is(Errc::kCancelled)) {
        status = http::status::service_unavailable;
        outcome = "refused";
      } else if (e.is(Errc::kTooLarge)) {
        status = http::status::bad_gateway;
        outcome = "refused";
      }
      forwarded->labels({outcome}).inc();
      spdlog::warn("br2k proxy: {}", e.message());
      auto r = net::error_response(status, "br2k-proxy: " + e.message());
      r.version(version);
      co_return r;
    }
    if (!answered)
      answered = &forwarded->labels({"answered"});
    answered->inc();
    net::HttpResponse r = std::move(*reply);
    strip_hop_by_hop(r);
    r.version(version);
    co_return r;
  }

  std::string status_json() const {
    const auto& s = client->stats();
    auto loc = client->location();
    json endpoints = json::array();
    for (const auto& h : client->rpc_health()) {
      endpoints.push_back({{"url", h.url},
                           {"kind", h.kind == chain::EndpointKind::kHttp ? "http" : "ws"},
                           {"healthy", h.healthy},
                           {"consecutive_failures", h.consecutive_failures},
                           {"last_error", h.last_error}});
    }
    json j = {{"service", registry::to_string(options.client.service)},
              {"registry", eth::to_checksum_address(options.client.registry)},
              {"leader", loc ? json(loc->url) : json(nullptr)},
              {"epoch", loc ? json(loc->epoch) : json(nullptr)},
              {"pending", pending},
              {"requests", s.requests},
              {"succeeded", s.succeeded},
              {"failed", s.failed},
              {"retries", s.retries},
              {"failovers", s.failovers},
              {"stale_locations_ignored", s.stale_ignored},
              {"hints", s.hints},
              {"chain_lookups", s.chain_lookups},
              {"location_events", s.events},
              {"claims_sent", s.claims_sent},
              {"claims_failed", s.claims_failed},
              {"abandoned_attempts", s.abandoned},
              {"rpc_endpoints", endpoints}};
    return j.dump();
  }
};

Proxy::Proxy(boost::asio::any_io_executor executor, ProxyOptions options)
    : state_(std::make_shared<State>(executor, std::move(options))) {
  state_->server = std::make_unique<net::HttpServer>(
      executor,
      [s = state_.get()](net::HttpRequest&& r) -> Task<net::HttpResponse> {
        return s->handle(std::move(r));
      },
      state_->options.listen);
}

Proxy::~Proxy() {
  state_->client->stop();
}

Result<boost::asio::ip::tcp::endpoint> Proxy::start() {
  state_->client->start();
  auto ep = state_->server->start();
  if (ep)
    spdlog::info("br2k proxy: listening on {}:{}", ep->address().to_string(), ep->port());
  return ep;
}

Task<void> Proxy::stop(Deadline drain_deadline) {
  state_->stopping = true;
  co_await state_->server->stop(drain_deadline);
  state_->client->stop();
}

client::ServiceClient& Proxy::client() {
  return *state_->client;
}

std::uint16_t Proxy::local_port() const {
  return state_->server->local_port();
}

std::string Proxy::status_json() const {
  return state_->status_json();
}

}  // namespace br2k::proxy
