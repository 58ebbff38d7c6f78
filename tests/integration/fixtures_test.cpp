// Integration tests of br2k::testing itself: the fixtures start real etcd and anvil processes, and
// these tests check what other tests rely on -- health at start, failures on demand, TLS, auth,
// and that nothing is left behind, even when the process owning a fixture is SIGKILLed.
//
// Thread-safety: single-threaded tests.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <br2k/testing/anvil.hpp>
#include <br2k/testing/etcd_cluster.hpp>
#include <br2k/testing/guardian.hpp>
#include <br2k/testing/http.hpp>
#include <br2k/testing/ports.hpp>
#include <br2k/testing/process.hpp>
#include <br2k/testing/temp_dir.hpp>
#include <br2k/testing/wait.hpp>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>

namespace br2k::testing {
namespace {

using namespace std::chrono_literals;

// After a member fails, how long the others may take to elect a leader and report healthy again.
constexpr auto kSettle = 10s;
// How long the guardian may take to clean up after its owner died.
constexpr auto kCleanup = 8s;
// etcd's JSON gateway takes base64 keys and values: "foo" and "bar".
constexpr const char* kPutFooBar = R"({"key":"Zm9v","value":"YmFy"})";

// The string value of "name" in a flat JSON object, or empty.
std::string json_string_field(const std::string& body, const std::string& name) {
  const std::string key = "\"" + name + "\":\"";
  const std::size_t start = body.find(key);
  if (start == std::string::npos) {
    return {};
  }
  const std::size_t begin = start + key.size();
  const std::size_t end = body.find('"', begin);
  return end == std::string::npos ? std::string() : body.substr(begin, end - begin);
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// The command line of a running process, arguments separated by spaces.
std::string command_line(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::replace(text.begin(), text.end(), '\0', ' ');
  return text;
}

EtcdClusterOptions cluster_of(int members) {
  EtcdClusterOptions options;
  options.members = members;
  return options;
}

TEST(TempDirTest, Destructor_RemovesDirectoryAndContents) {
  std::filesystem::path path;
  {
    TempDir dir;
    path = dir.path();
    EXPECT_EQ(path.filename().string().rfind("br2k-test-", 0), 0u);
    std::filesystem::create_directories(dir / "a" / "b");
    std::ofstream(dir / "a" / "b" / "file") << "x";
    ASSERT_TRUE(std::filesystem::exists(dir / "a" / "b" / "file"));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(FreePortTest, NeverHandsOutTheSamePortTwice) {
  std::set<std::uint16_t> ports;
  for (int i = 0; i < 50; ++i) {
    const std::uint16_t port = free_port();
    EXPECT_NE(port, 0);
    EXPECT_TRUE(ports.insert(port).second) << "port " << port << " handed out twice";
  }
}

TEST(ProcessTest, WaitExit_ReportsExitCodeAndOutput) {
  TempDir dir;
  Process process(
      {{"sh", "-c", "echo hello; echo oops >&2; exit 3"}, {{"BR2K_X", "1"}}, dir / "sh.log"});
  EXPECT_EQ(process.wait_exit(5s), 3);
  EXPECT_FALSE(process.running());
  EXPECT_EQ(process.log_tail(), "hello\noops\n");
}

TEST(ProcessTest, KillTerminatePause_SignalAndReap) {
  TempDir dir;
  Process sleeper({{"sleep", "30"}, {}, dir / "sleep.log"});
  const pid_t pid = sleeper.pid();
  ASSERT_TRUE(sleeper.running());
  sleeper.pause();
  EXPECT_TRUE(sleeper.running());
  sleeper.resume();
  sleeper.kill();
  EXPECT_EQ(sleeper.exit_status(), 128 + SIGKILL);
  EXPECT_FALSE(pid_alive(pid));
  EXPECT_NE(::kill(pid, 0), 0);  // reaped: not even a zombie is left

  Process terminated({{"sleep", "30"}, {}, dir / "sleep.log"});
  terminated.terminate(5s);
  EXPECT_EQ(terminated.exit_status(), 128 + SIGTERM);
}

TEST(ProcessTest, MissingProgram_Throws) {
  TempDir dir;
  EXPECT_THROW(Process({{"br2k-no-such-program"}, {}, dir / "x.log"}), std::runtime_error);
}

TEST(GuardianTest, Watchdog_IsNotAChildOfTheTestProcess) {
  Guardian::instance().start();
  const pid_t watchdog = Guardian::instance().watchdog_pid();
  ASSERT_GT(watchdog, 0);
  EXPECT_TRUE(pid_alive(watchdog));
  // Double-forked: waitpid cannot see it, so it can never become our zombie.
  EXPECT_EQ(::waitpid(watchdog, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(EtcdClusterTest, ThreeMembers_AllReportHealthy) {
  EtcdCluster cluster;
  ASSERT_EQ(cluster.size(), 3);
  ASSERT_EQ(cluster.client_urls().size(), 3u);
  for (int i = 0; i < cluster.size(); ++i) {
    EXPECT_EQ(cluster.client_url(i).rfind("http://127.0.0.1:", 0), 0u);
    // /health is a quorum read: on a loaded machine a re-election right after start-up can make
    // it say false for a moment, so allow a few seconds for it to settle.
    HttpResponse response;
    EXPECT_TRUE(wait_until(std::chrono::milliseconds(10000),
                           [&] {
                             response = http_request(cluster.request(i, "/health"));
                             return response.status == 200 &&
                                    response.body.find(R"("health":"true")") != std::string::npos;
                           }))
        << response.status << " " << response.body << " " << response.error;
  }
}

TEST(EtcdClusterTest, KillAndRestart_MemberGoesDownAndComesBackHealthy) {
  EtcdCluster cluster;
  const pid_t old_pid = cluster.pid(1);
  cluster.kill(1);
  EXPECT_FALSE(cluster.running(1));
  EXPECT_FALSE(pid_alive(old_pid));
  const HttpResponse down = http_request(cluster.request(1, "/health"));
  EXPECT_EQ(down.status, 0);
  EXPECT_FALSE(down.error.empty());
  EXPECT_TRUE(wait_until(kSettle, [&] { return cluster.healthy(0) && cluster.healthy(2); }));

  cluster.restart(1);
  EXPECT_TRUE(cluster.running(1));
  EXPECT_NE(cluster.pid(1), old_pid);
  EXPECT_TRUE(cluster.healthy(1));
  EXPECT_NE(command_line(cluster.pid(1)).find("--initial-cluster-state=existing"),
            std::string::npos);
}

TEST(EtcdClusterTest, PauseAndResume_MemberStopsAnsweringUntilResumed) {
  EtcdCluster cluster;
  cluster.pause(1);
  EXPECT_TRUE(cluster.running(1));
  EXPECT_FALSE(cluster.healthy(1, 500ms));
  EXPECT_TRUE(wait_until(kSettle, [&] { return cluster.healthy(0) && cluster.healthy(2); }));
  cluster.resume(1);
  cluster.wait_healthy(1, kSettle);
}

TEST(EtcdClusterTest, Tls_AnswersHttpsWithClientCertAndRefusesOthers) {
  EtcdClusterOptions options = cluster_of(1);
  options.tls = true;
  options.client_cert_auth = true;
  EtcdCluster cluster(options);
  ASSERT_EQ(cluster.client_url(0).rfind("https://127.0.0.1:", 0), 0u);
  ASSERT_TRUE(std::filesystem::exists(cluster.ca_file()));

  const HttpResponse ok = http_request(cluster.request(0, "/health"));
  EXPECT_EQ(ok.status, 200) << ok.error;
  EXPECT_NE(ok.body.find(R"("health":"true")"), std::string::npos) << ok.body;

  HttpRequest plain = cluster.request(0, "/health");
  plain.url = "http" + plain.url.substr(5);
  const HttpResponse refused = http_request(plain);
  EXPECT_TRUE(refused.status != 200 || refused.body.find("true") == std::string::npos)
      << "plain http answered: " << refused.body;

  HttpRequest anonymous = cluster.request(0, "/health");
  anonymous.cert_file.clear();
  anonymous.key_file.clear();
  const HttpResponse no_cert = http_request(anonymous);
  EXPECT_NE(no_cert.status, 200) << "answered without a client certificate: " << no_cert.body;
}

TEST(EtcdClusterTest, Auth_RefusesUnauthenticatedPutAndAuthenticatesUsers) {
  EtcdClusterOptions options = cluster_of(1);
  options.auth = true;
  EtcdCluster cluster(options);
  ASSERT_FALSE(cluster.root_password().empty());

  HttpRequest put = cluster.request(0, "/v3/kv/put");
  put.method = "POST";
  put.body = kPutFooBar;
  const HttpResponse anonymous = http_request(put);
  EXPECT_NE(anonymous.status, 200);
  EXPECT_NE(anonymous.body.find("user name is empty"), std::string::npos) << anonymous.body;

  HttpRequest login = cluster.request(0, "/v3/auth/authenticate");
  login.method = "POST";
  login.body = R"({"name":"root","password":")" + cluster.root_password() + R"("})";
  const HttpResponse root = http_request(login);
  ASSERT_EQ(root.status, 200) << root.body;
  const std::string root_token = json_string_field(root.body, "token");
  ASSERT_FALSE(root_token.empty()) << root.body;
  put.headers = {"Authorization: " + root_token};
  const HttpResponse put_as_root = http_request(put);
  EXPECT_EQ(put_as_root.status, 200) << put_as_root.body;

  login.body = R"({"name":")" + cluster.user_name() + R"(","password":")" +
               cluster.user_password() + R"("})";
  const std::string reader_token = json_string_field(http_request(login).body, "token");
  ASSERT_FALSE(reader_token.empty());
  put.headers = {"Authorization: " + reader_token};
  const HttpResponse put_as_reader = http_request(put);
  EXPECT_EQ(put_as_reader.status, 403);
  EXPECT_NE(put_as_reader.body.find("permission denied"), std::string::npos) << put_as_reader.body;
  HttpRequest range = cluster.request(0, "/v3/kv/range");
  range.method = "POST";
  range.body = R"({"key":"Zm9v"})";
  range.headers = {"Authorization: " + reader_token};
  const HttpResponse read = http_request(range);
  EXPECT_EQ(read.status, 200);
  EXPECT_NE(read.body.find(R"("value":"YmFy")"), std::string::npos) << read.body;
}

TEST(AnvilTest, AnswersChainIdAndRestartsOnTheSamePort) {
  Anvil anvil;
  EXPECT_EQ(anvil.ws_url(), "ws://127.0.0.1:" + std::to_string(anvil.port()));
  EXPECT_TRUE(listening_on(anvil.pid(), anvil.port()));
  EXPECT_FALSE(listening_on(anvil.pid(), free_port()));
  const HttpResponse chain_id = json_rpc(anvil.http_url(), "eth_chainId");
  EXPECT_EQ(json_string_field(chain_id.body, "result"), "0x7a69") << chain_id.body;
  const HttpResponse accounts = json_rpc(anvil.http_url(), "eth_accounts");
  EXPECT_NE(lower(accounts.body).find(lower(std::string(Anvil::kDevAddress))), std::string::npos)
      << accounts.body;

  const std::string url = anvil.http_url();
  anvil.kill();
  EXPECT_EQ(json_rpc(url, "eth_chainId").status, 0);
  anvil.restart();
  EXPECT_EQ(anvil.http_url(), url);
  EXPECT_EQ(json_string_field(json_rpc(url, "eth_chainId").body, "result"), "0x7a69");
}

TEST(CleanupTest, DestroyedFixtures_LeaveNoProcessOrDirectory) {
  std::vector<pid_t> pids;
  std::vector<std::filesystem::path> dirs;
  {
    EtcdCluster cluster(cluster_of(1));
    Anvil anvil;
    pids = {cluster.pid(0), anvil.pid()};
    dirs = {cluster.dir(), anvil.dir()};
    for (pid_t pid : pids) {
      ASSERT_TRUE(pid_alive(pid));
    }
  }
  for (pid_t pid : pids) {
    EXPECT_NE(::kill(pid, 0), 0) << "pid " << pid << " still exists";
  }
  for (const auto& dir : dirs) {
    EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
  }
}

// The owner of a fixture is SIGKILLed, so no destructor runs: the guardian must clean up.
TEST(CleanupTest, SigkilledOwner_GuardianKillsEtcdAndRemovesDir) {
  int report[2];
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  const pid_t owner = ::fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    ::close(report[0]);
    std::string message;
    try {
      EtcdCluster cluster(cluster_of(1));
      message = std::to_string(cluster.pid(0)) + " " + cluster.dir().string() + "\n";
      if (::write(report[1], message.data(), message.size()) < 0) {
        ::_exit(2);
      }
      for (;;) {
        ::pause();
      }
    } catch (const std::exception& e) {
      message = std::string("error ") + e.what() + "\n";
      [[maybe_unused]] const ssize_t ignored = ::write(report[1], message.data(), message.size());
    }
    ::_exit(1);
  }
  ::close(report[1]);

  std::string line;
  const bool reported = wait_until(30s, [&] {
    pollfd p{report[0], POLLIN, 0};
    char buffer[512];
    if (::poll(&p, 1, 100) > 0) {
      const ssize_t n = ::read(report[0], buffer, sizeof buffer);
      if (n <= 0) {
        return true;
      }
      line.append(buffer, static_cast<std::size_t>(n));
    }
    return line.find('\n') != std::string::npos;
  });
  ::close(report[0]);
  ::kill(owner, SIGKILL);
  ::waitpid(owner, nullptr, 0);
  ASSERT_TRUE(reported && line.find('\n') != std::string::npos) << "owner reported: " << line;
  ASSERT_NE(line.rfind("error", 0), 0u) << line;

  std::istringstream fields(line);
  pid_t etcd_pid = 0;
  std::string dir;
  fields >> etcd_pid >> dir;
  ASSERT_GT(etcd_pid, 0) << line;
  ASSERT_FALSE(dir.empty()) << line;
  EXPECT_TRUE(
      wait_until(kCleanup, [&] { return !pid_alive(etcd_pid) && !std::filesystem::exists(dir); }))
      << "etcd alive: " << pid_alive(etcd_pid) << ", dir exists: " << std::filesystem::exists(dir);
}

}  // namespace
}  // namespace br2k::testing
