// Endpoint failover: when the member in use dies or freezes, calls move to another member within
// the attempt bound; writes whose outcome is unknown say so.
#include <gtest/gtest.h>

#include <br2k/etcd/client.hpp>
#include <br2k/testing/etcd_cluster.hpp>
#include <br2k/testing/ports.hpp>

#include "etcd_test.hpp"

namespace br2k::etcd {
namespace {

using namespace std::chrono_literals;
using br2k::testing::EtcdCluster;

class EtcdFailover : public br2k::testing::SharedClusterTest {
 protected:
  void TearDown() override {
    // Leave every member running for the next test.
    for (int i = 0; i < cluster_->size(); ++i) {
      if (!cluster_->running(i))
        cluster_->restart(i);
    }
  }
};

TEST_F(EtcdFailover, KilledMemberIsLeftForTheNextWithinTheAttemptBound) {
  Client c(io_.get_executor(), {.endpoints = cluster_->client_urls(), .attempt_timeout = 3000ms});
  ASSERT_TRUE(run(c.put({.key = "/fo/k", .value = "1"})));
  const std::string first = c.current_endpoint();
  EXPECT_EQ(first, cluster_->client_url(0));
  cluster_->kill(0);
  // The pooled connections to member 0 are now dead: a read that needs no raft leader lands on
  // another member at once, far inside one attempt bound.
  auto serializable = RangeRequest::single("/fo/k");
  serializable.serializable = true;
  auto r = run(c.range(serializable, {.deadline = Clock::now() + 1000ms}));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->kvs.at(0).value, "1");
  EXPECT_NE(c.current_endpoint(), first);
  // A write may wait for a new raft leader if member 0 was it, and under load the election can
  // outlast one attempt: then the outcome is unknown, and the caller retries with a compare so
  // the write applies exactly once (as the replication engine does).
  Result<TxnResponse> w = Error(Errc::kUnavailable);
  for (auto until = Clock::now() + 15s; Clock::now() < until;) {
    TxnRequest t;
    t.compare.push_back(Compare::version("/fo/k", Compare::Op::kEqual, 1));
    t.success.push_back(PutRequest{.key = "/fo/k", .value = "2"});
    w = run(c.txn(std::move(t)));
    if (w || !(w.error().is(Errc::kOutcomeUnknown) || w.error().is(Errc::kDeadlineExceeded))) {
      break;
    }
  }
  ASSERT_TRUE(w) << w.error();
  auto after = run(c.range(RangeRequest::single("/fo/k")));
  ASSERT_TRUE(after) << after.error();
  EXPECT_EQ(after->kvs.at(0).value, "2");
  EXPECT_EQ(after->kvs.at(0).version, 2) << "applied exactly once";
}

TEST_F(EtcdFailover, FrozenMemberCostsAReadOneAttemptBound) {
  Client c(io_.get_executor(), {.endpoints = cluster_->client_urls(), .attempt_timeout = 500ms});
  ASSERT_TRUE(run(c.put({.key = "/fo/frozen", .value = "v"})));
  cluster_->pause(0);
  auto t0 = Clock::now();
  auto r = run(c.range(RangeRequest::single("/fo/frozen"), {.deadline = Clock::now() + 3s}));
  auto took = Clock::now() - t0;
  cluster_->resume(0);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->kvs.at(0).value, "v");
  EXPECT_NE(c.current_endpoint(), cluster_->client_url(0));
  // One attempt on the frozen member (500 ms), then another member answers.
  EXPECT_LT(took, 3s);
}

// Leaving a failed member, the client goes to the member that answers first, not to the next in
// its list: here the next is frozen (its host cut off, as far as a client can tell), and one
// attempt on it would outlast the call's deadline.
TEST_F(EtcdFailover, AfterAFailureCallsGoToAMemberThatAnswersNotToTheNextInLine) {
  Client all(io_.get_executor(), {.endpoints = cluster_->client_urls()});
  ASSERT_TRUE(run(all.put({.key = "/fo/next", .value = "v"})));
  const std::string refused = "http://127.0.0.1:" + std::to_string(br2k::testing::free_port());
  const auto frozen = cluster_->client_url(1);
  const auto healthy = cluster_->client_url(2);
  Client c(
      io_.get_executor(),
      {.endpoints = {refused, frozen, healthy}, .attempt_timeout = 2000ms, .dial_timeout = 1000ms});
  cluster_->pause(1);
  // The first endpoint refuses at once; trying the frozen one would take the whole deadline. The
  // read is serializable: the frozen member may be etcd's raft leader, and this is about which
  // member the client asks, not about a raft election.
  auto read = RangeRequest::single("/fo/next");
  read.serializable = true;
  auto r = run(c.range(read, {.deadline = Clock::now() + 1500ms}));
  const auto used = c.current_endpoint();
  cluster_->resume(1);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->kvs.at(0).value, "v");
  EXPECT_EQ(used, healthy);
}

TEST_F(EtcdFailover, WriteToFrozenMemberIsOutcomeUnknownNotRetriedBlindly) {
  Client c(io_.get_executor(), {.endpoints = {cluster_->client_url(0), cluster_->client_url(1)},
                                .attempt_timeout = 500ms});
  ASSERT_TRUE(run(c.put({.key = "/fo/w", .value = "0"})));  // a pooled connection to member 0
  cluster_->pause(0);
  auto r = run(c.put({.key = "/fo/w", .value = "1"}, {.deadline = Clock::now() + 3s}));
  cluster_->resume(0);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kOutcomeUnknown)) << r.error();
  // The next call goes to the other member.
  auto again = run(c.put({.key = "/fo/w", .value = "2"}));
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(c.current_endpoint(), cluster_->client_url(1));
}

TEST_F(EtcdFailover, AllMembersDownIsUnavailableOrDeadlineWithinTheCallDeadline) {
  Client c(io_.get_executor(),
           {.endpoints = {"http://127.0.0.1:1", "http://127.0.0.1:2"}, .attempt_timeout = 200ms});
  auto t0 = Clock::now();
  auto r = run(c.range(RangeRequest::single("k"), {.deadline = Clock::now() + 800ms}));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kDeadlineExceeded)) << r.error();
  EXPECT_NE(r.error().detail.find("unavailable"), std::string::npos) << r.error();
  EXPECT_LT(Clock::now() - t0, 2s);
  // A write that never reached anyone is safe to report as not applied... and it is retried
  // until the deadline, so it reports the deadline with the last cause.
  auto w = run(c.put({.key = "k", .value = "v"}, {.deadline = Clock::now() + 300ms}));
  ASSERT_FALSE(w);
  EXPECT_TRUE(w.error().is(Errc::kDeadlineExceeded)) << w.error();
}

TEST_F(EtcdFailover, RestartedMemberServesAgainAfterQuarantine) {
  Client c(io_.get_executor(), {.endpoints = {cluster_->client_url(2)},
                                .attempt_timeout = 500ms,
                                .endpoint_quarantine = 200ms});
  ASSERT_TRUE(run(c.put({.key = "/fo/r", .value = "1"})));
  cluster_->kill(2);
  auto down = run(c.range(RangeRequest::single("/fo/r"), {.deadline = Clock::now() + 500ms}));
  ASSERT_FALSE(down);
  cluster_->restart(2);
  auto up = run(c.range(RangeRequest::single("/fo/r"), {.deadline = Clock::now() + 5s}));
  ASSERT_TRUE(up) << up.error();
  EXPECT_EQ(up->kvs.at(0).value, "1");
}

// A client that prefers its own host's member returns to it once it answers again, instead of
// staying on the member it moved to (whose host's failure would then cost it an attempt).
TEST_F(EtcdFailover, PreferredMemberIsUsedAgainOnceItAnswers) {
  Client c(io_.get_executor(), {.endpoints = cluster_->client_urls(),
                                .attempt_timeout = 1000ms,
                                .endpoint_quarantine = 300ms,
                                .prefer_first = true});
  ASSERT_TRUE(run(c.put({.key = "/fo/p", .value = "1"})));
  ASSERT_EQ(c.current_endpoint(), cluster_->client_url(0));
  cluster_->kill(0);
  auto serializable = RangeRequest::single("/fo/p");
  serializable.serializable = true;
  ASSERT_TRUE(run(c.range(serializable, {.deadline = Clock::now() + 2s})));
  EXPECT_NE(c.current_endpoint(), cluster_->client_url(0));
  // While member 0 is down, calls keep going to the other members.
  for (int i = 0; i < 5; ++i) {
    auto r = run(c.range(serializable, {.deadline = Clock::now() + 2s}));
    ASSERT_TRUE(r) << r.error();
    pump_for(200ms);
  }
  EXPECT_NE(c.current_endpoint(), cluster_->client_url(0));
  cluster_->restart(0);
  bool back = false;
  for (auto until = Clock::now() + 15s; Clock::now() < until && !back;) {
    auto r = run(c.range(serializable, {.deadline = Clock::now() + 2s}));
    ASSERT_TRUE(r) << r.error();
    back = c.current_endpoint() == cluster_->client_url(0);
    pump_for(100ms);
  }
  EXPECT_TRUE(back) << c.current_endpoint();
  // And without the preference it stays where it went.
  Client plain(io_.get_executor(), {.endpoints = cluster_->client_urls(),
                                    .attempt_timeout = 1000ms,
                                    .endpoint_quarantine = 300ms});
  ASSERT_TRUE(run(plain.range(serializable)));
  cluster_->kill(0);
  ASSERT_TRUE(run(plain.range(serializable, {.deadline = Clock::now() + 2s})));
  const auto moved_to = plain.current_endpoint();
  cluster_->restart(0);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(run(plain.range(serializable)));
    pump_for(100ms);
  }
  EXPECT_EQ(plain.current_endpoint(), moved_to);
}

}  // namespace
}  // namespace br2k::etcd
