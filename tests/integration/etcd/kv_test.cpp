// KV, transactions, compaction and cluster calls of the etcd client against a real 3-member
// cluster.
#include <gtest/gtest.h>

#include <br2k/etcd/client.hpp>
#include <br2k/testing/etcd_cluster.hpp>

#include "etcd_test.hpp"

namespace br2k::etcd {
namespace {

using br2k::testing::EtcdCluster;

class EtcdKv : public br2k::testing::SharedClusterTest {
 protected:
  // Each test works under its own prefix so tests do not see each other's keys.
  std::string key(std::string_view k) {
    return "/" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
           "/" + std::string(k);
  }
};

TEST_F(EtcdKv, PutRangeDelete_RoundTripBinaryValuesAndRevisions) {
  auto c = client();
  const std::string binary("\x00\xff\x10value\n", 9);
  auto p1 = run(c.put({.key = key("a"), .value = binary}));
  ASSERT_TRUE(p1) << p1.error();
  auto p2 = run(c.put({.key = key("a"), .value = "second", .prev_kv = true}));
  ASSERT_TRUE(p2) << p2.error();
  ASSERT_TRUE(p2->prev_kv);
  EXPECT_EQ(p2->prev_kv->value, binary);
  EXPECT_EQ(p2->header.revision, p1->header.revision + 1);

  auto now = run(c.range(RangeRequest::single(key("a"))));
  ASSERT_TRUE(now) << now.error();
  ASSERT_EQ(now->kvs.size(), 1u);
  EXPECT_EQ(now->kvs[0].value, "second");
  EXPECT_EQ(now->kvs[0].version, 2);
  EXPECT_EQ(now->kvs[0].create_revision, p1->header.revision);
  EXPECT_EQ(now->kvs[0].mod_revision, p2->header.revision);

  auto then = run(c.range({.key = key("a"), .revision = p1->header.revision}));
  ASSERT_TRUE(then) << then.error();
  EXPECT_EQ(then->kvs.at(0).value, binary);

  auto d = run(c.delete_range({.key = key("a"), .prev_kv = true}));
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->deleted, 1);
  EXPECT_EQ(d->prev_kvs.at(0).value, "second");
  EXPECT_TRUE(run(c.range(RangeRequest::single(key("a"))))->kvs.empty());
}

TEST_F(EtcdKv, RangePrefix_LimitKeysOnlyCountAndSort) {
  auto c = client();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(run(c.put({.key = key("p/" + std::to_string(i)), .value = std::to_string(i)})));
  }
  ASSERT_TRUE(run(c.put({.key = key("q"), .value = "outside"})));
  auto all = run(c.range(RangeRequest::prefix(key("p/"))));
  ASSERT_TRUE(all) << all.error();
  ASSERT_EQ(all->kvs.size(), 5u);
  EXPECT_EQ(all->count, 5);
  EXPECT_EQ(all->kvs[0].key, key("p/0"));

  auto limited = RangeRequest::prefix(key("p/"));
  limited.limit = 2;
  limited.sort_order = SortOrder::kDescend;
  auto l = run(c.range(limited));
  ASSERT_TRUE(l);
  ASSERT_EQ(l->kvs.size(), 2u);
  EXPECT_TRUE(l->more);
  EXPECT_EQ(l->count, 5);
  EXPECT_EQ(l->kvs[0].key, key("p/4"));

  auto keys = RangeRequest::prefix(key("p/"));
  keys.keys_only = true;
  auto k = run(c.range(keys));
  ASSERT_TRUE(k);
  EXPECT_EQ(k->kvs.at(3).key, key("p/3"));
  EXPECT_TRUE(k->kvs.at(3).value.empty());

  auto count = RangeRequest::prefix(key("p/"));
  count.count_only = true;
  auto n = run(c.range(count));
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->kvs.empty());
  EXPECT_EQ(n->count, 5);

  auto del = run(c.delete_range({.key = key("p/"), .range_end = prefix_range_end(key("p/"))}));
  ASSERT_TRUE(del);
  EXPECT_EQ(del->deleted, 5);
}

// PROTOCOL.md, "Leader election" and "Appending a request": the leader's epoch is the create
// revision of its `leader` key, and every log write compares it in the same transaction.
TEST_F(EtcdKv, Txn_FencesOnCreateRevisionOfLeaderKey) {
  auto c = client();
  const std::string leader = key("leader");
  auto campaign = [&](std::string who) {
    TxnRequest t;
    t.compare.push_back(Compare::create_revision(leader, Compare::Op::kEqual, 0));
    t.success.push_back(PutRequest{.key = leader, .value = who});
    t.failure.push_back(RangeRequest::single(leader));
    return c.txn(std::move(t));
  };
  auto won = run(campaign("node-1"));
  ASSERT_TRUE(won) << won.error();
  ASSERT_TRUE(won->succeeded);
  const std::int64_t epoch1 = won->header.revision;
  auto lost = run(campaign("node-2"));
  ASSERT_TRUE(lost);
  EXPECT_FALSE(lost->succeeded);
  EXPECT_EQ(std::get<RangeResponse>(lost->responses.at(0)).kvs.at(0).value, "node-1");

  auto append = [&](std::int64_t epoch, std::string entry) {
    TxnRequest t;
    t.compare.push_back(Compare::create_revision(leader, Compare::Op::kEqual, epoch));
    t.success.push_back(PutRequest{.key = key("log"), .value = std::move(entry)});
    return c.txn(std::move(t));
  };
  EXPECT_TRUE(run(append(epoch1, "by epoch 1"))->succeeded);

  // The leader key is deleted (lease expired) and re-created by another node: a new epoch.
  ASSERT_TRUE(run(c.delete_range({.key = leader})));
  auto won2 = run(campaign("node-2"));
  ASSERT_TRUE(won2 && won2->succeeded);
  EXPECT_GT(won2->header.revision, epoch1);

  auto stale = run(append(epoch1, "by deposed epoch 1"));
  ASSERT_TRUE(stale) << stale.error();
  EXPECT_FALSE(stale->succeeded);
  EXPECT_EQ(run(c.range(RangeRequest::single(key("log"))))->kvs.at(0).value, "by epoch 1");
  EXPECT_TRUE(run(append(won2->header.revision, "by epoch 2"))->succeeded);
}

TEST_F(EtcdKv, Txn_ComparesOnValueVersionAndModRevision) {
  auto c = client();
  auto p = run(c.put({.key = key("size"), .value = "41"}));
  ASSERT_TRUE(p);
  auto check = [&](Compare cmp) {
    TxnRequest t;
    t.compare.push_back(std::move(cmp));
    return run(c.txn(std::move(t)))->succeeded;
  };
  using Op = Compare::Op;
  EXPECT_TRUE(check(Compare::value_of(key("size"), Op::kEqual, "41")));
  EXPECT_FALSE(check(Compare::value_of(key("size"), Op::kEqual, "42")));
  EXPECT_TRUE(check(Compare::value_of(key("size"), Op::kNotEqual, "42")));
  EXPECT_TRUE(check(Compare::version(key("size"), Op::kEqual, 1)));
  EXPECT_TRUE(check(Compare::version(key("size"), Op::kLess, 2)));
  EXPECT_TRUE(check(Compare::mod_revision(key("size"), Op::kEqual, p->header.revision)));
  EXPECT_FALSE(check(Compare::mod_revision(key("size"), Op::kGreater, p->header.revision)));
  EXPECT_TRUE(check(Compare::lease_of(key("size"), Op::kEqual, 0)));

  // Both branches may hold put, delete and range.
  TxnRequest t;
  t.compare.push_back(Compare::value_of(key("size"), Op::kEqual, "41"));
  t.success.push_back(PutRequest{.key = key("size"), .value = "42", .prev_kv = true});
  t.success.push_back(DeleteRangeRequest{.key = key("other")});
  t.success.push_back(RangeRequest::single(key("size")));
  auto r = run(c.txn(std::move(t)));
  ASSERT_TRUE(r && r->succeeded);
  ASSERT_EQ(r->responses.size(), 3u);
  EXPECT_EQ(std::get<PutResponse>(r->responses[0]).prev_kv->value, "41");
  EXPECT_EQ(std::get<DeleteRangeResponse>(r->responses[1]).deleted, 0);
  EXPECT_EQ(std::get<RangeResponse>(r->responses[2]).kvs.at(0).value, "42");
}

TEST_F(EtcdKv, Txn_OverOperationLimitIsTooLargeAndAppliesNothing) {
  auto c = client();
  TxnRequest t;
  for (int i = 0; i < 200; ++i) {
    t.success.push_back(PutRequest{.key = key(std::to_string(i)), .value = "x"});
  }
  auto r = run(c.txn(std::move(t)));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kTooLarge)) << r.error();
  auto count = RangeRequest::prefix(key(""));
  count.count_only = true;
  EXPECT_EQ(run(c.range(count))->count, 0);
}

TEST_F(EtcdKv, Range_AtCompactedRevisionIsCompactedError) {
  auto c = client();
  auto p1 = run(c.put({.key = key("k"), .value = "1"}));
  auto p2 = run(c.put({.key = key("k"), .value = "2"}));
  ASSERT_TRUE(p1 && p2);
  ASSERT_TRUE(run(c.compact(p2->header.revision)));
  auto old = run(c.range({.key = key("k"), .revision = p1->header.revision}));
  ASSERT_FALSE(old);
  EXPECT_TRUE(old.error().is(Errc::kCompacted)) << old.error();
  auto again = run(c.compact(p1->header.revision));
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(Errc::kCompacted)) << again.error();
}

TEST_F(EtcdKv, StatusAndMemberList_AgreeOnLeaderAndTerm) {
  auto c = client();
  std::uint64_t leader = 0;
  for (const auto& url : cluster_->client_urls()) {
    auto s = run(c.status(url));
    ASSERT_TRUE(s) << s.error();
    EXPECT_EQ(s->version, "3.4.23");
    EXPECT_GT(s->raft_term, 0u);
    EXPECT_NE(s->leader, 0u);
    if (leader == 0)
      leader = s->leader;
    EXPECT_EQ(s->leader, leader);
  }
  auto m = run(c.member_list());
  ASSERT_TRUE(m) << m.error();
  ASSERT_EQ(m->members.size(), 3u);
  bool found = false;
  for (const auto& member : m->members)
    found = found || member.id == leader;
  EXPECT_TRUE(found);
  EXPECT_TRUE(run(c.status("http://127.0.0.1:1")).error().is(Errc::kInvalidArgument));
}

TEST_F(EtcdKv, MoveLeader_HandsRaftLeadershipToTheTarget) {
  auto c = client();
  auto first = run(c.status(cluster_->client_url(0)));
  ASSERT_TRUE(first) << first.error();
  // The leader's endpoint, and a member that is not the leader.
  std::string leader_url;
  std::uint64_t target = 0;
  for (const auto& url : cluster_->client_urls()) {
    auto s = run(c.status(url));
    ASSERT_TRUE(s) << s.error();
    if (s->header.member_id == first->leader)
      leader_url = url;
    else
      target = s->header.member_id;
  }
  ASSERT_FALSE(leader_url.empty());
  ASSERT_NE(target, 0u);
  auto moved = run(c.move_leader(leader_url, target));
  ASSERT_TRUE(moved) << moved.error();
  auto after = run(c.status(cluster_->client_url(0)));
  ASSERT_TRUE(after) << after.error();
  EXPECT_EQ(after->leader, target);
  // Asked of a member that is no longer the leader: refused, with a typed error.
  EXPECT_FALSE(run(c.move_leader(leader_url, first->leader)));
  EXPECT_TRUE(run(c.move_leader("http://127.0.0.1:1", target)).error().is(Errc::kInvalidArgument));
}

TEST_F(EtcdKv, BadArguments_GiveTypedErrorsLocallyAndFromServer) {
  auto c = client();
  EXPECT_TRUE(run(c.lease_grant(0)).error().is(Errc::kInvalidArgument));
  auto empty = run(c.put({.key = "", .value = "x"}));
  ASSERT_FALSE(empty);
  EXPECT_TRUE(empty.error().is(Errc::kInvalidArgument)) << empty.error();
  EXPECT_THROW(Client(io_.get_executor(), {}), std::invalid_argument);
  EXPECT_THROW(Client(io_.get_executor(), {.endpoints = {"127.0.0.1:2379"}}),
               std::invalid_argument);
}

}  // namespace
}  // namespace br2k::etcd
