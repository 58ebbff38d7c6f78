// Leases: grant, keep-alive, expiry after keep-alive stops, revoke, time-to-live.
#include <gtest/gtest.h>

#include <br2k/etcd/lease.hpp>
#include <br2k/testing/etcd_cluster.hpp>

#include "etcd_test.hpp"

namespace br2k::etcd {
namespace {

using namespace std::chrono_literals;
using br2k::testing::EtcdCluster;

class EtcdLease : public br2k::testing::SharedClusterTest {
 protected:
  bool exists(Client& c, const std::string& k) {
    auto r = run(c.range(RangeRequest::single(k)));
    return r && !r->kvs.empty();
  }
};

TEST_F(EtcdLease, KeeperHoldsKeyPastTtlAndKeyExpiresAfterKeeperStops) {
  auto c = client();
  auto keeper = run(LeaseKeeper::start(c, 2));
  ASSERT_TRUE(keeper) << keeper.error();
  auto& k = **keeper;
  EXPECT_EQ(k.ttl_seconds(), 2);
  ASSERT_TRUE(run(c.put({.key = "/lease/member", .value = "n1", .lease = k.id()})));

  pump_for(5000ms);  // 2.5 TTLs: only renewals keep the key
  EXPECT_TRUE(k.alive());
  EXPECT_GE(k.renewals(), 5u);
  EXPECT_TRUE(exists(c, "/lease/member"));
  auto ttl = run(c.lease_time_to_live(k.id(), true));
  ASSERT_TRUE(ttl) << ttl.error();
  EXPECT_GT(ttl->ttl, 0);
  EXPECT_EQ(ttl->granted_ttl, 2);
  ASSERT_EQ(ttl->keys.size(), 1u);
  EXPECT_EQ(ttl->keys[0], "/lease/member");

  k.stop();
  EXPECT_FALSE(k.alive());
  auto why = run(k.wait_lost());
  EXPECT_TRUE(why.is(Errc::kCancelled));
  // etcd expires the lease within TTL (+ its own checkpoint slack); poll for up to 8 s.
  auto until = Clock::now() + 8s;
  while (exists(c, "/lease/member") && Clock::now() < until)
    pump_for(200ms);
  EXPECT_FALSE(exists(c, "/lease/member")) << "key outlived its lease";
  EXPECT_EQ(run(c.lease_time_to_live(k.id()))->ttl, -1);
  auto gone = run(c.lease_keep_alive_once(k.id()));
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().is(Errc::kNotFound)) << gone.error();
}

TEST_F(EtcdLease, RevokeDeletesAttachedKeysAndKeeperReportsLoss) {
  auto c = client();
  auto keeper = run(LeaseKeeper::start(c, 5));
  ASSERT_TRUE(keeper) << keeper.error();
  ASSERT_TRUE(run(c.put({.key = "/lease/a", .value = "1", .lease = (*keeper)->id()})));
  ASSERT_TRUE(run((*keeper)->revoke()));
  EXPECT_FALSE(exists(c, "/lease/a"));
  auto again = run(c.lease_revoke((*keeper)->id()));
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(Errc::kNotFound)) << again.error();
}

TEST_F(EtcdLease, KeeperReportsLossWhenLeaseIsRevokedBehindItsBack) {
  auto c = client();
  auto keeper = run(LeaseKeeper::start(c, 2));
  ASSERT_TRUE(keeper) << keeper.error();
  ASSERT_TRUE(run(c.lease_revoke((*keeper)->id())));
  auto why = run((*keeper)->wait_lost(), std::chrono::seconds(10));
  EXPECT_TRUE(why.is(Errc::kNotFound)) << why;
  EXPECT_FALSE((*keeper)->alive());
}

TEST_F(EtcdLease, PutWithUnknownLeaseIsNotFound) {
  auto c = client();
  auto r = run(c.put({.key = "/lease/x", .value = "1", .lease = 0x7eadbeef}));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kNotFound)) << r.error();
}

}  // namespace
}  // namespace br2k::etcd
