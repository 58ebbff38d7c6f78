// br2k-server against etcd run the way production etcd is: TLS, with client certificates or with
// password authentication and the node's etcd user allowed only its service's keys (etcd's RBAC).
// Not both at once: etcd's JSON gateway (what br2k's etcd client speaks) refuses a request whose
// client certificate has a CommonName while auth is enabled (etcd PR 10366, CVE-2018-16886).
// Bad security settings stop br2k-server before it starts, with the flag named.
#include <gtest/gtest.h>

#include <br2k/server/log_entry.hpp>
#include <br2k/testing/etcd_cluster.hpp>
#include <br2k/testing/http.hpp>
#include <br2k/testing/ports.hpp>
#include <br2k/testing/process.hpp>
#include <br2k/testing/temp_dir.hpp>
#include <br2k/testing/wait.hpp>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

namespace br2k::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HttpResponse send(const std::string& url, std::string method = "GET", std::string body = {}) {
  HttpRequest r;
  r.url = url;
  r.method = std::move(method);
  r.body = std::move(body);
  r.timeout = 5s;
  return http_request(r);
}

void etcdctl(const EtcdCluster& etcd, const std::vector<std::string>& args) {
  const CommandResult r = etcd.etcdctl(args);
  ASSERT_EQ(r.exit_status, 0) << r.output;
}

// br2k-server as node n1 of `service` on `etcd`'s members, with `security` (its etcd flags).
std::unique_ptr<Process> start_node(const EtcdCluster& etcd, const TempDir& dir,
                                    const std::string& service, std::uint16_t port,
                                    std::vector<std::string> security,
                                    std::vector<std::pair<std::string, std::string>> env = {}) {
  std::vector<std::string> argv = {BR2K_SERVER_BIN,
                                   "--node-id",
                                   "n1",
                                   "--service",
                                   service,
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(port)};
  argv.insert(argv.end(), security.begin(), security.end());
  argv.push_back("--etcd");
  for (const auto& u : etcd.client_urls())
    argv.push_back(u);
  return std::make_unique<Process>(
      ProcessOptions{.argv = argv, .env = std::move(env), .log_file = dir.path() / "n1.log"});
}

// The node's user may read its service's keys and write all of them but its member key. Its
// registration (a put of that key under its lease) is refused by etcd with "permission denied",
// a failure a real etcd gives, and is sent again until it lands: once the member key may be
// written, the node registers, is elected and serves writes, all over TLS as that user.
TEST(ServerOnSecuredEtcd, RegistersOnceEtcdAllowsItThenLeadsAndServesWrites) {
  EtcdCluster etcd({.members = 3, .tls = true, .auth = true});
  const std::string service = "secured";
  const server::Keys keys = server::Keys::for_service(service);
  const std::string prefix = keys.prefix();  // ends with '/'
  const std::string members = keys.members_prefix();
  // The first key after every key that starts with `p` ('/' + 1 == '0').
  auto end_of = [](std::string p) {
    p.back() = static_cast<char>(p.back() + 1);
    return p;
  };
  const std::string password = "node-" + std::to_string(::getpid()) + "-secret";
  etcdctl(etcd, {"role", "add", "br2k-node"});
  etcdctl(etcd, {"role", "grant-permission", "br2k-node", "readwrite", prefix, members});
  etcdctl(etcd,
          {"role", "grant-permission", "br2k-node", "readwrite", end_of(members), end_of(prefix)});
  etcdctl(etcd, {"role", "grant-permission", "br2k-node", "read", "--prefix", members});
  etcdctl(etcd,
          {"user", "add", "br2k-node", "--interactive=false", "--new-user-password=" + password});
  etcdctl(etcd, {"user", "grant-role", "br2k-node", "br2k-node"});
  if (HasFatalFailure())
    return;

  TempDir dir;
  const std::uint16_t port = free_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto node = start_node(etcd, dir, service, port,
                         {"--etcd-ca", etcd.ca_file().string(), "--etcd-user", "br2k-node",
                          "--etcd-password-env", "BR2K_TEST_ETCD_PASSWORD"},
                         {{"BR2K_TEST_ETCD_PASSWORD", password}});

  // Refused, and tried again: at least two refusals logged, no member key, no leader.
  const bool refused_twice = wait_until(
      20s,
      [&] {
        const std::string log = read_file(node->log_file());
        const auto first = log.find("registering member: permission denied");
        return first != std::string::npos &&
               log.find("registering member: permission denied", first + 1) != std::string::npos;
      },
      50ms);
  ASSERT_TRUE(refused_twice) << node->log_tail();
  ASSERT_TRUE(node->running()) << node->log_tail();
  auto no_member = etcd.etcdctl({"get", "--prefix", members});
  EXPECT_EQ(no_member.exit_status, 0) << no_member.output;
  EXPECT_EQ(no_member.output.find(url), std::string::npos) << no_member.output;
  EXPECT_EQ(send(url + "/-/br2k/leader").status, 503);

  etcdctl(etcd, {"role", "grant-permission", "br2k-node", "readwrite", "--prefix", members});
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(wait_until(
      20s, [&] { return send(url + "/-/br2k/leader").status == 200; }, 50ms))
      << node->log_tail();
  auto member = etcd.etcdctl({"get", "--print-value-only", keys.member("n1")});
  EXPECT_EQ(member.exit_status, 0) << member.output;
  EXPECT_NE(member.output.find(url), std::string::npos) << member.output;

  // Writes go through etcd as this user; the service works.
  auto put = send(url + "/kv/k", "PUT", "over-tls");
  ASSERT_EQ(put.status, 200) << put.body;
  auto get = send(url + "/kv/k");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(json::parse(get.body)["value"], "over-tls");
  EXPECT_EQ(read_file(node->log_file()).find(password), std::string::npos)
      << "the etcd password is in the node's log";
}

// etcd that accepts only clients with a certificate its CA signed (--client-cert-auth): the node
// presents --etcd-cert/--etcd-key, is elected and serves writes.
TEST(ServerOnSecuredEtcd, ServesWithAClientCertificate) {
  EtcdCluster etcd({.members = 1, .tls = true, .client_cert_auth = true});
  TempDir dir;
  const std::uint16_t port = free_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto node =
      start_node(etcd, dir, "certified", port,
                 {"--etcd-ca", etcd.ca_file().string(), "--etcd-cert",
                  etcd.client_cert_file().string(), "--etcd-key", etcd.client_key_file().string()});
  ASSERT_TRUE(wait_until(
      20s, [&] { return send(url + "/-/br2k/leader").status == 200; }, 50ms))
      << node->log_tail();
  auto put = send(url + "/kv/k", "PUT", "with-a-certificate");
  ASSERT_EQ(put.status, 200) << put.body;
  auto get = send(url + "/kv/k");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(json::parse(get.body)["value"], "with-a-certificate");
}

// Each bad combination of etcd and TLS settings stops br2k-server with exit status 2 and the
// flag (or file) named, before it connects anywhere.
TEST(ServerOnSecuredEtcd, BadSecuritySettingsAreRefusedWithTheFlagNamed) {
  TempDir dir;
  const auto empty = dir.path() / "empty-password";
  std::ofstream(empty) << "\n";
  const auto ca = dir.path() / "ca.pem";
  std::ofstream(ca) << "not used\n";
  const std::vector<std::string> base = {BR2K_SERVER_BIN, "--node-id",   "n1",    "--service", "s",
                                         "--listen",      "127.0.0.1:1", "--etcd"};
  struct Case {
    std::vector<std::string> extra;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"http://127.0.0.1:1", "--etcd-user", "u"}, "--etcd-user needs --etcd-password-file"},
      {{"http://127.0.0.1:1", "--etcd-user", "u", "--etcd-password-env", "BR2K_TEST_UNSET_VAR"},
       "--etcd-password-env: BR2K_TEST_UNSET_VAR is not set"},
      {{"http://127.0.0.1:1", "--etcd-user", "u", "--etcd-password-file", empty.string()},
       "the password is empty"},
      {{"http://127.0.0.1:1", "--etcd-user", "u", "--etcd-password-file",
        (dir.path() / "missing").string()},
       "--etcd-password-file: cannot read"},
      {{"http://127.0.0.1:1", "--etcd-user", "u", "--etcd-password-file", empty.string(),
        "--etcd-password-env", "HOME"},
       "not both"},
      {{"http://127.0.0.1:1", "--etcd-password-env", "HOME"}, "need --etcd-user"},
      {{"https://127.0.0.1:1", "--etcd-cert", ca.string()},
       "--etcd-cert and --etcd-key go together"},
      {{"http://127.0.0.1:1", "--etcd-ca", ca.string()}, "need https:// --etcd endpoints"},
      {{"http://127.0.0.1:1", "--tls-cert", ca.string()}, "--tls-cert and --tls-key go together"},
      {{"http://127.0.0.1:1", "--tls-cert", ca.string(), "--tls-key", ca.string()},
       "TLS certificate"},
      {{"http://127.0.0.1:1", "--tls-cert", ca.string(), "--tls-key", ca.string(),
        "--advertise-url", "http://127.0.0.1:1"},
       "--advertise-url: an https:// URL with --tls-cert"},
  };
  for (const auto& c : cases) {
    auto argv = base;
    argv.insert(argv.end(), c.extra.begin(), c.extra.end());
    auto r = run_command({argv, {}, dir.path() / "server.log"}, 30s);
    EXPECT_EQ(r.exit_status, 2) << c.says << ": " << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace br2k::testing
