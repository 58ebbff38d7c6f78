// The service client's leader resolution against a real anvil registry, with scripted replicas
// (HTTP servers on loopback that answer as BR2K replicas would, or misbehave on purpose): events,
// replica hints, chain lookups, stale epochs, claims, idempotency keys and the retry budget. The
// end-to-end tests with real br2k-server nodes are in tests/integration/e2e.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <br2k/client/service_client.hpp>
#include <br2k/net/http_server.hpp>
#include <br2k/registry/watcher.hpp>
#include <functional>
#include <regex>

#include "../registry/registry_test_base.hpp"

namespace br2k::testing {
namespace {

namespace http = boost::beast::http;
using client::ServiceClient;
using Behaviour = std::function<net::HttpResponse(const net::HttpRequest&)>;

// An HTTP server on 127.0.0.1 answering by a script.
class ScriptedReplica {
 public:
  ScriptedReplica(boost::asio::io_context& io, Behaviour b)
      : io_(io), behaviour_(std::make_shared<Behaviour>(std::move(b))) {
    server_ = std::make_unique<net::HttpServer>(
        io.get_executor(), [b = behaviour_, this](net::HttpRequest&& r) -> Task<net::HttpResponse> {
          ++requests_;
          last_ = r;
          co_return (*b)(r);
        });
    port_ = server_->start().value().port();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void set(Behaviour b) { *behaviour_ = std::move(b); }
  int requests() const { return requests_; }
  const net::HttpRequest& last() const { return last_; }
  // The node goes away: its port refuses connections.
  Task<void> stop() { co_await server_->stop(Clock::now()); }

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<Behaviour> behaviour_;
  std::unique_ptr<net::HttpServer> server_;
  std::uint16_t port_ = 0;
  int requests_ = 0;
  net::HttpRequest last_;
};

// A port on 127.0.0.1 that completes no new TCP handshake, as a host cut off by a partition:
// its listen backlog (0) is held full by one connection nobody accepts, so the kernel drops every
// further SYN and a connect waits for its deadline.
class SilentPort {
 public:
  SilentPort() : acceptor_(io_), filler_(io_) {
    namespace ip = boost::asio::ip;
    acceptor_.open(ip::tcp::v4());
    acceptor_.bind({ip::make_address("127.0.0.1"), 0});
    acceptor_.listen(0);
    filler_.connect(acceptor_.local_endpoint());
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::socket filler_;
};

net::HttpResponse answer(std::string body, std::optional<std::uint64_t> epoch = {},
                         std::string leader = {}, std::string replicas = {}) {
  net::HttpResponse r{http::status::ok, 11};
  r.body() = std::move(body);
  if (epoch)
    r.set("BR2K-Epoch", std::to_string(*epoch));
  if (!leader.empty())
    r.set("BR2K-Leader", leader);
  if (!replicas.empty())
    r.set("BR2K-Replicas", replicas);
  r.prepare_payload();
  return r;
}

net::HttpResponse redirect(std::string leader, std::uint64_t epoch) {
  net::HttpResponse r{http::status::temporary_redirect, 11};
  r.set(http::field::location, leader + "/x");
  r.set("BR2K-Leader", leader);
  r.set("BR2K-Epoch", std::to_string(epoch));
  r.prepare_payload();
  return r;
}

class ServiceClientTest : public RegistryTestBase {
 protected:
  void SetUp() override { RegistryTestBase::SetUp(); }
  void TearDown() override {
    for (auto& c : clients_)
      c->stop();
    pump_for(std::chrono::milliseconds(50));
  }

  void register_at(const std::string& url) { register_service("svc", url); }

  std::shared_ptr<ServiceClient> make_client(
      bool events = true, bool ws = true, std::shared_ptr<const eth::PrivateKey> claim_key = {},
      std::chrono::milliseconds attempt_timeout = std::chrono::milliseconds(1000),
      const std::function<void(client::ServiceClientOptions&)>& tweak = {}) {
    client::ServiceClientOptions o;
    o.service = id("svc");
    o.registry = registry_->contract();
    o.rpc.http_endpoints = {anvil_.http_url()};
    if (ws)
      o.rpc.ws_endpoints = {anvil_.ws_url()};
    o.follow_events = events;
    o.event_poll_interval = std::chrono::milliseconds(100);
    o.request_timeout = std::chrono::milliseconds(5000);
    o.attempt_timeout = attempt_timeout;
    o.claim_key = std::move(claim_key);
    o.claim_after = std::chrono::milliseconds(300);
    o.claim_interval = std::chrono::milliseconds(0);
    if (tweak)
      tweak(o);
    auto c = ServiceClient::create(io_.get_executor(), o);
    c->start();
    clients_.push_back(c);
    return c;
  }

  Result<net::HttpResponse> get(ServiceClient& c, std::string target = "/x",
                                http::verb verb = http::verb::get,
                                client::RequestOptions options = {}) {
    net::HttpRequest r{verb, target, 11};
    return run(c.request(std::move(r), options));
  }

  // A answers as the leader at epoch 3 and C at epoch 9, both naming A, `middle` and C as the
  // replicas (in that order: the order in which the client asks them).
  static void lead(ScriptedReplica& a, ScriptedReplica& c, const std::string& middle) {
    const std::string replicas = a.url() + ", " + middle + ", " + c.url();
    a.set([&a, replicas](auto&) { return answer("A", 3, a.url(), replicas); });
    c.set([&c, replicas](auto&) { return answer("C", 9, c.url(), replicas); });
  }

  bool eventually(const std::function<bool()>& pred,
                  std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
    auto until = Clock::now() + limit;
    while (!pred() && Clock::now() < until)
      pump_for(std::chrono::milliseconds(20));
    return pred();
  }

  std::vector<std::shared_ptr<ServiceClient>> clients_;
};

TEST_F(ServiceClientTest, ResolvesOnChainThenFollowsNewLocationEvents) {
  ScriptedReplica a(io_, [](auto&) { return answer("A"); });
  ScriptedReplica b(io_, [](auto&) { return answer("B"); });
  register_at(a.url());
  auto c = make_client();
  auto r = get(*c);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->body(), "A");
  ASSERT_TRUE(run(registry_->update_location(id("svc"), b.url(), 5, deadline())));
  ASSERT_TRUE(eventually([&] { return c->location() && c->location()->url == b.url(); }));
  EXPECT_EQ(c->location()->epoch, 5u);
  EXPECT_GE(c->stats().events, 1u);
  r = get(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body(), "B");
  EXPECT_EQ(c->stats().failovers, 1u);
}

TEST_F(ServiceClientTest, AReplicaHintFindsTheNewLeaderWithoutTheChain) {
  ScriptedReplica a(io_, [](auto&) { return answer("?"); });
  ScriptedReplica c_node(io_, [](auto&) { return answer("?"); });
  ScriptedReplica b(io_, [&](auto&) { return redirect(c_node.url(), 9); });
  lead(a, c_node, b.url());
  register_at(a.url());
  auto c = make_client();
  ASSERT_EQ(get(*c).value().body(), "A");
  EXPECT_EQ(c->location()->epoch, 3u);
  // The leader dies; the chain still says A. A replica names C.
  run(a.stop());
  auto r = get(*c);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->body(), "C");
  EXPECT_EQ(c->location()->url, c_node.url());
  EXPECT_EQ(c->location()->epoch, 9u);
  EXPECT_GE(c->stats().hints, 1u);
  EXPECT_GE(b.requests(), 1);
}

// The leader goes away and the replica asked first sits on a cut-off host (it drops the SYN).
// Asking it is a detour: its connect is cut after replica_connect_timeout, not connect_timeout
// (here, like the attempt timeout, longer than the request's whole deadline, so the request
// would fail), and the next replica names the new leader.
TEST_F(ServiceClientTest, AReplicaOnACutOffHostIsPassedOverWithinTheRequestsDeadline) {
  SilentPort cut_off;
  ScriptedReplica a(io_, [](auto&) { return answer("?"); });
  ScriptedReplica c_node(io_, [](auto&) { return answer("?"); });
  lead(a, c_node, cut_off.url());
  register_at(a.url());
  auto c = make_client(true, true, {}, std::chrono::milliseconds(60000),
                       [](client::ServiceClientOptions& o) {
                         o.connect_timeout = std::chrono::milliseconds(60000);
                         o.replica_connect_timeout = std::chrono::milliseconds(200);
                       });
  ASSERT_EQ(get(*c).value().body(), "A");
  run(a.stop());
  // The chain still says A; the replicas are asked in their order: A (skipped), the cut-off
  // one, C.
  auto r = get(*c);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->body(), "C");
  EXPECT_EQ(c->location()->url, c_node.url());
  EXPECT_EQ(c->location()->epoch, 9u);
}

TEST_F(ServiceClientTest, WithoutAWebSocketEndpointGetServiceLocationFindsTheMove) {
  ScriptedReplica a(io_, [](auto&) { return answer("A"); });
  ScriptedReplica b(io_, [](auto&) { return answer("B"); });
  register_at(a.url());
  auto c = make_client(/*events=*/false, /*ws=*/false);
  ASSERT_EQ(get(*c).value().body(), "A");
  run(a.stop());
  ASSERT_TRUE(run(registry_->update_location(id("svc"), b.url(), 4, deadline())));
  auto r = get(*c);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->body(), "B");
  EXPECT_GE(c->stats().chain_lookups, 2u);
  EXPECT_EQ(c->stats().events, 0u);
}

TEST_F(ServiceClientTest, AStaleNewLocationIsIgnored) {
  ScriptedReplica a(io_, [](auto&) { return answer("A"); });
  ScriptedReplica old(io_, [](auto&) { return answer("OLD"); });
  a.set([&](auto&) { return answer("A", 7, a.url()); });
  register_at(a.url());
  auto c = make_client();
  ASSERT_EQ(get(*c).value().body(), "A");  // learns epoch 7 from the leader's reply
  ASSERT_EQ(c->location()->epoch, 7u);
  // A deposed leader's late publication, epoch 5: newer on chain than 0, older than what we know.
  ASSERT_TRUE(run(registry_->update_location(id("svc"), old.url(), 5, deadline())));
  ASSERT_TRUE(eventually([&] { return c->stats().stale_ignored >= 1; }));
  EXPECT_EQ(c->location()->url, a.url());
  EXPECT_EQ(get(*c).value().body(), "A");
  EXPECT_EQ(old.requests(), 0);
}

TEST_F(ServiceClientTest, OneClaimPerFailedLocation) {
  ScriptedReplica a(io_, [](auto&) { return answer("A"); });
  register_at(a.url());
  auto claimer = std::make_shared<const eth::PrivateKey>(key(kThirdKey));
  auto c = make_client(true, true, claimer);
  ASSERT_EQ(get(*c).value().body(), "A");
  run(a.stop());
  // Requests keep failing well past claim_after; the client claims once and keeps retrying.
  for (int i = 0; i < 3; ++i) {
    client::RequestOptions o;
    o.deadline = Clock::now() + std::chrono::milliseconds(700);
    EXPECT_FALSE(get(*c, "/x", http::verb::get, o));
  }
  ASSERT_TRUE(eventually([&] { return c->stats().claims_sent >= 1; }));
  pump_for(std::chrono::milliseconds(500));
  EXPECT_EQ(c->stats().claims_sent, 1u);

  // On chain: exactly one Claim, about A at epoch 0, from the claim key's account.
  std::vector<registry::ClaimEvent> claims;
  registry::WatcherOptions w;
  w.contract = registry_->contract();
  w.from_block = 0;
  w.new_location = false;
  w.polling_only = true;
  auto watcher = registry::Watcher::create(io_.get_executor(), *rpc_, w, [&](const auto& e) {
    claims.push_back(std::get<registry::ClaimEvent>(e.body));
  });
  watcher->start();
  pump_for(std::chrono::milliseconds(500));
  watcher->stop();
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].failed_location, a.url());
  EXPECT_EQ(claims[0].failed_epoch, 0u);
  EXPECT_EQ(claims[0].claimer, claimer->address());
}

TEST_F(ServiceClientTest, IdempotencyKeysAreAddedToStateChangingRequestsOnly) {
  ScriptedReplica a(io_, [](auto&) { return answer("A"); });
  register_at(a.url());
  auto c = make_client();
  ASSERT_TRUE(get(*c, "/x", http::verb::post));
  auto key_of = [&] {
    auto it = a.last().find("Idempotency-Key");
    return it == a.last().end() ? std::string() : std::string(it->value());
  };
  EXPECT_TRUE(std::regex_match(
      key_of(), std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << key_of();
  ASSERT_TRUE(get(*c, "/x", http::verb::get));
  EXPECT_EQ(key_of(), "");
  // PUT and DELETE change state: applied twice, the change would be visible; they get keys too.
  ASSERT_TRUE(get(*c, "/x", http::verb::put));
  EXPECT_EQ(key_of().size(), 36u);
  ASSERT_TRUE(get(*c, "/x", http::verb::delete_));
  EXPECT_EQ(key_of().size(), 36u);
  ASSERT_TRUE(get(*c, "/x", http::verb::head));
  EXPECT_EQ(key_of(), "");
  net::HttpRequest own{http::verb::post, "/x", 11};
  own.set("Idempotency-Key", "caller-chose-this");
  ASSERT_TRUE(run(c->request(std::move(own))));
  EXPECT_EQ(key_of(), "caller-chose-this");
}

// A server that reads each request's header, then closes the connection without answering: the
// client cannot know whether the request was applied. (A fault a real replica produces only by
// crashing at the wrong moment.)
class SilentCloser {
 public:
  explicit SilentCloser(boost::asio::io_context& io)
      : acceptor_(io, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    boost::asio::co_spawn(io, loop(), boost::asio::detached);
  }
  ~SilentCloser() { acceptor_.close(); }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  int served = 0;

 private:
  Task<void> loop() {
    for (;;) {
      boost::system::error_code ec;
      auto socket = co_await acceptor_.async_accept(
          boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec)
        co_return;
      std::string buffer;
      co_await boost::asio::async_read_until(
          socket, boost::asio::dynamic_buffer(buffer), "\r\n\r\n",
          boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (!ec)
        ++served;
      socket.close();
    }
  }
  boost::asio::ip::tcp::acceptor acceptor_;
};

TEST_F(ServiceClientTest, ARequestThatMayHaveBeenAppliedIsRetriedOnlyWhenSafe) {
  SilentCloser a(io_);
  register_at(a.url());
  auto c = make_client();
  client::RequestOptions no_key;
  no_key.add_idempotency_key = false;
  no_key.deadline = Clock::now() + std::chrono::milliseconds(1500);
  auto post = get(*c, "/x", http::verb::post, no_key);
  ASSERT_FALSE(post);
  EXPECT_TRUE(post.error().is(Errc::kOutcomeUnknown)) << post.error();
  EXPECT_EQ(a.served, 1);  // not resent
  client::RequestOptions quick;
  quick.deadline = Clock::now() + std::chrono::milliseconds(1500);
  auto before = a.served;
  auto got = get(*c, "/x", http::verb::get, quick);
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().is(Errc::kDeadlineExceeded)) << got.error();
  EXPECT_GT(a.served - before, 1);  // an idempotent GET is retried
}

// A server that reads requests and never answers, holding every connection open: a leader whose
// node went silent (partitioned, paused) with the client's request in flight.
class Stalled {
 public:
  explicit Stalled(boost::asio::io_context& io)
      : acceptor_(io, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    boost::asio::co_spawn(io, loop(), boost::asio::detached);
  }
  ~Stalled() {
    acceptor_.close();
    for (auto& s : sockets_)
      s->close();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  std::vector<std::string> headers;  // each request's header block, as read

 private:
  Task<void> loop() {
    for (;;) {
      boost::system::error_code ec;
      auto socket = std::make_shared<boost::asio::ip::tcp::socket>(co_await acceptor_.async_accept(
          boost::asio::redirect_error(boost::asio::use_awaitable, ec)));
      if (ec)
        co_return;
      sockets_.push_back(socket);
      std::string buffer;
      co_await boost::asio::async_read_until(
          *socket, boost::asio::dynamic_buffer(buffer), "\r\n\r\n",
          boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (!ec)
        headers.push_back(buffer);
    }
  }
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<boost::asio::ip::tcp::socket>> sockets_;
};

TEST_F(ServiceClientTest, AnAttemptToAReplacedLeaderIsAbandonedForTheNewOne) {
  Stalled a(io_);
  ScriptedReplica b(io_, [](auto&) { return answer("B"); });
  register_at(a.url());
  auto c = make_client(true, true, {}, std::chrono::milliseconds(5000));
  // A keyed write goes to A and hangs there.
  std::optional<Result<net::HttpResponse>> put;
  boost::asio::co_spawn(
      io_,
      [&]() -> Task<void> {
        put = co_await c->request(net::HttpRequest{http::verb::put, "/x", 11});
      },
      boost::asio::detached);
  ASSERT_TRUE(eventually([&] { return a.headers.size() == 1; }));
  // The new leader is published: the attempt in flight goes to it at once, with the same key,
  // instead of waiting out A's 5-second attempt timeout.
  const auto moved = Clock::now();
  ASSERT_TRUE(run(registry_->update_location(id("svc"), b.url(), 6, deadline())));
  ASSERT_TRUE(eventually([&] { return put.has_value(); }, std::chrono::milliseconds(4000)));
  EXPECT_LT(Clock::now() - moved, std::chrono::milliseconds(3000));
  ASSERT_TRUE(*put) << put->error();
  EXPECT_EQ((*put)->body(), "B");
  EXPECT_EQ(c->stats().abandoned, 1u);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(a.headers[0], m, std::regex("Idempotency-Key: ([0-9a-f-]+)")));
  EXPECT_EQ(std::string(b.last()["Idempotency-Key"]), m[1].str());
}

TEST_F(ServiceClientTest, AnAttemptThatMayNotBeResentIsNotAbandoned) {
  Stalled a(io_);
  ScriptedReplica b(io_, [](auto&) { return answer("B"); });
  register_at(a.url());
  auto c = make_client(true, true, {}, std::chrono::milliseconds(1500));
  client::RequestOptions no_key;
  no_key.add_idempotency_key = false;
  std::optional<Result<net::HttpResponse>> post;
  boost::asio::co_spawn(
      io_,
      [&]() -> Task<void> {
        post = co_await c->request(net::HttpRequest{http::verb::post, "/x", 11}, no_key);
      },
      boost::asio::detached);
  ASSERT_TRUE(eventually([&] { return a.headers.size() == 1; }));
  ASSERT_TRUE(run(registry_->update_location(id("svc"), b.url(), 6, deadline())));
  ASSERT_TRUE(eventually([&] { return post.has_value(); }));
  // Its outcome at A is unknown: it must not be sent to B behind A's back.
  ASSERT_FALSE(*post);
  EXPECT_TRUE(post->error().is(Errc::kOutcomeUnknown)) << post->error();
  EXPECT_EQ(b.requests(), 0);
  EXPECT_EQ(c->stats().abandoned, 0u);
}

TEST_F(ServiceClientTest, RetriesAreBoundedByTheRetryBudget) {
  ScriptedReplica a(io_, [](auto&) { return answer("A"); });
  register_at(a.url());
  client::ServiceClientOptions o;
  o.service = id("svc");
  o.registry = registry_->contract();
  o.rpc.http_endpoints = {anvil_.http_url()};
  o.follow_events = false;
  o.backoff_initial = std::chrono::milliseconds(1);
  o.backoff_max = std::chrono::milliseconds(2);
  o.retry_budget_per_second = 10;
  o.retry_budget_burst = 5;
  auto c = ServiceClient::create(io_.get_executor(), o);
  c->start();
  clients_.push_back(c);
  ASSERT_TRUE(get(*c));
  run(a.stop());
  client::RequestOptions two_seconds;
  two_seconds.deadline = Clock::now() + std::chrono::seconds(2);
  const auto before = c->stats().attempts;
  EXPECT_FALSE(get(*c, "/x", http::verb::get, two_seconds));
  // Burst 5 plus 10/s for 2 s, plus the first attempt; without the budget a 2 ms backoff would
  // allow hundreds.
  EXPECT_LE(c->stats().attempts - before, 5u + 20u + 2u);
}

}  // namespace
}  // namespace br2k::testing
