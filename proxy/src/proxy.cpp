// Proxy: forwarding through the ServiceClient. See proxy.hpp.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <br2k/proxy/proxy.hpp>
#include <nlohmann/json.hpp>
#include <string_view>
#include <thread>
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

// One event loop: its listener, its service client (with its pool of connections to the
// leader), and for all but the first, its io_context and thread.
struct Worker {
  std::unique_ptr<boost::asio::io_context> io;  // null for the first (the caller's executor)
  boost::asio::any_io_executor executor;
  std::shared_ptr<client::ServiceClient> client;
  std::unique_ptr<net::HttpServer> server;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard;
  std::thread thread;
};

// What one worker's client reports, read on its executor.
struct Snapshot {
  client::ClientStats stats;
  std::optional<registry::Location> location;
  std::vector<chain::EndpointHealth> rpc;  // the control client's only
};

struct Proxy::State {
  State(boost::asio::any_io_executor ex, ProxyOptions o) : executor(ex), options(std::move(o)) {
    if (options.threads == 0)
      throw std::invalid_argument("proxy: threads must be at least 1");
    // Each event loop is run by one thread: its connections need no strand each.
    options.listen.single_threaded = true;
    options.listen.reuse_port = options.threads > 1;
    if (!options.listen.metrics)
      options.listen.metrics = std::make_shared<net::MetricsRegistry>();
    metrics = options.listen.metrics;
    auto& m = *metrics;
    forwarded = &m.counter("br2k_proxy_requests_total",
                           "Requests forwarded, by outcome (answered, timeout, unknown, refused)",
                           {"outcome"});
    answered = &forwarded->labels({"answered"});
    refused = &forwarded->labels({"refused"});
    timed_out = &forwarded->labels({"timeout"});
    unknown = &forwarded->labels({"unknown"});
    pending_gauge = &m.gauge("br2k_proxy_pending_requests", "Requests held now").labels();
    duration = &m.histogram("br2k_proxy_request_duration_seconds",
                            "From arrival to the leader's answer (or the proxy's error)",
                            net::default_duration_buckets())
                    .labels();
    for (std::size_t i = 0; i < options.threads; ++i) {
      auto w = std::make_unique<Worker>();
      auto client_options = options.client;
      if (i == 0) {
        w->executor = executor;
      } else {
        w->io = std::make_unique<boost::asio::io_context>(kOneThreadIo);
        w->executor = w->io->get_executor();
        // The control client follows events and sends claims; the others learn from it.
        client_options.follow_events = false;
        client_options.claim_key.reset();
      }
      w->client = client::ServiceClient::create(w->executor, std::move(client_options));
      workers.push_back(std::move(w));
    }
    if (workers.size() > 1)
      share_locations();
  }

  // A location one client learns goes to every other (each on its own executor); an attempt
  // another client saw fail counts toward the control client's claim.
  void share_locations() {
    for (std::size_t i = 0; i < workers.size(); ++i) {
      std::vector<std::pair<boost::asio::any_io_executor, std::weak_ptr<client::ServiceClient>>>
          others;
      for (std::size_t j = 0; j < workers.size(); ++j)
        if (j != i)
          others.emplace_back(workers[j]->executor, workers[j]->client);
      workers[i]->client->on_location_change([others](const std::optional<registry::Location>&,
                                                      const registry::Location& l,
                                                      client::Source source) {
        for (const auto& [ex, weak] : others) {
          boost::asio::post(ex, [weak, l, source] {
            if (auto c = weak.lock())
              c->adopt_location(l, source);
          });
        }
      });
      if (i > 0) {
        workers[i]->client->on_unreachable(
            [ex = workers[0]->executor, weak = std::weak_ptr<client::ServiceClient>(
                                            workers[0]->client)](const std::string& url) {
              boost::asio::post(ex, [weak, url] {
                if (auto c = weak.lock())
                  c->report_unreachable(url);
              });
            });
      }
    }
  }

  ~State() {
    // The other loops: stop their clients on their own threads, then let the loops end.
    for (std::size_t i = 1; i < workers.size(); ++i) {
      auto& w = *workers[i];
      if (w.thread.joinable()) {
        boost::asio::post(w.executor, [c = w.client] { c->stop(); });
        w.guard.reset();
        w.io->stop();
        w.thread.join();
      }
    }
    workers[0]->client->stop();
    // A client's work still pending on the caller's executor must not post to loops that are
    // gone.
    for (auto& w : workers) {
      w->client->on_location_change(nullptr);
      w->client->on_unreachable(nullptr);
    }
    // Servers before clients, clients before their io_contexts.
    for (auto& w : workers)
      w->server.reset();
    for (auto& w : workers)
      w->client.reset();
  }

  boost::asio::any_io_executor executor;
  ProxyOptions options;
  std::shared_ptr<net::MetricsRegistry> metrics;
  std::vector<std::unique_ptr<Worker>> workers;
  std::atomic<std::size_t> pending{0};
  std::atomic<bool> stopping{false};
  net::Family<net::Counter>* forwarded = nullptr;
  net::Counter* answered = nullptr;
  net::Counter* refused = nullptr;
  net::Counter* timed_out = nullptr;
  net::Counter* unknown = nullptr;
  net::Gauge* pending_gauge = nullptr;
  net::Histogram* duration = nullptr;

  std::unique_ptr<net::HttpServer> make_server(Worker& w, net::HttpServerOptions listen) {
    return std::make_unique<net::HttpServer>(
        w.executor,
        [this, &w](net::HttpRequest&& r) -> Task<net::HttpResponse> {
          return handle(w, std::move(r));
        },
        std::move(listen));
  }

  // Every worker's figures, each read on its own executor.
  Task<std::vector<Snapshot>> snapshots() {
    std::vector<Snapshot> out;
    out.reserve(workers.size());
    for (std::size_t i = 0; i < workers.size(); ++i) {
      // The operation is a named object, not a temporary in the co_await's full-expression:
      // g++ 12 destroys such temporaries twice (here: the lambda and its shared_ptr).
      auto read = boost::asio::co_spawn(
          workers[i]->executor,
          [c = workers[i]->client, i]() -> Task<Snapshot> {
            Snapshot s{c->stats(), c->location(), {}};
            if (i == 0)
              s.rpc = c->rpc_health();
            co_return s;
          },
          boost::asio::use_awaitable);
      Snapshot snapshot = co_await std::move(read);
      out.push_back(std::move(snapshot));
    }
    co_return out;
  }

  // Request figures are summed over the workers; location figures (failovers, hints, events,
  // claims) are the control client's, which sees every location any worker learns.
  static client::ClientStats combine(const std::vector<Snapshot>& all) {
    client::ClientStats t = all.front().stats;
    for (std::size_t i = 1; i < all.size(); ++i) {
      const auto& s = all[i].stats;
      t.requests += s.requests;
      t.succeeded += s.succeeded;
      t.failed += s.failed;
      t.attempts += s.attempts;
      t.retries += s.retries;
      t.chain_lookups += s.chain_lookups;
      t.stale_ignored += s.stale_ignored;
      t.abandoned += s.abandoned;
    }
    return t;
  }

  // Client-side figures as gauges, refreshed when /metrics is read.
  Task<void> export_client_metrics() {
    auto all = co_await snapshots();
    const auto s = combine(all);
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
    const auto& loc = all.front().location;
    m.gauge("br2k_proxy_leader_epoch", "Epoch of the leader requests go to")
        .labels()
        .set(loc ? double(loc->epoch) : 0.0);
  }

  Task<net::HttpResponse> handle(Worker& w, net::HttpRequest&& request) {
    const std::string_view target(request.target().data(), request.target().size());
    if (target == "/-/br2k/status" || target.rfind("/-/br2k/status?", 0) == 0) {
      const unsigned version = request.version();
      auto body = co_await status_json();
      net::HttpResponse r{http::status::ok, version};
      r.set(http::field::content_type, net::kJsonContentType);
      r.body() = std::move(body);
      co_return r;
    }
    if (target == "/metrics") {
      const unsigned version = request.version();
      co_await export_client_metrics();
      net::HttpResponse r{http::status::ok, version};
      r.set(http::field::content_type, "text/plain; version=0.0.4");
      r.body() = metrics->render();
      co_return r;
    }
    if (stopping.load(std::memory_order_relaxed)) {
      refused->inc();
      co_return net::error_response(http::status::service_unavailable, "the proxy is stopping");
    }
    if (pending.fetch_add(1, std::memory_order_relaxed) >= options.max_pending) {
      pending.fetch_sub(1, std::memory_order_relaxed);
      refused->inc();
      auto r = net::error_response(http::status::service_unavailable,
                                   "too many requests waiting for the service (" +
                                       std::to_string(options.max_pending) + ")");
      r.set(http::field::retry_after, "1");
      co_return r;
    }
    const auto started = Clock::now();
    pending_gauge->inc();
    const unsigned version = request.version();
    strip_hop_by_hop(request);
    client::RequestOptions ro;
    ro.deadline = started + options.request_timeout;
    auto reply = co_await w.client->request(std::move(request), ro);
    pending.fetch_sub(1, std::memory_order_relaxed);
    pending_gauge->dec();
    duration->observe(std::chrono::duration<double>(Clock::now() - started).count());
    if (!reply) {
      const auto& e = reply.error();
      http::status status = http::status::gateway_timeout;
      net::Counter* outcome = timed_out;
      if (e.is(Errc::kOutcomeUnknown)) {
        status = http::status::bad_gateway;
        outcome = unknown;
      } else if (e.is(Errc::kCancelled)) {
        status = http::status::service_unavailable;
        outcome = refused;
      } else if (e.is(Errc::kTooLarge)) {
        status = http::status::bad_gateway;
        outcome = refused;
      }
      outcome->inc();
      spdlog::warn("br2k proxy: {}", e.message());
      auto r = net::error_response(status, "br2k-proxy: " + e.message());
      r.version(version);
      co_return r;
    }
    answered->inc();
    strip_hop_by_hop(*reply);
    reply->version(version);
    co_return std::move(*reply);
  }

  Task<std::string> status_json() {
    auto all = co_await snapshots();
    const auto s = combine(all);
    const auto& loc = all.front().location;
    json endpoints = json::array();
    for (const auto& h : all.front().rpc) {
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
              {"threads", workers.size()},
              {"pending", pending.load(std::memory_order_relaxed)},
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
    co_return j.dump();
  }
};

Proxy::Proxy(boost::asio::any_io_executor executor, ProxyOptions options)
    : state_(std::make_shared<State>(executor, std::move(options))) {
  auto& w = *state_->workers.front();
  w.server = state_->make_server(w, state_->options.listen);
}

Proxy::~Proxy() = default;

Result<boost::asio::ip::tcp::endpoint> Proxy::start() {
  auto& s = *state_;
  auto& first = *s.workers.front();
  first.client->start();
  auto ep = first.server->start();
  if (!ep)
    return ep;
  // The other loops listen on the port the first one bound (an ephemeral one included).
  for (std::size_t i = 1; i < s.workers.size(); ++i) {
    auto& w = *s.workers[i];
    auto listen = s.options.listen;
    listen.port = ep->port();
    w.server = s.make_server(w, listen);
    w.client->start();
    auto bound = w.server->start();
    if (!bound)
      return bound.error();
    w.guard.emplace(w.io->get_executor());
    w.thread = std::thread([io = w.io.get()] { io->run(); });
  }
  spdlog::info("br2k proxy: listening on {}:{} ({} event loop{})", ep->address().to_string(),
               ep->port(), s.workers.size(), s.workers.size() == 1 ? "" : "s");
  return ep;
}

Task<void> Proxy::stop(Deadline drain_deadline) {
  auto& s = *state_;
  s.stopping = true;
  // Every listener stops accepting at once and drains in parallel; this waits for all of them.
  auto remaining = std::make_shared<std::atomic<std::size_t>>(0);
  // Shared: a listener that outlasts the wait (a stuck handler) still finds the timer.
  auto all_done = std::make_shared<boost::asio::steady_timer>(
      s.executor, drain_deadline + std::chrono::seconds(2));
  for (auto& w : s.workers) {
    if (!w->server)
      continue;
    remaining->fetch_add(1);
    boost::asio::co_spawn(
        w->executor,
        [server = w->server.get(), drain_deadline, remaining, ex = s.executor,
         done = all_done]() -> Task<void> {
          co_await server->stop(drain_deadline);
          if (remaining->fetch_sub(1) == 1)
            boost::asio::post(ex, [done] { done->cancel(); });
        },
        boost::asio::detached);
  }
  if (remaining->load() > 0) {
    boost::system::error_code ec;
    co_await all_done->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
  for (std::size_t i = 1; i < s.workers.size(); ++i)
    boost::asio::post(s.workers[i]->executor, [c = s.workers[i]->client] { c->stop(); });
  s.workers.front()->client->stop();
}

client::ServiceClient& Proxy::client() {
  return *state_->workers.front()->client;
}

std::uint16_t Proxy::local_port() const {
  return state_->workers.front()->server->local_port();
}

Task<std::string> Proxy::status_json() {
  return state_->status_json();
}

}  // namespace br2k::proxy
