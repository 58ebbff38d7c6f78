// Faults a real node cannot produce on demand: malformed, mismatched, oversized and stalled
// replies and HTTP errors from a small fake server on loopback. Each must give a typed error (or,
// with a real anvil listed next, move to it), never a crash or a hang.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <br2k/chain/rpc_client.hpp>
#include <br2k/testing/anvil.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "chain_test.hpp"

namespace br2k::chain {
namespace {

using namespace std::chrono_literals;
using br2k::testing::Anvil;

// Answers every request with `reply` (raw bytes), then closes; with `stall`, never answers.
// Mirrors the etcd client's fake server (tests/integration/etcd/fake_server_test.cpp).
class FakeServer {
 public:
  explicit FakeServer(std::string reply, bool stall = false)
      : reply_(std::move(reply)), stall_(stall) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd_);
      throw std::runtime_error("fake server: cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }

 private:
  bool wait_readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    while (!stop_) {
      if (::poll(&p, 1, 20) > 0)
        return true;
    }
    return false;
  }
  void serve() {
    while (wait_readable(fd_)) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0)
        continue;
      std::string in;
      char buf[4096];
      // Read the request head and body (Content-Length) before answering.
      while (wait_readable(c)) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0)
          break;
        in.append(buf, static_cast<std::size_t>(n));
        auto head = in.find("\r\n\r\n");
        if (head == std::string::npos)
          continue;
        auto cl = in.find("Content-Length: ");
        std::size_t body = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
        if (in.size() >= head + 4 + body)
          break;
      }
      ++requests_;
      if (stall_) {
        while (!stop_)
          std::this_thread::sleep_for(10ms);
      } else {
        (void)::send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
      }
      ::close(c);
    }
  }

  std::string reply_;
  bool stall_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

std::string http_reply(std::string_view status, std::string_view body) {
  return "HTTP/1.1 " + std::string(status) + "\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

class ChainFakeServer : public ::testing::Test, public testing::AsyncTest {
 protected:
  static void SetUpTestSuite() { anvil_ = new Anvil(); }
  static void TearDownTestSuite() {
    delete anvil_;
    anvil_ = nullptr;
  }
  Result<RpcReply> request(RpcClient& c, std::chrono::milliseconds timeout) {
    return run(c.request("eth_blockNumber", Json::array(), deadline_after(timeout)));
  }
  static inline Anvil* anvil_ = nullptr;
};

// The first request of a client has id 1.
TEST_F(ChainFakeServer, BadRepliesGiveTypedErrors) {
  struct Case {
    const char* what;
    std::string reply;
    Errc want;
    const char* detail;  // a substring of the error's detail
  };
  const Case kCases[] = {
      {"non-JSON body", http_reply("200 OK", "<html>oops</html>"), Errc::kMalformedReply,
       "not JSON"},
      {"wrong id", http_reply("200 OK", R"({"jsonrpc":"2.0","id":77,"result":"0x1"})"),
       Errc::kMalformedReply, "does not match"},
      {"both result and error",
       http_reply("200 OK",
                  R"({"jsonrpc":"2.0","id":1,"result":"0x1","error":{"code":1,"message":"x"}})"),
       Errc::kMalformedReply, "both"},
      {"neither result nor error", http_reply("200 OK", R"({"jsonrpc":"2.0","id":1})"),
       Errc::kMalformedReply, "neither"},
      {"error code a string",
       http_reply("200 OK", R"({"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"x"}})"),
       Errc::kMalformedReply, "not an integer"},
      {"not JSON-RPC 2.0", http_reply("200 OK", R"({"id":1,"result":"0x1"})"),
       Errc::kMalformedReply, "2.0"},
      {"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\":\"2.0\"",
       Errc::kMalformedReply, "truncated"},
      {"garbage status line", "SMTP ready\r\n\r\n", Errc::kMalformedReply, ""},
      {"body over the limit", http_reply("200 OK", std::string(4096, ' ')), Errc::kTooLarge, ""},
      {"HTTP 500", http_reply("500 Internal Server Error", "{}"), Errc::kUnavailable, "HTTP 500"},
      {"HTTP 429", http_reply("429 Too Many Requests", ""), Errc::kUnavailable, "HTTP 429"},
      {"HTML 404", http_reply("404 Not Found", "<html>no</html>"), Errc::kUnavailable, "HTTP 404"},
  };
  for (const auto& c : kCases) {
    FakeServer s(c.reply);
    RpcClientOptions o{.http_endpoints = {s.url()}, .attempt_timeout = 300ms};
    o.limits.body_limit = 1024;
    RpcClient client(io_.get_executor(), o);
    auto t0 = Clock::now();
    auto r = request(client, 1000ms);
    ASSERT_FALSE(r) << c.what;
    EXPECT_TRUE(r.error().is(c.want)) << c.what << ": " << r.error();
    EXPECT_NE(r.error().detail.find(c.detail), std::string::npos) << c.what << ": " << r.error();
    EXPECT_LT(Clock::now() - t0, 1100ms) << c.what;
    if (c.want == Errc::kTooLarge) {
      EXPECT_EQ(s.requests(), 1) << "an oversized reply is not asked for again";
    } else {
      EXPECT_FALSE(client.health()[0].healthy) << c.what;
    }
  }
}

// A reply's framing is the server's choice: a length, chunks, or no length and the end of the
// stream. Each is read whole.
TEST_F(ChainFakeServer, RepliesInEveryFramingAreRead) {
  const std::string body = R"({"jsonrpc":"2.0","id":1,"result":"0x2a"})";
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
  const std::string kReplies[] = {
      http_reply("200 OK", body),
      head + "Transfer-Encoding: chunked\r\n\r\n5\r\n" + body.substr(0, 5) + "\r\n" +
          (std::stringstream() << std::hex << body.size() - 5).str() + "\r\n" + body.substr(5) +
          "\r\n0\r\n\r\n",
      head + "Connection: close\r\n\r\n" + body,
  };
  for (const auto& reply : kReplies) {
    FakeServer s(reply);
    RpcClient c(io_.get_executor(), {.http_endpoints = {s.url()}});
    auto r = request(c, 2000ms);
    ASSERT_TRUE(r) << reply << ": " << r.error();
    EXPECT_EQ(r->result, "0x2a") << reply;
    EXPECT_TRUE(c.health()[0].healthy) << reply;
  }
}

TEST_F(ChainFakeServer, BadEndpointsAreLeftForTheNext) {
  const std::string kBad[] = {
      http_reply("200 OK", "not json"),
      http_reply("200 OK", R"({"jsonrpc":"2.0","id":77,"result":"0x1"})"),
      http_reply("500 Internal Server Error", "{}"),
      http_reply("503 Service Unavailable", ""),
  };
  for (const auto& reply : kBad) {
    FakeServer s(reply);
    RpcClient c(io_.get_executor(), {.http_endpoints = {s.url(), anvil_->http_url()}});
    for (int k = 0; k < 5; ++k) {
      auto r = request(c, 2000ms);
      ASSERT_TRUE(r) << reply << ": " << r.error();
      EXPECT_FALSE(r->error);
    }
    EXPECT_EQ(s.requests(), 1) << "asked once, then passed over";
    auto health = c.health();
    EXPECT_FALSE(health[0].healthy);
    EXPECT_FALSE(health[0].last_error.empty());
    EXPECT_TRUE(health[1].healthy);
  }
}

TEST_F(ChainFakeServer, StalledEndpoint_AttemptTimeoutMovesToTheNext) {
  FakeServer s("", /*stall=*/true);
  RpcClient c(io_.get_executor(),
              {.http_endpoints = {s.url(), anvil_->http_url()}, .attempt_timeout = 300ms});
  auto t0 = Clock::now();
  auto r = request(c, 3000ms);
  auto took = Clock::now() - t0;
  ASSERT_TRUE(r) << r.error();
  EXPECT_GE(took, 300ms) << "one attempt bound on the stalled endpoint";
  EXPECT_LT(took, 1500ms);
  EXPECT_FALSE(c.health()[0].healthy);
  EXPECT_NE(c.health()[0].last_error.find("deadline"), std::string::npos)
      << c.health()[0].last_error;
}

TEST_F(ChainFakeServer, StalledOnlyEndpoint_HitsTheDeadline) {
  FakeServer s("", /*stall=*/true);
  RpcClient c(io_.get_executor(), {.http_endpoints = {s.url()}, .attempt_timeout = 2000ms});
  auto t0 = Clock::now();
  auto r = request(c, 500ms);
  auto took = Clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kDeadlineExceeded)) << r.error();
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 1000ms);
}

TEST_F(ChainFakeServer, NotAWebSocketServer_IsLeftForTheNext) {
  // An HTTP server answering the upgrade request with a plain reply.
  FakeServer s(http_reply("200 OK", "{}"));
  std::string ws = s.url();
  ws.replace(0, 4, "ws");
  RpcClient c(io_.get_executor(), {.ws_endpoints = {ws, anvil_->ws_url()}});
  auto r = request(c, 3000ms);
  ASSERT_TRUE(r) << r.error();
  auto sub = run(c.subscribe(Json::array({"newHeads"}), deadline_after(3s)));
  ASSERT_TRUE(sub) << sub.error();
  EXPECT_EQ((*sub)->endpoint(), anvil_->ws_url());
  EXPECT_FALSE(c.health()[0].healthy);
}

}  // namespace
}  // namespace br2k::chain
