// Faults a real etcd cannot produce on demand: malformed, truncated, oversized and stalled replies
// from a small fake server on loopback. Each must give a typed error, never a crash or a hang.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <br2k/etcd/client.hpp>
#include <br2k/etcd/watch.hpp>
#include <thread>

#include "etcd_test.hpp"

namespace br2k::etcd {
namespace {

using namespace std::chrono_literals;

// Answers every request with `reply` (raw bytes), then closes; with `stall`, never answers.
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

class EtcdFakeServer : public ::testing::Test, public br2k::testing::AsyncTest {
 protected:
  Client client(const FakeServer& s, std::uint64_t body_limit = 1 << 20) {
    ClientOptions o{.endpoints = {s.url()}, .call_timeout = 700ms, .attempt_timeout = 300ms};
    o.limits.body_limit = body_limit;
    return Client(io_.get_executor(), o);
  }
  Error range_error(Client& c) {
    auto r = run(c.range(RangeRequest::single("k")));
    EXPECT_FALSE(r);
    return r ? Error() : r.error();
  }
  Error put_error(Client& c) {
    auto r = run(c.put({.key = "k", .value = "v"}));
    EXPECT_FALSE(r);
    return r ? Error() : r.error();
  }
};

// Replies a real etcd never sends; each must give the typed error, with the detail named.
TEST_F(EtcdFakeServer, BadRepliesGiveTypedErrors) {
  struct Case {
    const char* what;
    std::string reply;
    bool write;  // put (a write) or range (a read)
    Errc want;
    const char* detail;  // a substring of the error's detail, or ""
  };
  const Case kCases[] = {
      {"non-JSON body", http_reply("200 OK", "not json at all"), false, Errc::kMalformedReply, ""},
      {"non-JSON body to a write", http_reply("200 OK", "not json at all"), true,
       Errc::kMalformedReply, ""},
      {"wrong field types", http_reply("200 OK", R"({"header":{"revision":true},"kvs":"nope"})"),
       false, Errc::kMalformedReply, ""},
      {"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"header\":{\"rev", false,
       Errc::kMalformedReply, "truncated"},
      {"garbage status line", "SMTP ready\r\n\r\n", false, Errc::kMalformedReply, ""},
      {"non-gateway error page", "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\n\r\nproxy", true,
       Errc::kMalformedReply, "502"},
      {"body over the limit", http_reply("200 OK", std::string(4096, ' ')), true, Errc::kTooLarge,
       ""},
  };
  for (const auto& c : kCases) {
    FakeServer s(c.reply);
    auto client = this->client(s, /*body_limit=*/1024);
    Error e = c.write ? put_error(client) : range_error(client);
    EXPECT_TRUE(e.is(c.want)) << c.what << ": " << e;
    EXPECT_NE(e.detail.find(c.detail), std::string::npos) << c.what << ": " << e;
  }
}

TEST_F(EtcdFakeServer, StalledServerHitsTheDeadline) {
  FakeServer s("", /*stall=*/true);
  auto c = client(s);
  auto t0 = Clock::now();
  auto w = put_error(c);
  EXPECT_TRUE(w.is(Errc::kDeadlineExceeded) || w.is(Errc::kOutcomeUnknown)) << w;
  auto r = range_error(c);
  EXPECT_TRUE(r.is(Errc::kDeadlineExceeded)) << r;
  EXPECT_LT(Clock::now() - t0, 3s);
}

TEST_F(EtcdFakeServer, ClosedWithoutReplyMakesAWriteOutcomeUnknown) {
  FakeServer s("");
  auto c = client(s);
  auto w = put_error(c);
  EXPECT_TRUE(w.is(Errc::kOutcomeUnknown)) << w;
  EXPECT_EQ(s.requests(), 1) << "a write that may have been applied must not be resent";
  auto r = range_error(c);
  EXPECT_TRUE(r.is(Errc::kDeadlineExceeded)) << r;
  EXPECT_GT(s.requests(), 2) << "reads are retried";
}

TEST_F(EtcdFakeServer, MalformedWatchMessageIsReported) {
  FakeServer s(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1c\r\n{\"result\":{\"created\":true}}\n\r\n"
      "9\r\ngarbage!\n\r\n");
  auto c = client(s);
  auto w = c.watch({.key = "k"});
  auto r = run(w->next());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kMalformedReply)) << r.error();
}

}  // namespace
}  // namespace br2k::etcd
