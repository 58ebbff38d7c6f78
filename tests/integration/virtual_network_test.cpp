// VirtualNetwork against the real kernel: reachability between hosts and the gateway, and that
// each fault (isolate, split, loss, duplication) does what it says and is undone.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <br2k/testing/process.hpp>
#include <br2k/testing/temp_dir.hpp>
#include <br2k/testing/virtual_network.hpp>
#include <br2k/testing/wait.hpp>
#include <thread>

namespace br2k::testing {
namespace {

using namespace std::chrono_literals;

// A socket that belongs to `netns` (the test process's own namespace when empty): created on a
// thread that joined the namespace; a socket keeps its namespace for life.
int socket_in(const std::filesystem::path& netns, int type) {
  int fd = -1;
  std::thread t([&] {
    if (!netns.empty()) {
      const int ns = ::open(netns.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0)
        return;
      ::close(ns);
    }
    fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  });
  t.join();
  return fd;
}

sockaddr_in address(const std::string& ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0)
      ::close(fd);
  }
};

// A TCP listener at ip:port inside `netns`.
int listen_in(const std::filesystem::path& netns, const std::string& ip, std::uint16_t port) {
  const int fd = socket_in(netns, SOCK_STREAM);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto a = address(ip, port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Whether a TCP connection from `netns` to ip:port is established within `timeout`.
bool connects(const std::filesystem::path& netns, const std::string& ip, std::uint16_t port,
              std::chrono::milliseconds timeout = 700ms) {
  Fd fd(socket_in(netns, SOCK_STREAM));
  ::fcntl(fd.fd, F_SETFL, O_NONBLOCK);
  auto a = address(ip, port);
  if (::connect(fd.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0)
    return true;
  if (errno != EINPROGRESS)
    return false;
  pollfd p{fd.fd, POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1)
    return false;
  int error = 0;
  socklen_t len = sizeof error;
  ::getsockopt(fd.fd, SOL_SOCKET, SO_ERROR, &error, &len);
  return error == 0;
}

class VirtualNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = VirtualNetwork::unsupported_reason(); !why.empty())
      GTEST_SKIP() << why;
    net_ = std::make_unique<VirtualNetwork>(3, dir_.path());
    for (int i = 0; i < 3; ++i) {
      listeners_.push_back(listen_in(net_->netns(i), net_->address(i), kPort));
      ASSERT_GE(listeners_.back(), 0) << "listening on host " << i;
    }
    gateway_listener_ = listen_in({}, net_->gateway(), kPort);
    ASSERT_GE(gateway_listener_, 0);
  }
  void TearDown() override {
    for (int fd : listeners_)
      ::close(fd);
    if (gateway_listener_ >= 0)
      ::close(gateway_listener_);
  }
  // Host i (or the gateway, -1) reaches host j (or the gateway, -1).
  bool reaches(int i, int j) {
    return connects(i < 0 ? std::filesystem::path() : net_->netns(i),
                    j < 0 ? net_->gateway() : net_->address(j), kPort);
  }

  static constexpr std::uint16_t kPort = 7411;
  TempDir dir_;
  std::unique_ptr<VirtualNetwork> net_;
  std::vector<int> listeners_;
  int gateway_listener_ = -1;
};

TEST_F(VirtualNetworkTest, EveryHostReachesEveryOtherAndTheGateway) {
  for (int i = -1; i < 3; ++i) {
    for (int j = -1; j < 3; ++j) {
      if (i != j) {
        EXPECT_TRUE(reaches(i, j)) << i << " -> " << j;
      }
    }
  }
  // The hosts' namespaces are not the test's: nothing listens on the host address here.
  EXPECT_FALSE(connects({}, "127.0.0.1", kPort, 200ms));
}

TEST_F(VirtualNetworkTest, IsolatedHostReachesNobodyUntilReconnected) {
  net_->isolate(1);
  EXPECT_TRUE(net_->isolated(1));
  EXPECT_FALSE(reaches(0, 1));
  EXPECT_FALSE(reaches(1, 2));
  EXPECT_FALSE(reaches(-1, 1));
  EXPECT_FALSE(reaches(1, -1));
  EXPECT_TRUE(reaches(0, 2));
  EXPECT_TRUE(reaches(-1, 0));
  net_->reconnect(1);
  EXPECT_TRUE(wait_until(5s, [&] { return reaches(0, 1) && reaches(-1, 1); }));
}

TEST_F(VirtualNetworkTest, SplitCutsTheHalvesApartButNotFromTheGateway) {
  net_->split({0});
  EXPECT_FALSE(reaches(0, 1));
  EXPECT_FALSE(reaches(2, 0));
  EXPECT_TRUE(reaches(1, 2));
  EXPECT_TRUE(reaches(2, 1));
  EXPECT_TRUE(reaches(-1, 0));
  EXPECT_TRUE(reaches(0, -1));
  EXPECT_TRUE(reaches(-1, 2));
  net_->heal();
  EXPECT_TRUE(reaches(0, 1));
  EXPECT_TRUE(reaches(2, 0));
  EXPECT_THROW(net_->split({0, 1, 2}), std::invalid_argument);
}

TEST_F(VirtualNetworkTest, TotalLossCutsAndHealingRestores) {
  net_->impair(2, {.loss_percent = 100});
  EXPECT_FALSE(reaches(0, 2));
  EXPECT_FALSE(reaches(2, -1));
  EXPECT_TRUE(reaches(0, 1));
  net_->unimpair(2);
  EXPECT_TRUE(reaches(0, 2));
}

TEST_F(VirtualNetworkTest, DuplicationDeliversEachDatagramTwiceBothWays) {
  net_->impair(1, {.duplicate_percent = 100});
  // Counts the datagrams `to` receives from one datagram `from` sends.
  auto copies = [&](int from, int to) {
    Fd rx(socket_in(net_->netns(to), SOCK_DGRAM));
    auto a = address(net_->address(to), 7412);
    EXPECT_EQ(::bind(rx.fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    Fd tx(socket_in(net_->netns(from), SOCK_DGRAM));
    // The first datagram may wait for ARP; send after a TCP probe has resolved the neighbours.
    EXPECT_TRUE(reaches(from, to));
    EXPECT_EQ(::sendto(tx.fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a), 1);
    int n = 0;
    char buf[16];
    pollfd p{rx.fd, POLLIN, 0};
    while (::poll(&p, 1, 300) == 1 && ::recv(rx.fd, buf, sizeof buf, 0) == 1)
      ++n;
    return n;
  };
  EXPECT_EQ(copies(0, 1), 2);  // towards host 1: duplicated at its switch port
  EXPECT_EQ(copies(1, 2), 2);  // from host 1: duplicated as it leaves
  EXPECT_EQ(copies(0, 2), 1);  // hosts 0 and 2 are not impaired
  net_->unimpair(1);
  EXPECT_EQ(copies(0, 1), 1);
}

TEST_F(VirtualNetworkTest, DelayLengthensEveryRoundTripUntilRemoved) {
  // A TCP handshake is one round trip: SYN in through host 1's delayed link, SYN-ACK out.
  auto handshake = [&](int from, int to) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(connects(net_->netns(from), net_->address(to), kPort, 3000ms));
    return std::chrono::steady_clock::now() - start;
  };
  EXPECT_LT(handshake(0, 1), 100ms);
  net_->impair(1, {.delay_ms = 150});
  const auto delayed = handshake(0, 1);
  EXPECT_GE(delayed, 300ms);
  EXPECT_LT(delayed, 2000ms);
  EXPECT_GE(handshake(2, 1), 300ms);
  EXPECT_LT(handshake(0, 2), 100ms);  // hosts 0 and 2 are not delayed
  net_->unimpair(1);
  EXPECT_LT(handshake(0, 1), 100ms);
}

TEST(VirtualNetworkLifetime, DestructionLeavesNothingBehind) {
  if (auto why = VirtualNetwork::unsupported_reason(); !why.empty())
    GTEST_SKIP() << why;
  TempDir dir;
  std::string gateway;
  std::vector<std::filesystem::path> namespaces;
  {
    VirtualNetwork net(2, dir.path());
    gateway = net.gateway();
    for (int i = 0; i < 2; ++i)
      namespaces.push_back(net.netns(i));
    ASSERT_TRUE(std::filesystem::exists(namespaces[0]));
  }
  for (const auto& ns : namespaces)
    EXPECT_FALSE(std::filesystem::exists(ns)) << ns;  // the holders are gone
  ProcessOptions o;
  o.argv = {"ip", "-4", "-o", "addr", "show"};
  o.log_file = dir.path() / "ip.log";
  auto r = run_command(std::move(o), 5s);
  EXPECT_EQ(r.output.find(gateway + "/24"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace br2k::testing
