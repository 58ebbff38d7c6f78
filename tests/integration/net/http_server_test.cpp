// HttpServer over real sockets on 127.0.0.1: libcurl for well-formed traffic, a raw socket
// client (raw_http.hpp) for pipelined, malformed, oversized and stalled requests.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/field.hpp>
#include <br2k/net/http_connection.hpp>
#include <br2k/net/http_server.hpp>
#include <br2k/net/metrics_http.hpp>
#include <br2k/testing/http.hpp>
#include <br2k/testing/temp_dir.hpp>
#include <br2k/testing/tls_certs.hpp>
#include <br2k/testing/wait.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "raw_http.hpp"

namespace br2k::net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;
using br2k::testing::RawClient;
using br2k::testing::RawResponse;
using br2k::testing::wait_until;

// Counters the test handler updates, shared with the test body.
struct HandlerProbe {
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  std::atomic<int> cancelled{0};
};

// GET /x answers "GET /x\n" + body. Targets with behaviour: /sleep?ms=N sleeps first, /throw
// throws, /close sets Connection: close, /missing answers 404, /empty answers 204.
Task<HttpResponse> test_handler(std::shared_ptr<HandlerProbe> probe, HttpRequest req) {
  probe->started++;
  std::string target(req.target());
  if (target.starts_with("/sleep?ms=")) {
    asio::steady_timer t(co_await asio::this_coro::executor,
                         std::chrono::milliseconds(std::stoi(target.substr(10))));
    try {
      co_await t.async_wait(asio::use_awaitable);
    } catch (const boost::system::system_error&) {
      probe->cancelled++;
      throw;
    }
  }
  if (target == "/throw")
    throw std::runtime_error("handler bug");
  if (target == "/missing")
    co_return error_response(http::status::not_found, "no such thing");
  HttpResponse res(target == "/empty" ? http::status::no_content : http::status::ok, 11);
  res.set(http::field::content_type, "text/plain");
  res.set("X-Target", target);
  res.body() = std::string(req.method_string()) + " " + target + "\n" + req.body();
  if (target == "/close")
    res.keep_alive(false);
  probe->finished++;
  co_return res;
}

HttpHandler make_handler(std::shared_ptr<HandlerProbe> probe) {
  return [probe](HttpRequest&& req) { return test_handler(probe, std::move(req)); };
}

std::string get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra_headers) +
         "\r\n";
}

std::string post(std::string_view target, std::string_view body) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

std::string error_of(const RawResponse& r) {
  EXPECT_EQ(r.header("content-type"), "application/json");
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("error"))
    return "<not a JSON error: " + r.body + ">";
  return j["error"].get<std::string>();
}

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions options = {}) {
    server_ =
        std::make_unique<HttpServer>(io_.get_executor(), make_handler(probe_), std::move(options));
    auto ep = server_->start();
    ASSERT_TRUE(ep) << ep.error();
    port_ = ep->port();
    ASSERT_EQ(server_->local_port(), port_);
    thread_ = std::thread([this] { io_.run(); });
  }

  // Runs stop() on the server's context and waits for it.
  void stop(std::chrono::milliseconds drain) {
    auto done = asio::co_spawn(io_, server_->stop(deadline_after(drain)), asio::use_future);
    ASSERT_EQ(done.wait_for(drain + 5s), std::future_status::ready);
  }

  void TearDown() override {
    if (server_ && thread_.joinable())
      stop(1s);
    server_.reset();
    work_.reset();
    if (thread_.joinable())
      thread_.join();
  }

  std::string metrics() { return server_->metrics().render(); }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::shared_ptr<HandlerProbe> probe_ = std::make_shared<HandlerProbe>();
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

TEST_F(HttpServerTest, CurlGetAndPostAreEchoed) {
  start();
  const std::string url = "http://127.0.0.1:" + std::to_string(port_);
  auto g = br2k::testing::http_request({.url = url + "/hello?x=1"});
  EXPECT_EQ(g.status, 200) << g.error;
  EXPECT_EQ(g.body, "GET /hello?x=1\n");
  auto p = br2k::testing::http_request(
      {.url = url + "/items", .method = "POST", .body = std::string(100'000, 'b')});
  EXPECT_EQ(p.status, 200) << p.error;
  EXPECT_EQ(p.body, "POST /items\n" + std::string(100'000, 'b'));
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  start();
  RawClient c(port_);
  for (int i = 0; i < 100; ++i) {
    const std::string target = "/k" + std::to_string(i);
    ASSERT_TRUE(c.send(i % 2 ? get(target) : post(target, "body" + std::to_string(i))));
    auto r = c.read_response();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->version, "HTTP/1.1");
    EXPECT_EQ(r->header("connection"), "");  // HTTP/1.1 default: kept alive
    EXPECT_EQ(r->header("server"), "br2k");
    EXPECT_TRUE(r->has("date"));
    EXPECT_EQ(r->body,
              (i % 2 ? "GET " + target + "\n" : "POST " + target + "\nbody" + std::to_string(i)));
  }
  EXPECT_EQ(server_->open_connections(), 1u);
  EXPECT_NE(metrics().find("br2k_http_server_connections_accepted_total 1\n"), std::string::npos);
  EXPECT_NE(metrics().find("br2k_http_server_connections_open 1\n"), std::string::npos);
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAliveIsAsked) {
  start();
  {
    RawClient c(port_);
    ASSERT_TRUE(c.send("GET /old HTTP/1.0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->version, "HTTP/1.0");
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "GET /old\n");
    EXPECT_TRUE(c.wait_closed());
  }
  RawClient c(port_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send("GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->version, "HTTP/1.0");
    EXPECT_EQ(r->header("connection"), "keep-alive");
  }
}

TEST_F(HttpServerTest, PipelinedRequestsWrittenAtOnceComeBackInOrder) {
  start();
  RawClient c(port_);
  // Earlier requests sleep longer, so any reordering would show.
  std::string batch;
  for (int i = 0; i < 8; ++i) {
    batch +=
        i == 4 ? post("/sleep?ms=1", "middle") : get("/sleep?ms=" + std::to_string(80 - 10 * i));
  }
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 8; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << "response " << i;
    EXPECT_EQ(r->status, 200);
    if (i == 4) {
      EXPECT_EQ(r->body, "POST /sleep?ms=1\nmiddle");
    } else {
      EXPECT_EQ(r->header("x-target"), "/sleep?ms=" + std::to_string(80 - 10 * i));
    }
  }
  EXPECT_EQ(c.unread(), "");
}

// A body larger than the socket buffers both ways: the request body arrives over many reads
// after its header, and the reply is more than the kernel takes in one send, so the rest is
// written as the client reads. Both come through whole, and the connection serves on.
TEST_F(HttpServerTest, ABodyLargerThanTheSocketBuffersIsReadAndWrittenWhole) {
  start({.body_limit = 32u << 20});
  std::string body(16u << 20, '\0');
  for (std::size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>('a' + (i * 7) % 26);
  RawClient c(port_);
  ASSERT_TRUE(c.send(post("/big", body)));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(r->body.size(), body.size() + 10);
  EXPECT_TRUE(r->body == "POST /big\n" + body) << "the echoed body differs";
  ASSERT_TRUE(c.send(get("/after")));
  auto again = c.read_response();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, "GET /after\n");
}

TEST_F(HttpServerTest, ChunkedRequestBodyIsReassembled) {
  start();
  RawClient c(port_);
  // Sent in pieces that split chunk headers and data, with an extension and a trailer.
  const std::string pieces[] = {
      "POST /chunks HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
      "lo\r\n6;ext=1\r\n world\r\n1", "0\r\n0123456789abcdef\r\n0\r\nX-Trailer: yes\r\n\r\n"};
  for (const auto& p : pieces) {
    ASSERT_TRUE(c.send(p));
    std::this_thread::sleep_for(20ms);
  }
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /chunks\nhello world0123456789abcdef");
  // The connection is still usable.
  ASSERT_TRUE(c.send(get("/after")));
  auto r2 = c.read_response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "GET /after\n");
}

TEST_F(HttpServerTest, OversizedHeaderGets431AndServerKeepsServing) {
  start({.header_limit = 1024});
  {
    RawClient c(port_);
    ASSERT_TRUE(c.send(get("/big", "X-Pad: " + std::string(2000, 'p') + "\r\n")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 431);
    EXPECT_EQ(error_of(*r), "request header larger than 1024 bytes");
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c.wait_closed());
  }
  RawClient ok(port_);
  ASSERT_TRUE(ok.send(get("/fine")));
  auto r = ok.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, OversizedBodyGets413AndServerKeepsServing) {
  start({.body_limit = 1000});
  {
    // Refused from the Content-Length alone, while the body is still being sent.
    RawClient c(port_);
    ASSERT_TRUE(c.send(post("/big", std::string(5000, 'x'))));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(error_of(*r), "request body larger than 1000 bytes");
    EXPECT_TRUE(c.wait_closed());
  }
  {
    // Chunked: refused once the chunks pass the limit.
    RawClient c(port_);
    std::string req = "POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i)
      req += "1f4\r\n" + std::string(500, 'y') + "\r\n";
    req += "0\r\n\r\n";
    ASSERT_TRUE(c.send(req));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(c.wait_closed());
  }
  RawClient ok(port_);
  ASSERT_TRUE(ok.send(post("/small", std::string(1000, 'z'))));
  auto r = ok.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// Requests the server must refuse itself, each with its status and then a closed connection.
TEST_F(HttpServerTest, MalformedAndUnsupportedRequestsAreRefused) {
  start();
  struct Case {
    const char* what;
    std::string bytes;
    int status;
    const char* reason;  // a substring of the JSON error
  };
  const Case kCases[] = {
      {"garbage request line", "GARBAGE\r\n\r\n", 400, "malformed request"},
      {"space in target", "GET /a b HTTP/1.1\r\nHost: t\r\n\r\n", 400, "malformed request"},
      {"field without colon", "GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400, "malformed request"},
      {"bad Content-Length", "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400,
       "malformed request"},
      {"two Content-Lengths", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
       400, "malformed request"},
      {"Content-Length and chunked",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
       "malformed request"},
      {"bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
       "malformed request"},
      {"coding not ending in chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc", 400,
       "must end in chunked"},
      {"chunked in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
       "HTTP/1.0"},
      {"gzip then chunked",
       "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 501,
       "'gzip' not supported"},
      {"unknown expectation", "POST / HTTP/1.1\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx",
       417, "100-continue"},
      {"HTTP/2.0 request line", "GET / HTTP/2.0\r\n\r\n", 505, "version"},
      {"HTTP/1.2 request line", "GET / HTTP/1.2\r\n\r\n", 505, "version"},
      {"bare LF after the version", "GET / HTTP/1.1\nHost: t\n\n", 400, "malformed request"},
  };
  for (const auto& k : kCases) {
    RawClient c(port_);
    ASSERT_TRUE(c.send(k.bytes)) << k.what;
    auto r = c.read_response();
    ASSERT_TRUE(r) << k.what;
    EXPECT_EQ(r->status, k.status) << k.what;
    EXPECT_NE(error_of(*r).find(k.reason), std::string::npos) << k.what << ": " << r->body;
    EXPECT_EQ(r->header("connection"), "close") << k.what;
    EXPECT_TRUE(c.wait_closed()) << k.what;
  }
  EXPECT_EQ(probe_->started, 0);  // none reached the handler
  EXPECT_NE(metrics().find("br2k_http_server_requests_total{class=\"4xx\"} 11\n"),
            std::string::npos)
      << metrics();
}

TEST_F(HttpServerTest, ExpectContinueGets100BeforeTheBodyIsSent) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(
      c.send("PUT /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto interim = c.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("hello"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "PUT /up\nhello");
}

TEST_F(HttpServerTest, StalledHeaderGets408ThenClose) {
  start({.read_header_timeout = 300ms, .read_body_timeout = 300ms});
  RawClient c(port_);
  const auto t0 = Clock::now();
  ASSERT_TRUE(c.send("GET /slow HTTP/1.1\r\nHo"));
  auto r = c.read_response();
  const auto waited = Clock::now() - t0;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_EQ(error_of(*r), "request header not received within 300 ms");
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 5s);
  EXPECT_TRUE(c.wait_closed());

  RawClient body(port_);
  ASSERT_TRUE(body.send("POST /slow HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"));
  auto rb = body.read_response();
  ASSERT_TRUE(rb);
  EXPECT_EQ(rb->status, 408);
  EXPECT_EQ(error_of(*rb), "request body not received within 300 ms");
  EXPECT_TRUE(body.wait_closed());
}

TEST_F(HttpServerTest, IdleConnectionsAreClosedQuietly) {
  start({.read_header_timeout = 300ms, .idle_timeout = 300ms});
  RawClient silent(port_);  // never sends anything
  RawClient kept(port_);    // idle after one request
  ASSERT_TRUE(kept.send(get("/once")));
  ASSERT_TRUE(kept.read_response());
  EXPECT_TRUE(silent.wait_closed(5s));
  EXPECT_TRUE(kept.wait_closed(5s));
  EXPECT_TRUE(wait_until(2s, [&] { return server_->open_connections() == 0; }));
}

TEST_F(HttpServerTest, ConnectionsBeyondMaxGet503WithRetryAfter) {
  start({.max_connections = 2});
  auto a = std::make_unique<RawClient>(port_);
  RawClient b(port_);
  for (RawClient* c : {a.get(), &b}) {
    ASSERT_TRUE(c->send(get("/in")));
    ASSERT_TRUE(c->read_response());
  }
  {
    RawClient over(port_);
    ASSERT_TRUE(over.send(get("/over")));
    auto r = over.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->header("retry-after"), "1");
    EXPECT_EQ(error_of(*r), "too many connections; retry later");
    EXPECT_TRUE(over.wait_closed());
  }
  EXPECT_EQ(probe_->started, 2);
  // A slot frees up when a client leaves.
  a.reset();
  ASSERT_TRUE(wait_until(2s, [&] { return server_->open_connections() == 1; }));
  RawClient next(port_);
  ASSERT_TRUE(next.send(get("/next")));
  auto r = next.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(metrics().find("br2k_http_server_connections_rejected_total 1\n"), std::string::npos);
}

TEST_F(HttpServerTest, StopDrainsRequestInFlightAndRefusesNewConnections) {
  start();
  RawClient idle(port_);
  ASSERT_TRUE(idle.send(get("/warm")));
  ASSERT_TRUE(idle.read_response());
  RawClient busy(port_);
  ASSERT_TRUE(busy.send(get("/sleep?ms=200")));
  ASSERT_TRUE(wait_until(2s, [&] { return probe_->started == 2; }));

  const auto t0 = Clock::now();
  auto stopped = asio::co_spawn(io_, server_->stop(deadline_after(5s)), asio::use_future);
  // New connections are refused once the listener is closed.
  EXPECT_TRUE(wait_until(1s, [&] {
    int fd = br2k::testing::raw_connect(port_);
    if (fd >= 0)
      ::close(fd);
    return fd < 0 && errno == ECONNREFUSED;
  }));
  EXPECT_TRUE(idle.wait_closed(2s));  // an idle connection closes at once
  auto r = busy.read_response();      // the request in flight completes
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(busy.wait_closed());
  ASSERT_EQ(stopped.wait_for(5s), std::future_status::ready);
  const auto took = Clock::now() - t0;
  EXPECT_LT(took, 3s);
  EXPECT_EQ(probe_->finished, 2);
  EXPECT_EQ(probe_->cancelled, 0);
  EXPECT_EQ(server_->open_connections(), 0u);
}

TEST_F(HttpServerTest, StopCancelsHandlersStillRunningAtTheDeadline) {
  start();
  RawClient busy(port_);
  ASSERT_TRUE(busy.send(get("/sleep?ms=30000")));
  ASSERT_TRUE(wait_until(2s, [&] { return probe_->started == 1; }));
  const auto t0 = Clock::now();
  stop(200ms);
  const auto took = Clock::now() - t0;
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(probe_->cancelled, 1);
  EXPECT_FALSE(busy.read_response(false, 2s));  // closed without a reply
  EXPECT_TRUE(busy.closed());
  EXPECT_EQ(server_->open_connections(), 0u);
}

TEST_F(HttpServerTest, HandlerExceptionGives500AndConnectionSurvives) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/throw")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(error_of(*r), "internal server error");
  ASSERT_TRUE(c.send(get("/after")));
  auto r2 = c.read_response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
  EXPECT_NE(metrics().find("br2k_http_server_requests_total{class=\"5xx\"} 1\n"),
            std::string::npos);
}

TEST_F(HttpServerTest, ConnectionCloseFromClientOrHandlerIsHonoured) {
  start();
  for (std::string req : {get("/bye", "Connection: close\r\n"), get("/close")}) {
    RawClient c(port_);
    // A request pipelined after the last one is never answered.
    ASSERT_TRUE(c.send(req + get("/never")));
    auto r = c.read_response();
    ASSERT_TRUE(r) << req;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c.wait_closed()) << req;
  }
  EXPECT_EQ(probe_->started, 2);
}

TEST_F(HttpServerTest, HeadKeepsContentLengthWithoutBodyAnd204HasNoLength) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto h = c.read_response(/*head=*/true);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->header("content-length"), std::to_string(std::string("HEAD /h\n").size()));
  ASSERT_TRUE(c.send(get("/empty")));
  auto e = c.read_response();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 204);
  EXPECT_FALSE(e->has("content-length"));
  // Neither left stray body bytes on the connection.
  ASSERT_TRUE(c.send(get("/next")));
  auto n = c.read_response();
  ASSERT_TRUE(n);
  EXPECT_EQ(n->body, "GET /next\n");
}

TEST_F(HttpServerTest, MetricsCountConnectionsRequestsAndDurations) {
  auto registry = std::make_shared<MetricsRegistry>();
  start({.metrics = registry, .metrics_prefix = "api"});
  RawClient c(port_);
  for (auto target : {"/a", "/missing", "/b"}) {
    ASSERT_TRUE(c.send(get(target)));
    ASSERT_TRUE(c.read_response());
  }
  // A second server exposes the shared registry, as a program's /metrics listener would.
  HttpServer scrape(io_.get_executor(), metrics_handler(registry), {.metrics = registry});
  auto ep = scrape.start();
  ASSERT_TRUE(ep) << ep.error();
  auto r = br2k::testing::http_request(
      {.url = "http://127.0.0.1:" + std::to_string(ep->port()) + "/metrics"});
  EXPECT_EQ(r.status, 200) << r.error;
  for (const char* line :
       {"api_connections_open 1\n", "api_connections_accepted_total 1\n",
        "api_requests_total{class=\"2xx\"} 2\n", "api_requests_total{class=\"4xx\"} 1\n",
        "api_request_duration_seconds_count 3\n",
        "# TYPE api_request_duration_seconds histogram\n"}) {
    EXPECT_NE(r.body.find(line), std::string::npos) << line << " in\n" << r.body;
  }
  auto missing = br2k::testing::http_request(
      {.url = "http://127.0.0.1:" + std::to_string(ep->port()) + "/other"});
  EXPECT_EQ(missing.status, 404);
  auto done = asio::co_spawn(io_, scrape.stop(deadline_after(1s)), asio::use_future);
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
}

TEST_F(HttpServerTest, StartReportsAddressInUseAndBadAddress) {
  start();
  HttpServer same_port(io_.get_executor(), make_handler(probe_), {.port = port_});
  auto r = same_port.start();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kUnavailable)) << r.error();
  EXPECT_NE(r.error().detail.find("in use"), std::string::npos) << r.error();

  HttpServer bad(io_.get_executor(), make_handler(probe_), {.listen_address = "localhost"});
  auto b = bad.start();
  ASSERT_FALSE(b);
  EXPECT_TRUE(b.error().is(Errc::kInvalidArgument)) << b.error();

  auto again = server_->start();
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(Errc::kInvalidArgument));
  EXPECT_THROW(HttpServer(io_.get_executor(), HttpHandler{}), std::invalid_argument);
  EXPECT_THROW(HttpServer(io_.get_executor(), make_handler(probe_), {.idle_timeout = 0ms}),
               std::invalid_argument);
}

// A two-thread pool: connections are served in parallel, each on its own strand.
// HTTPS: the same server behind a TLS handshake. Requests on one kept-alive connection (the SDK's
// HttpConnection), bodies over many TLS records, Expect: 100-continue (curl's, for a large body),
// a plain-HTTP client refused without harm, a client that never handshakes closed at
// read_header_timeout.
TEST_F(HttpServerTest, HttpsServesKeepAliveRequestsAndRefusesPlainClients) {
  br2k::testing::TempDir dir;
  const auto certs = br2k::testing::make_test_certificates(dir.path());
  start({.body_limit = 8u << 20,
         .read_header_timeout = 300ms,
         .tls = TlsServerOptions{.cert_file = certs.server_cert_file.string(),
                                 .key_file = certs.server_key_file.string()}});
  const std::string url = "https://127.0.0.1:" + std::to_string(port_);

  auto tls = make_tls_context({.ca_file = certs.ca_file.string()});
  HttpConnection conn(io_.get_executor(), parse_url(url).value(), tls);
  auto exchange = [&](std::string target, std::string body) {
    auto task = [&]() -> Task<Result<HttpResponse>> {
      HttpRequest req(body.empty() ? http::verb::get : http::verb::post, target, 11);
      req.set(http::field::host, "127.0.0.1");
      req.body() = body;
      req.prepare_payload();
      if (!conn.reusable()) {
        auto c = co_await conn.connect(deadline_after(10s));
        if (!c)
          co_return c.error();
      }
      bool maybe_sent = false;
      co_return co_await conn.exchange(req, deadline_after(10s), maybe_sent);
    };
    return asio::co_spawn(io_, task(), asio::use_future).get();
  };
  std::string big(3u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>('a' + (i * 11) % 26);
  for (int i = 0; i < 3; ++i) {
    auto r = exchange("/k" + std::to_string(i), i == 1 ? big : "");
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->result_int(), 200);
    EXPECT_TRUE(r->body() == (i == 1 ? "POST /k1\n" + big : "GET /k" + std::to_string(i) + "\n"))
        << "request " << i << ": " << r->body().substr(0, 64);
  }
  EXPECT_EQ(server_->open_connections(), 1u);
  EXPECT_NE(metrics().find("br2k_http_server_connections_accepted_total 1\n"), std::string::npos);

  // curl checks the certificate against the CA and the address.
  auto g = br2k::testing::http_request({.url = url + "/curl", .ca_file = certs.ca_file.string()});
  EXPECT_EQ(g.status, 200) << g.error;
  EXPECT_EQ(g.body, "GET /curl\n");
  // curl sends a body this large with Expect: 100-continue.
  auto p = br2k::testing::http_request({.url = url + "/curl",
                                        .method = "POST",
                                        .body = big,
                                        .ca_file = certs.ca_file.string(),
                                        .timeout = 10s});
  EXPECT_EQ(p.status, 200) << p.error;
  EXPECT_TRUE(p.body == "POST /curl\n" + big) << p.body.substr(0, 64);
  // Without the CA the certificate is not trusted.
  EXPECT_EQ(br2k::testing::http_request({.url = url + "/untrusted"}).status, 0);

  // Plain HTTP gets no reply (the server waits for a ClientHello) and the server goes on.
  RawClient plain(port_);
  ASSERT_TRUE(plain.send(get("/plain")));
  EXPECT_TRUE(plain.wait_closed());
  // A client that connects and never handshakes is closed at read_header_timeout.
  RawClient silent(port_);
  const auto t0 = Clock::now();
  EXPECT_TRUE(silent.wait_closed());
  EXPECT_GE(Clock::now() - t0, 250ms);
  auto again = exchange("/after", "");
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(again->body(), "GET /after\n");
}

TEST(HttpServerTls, UnreadableCertificateOrKeyIsRefusedAtConstruction) {
  asio::io_context io;
  auto handler = make_handler(std::make_shared<HandlerProbe>());
  EXPECT_THROW(HttpServer(io.get_executor(), handler,
                          {.tls = TlsServerOptions{.cert_file = "/nonexistent/cert.pem",
                                                   .key_file = "/nonexistent/key.pem"}}),
               std::invalid_argument);
  br2k::testing::TempDir dir;
  const auto certs = br2k::testing::make_test_certificates(dir.path());
  EXPECT_THROW(HttpServer(io.get_executor(), handler,
                          {.tls = TlsServerOptions{.cert_file = certs.server_cert_file.string(),
                                                   .key_file = certs.client_key_file.string()}}),
               std::invalid_argument);
}

TEST(HttpServerThreadPool, ServesManyKeepAliveClientsInParallel) {
  asio::thread_pool pool(2);
  auto probe = std::make_shared<HandlerProbe>();
  auto server = std::make_unique<HttpServer>(pool.get_executor(), make_handler(probe));
  auto ep = server->start();
  ASSERT_TRUE(ep) << ep.error();
  constexpr int kClients = 8;
  constexpr int kRequests = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      RawClient c(ep->port());
      for (int k = 0; k < kRequests; ++k) {
        const std::string body = std::to_string(i) + ":" + std::to_string(k);
        if (!c.send(post("/p", body)))
          return;
        auto r = c.read_response();
        if (r && r->status == 200 && r->body == "POST /p\n" + body)
          ok++;
      }
    });
  }
  for (auto& t : clients)
    t.join();
  EXPECT_EQ(ok, kClients * kRequests);
  auto done = asio::co_spawn(pool, server->stop(deadline_after(1s)), asio::use_future);
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  server.reset();
  pool.join();
}

}  // namespace
}  // namespace br2k::net
