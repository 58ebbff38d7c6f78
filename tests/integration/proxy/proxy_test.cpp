// br2k::proxy::Proxy over real sockets: a real anvil registry, scripted replicas behind it, and
// libcurl in front (the proxy and replicas run on a background thread while the test thread acts
// as the unmodified client application).
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/field.hpp>
#include <br2k/net/http_server.hpp>
#include <br2k/proxy/proxy.hpp>
#include <br2k/testing/http.hpp>
#include <br2k/testing/wait.hpp>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "../registry/registry_test_base.hpp"

namespace br2k::testing {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

// A replica answering with its name; records what it received. Runs on the proxy's thread.
struct Replica {
  std::string name;
  std::chrono::milliseconds delay{0};
  std::atomic<int> requests{0};
  std::mutex mu;
  net::HttpRequest last;  // guarded by mu
  std::unique_ptr<net::HttpServer> server;
  std::uint16_t port = 0;

  Replica(boost::asio::io_context& io, std::string n) : name(std::move(n)) {
    server = std::make_unique<net::HttpServer>(
        io.get_executor(), [this](net::HttpRequest&& r) -> Task<net::HttpResponse> {
          ++requests;
          {
            std::lock_guard lock(mu);
            last = r;
          }
          if (delay.count() > 0) {
            boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, delay);
            co_await t.async_wait(boost::asio::use_awaitable);
          }
          net::HttpResponse out{http::status::ok, 11};
          out.set(http::field::content_type, "text/plain");
          out.set("Keep-Alive", "timeout=5");  // hop-by-hop: must not reach the client
          out.body() = name + ":" + std::string(r.target()) + ":" + r.body();
          co_return out;
        });
    port = server->start().value().port();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::string header(std::string_view field) {
    std::lock_guard lock(mu);
    auto it = last.find(field);
    return it == last.end() ? std::string() : std::string(it->value());
  }
};

class ProxyTest : public RegistryTestBase {
 protected:
  void SetUp() override {
    RegistryTestBase::SetUp();
    a_ = std::make_unique<Replica>(net_io_, "A");
    b_ = std::make_unique<Replica>(net_io_, "B");
    register_service("svc", a_->url());
  }

  void start_proxy(std::size_t max_pending = 64, std::uint64_t body_limit = 1024 * 1024,
                   std::size_t threads = 1) {
    proxy::ProxyOptions o;
    o.client.service = id("svc");
    o.client.registry = registry_->contract();
    o.client.rpc.http_endpoints = {anvil_.http_url()};
    o.client.rpc.ws_endpoints = {anvil_.ws_url()};
    o.client.attempt_timeout = std::chrono::milliseconds(2000);
    o.max_pending = max_pending;
    o.request_timeout = std::chrono::milliseconds(8000);
    o.listen.body_limit = body_limit;
    o.threads = threads;
    proxy_ = std::make_unique<proxy::Proxy>(net_io_.get_executor(), o);
    port_ = proxy_->start().value().port();
    thread_ = std::thread([this] { net_io_.run(); });
  }

  void TearDown() override {
    if (proxy_) {
      auto done = boost::asio::co_spawn(
          net_io_,
          [this]() -> Task<void> {
            co_await proxy_->stop(Clock::now() + std::chrono::milliseconds(200));
            co_await a_->server->stop(Clock::now());
            co_await b_->server->stop(Clock::now());
          },
          boost::asio::use_future);
      done.wait_for(std::chrono::seconds(5));
    }
    work_.reset();
    net_io_.stop();
    if (thread_.joinable())
      thread_.join();
    proxy_.reset();
  }

  // Puts the service at `url` with `epoch` on chain (a NewLocation event), from the test thread.
  bool publish(const std::string& url, std::uint64_t epoch) {
    boost::asio::io_context io;
    chain::RpcClientOptions o;
    o.http_endpoints = {anvil_.http_url()};
    chain::RpcClient rpc(io.get_executor(), o);
    chain::TxSender sender(rpc, key(Anvil::kDevPrivateKey), registry_sender_options());
    registry::RegistryClient registry(rpc, registry_->contract(), &sender);
    auto f = boost::asio::co_spawn(io, registry.update_location(id("svc"), url, epoch, deadline()),
                                   boost::asio::use_future);
    io.run();
    return bool(f.get());
  }

  HttpResponse send(std::string method, std::string target, std::string body = {},
                    std::vector<std::string> headers = {},
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    HttpRequest r;
    r.url = "http://127.0.0.1:" + std::to_string(port_) + target;
    r.method = std::move(method);
    r.body = std::move(body);
    r.headers = std::move(headers);
    r.timeout = timeout;
    return http_request(r);
  }

  boost::asio::io_context net_io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      net_io_.get_executor()};
  std::thread thread_;
  std::unique_ptr<Replica> a_, b_;
  std::unique_ptr<proxy::Proxy> proxy_;
  std::uint16_t port_ = 0;
};

TEST_F(ProxyTest, ForwardsToTheLeaderWithAnIdempotencyKeyAndWithoutHopByHopHeaders) {
  start_proxy();
  auto get = send("GET", "/items?x=1");
  ASSERT_EQ(get.status, 200) << get.error << get.body;
  EXPECT_EQ(get.body, "A:/items?x=1:");
  EXPECT_EQ(a_->header("Idempotency-Key"), "");
  auto post = send("POST", "/items", "hello",
                   {"Connection: keep-alive, X-Private", "X-Private: 1", "X-App: kept"});
  ASSERT_EQ(post.status, 200) << post.error;
  EXPECT_EQ(post.body, "A:/items:hello");
  EXPECT_EQ(a_->header("Idempotency-Key").size(), 36u);
  EXPECT_EQ(a_->header("X-Private"), "");  // named in Connection: hop-by-hop
  EXPECT_EQ(a_->header("X-App"), "kept");
  auto own = send("POST", "/items", "x", {"Idempotency-Key: mine-1"});
  ASSERT_EQ(own.status, 200);
  EXPECT_EQ(a_->header("Idempotency-Key"), "mine-1");
}

TEST_F(ProxyTest, ARequestDuringAFailoverIsHeldAndAnsweredByTheNewLeader) {
  start_proxy();
  ASSERT_EQ(send("GET", "/x").status, 200);
  // The leader goes away; the new location reaches the chain 600 ms later.
  std::promise<void> stopped;
  boost::asio::co_spawn(
      net_io_,
      [&]() -> Task<void> {
        co_await a_->server->stop(Clock::now());
        stopped.set_value();
      },
      boost::asio::detached);
  stopped.get_future().wait();
  auto published = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    return publish(b_->url(), 3);
  });
  auto t0 = Clock::now();
  auto held = send("POST", "/during", "x");
  EXPECT_EQ(held.status, 200) << held.error << held.body;
  EXPECT_EQ(held.body, "B:/during:x");
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(500));
  ASSERT_TRUE(published.get());
  auto status = json::parse(send("GET", "/-/br2k/status").body);
  EXPECT_EQ(status["leader"], b_->url());
  EXPECT_EQ(status["epoch"], 3);
  EXPECT_GE(status["failovers"].get<int>(), 1);
}

TEST_F(ProxyTest, MalformedAndOversizedRequestsGetClearErrorsAndTheProxyKeepsServing) {
  start_proxy(64, 1000);
  auto big = send("POST", "/x", std::string(5000, 'b'));
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_NE(big.body.find("error"), std::string::npos);
  auto huge_header = send("GET", "/x", {}, {"X-Big: " + std::string(20000, 'h')});
  EXPECT_EQ(huge_header.status, 431);
  EXPECT_EQ(a_->requests.load(), 0);
  auto ok = send("GET", "/x");
  EXPECT_EQ(ok.status, 200);
  auto metrics = send("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("br2k_proxy_requests_total{outcome=\"answered\"} 1"),
            std::string::npos)
      << metrics.body;
}

TEST_F(ProxyTest, AFullPendingQueueGets503) {
  a_->delay = std::chrono::milliseconds(1500);
  start_proxy(/*max_pending=*/2);
  std::vector<std::future<HttpResponse>> slow;
  for (int i = 0; i < 2; ++i)
    slow.push_back(std::async(std::launch::async, [&] { return send("GET", "/slow"); }));
  ASSERT_TRUE(wait_until(std::chrono::seconds(5), [&] { return a_->requests.load() == 2; }));
  auto refused = send("GET", "/third");
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("too many requests"), std::string::npos) << refused.body;
  for (auto& f : slow)
    EXPECT_EQ(f.get().status, 200);
}

TEST_F(ProxyTest, NoLeaderAnswerBeforeTheDeadlineIs504) {
  start_proxy();
  std::promise<void> stopped;
  boost::asio::co_spawn(
      net_io_,
      [&]() -> Task<void> {
        co_await a_->server->stop(Clock::now());
        stopped.set_value();
      },
      boost::asio::detached);
  stopped.get_future().wait();
  auto r = send("GET", "/x", {}, {}, std::chrono::milliseconds(15000));
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_NE(r.body.find("deadline"), std::string::npos) << r.body;
}

// With several event loops (each with its own listener, service client and connections), the
// control client alone follows events: the others must learn the new leader from it, or their
// requests keep going to the old one (which here still answers, and gives no hint).
TEST_F(ProxyTest, EveryEventLoopFollowsTheLeaderAndTheFiguresAddUp) {
  start_proxy(64, 1024 * 1024, /*threads=*/3);
  constexpr int kRequests = 30;  // each on a new connection: spread over the three listeners
  for (int i = 0; i < kRequests; ++i) {
    auto r = send("GET", "/before");
    ASSERT_EQ(r.status, 200) << r.error << r.body;
    EXPECT_EQ(r.body, "A:/before:");
  }
  ASSERT_TRUE(publish(b_->url(), 3));
  ASSERT_TRUE(wait_until(std::chrono::seconds(10), [&] {
    auto st = json::parse(send("GET", "/-/br2k/status").body, nullptr, false);
    return st.is_object() && st["leader"] == b_->url();
  }));
  // The other loops get the location posted to them as the control client takes it; give the
  // posts a moment, then every request must reach B.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (int i = 0; i < kRequests; ++i) {
    auto r = send("POST", "/after", std::to_string(i));
    ASSERT_EQ(r.status, 200) << r.error << r.body;
    EXPECT_EQ(r.body, "B:/after:" + std::to_string(i));
  }
  EXPECT_EQ(a_->requests.load(), kRequests);
  EXPECT_EQ(b_->requests.load(), kRequests);
  auto status = json::parse(send("GET", "/-/br2k/status").body);
  EXPECT_EQ(status["threads"], 3);
  EXPECT_EQ(status["requests"], 2 * kRequests);  // summed over the loops
  EXPECT_EQ(status["succeeded"], 2 * kRequests);
  EXPECT_EQ(status["failovers"], 1);  // the control client's: one change of leader
  EXPECT_EQ(status["epoch"], 3);
  auto metrics = send("GET", "/metrics");
  EXPECT_NE(metrics.body.find("br2k_proxy_requests_total{outcome=\"answered\"} " +
                              std::to_string(2 * kRequests)),
            std::string::npos)
      << metrics.body;
}

// The pending limit holds for the proxy as a whole, not per event loop.
TEST_F(ProxyTest, ThePendingLimitCoversEveryEventLoop) {
  a_->delay = std::chrono::milliseconds(1500);
  start_proxy(/*max_pending=*/4, 1024 * 1024, /*threads=*/3);
  std::vector<std::future<HttpResponse>> slow;
  for (int i = 0; i < 4; ++i)
    slow.push_back(std::async(std::launch::async, [&] { return send("GET", "/slow"); }));
  ASSERT_TRUE(wait_until(std::chrono::seconds(5), [&] { return a_->requests.load() == 4; }));
  for (int i = 0; i < 6; ++i) {  // new connections, landing on any loop
    auto refused = send("GET", "/more");
    EXPECT_EQ(refused.status, 503);
    EXPECT_NE(refused.body.find("too many requests"), std::string::npos) << refused.body;
  }
  for (auto& f : slow)
    EXPECT_EQ(f.get().status, 200);
  EXPECT_EQ(a_->requests.load(), 4);
}

}  // namespace
}  // namespace br2k::testing
