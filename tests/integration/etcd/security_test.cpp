// TLS (CA, client certificate) and username/password authentication against etcd started with them.
#include <gtest/gtest.h>

#include <br2k/etcd/client.hpp>
#include <br2k/etcd/watch.hpp>
#include <br2k/testing/etcd_cluster.hpp>

#include "etcd_test.hpp"

namespace br2k::etcd {
namespace {

using namespace std::chrono_literals;
using br2k::testing::EtcdCluster;

class EtcdSecurity : public ::testing::Test, public br2k::testing::AsyncTest {};

TEST_F(EtcdSecurity, TlsWithClientCertificate_WorksAndRefusesWithoutCertOrTrust) {
  EtcdCluster cluster({.members = 1, .tls = true, .client_cert_auth = true});
  net::TlsOptions tls{.ca_file = cluster.ca_file().string(),
                      .cert_file = cluster.client_cert_file().string(),
                      .key_file = cluster.client_key_file().string()};
  Client good(io_.get_executor(), {.endpoints = cluster.client_urls(), .tls = tls});
  ASSERT_TRUE(good.current_endpoint().starts_with("https://"));
  // A request larger than one TLS record (16 KB).
  auto big = run(good.put({.key = "/tls/big", .value = std::string(100'000, 'x')}));
  ASSERT_TRUE(big) << big.error();
  EXPECT_EQ(run(good.range(RangeRequest::single("/tls/big")))->kvs.at(0).value.size(), 100'000u);
  auto p = run(good.put({.key = "/tls/k", .value = "secret"}));
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(run(good.range(RangeRequest::single("/tls/k")))->kvs.at(0).value, "secret");
  auto w = good.watch({.key = "/tls/k", .start_revision = p->header.revision});
  auto ev = run(w->next());
  ASSERT_TRUE(ev) << ev.error();
  EXPECT_EQ(ev->events.at(0).kv.value, "secret");

  Client no_cert(io_.get_executor(), {.endpoints = cluster.client_urls(),
                                      .call_timeout = 1500ms,
                                      .tls = net::TlsOptions{.ca_file = tls.ca_file}});
  auto r1 = run(no_cert.range(RangeRequest::single("/tls/k")));
  ASSERT_FALSE(r1);
  EXPECT_TRUE(r1.error().is(Errc::kDeadlineExceeded) || r1.error().is(Errc::kAuthFailed) ||
              r1.error().is(Errc::kUnavailable))
      << r1.error();

  // Without the CA the server's certificate is not trusted: the handshake is refused.
  Client untrusted(io_.get_executor(),
                   {.endpoints = cluster.client_urls(),
                    .call_timeout = 1500ms,
                    .tls = net::TlsOptions{.cert_file = tls.cert_file, .key_file = tls.key_file}});
  auto r2 = run(untrusted.range(RangeRequest::single("/tls/k")));
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().detail.find("TLS handshake"), std::string::npos) << r2.error();

  EXPECT_THROW(
      Client(io_.get_executor(), {.endpoints = cluster.client_urls(),
                                  .tls = net::TlsOptions{.ca_file = "/nonexistent/ca.pem"}}),
      std::invalid_argument);
}

TEST_F(EtcdSecurity, PasswordAuth_RootWritesReaderIsRefusedBadPasswordFails) {
  EtcdCluster cluster({.members = 1, .auth = true});
  Client root(io_.get_executor(), {.endpoints = cluster.client_urls(),
                                   .username = "root",
                                   .password = cluster.root_password()});
  auto p = run(root.put({.key = "/auth/k", .value = "v"}));
  ASSERT_TRUE(p) << p.error();

  Client reader(io_.get_executor(), {.endpoints = cluster.client_urls(),
                                     .username = cluster.user_name(),
                                     .password = cluster.user_password()});
  auto r = run(reader.range(RangeRequest::single("/auth/k")));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->kvs.at(0).value, "v");
  auto denied = run(reader.put({.key = "/auth/k", .value = "mine"}));
  ASSERT_FALSE(denied);
  EXPECT_TRUE(denied.error().is(Errc::kPermissionDenied)) << denied.error();

  Client wrong(
      io_.get_executor(),
      {.endpoints = cluster.client_urls(), .username = "root", .password = "not-the-password"});
  auto bad = run(wrong.range(RangeRequest::single("/auth/k")));
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::kAuthFailed)) << bad.error();
  EXPECT_EQ(bad.error().message().find("not-the-password"), std::string::npos);

  Client anonymous(io_.get_executor(), {.endpoints = cluster.client_urls()});
  auto anon = run(anonymous.put({.key = "/auth/k", .value = "x"}));
  ASSERT_FALSE(anon);
  EXPECT_TRUE(anon.error().is(Errc::kAuthFailed) || anon.error().is(Errc::kPermissionDenied))
      << anon.error();

  // Watches authenticate too.
  auto w = root.watch({.key = "/auth/k", .start_revision = p->header.revision});
  auto ev = run(w->next());
  ASSERT_TRUE(ev) << ev.error();
  EXPECT_EQ(ev->events.at(0).kv.value, "v");
}

// etcd's JSON gateway refuses every request with a client certificate that has a CommonName
// while auth is on (CVE-2018-16886's fix): a typed error at once that says so, not a member taken
// for broken and the call's whole deadline spent trying the others.
TEST_F(EtcdSecurity, ACertificateWithACommonNameAndAUserIsRefusedAtOnceWithTheReason) {
  EtcdCluster cluster({.members = 1, .tls = true, .client_cert_auth = true, .auth = true});
  Client c(io_.get_executor(),
           {.endpoints = cluster.client_urls(),
            .call_timeout = 20000ms,
            .tls = net::TlsOptions{.ca_file = cluster.ca_file().string(),
                                   .cert_file = cluster.client_cert_file().string(),
                                   .key_file = cluster.client_key_file().string()},
            .username = "root",
            .password = cluster.root_password()});
  const auto start = std::chrono::steady_clock::now();
  auto r = run(c.put({.key = "/cn/k", .value = "v"}));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kAuthFailed)) << r.error();
  EXPECT_NE(r.error().message().find("without a CommonName"), std::string::npos) << r.error();
  EXPECT_LT(took, 10000ms) << "the call waited for its deadline";
}

}  // namespace
}  // namespace br2k::etcd
