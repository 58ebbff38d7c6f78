// Watches: ordered delivery, compaction, and continuity across the loss of the watched member.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <br2k/etcd/watch.hpp>
#include <br2k/testing/etcd_cluster.hpp>

#include "etcd_test.hpp"

namespace br2k::etcd {
namespace {

using namespace std::chrono_literals;
using br2k::testing::EtcdCluster;

class EtcdWatch : public ::testing::Test, public br2k::testing::AsyncTest {
 protected:
  Client client(const EtcdCluster& cl, std::chrono::milliseconds probe = 500ms) {
    return Client(
        io_.get_executor(),
        {.endpoints = cl.client_urls(), .attempt_timeout = 1000ms, .watch_probe_interval = probe});
  }
  // Collects events until `n` have arrived or an error; returns the values in order.
  Task<Result<std::vector<Event>>> collect(std::shared_ptr<Watch> w, std::size_t n) {
    std::vector<Event> out;
    while (out.size() < n) {
      auto r = co_await w->next();
      if (!r)
        co_return r.error();
      for (auto& e : r->events)
        out.push_back(std::move(e));
    }
    co_return out;
  }
};

TEST_F(EtcdWatch, DeliversPrefixEventsInRevisionOrderFromStartRevision) {
  EtcdCluster cluster({.members = 1});
  auto c = client(cluster);
  auto first = run(c.put({.key = "/w/a", .value = "1"}));
  ASSERT_TRUE(first) << first.error();
  ASSERT_TRUE(run(c.put({.key = "/w/b", .value = "2"})));
  ASSERT_TRUE(run(c.put({.key = "/x/outside", .value = "no"})));
  ASSERT_TRUE(run(c.delete_range({.key = "/w/a"})));
  auto w = c.watch(WatchOptions::prefix("/w/", first->header.revision));
  auto events = run(collect(w, 3));
  ASSERT_TRUE(events) << events.error();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].kv.key, "/w/a");
  EXPECT_EQ((*events)[0].kv.value, "1");
  EXPECT_EQ((*events)[1].kv.key, "/w/b");
  EXPECT_EQ((*events)[2].type, Event::Type::kDelete);
  EXPECT_EQ((*events)[2].kv.key, "/w/a");
  EXPECT_LT((*events)[0].kv.mod_revision, (*events)[1].kv.mod_revision);
  EXPECT_EQ(w->next_revision(), (*events)[2].kv.mod_revision + 1);
}

TEST_F(EtcdWatch, FromNowSeesOnlyLaterEventsWithPrevKv) {
  EtcdCluster cluster({.members = 1});
  auto c = client(cluster);
  ASSERT_TRUE(run(c.put({.key = "/n/k", .value = "old"})));
  auto w = c.watch({.key = "/n/k", .prev_kv = true});
  // Start the stream, then write: the put below happens after the watch is created.
  boost::asio::co_spawn(
      io_,
      [&]() -> Task<void> {
        co_await sleep_for(300ms);
        // Named, not a braced temporary: see the GCC 12 note in client.hpp.
        PutRequest put{.key = "/n/k", .value = "new"};
        (void)co_await c.put(std::move(put));
      },
      boost::asio::detached);
  auto events = run(collect(w, 1));
  ASSERT_TRUE(events) << events.error();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kv.value, "new");
  ASSERT_TRUE((*events)[0].prev_kv);
  EXPECT_EQ((*events)[0].prev_kv->value, "old");
}

TEST_F(EtcdWatch, CompactedStartRevisionIsItsOwnError) {
  EtcdCluster cluster({.members = 1});
  auto c = client(cluster);
  auto p1 = run(c.put({.key = "/c/k", .value = "1"}));
  auto p2 = run(c.put({.key = "/c/k", .value = "2"}));
  ASSERT_TRUE(p1 && p2);
  ASSERT_TRUE(run(c.compact(p2->header.revision)));
  auto w = c.watch({.key = "/c/k", .start_revision = p1->header.revision});
  auto r = run(w->next());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kCompacted)) << r.error();
  EXPECT_EQ(w->compact_revision(), p2->header.revision);
}

TEST_F(EtcdWatch, CancelEndsAPendingNext) {
  EtcdCluster cluster({.members = 1});
  auto c = client(cluster);
  auto w = c.watch({.key = "/quiet"});
  boost::asio::co_spawn(
      io_,
      [&]() -> Task<void> {
        co_await sleep_for(500ms);
        w->cancel();
      },
      boost::asio::detached);
  auto r = run(w->next());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kCancelled)) << r.error();
}

// The watch's member is killed (and, in the second test, frozen) while a writer keeps writing
// through the other members: every event arrives exactly once, in order.
void expect_exactly_once(const std::vector<Event>& events, int n) {
  ASSERT_EQ(events.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(events[static_cast<std::size_t>(i)].kv.value, std::to_string(i)) << "at " << i;
  }
}

class EtcdWatchFailover : public EtcdWatch {
 protected:
  // Writes n values to /f/k, one after another; after `fault_at` of them, applies `fault` to the
  // member the watch streams from.
  void run_with_fault(EtcdCluster& cluster, std::function<void(int)> fault, int n, int fault_at) {
    auto reader = client(cluster);
    auto writer = client(cluster);
    auto start = run(writer.put({.key = "/f/start", .value = ""}));
    ASSERT_TRUE(start);
    auto w = reader.watch({.key = "/f/k", .start_revision = start->header.revision});
    std::vector<Event> events;
    bool writer_done = false;
    Error writer_error;
    boost::asio::co_spawn(
        io_,
        [&]() -> Task<void> {
          for (int i = 0; i < n; ++i) {
            if (i == fault_at) {
              // Find the member the watch streams from and fail it.
              std::string ep = w->endpoint();
              for (int m = 0; m < cluster.size(); ++m) {
                if (cluster.client_url(m) == ep)
                  fault(m);
              }
            }
            // Write i exactly once even when an attempt's outcome is unknown: the compare on
            // the key's version makes a retry of an applied write a no-op.
            auto give_up = Clock::now() + 15s;
            for (;;) {
              TxnRequest t;
              t.compare.push_back(Compare::version("/f/k", Compare::Op::kEqual, i));
              t.success.push_back(PutRequest{.key = "/f/k", .value = std::to_string(i)});
              auto r = co_await writer.txn(std::move(t));
              if (r)
                break;
              if (Clock::now() > give_up) {
                writer_error = r.error();
                co_return;
              }
            }
          }
          writer_done = true;
        },
        boost::asio::detached);
    auto got = run(collect(w, static_cast<std::size_t>(n)), std::chrono::seconds(60));
    ASSERT_TRUE(got) << got.error();
    // The last event can arrive before the writer has its last reply.
    auto until = Clock::now() + 10s;
    while (!writer_done && !writer_error.code && Clock::now() < until)
      pump_for(20ms);
    EXPECT_TRUE(writer_done);
    EXPECT_FALSE(writer_error.code) << writer_error;
    expect_exactly_once(*got, n);
    EXPECT_GE(w->reconnects(), 1u);
  }
};

TEST_F(EtcdWatchFailover, KillOfWatchedMemberLosesAndRepeatsNoEvent) {
  EtcdCluster cluster;
  run_with_fault(
      cluster, [&](int m) { cluster.kill(m); }, 300, 100);
}

TEST_F(EtcdWatchFailover, FrozenWatchedMemberIsDetectedByProbeAndLeft) {
  EtcdCluster cluster;
  int paused = -1;
  run_with_fault(
      cluster,
      [&](int m) {
        paused = m;
        cluster.pause(m);
      },
      150, 50);
  if (paused >= 0)
    cluster.resume(paused);
}

}  // namespace
}  // namespace br2k::etcd
