#include "br2k/chaos/linearizability.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace br2k::chaos {
namespace {

using std::nullopt;

Verdict verdict_of(const History& h, const CheckOptions& options = {}) {
  const CheckResult r = check(h, options);
  if (r.verdict == Verdict::kNotLinearizable) {
    EXPECT_FALSE(r.explanation.empty());
  }
  return r.verdict;
}

// ---------------------------------------------------------------------------------------------
// Sequential histories.

TEST(Linearizability, EmptyHistory) {
  const CheckResult r = check({});
  EXPECT_EQ(r.verdict, Verdict::kLinearizable);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.keys.empty());
}

TEST(Linearizability, SequentialHistory) {
  const History h = {
      read_event(1, "k", nullopt, 0, 10),
      write_event(1, "k", "a", 20, 30),
      read_event(2, "k", "a", 40, 50),
      cas_event(3, "k", "a", "b", true, 60, 70),
      read_event(1, "k", "b", 80, 90),
      cas_event(2, "k", "a", "c", false, 100, 110, Value("b")),
      cas_event(2, "k", nullopt, "c", false, 120, 130),
      delete_event(3, "k", 140, 150),
      read_event(1, "k", nullopt, 160, 170),
      cas_event(1, "k", nullopt, "d", true, 180, 190),
      read_event(2, "k", "d", 200, 210),
  };
  const CheckResult r = check(h);
  EXPECT_EQ(r.verdict, Verdict::kLinearizable) << r.summary();
  ASSERT_EQ(r.keys.size(), 1u);
  EXPECT_EQ(r.keys[0].key, "k");
  EXPECT_EQ(r.keys[0].operations, h.size());
}

TEST(Linearizability, SequentialWrongRead) {
  const History h = {
      write_event(1, "k", "a", 0, 10), write_event(1, "k", "b", 20, 30),
      read_event(2, "k", "c", 40, 50),  // never written
  };
  EXPECT_EQ(verdict_of(h), Verdict::kNotLinearizable);
}

TEST(Linearizability, ReadBeforeAnyWriteMustSeeAbsent) {
  EXPECT_EQ(verdict_of({read_event(1, "k", "a", 0, 10), write_event(2, "k", "a", 20, 30)}),
            Verdict::kNotLinearizable);
  EXPECT_EQ(verdict_of({read_event(1, "k", nullopt, 0, 10), write_event(2, "k", "a", 20, 30)}),
            Verdict::kLinearizable);
}

TEST(Linearizability, DeleteMakesTheKeyAbsent) {
  EXPECT_EQ(verdict_of({write_event(1, "k", "a", 0, 10), delete_event(2, "k", 20, 30),
                        read_event(3, "k", nullopt, 40, 50)}),
            Verdict::kLinearizable);
  EXPECT_EQ(verdict_of({write_event(1, "k", "a", 0, 10), delete_event(2, "k", 20, 30),
                        read_event(3, "k", "a", 40, 50)}),
            Verdict::kNotLinearizable);
}

// ---------------------------------------------------------------------------------------------
// Concurrency.

TEST(Linearizability, ConcurrentReadMaySeeEitherValue) {
  const History base = {write_event(1, "k", "old", 0, 10), write_event(1, "k", "new", 20, 40)};
  for (const char* seen : {"old", "new"}) {
    History h = base;
    h.push_back(read_event(2, "k", seen, 25, 35));
    EXPECT_EQ(verdict_of(h), Verdict::kLinearizable) << seen;
  }
}

TEST(Linearizability, NewThenOldDuringOneWriteIsNotLinearizable) {
  // Both reads overlap the write of "new", but the first returned before the second was invoked:
  // once a read saw "new", a later read cannot see "old".
  const History h = {
      write_event(1, "k", "old", 0, 10),
      write_event(1, "k", "new", 20, 100),
      read_event(2, "k", "new", 30, 40),
      read_event(3, "k", "old", 50, 60),
  };
  EXPECT_EQ(verdict_of(h), Verdict::kNotLinearizable);
  // Overlapping reads may see them in either order.
  const History ok = {
      write_event(1, "k", "old", 0, 10),
      write_event(1, "k", "new", 20, 100),
      read_event(2, "k", "new", 30, 60),
      read_event(3, "k", "old", 50, 60),
  };
  EXPECT_EQ(verdict_of(ok), Verdict::kLinearizable);
}

TEST(Linearizability, StaleReadAfterCompletedWrite) {
  const History h = {
      write_event(1, "k", "v1", 0, 10),
      write_event(1, "k", "v2", 20, 30),
      read_event(2, "k", "v1", 40, 50),
  };
  const CheckResult r = check(h);
  ASSERT_EQ(r.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(r.key, "k");
  ASSERT_EQ(r.keys.size(), 1u);
  const KeyResult& k = r.keys[0];
  // "v1" has one writer and a read still has to see it, so the write of "v2" cannot follow the
  // write of "v1": the longest prefix is that write, and the explanation names the read.
  EXPECT_EQ(k.longest_prefix, (std::vector<std::size_t>{0}));
  EXPECT_EQ(k.unplaced, (std::vector<std::size_t>{1, 2}));
  EXPECT_NE(r.explanation.find("client 2 read(\"k\") -> \"v1\" [40, 50] must still see it"),
            std::string::npos)
      << r.explanation;
  // With "v1" written twice, the read is what cannot be placed.
  History twice = h;
  twice.insert(twice.begin(), write_event(3, "k", "v1", -20, -10));
  const CheckResult r2 = check(twice);
  ASSERT_EQ(r2.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(r2.keys[0].unplaced.front(), 3u);
  EXPECT_NE(r2.explanation.find("read \"v1\" but the register holds \"v2\""), std::string::npos)
      << r2.explanation;
  EXPECT_NE(r.summary().find("not linearizable"), std::string::npos);
}

TEST(Linearizability, LostWrite) {
  // An acknowledged write of "v2" is never observed: a later read still sees "v1".
  const History h = {
      write_event(1, "k", "v1", 0, 10),  read_event(2, "k", "v1", 15, 18),
      write_event(1, "k", "v2", 20, 30), read_event(3, "k", "v1", 40, 50),
      read_event(2, "k", "v1", 60, 70),
  };
  const CheckResult r = check(h);
  EXPECT_EQ(r.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(r.key, "k");
  // The read may overlap the write instead: then it is fine.
  History ok = h;
  ok[3].invoke = 25;
  ok.pop_back();
  EXPECT_EQ(verdict_of(ok), Verdict::kLinearizable);
}

TEST(Linearizability, CasChains) {
  // Five clients race a chain of CAS; each success moves the register one link on.
  const History h = {
      cas_event(1, "k", nullopt, "a", true, 0, 20),
      cas_event(2, "k", nullopt, "x", false, 5, 25, Value("a")),
      cas_event(3, "k", "a", "b", true, 10, 40),
      cas_event(4, "k", "a", "y", false, 30, 50, Value("b")),
      cas_event(5, "k", "b", "c", true, 45, 60),
      read_event(1, "k", "c", 70, 80),
      cas_event(2, "k", "c", "d", true, 70, 90),
      cas_event(3, "k", "c", "z", false, 75, 95),  // value not reported
      read_event(4, "k", "d", 100, 110),
  };
  EXPECT_EQ(verdict_of(h), Verdict::kLinearizable);
}

TEST(Linearizability, TwoCasFromTheSameValueCannotBothSucceed) {
  const History h = {
      write_event(1, "k", "a", 0, 10),
      cas_event(2, "k", "a", "b", true, 20, 40),
      cas_event(3, "k", "a", "c", true, 25, 45),
  };
  const CheckResult r = check(h);
  EXPECT_EQ(r.verdict, Verdict::kNotLinearizable);
  EXPECT_NE(r.explanation.find("\"a\" -> \"c\") -> ok [25, 45] must still see it"),
            std::string::npos)
      << r.explanation;
}

TEST(Linearizability, FailedCasMustSeeAnotherValue) {
  // The CAS reports failure while the register certainly held its expected value.
  EXPECT_EQ(
      verdict_of({write_event(1, "k", "a", 0, 10), cas_event(2, "k", "a", "b", false, 20, 30)}),
      Verdict::kNotLinearizable);
  // The value it reports must be the current one.
  EXPECT_EQ(verdict_of({write_event(1, "k", "a", 0, 10),
                        cas_event(2, "k", "x", "b", false, 20, 30, Value("q"))}),
            Verdict::kNotLinearizable);
  EXPECT_EQ(verdict_of({write_event(1, "k", "a", 0, 10),
                        cas_event(2, "k", "x", "b", false, 20, 30, Value("a"))}),
            Verdict::kLinearizable);
}

// ---------------------------------------------------------------------------------------------
// Unknown and failed outcomes.

TEST(Linearizability, UnknownWriteLaterObservedIsLinearizable) {
  const History h = {
      write_event(1, "k", "v1", 0, 10),   unknown(write_event(2, "k", "v2", 20, 25)),  // timed out
      read_event(3, "k", "v1", 30, 40),    // not applied yet...
      read_event(3, "k", "v2", 500, 510),  // ...applied long after the client gave up
      read_event(1, "k", "v2", 600, 610),
  };
  EXPECT_EQ(verdict_of(h), Verdict::kLinearizable);
}

TEST(Linearizability, UnknownWriteNeverObservedIsLinearizable) {
  const History h = {
      write_event(1, "k", "v1", 0, 10),   unknown(write_event(2, "k", "v2", 20, 25)),
      read_event(3, "k", "v1", 30, 40),   read_event(3, "k", "v1", 500, 510),
      read_event(1, "k", "v1", 600, 610),
  };
  EXPECT_EQ(verdict_of(h), Verdict::kLinearizable);
}

TEST(Linearizability, UnknownWriteCannotTakeEffectTwiceOrEarly) {
  // Once observed, the unknown write cannot be undone...
  EXPECT_EQ(
      verdict_of({write_event(1, "k", "v1", 0, 10), unknown(write_event(2, "k", "v2", 20, 25)),
                  read_event(3, "k", "v2", 30, 40), read_event(3, "k", "v1", 50, 60)}),
      Verdict::kNotLinearizable);
  // ...and cannot take effect before it was invoked.
  EXPECT_EQ(verdict_of({write_event(1, "k", "v1", 0, 10), read_event(3, "k", "v2", 12, 18),
                        unknown(write_event(2, "k", "v2", 20, 25))}),
            Verdict::kNotLinearizable);
}

TEST(Linearizability, UnknownCasAndDelete) {
  EXPECT_EQ(verdict_of({write_event(1, "k", "a", 0, 10),
                        unknown(cas_event(2, "k", "a", "b", true, 20, 30)),
                        read_event(3, "k", "a", 40, 50), read_event(3, "k", "b", 60, 70)}),
            Verdict::kLinearizable);
  // An unknown CAS whose expected value never held cannot have swapped.
  EXPECT_EQ(verdict_of({write_event(1, "k", "a", 0, 10),
                        unknown(cas_event(2, "k", "x", "b", true, 20, 30)),
                        read_event(3, "k", "b", 60, 70)}),
            Verdict::kNotLinearizable);
  EXPECT_EQ(verdict_of({write_event(1, "k", "a", 0, 10), unknown(delete_event(2, "k", 20, 30)),
                        read_event(3, "k", "a", 40, 50), read_event(3, "k", nullopt, 60, 70)}),
            Verdict::kLinearizable);
  // An unknown read constrains nothing.
  EXPECT_EQ(
      verdict_of({write_event(1, "k", "a", 0, 10), unknown(read_event(2, "k", "garbage", 20, 30))}),
      Verdict::kLinearizable);
}

TEST(Linearizability, FailedOperationsAreDropped) {
  EXPECT_EQ(verdict_of({write_event(1, "k", "v1", 0, 10), failed(write_event(2, "k", "v2", 20, 30)),
                        read_event(3, "k", "v1", 40, 50)}),
            Verdict::kLinearizable);
  // A refused write that is nevertheless observed is a violation.
  const History h = {write_event(1, "k", "v1", 0, 10), failed(write_event(2, "k", "v2", 20, 30)),
                     read_event(3, "k", "v2", 40, 50)};
  const CheckResult r = check(h);
  EXPECT_EQ(r.verdict, Verdict::kNotLinearizable);
  ASSERT_EQ(r.keys.size(), 1u);
  EXPECT_EQ(r.keys[0].operations, 2u);
}

// ---------------------------------------------------------------------------------------------
// Partitioning.

TEST(Linearizability, TwoKeysOnlyOneWrong) {
  const History h = {
      write_event(1, "a", "a1", 0, 10),  write_event(2, "b", "b1", 0, 10),
      write_event(1, "a", "a2", 20, 30), write_event(2, "b", "b2", 20, 30),
      read_event(3, "a", "a2", 40, 50),  read_event(4, "b", "b1", 40, 50),  // stale
      read_event(3, "b", "b2", 60, 70),
  };
  const CheckResult r = check(h);
  ASSERT_EQ(r.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(r.key, "b");
  ASSERT_EQ(r.keys.size(), 2u);
  EXPECT_EQ(r.keys[0].key, "a");
  EXPECT_EQ(r.keys[0].verdict, Verdict::kLinearizable);
  EXPECT_EQ(r.keys[1].key, "b");
  EXPECT_EQ(r.keys[1].verdict, Verdict::kNotLinearizable);
  EXPECT_NE(r.explanation.find("key \"b\""), std::string::npos) << r.explanation;
  // Indices refer to the whole history.
  const auto& unplaced = r.keys[1].unplaced;
  EXPECT_NE(std::find(unplaced.begin(), unplaced.end(), 5u), unplaced.end());
  // The same key checked alone.
  History b;
  for (const Event& e : h) {
    if (e.op.key == "b") {
      b.push_back(e);
    }
  }
  EXPECT_EQ(check_key(b).verdict, Verdict::kNotLinearizable);
}

TEST(Linearizability, CheckKeyRejectsMixedKeys) {
  EXPECT_THROW(check_key({write_event(1, "a", "1", 0, 1), write_event(1, "b", "1", 0, 1)}),
               std::invalid_argument);
}

TEST(Linearizability, ReturnBeforeInvokeIsRejected) {
  EXPECT_THROW(check({write_event(1, "k", "a", 10, 5)}), std::invalid_argument);
  // Unknown operations have no return time.
  EXPECT_NO_THROW(check({unknown(write_event(1, "k", "a", 10, 5))}));
}

// ---------------------------------------------------------------------------------------------
// Porcupine's own examples, from porcupine_test.go (github.com/anishathalye/porcupine):
// TestRegisterModel (taken there from MIT 6.824's 2017 quiz 2, section VII) and TestZeroDuration.
// Porcupine's register starts at 0; here a write of "0" before everything plays that part.

History porcupine_register(std::vector<Event> ops) {
  History h = {write_event(9, "x", "0", -20, -10)};
  h.insert(h.end(), ops.begin(), ops.end());
  return h;
}

TEST(Linearizability, PorcupineRegisterModel) {
  // {0, put 100, 0, 100}, {1, get -> 100, 25, 75}, {2, get -> 0, 30, 60}: linearizable.
  EXPECT_EQ(verdict_of(porcupine_register({write_event(0, "x", "100", 0, 100),
                                           read_event(1, "x", "100", 25, 75),
                                           read_event(2, "x", "0", 30, 60)})),
            Verdict::kLinearizable);
  // {0, put 200, 0, 100}, {1, get -> 200, 10, 30}, {2, get -> 0, 40, 90}: not linearizable.
  EXPECT_EQ(verdict_of(porcupine_register({write_event(0, "x", "200", 0, 100),
                                           read_event(1, "x", "200", 10, 30),
                                           read_event(2, "x", "0", 40, 90)})),
            Verdict::kNotLinearizable);
}

TEST(Linearizability, PorcupineZeroDuration) {
  // Calls sort before returns at equal times, so zero-length operations still overlap.
  EXPECT_EQ(verdict_of(porcupine_register(
                {write_event(0, "x", "100", 0, 100), read_event(1, "x", "100", 25, 75),
                 read_event(2, "x", "0", 30, 30), read_event(3, "x", "0", 30, 30)})),
            Verdict::kLinearizable);
  EXPECT_EQ(verdict_of(porcupine_register(
                {write_event(0, "x", "200", 0, 100), read_event(1, "x", "200", 10, 10),
                 read_event(2, "x", "200", 10, 10), read_event(3, "x", "0", 40, 90)})),
            Verdict::kNotLinearizable);
}

// ---------------------------------------------------------------------------------------------
// Random histories from a simulated register: linearizable by construction (each operation takes
// effect at a random instant inside its interval).

struct SimOptions {
  int clients = 5;
  int ops = 2000;
  int keys = 4;
  double unknown_rate = 0.02;
  double failed_rate = 0.02;
  double cas_reports_value = 0.5;  // how often a failed CAS reports the current value
  unsigned seed = 1;
};

History simulate(const SimOptions& o) {
  std::mt19937_64 rng(o.seed);
  auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };

  History h;
  std::vector<std::int64_t> point;  // when each operation takes effect (-1: never)
  std::vector<std::int64_t> client_time(o.clients, 0);
  std::map<std::string, std::vector<std::string>> written;  // per key, for CAS expectations
  for (int i = 0; i < o.ops; ++i) {
    const int c = static_cast<int>(uniform(0, o.clients - 1));
    const std::string key = "k" + std::to_string(uniform(0, o.keys - 1));
    const std::int64_t invoke = client_time[c] + uniform(0, 30);
    const std::int64_t complete = invoke + uniform(1, 100);
    client_time[c] = complete;
    const std::string fresh = "c" + std::to_string(c) + "-" + std::to_string(i);
    const int dice = static_cast<int>(uniform(0, 99));
    Event e;
    if (dice < 40) {
      e = read_event(c, key, nullopt, invoke, complete);
    } else if (dice < 70) {
      e = write_event(c, key, fresh, invoke, complete);
    } else if (dice < 92) {
      auto& w = written[key];
      Value expect = w.empty() || chance(0.2)
                         ? Value()
                         : Value(w[static_cast<std::size_t>(uniform(
                               std::max<std::int64_t>(0, std::ssize(w) - 3), std::ssize(w) - 1))]);
      e = cas_event(c, key, expect, fresh, false, invoke, complete);
    } else {
      e = delete_event(c, key, invoke, complete);
    }
    if (e.op.value) {
      written[key].push_back(*e.op.value);
    }
    std::int64_t at = uniform(invoke, complete);
    if (chance(o.failed_rate)) {
      e.outcome = Outcome::kFailed;
      at = -1;
    } else if (chance(o.unknown_rate)) {
      e.outcome = Outcome::kUnknown;
      if (chance(0.5)) {
        at = -1;  // lost: never applied
      } else {
        at = invoke + uniform(0, 3000);  // applied, possibly long after the client gave up
      }
    }
    h.push_back(std::move(e));
    point.push_back(at);
  }

  // Apply in order of effect to compute the results.
  std::vector<std::size_t> order(h.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return point[a] < point[b]; });
  std::map<std::string, Value> state;
  for (std::size_t i : order) {
    if (point[i] < 0) {
      continue;
    }
    Event& e = h[i];
    Value& cur = state[e.op.key];
    switch (e.op.kind) {
      case OpKind::kRead:
        e.result.value = cur;
        break;
      case OpKind::kWrite:
        cur = e.op.value;
        break;
      case OpKind::kDelete:
        cur.reset();
        break;
      case OpKind::kCas:
        e.result.ok = cur == e.op.expect;
        if (e.result.ok) {
          cur = e.op.value;
        } else if (chance(o.cas_reports_value)) {
          e.result.value = cur;
          e.result.value_known = true;
        }
        break;
    }
  }
  return h;
}

TEST(Linearizability, LargeRandomHistoryPassesAndCorruptionsFail) {
  const History h = simulate({});
  const auto t0 = std::chrono::steady_clock::now();
  const CheckResult r = check(h);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.verdict, Verdict::kLinearizable) << r.summary();
  EXPECT_EQ(r.keys.size(), 4u);
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  std::uint64_t steps = 0;
  for (const auto& k : r.keys) {
    steps += k.steps;
  }
  std::printf("2000 operations, 5 clients, 4 keys: %lld us, %llu steps\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()),
              static_cast<unsigned long long>(steps));

  // Find a read in the middle whose key had a write W1 that returned before a write W2 was
  // invoked, W2 returning before the read was invoked: reading W1's value there is stale.
  std::optional<std::size_t> victim;
  std::string stale;
  for (std::size_t r_i = h.size() / 2; r_i < h.size() && !victim; ++r_i) {
    const Event& rd = h[r_i];
    if (rd.op.kind != OpKind::kRead || rd.outcome != Outcome::kOk) {
      continue;
    }
    for (std::size_t w2 = 0; w2 < r_i && !victim; ++w2) {
      const Event& b = h[w2];
      if (b.op.kind != OpKind::kWrite || b.outcome != Outcome::kOk || b.op.key != rd.op.key ||
          b.complete >= rd.invoke) {
        continue;
      }
      for (std::size_t w1 = 0; w1 < w2; ++w1) {
        const Event& a = h[w1];
        if (a.op.kind == OpKind::kWrite && a.outcome == Outcome::kOk && a.op.key == rd.op.key &&
            a.complete < b.invoke && a.op.value != rd.result.value) {
          victim = r_i;
          stale = *a.op.value;
          break;
        }
      }
    }
  }
  ASSERT_TRUE(victim.has_value());

  History bad = h;
  bad[*victim].result.value = stale;
  const CheckResult rb = check(bad);
  EXPECT_EQ(rb.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(rb.key, h[*victim].op.key);
  std::printf("stale read planted at %zu:\n%s\n", *victim, rb.explanation.c_str());

  History bogus = h;
  bogus[*victim].result.value = "never-written";
  const CheckResult rg = check(bogus);
  EXPECT_EQ(rg.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(rg.key, h[*victim].op.key);
  ASSERT_FALSE(rg.keys.empty());
  bool found = false;
  for (const auto& k : rg.keys) {
    if (k.key == rg.key) {
      found = std::find(k.unplaced.begin(), k.unplaced.end(), *victim) != k.unplaced.end();
    }
  }
  EXPECT_TRUE(found) << rg.explanation;
}

TEST(Linearizability, ManySeedsAndHeavierLoad) {
  for (unsigned seed = 2; seed < 12; ++seed) {
    const History h = simulate({.clients = 10, .ops = 3000, .keys = 3, .seed = seed});
    const CheckResult r = check(h);
    EXPECT_EQ(r.verdict, Verdict::kLinearizable) << "seed " << seed << "\n" << r.summary();
  }
  // One hot key, more clients, more unknown outcomes.
  const History hot = simulate({.clients = 20,
                                .ops = 10000,
                                .keys = 1,
                                .unknown_rate = 0.05,
                                .failed_rate = 0.05,
                                .seed = 99});
  const auto t0 = std::chrono::steady_clock::now();
  const CheckResult r = check(hot);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.verdict, Verdict::kLinearizable) << r.summary();
  std::printf("10000 operations, 20 clients, 1 key: %lld us, %llu steps\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()),
              static_cast<unsigned long long>(r.keys.at(0).steps));
}

// ---------------------------------------------------------------------------------------------
// Cross-check against an exhaustive search written straight from the definition, on many small
// random histories (unique values and a small shared pool of values, all outcomes, tied times):
// the pruning rules of the real search must never change a verdict.

bool reference_linearizable(const History& h) {
  std::map<std::string, std::vector<const Event*>> keys;
  for (const Event& e : h) {
    if (e.outcome == Outcome::kFailed ||
        (e.outcome == Outcome::kUnknown && e.op.kind == OpKind::kRead)) {
      continue;
    }
    keys[e.op.key].push_back(&e);
  }
  for (const auto& [key, ops] : keys) {
    const std::size_t n = ops.size();
    std::set<std::pair<std::uint32_t, Value>> dead;
    // Places operations one at a time: any one that no unplaced known operation must precede;
    // an unknown one either takes effect or is dropped.
    std::function<bool(std::uint32_t, const Value&)> solve = [&](std::uint32_t done,
                                                                 const Value& state) {
      bool all_known = true;
      for (std::size_t i = 0; i < n; ++i) {
        if (!(done >> i & 1) && ops[i]->outcome == Outcome::kOk) {
          all_known = false;
        }
      }
      if (all_known) {
        return true;
      }
      if (dead.count({done, state}) != 0) {
        return false;
      }
      for (std::size_t i = 0; i < n; ++i) {
        if (done >> i & 1) {
          continue;
        }
        const Event& o = *ops[i];
        bool blocked = false;
        for (std::size_t j = 0; j < n; ++j) {
          if (j != i && !(done >> j & 1) && ops[j]->outcome == Outcome::kOk &&
              ops[j]->complete < o.invoke) {
            blocked = true;
          }
        }
        if (blocked) {
          continue;
        }
        const std::uint32_t next_done = done | (std::uint32_t{1} << i);
        const bool unknown = o.outcome == Outcome::kUnknown;
        bool legal = true;
        Value next = state;
        switch (o.op.kind) {
          case OpKind::kRead:
            legal = state == o.result.value;
            break;
          case OpKind::kWrite:
            next = o.op.value;
            break;
          case OpKind::kDelete:
            next.reset();
            break;
          case OpKind::kCas:
            if (unknown) {
              if (state == o.op.expect) {
                next = o.op.value;
              }
            } else if (o.result.ok) {
              legal = state == o.op.expect;
              next = o.op.value;
            } else {
              legal = state != o.op.expect && (!o.result.value_known || state == o.result.value);
            }
            break;
        }
        if (legal && solve(next_done, next)) {
          return true;
        }
        if (unknown && solve(next_done, state)) {
          return true;
        }
      }
      dead.insert({done, state});
      return false;
    };
    if (!solve(0, std::nullopt)) {
      return false;
    }
  }
  return true;
}

History random_small_history(std::mt19937_64& rng) {
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const bool unique = uniform(0, 1) == 1;
  const int n = uniform(1, 9);
  const int keys = uniform(1, 2);
  std::vector<std::string> written;
  auto some_value = [&]() -> Value {
    if (unique) {
      if (written.empty() || uniform(0, 4) == 0) {
        return uniform(0, 3) == 0 ? Value("zz") : Value();
      }
      return written[static_cast<std::size_t>(uniform(0, static_cast<int>(written.size()) - 1))];
    }
    static const char* kPool[] = {"a", "b", "c"};
    const int v = uniform(0, 3);
    return v == 3 ? Value() : Value(kPool[v]);
  };
  History h;
  for (int i = 0; i < n; ++i) {
    const std::string key = "k" + std::to_string(uniform(1, keys));
    const std::int64_t invoke = uniform(0, 12);
    const std::int64_t complete = invoke + uniform(0, 6);
    const std::string fresh = unique ? "w" + std::to_string(i) : some_value().value_or("a");
    Event e;
    switch (uniform(0, 3)) {
      case 0:
        e = read_event(i, key, some_value(), invoke, complete);
        break;
      case 1:
        e = write_event(i, key, fresh, invoke, complete);
        break;
      case 2: {
        const bool ok = uniform(0, 1) == 1;
        std::optional<Value> seen;
        if (!ok && uniform(0, 1) == 1) {
          seen = some_value();
        }
        e = cas_event(i, key, some_value(), fresh, ok, invoke, complete, seen);
        break;
      }
      default:
        e = delete_event(i, key, invoke, complete);
        break;
    }
    if (e.op.value) {
      written.push_back(*e.op.value);
    }
    const int outcome = uniform(0, 9);
    if (outcome < 2) {
      e.outcome = Outcome::kUnknown;
    } else if (outcome < 3) {
      e.outcome = Outcome::kFailed;
    }
    h.push_back(std::move(e));
  }
  return h;
}

TEST(Linearizability, AgreesWithExhaustiveSearchOnSmallHistories) {
  std::mt19937_64 rng(2024);
  int linearizable = 0;
  int not_linearizable = 0;
  for (int trial = 0; trial < 30000; ++trial) {
    History h = random_small_history(rng);
    // Half of them from a simulated register, so that both verdicts are common.
    if (trial % 2 == 0) {
      h = simulate({.clients = 3,
                    .ops = static_cast<int>(rng() % 9) + 1,
                    .keys = static_cast<int>(rng() % 2) + 1,
                    .unknown_rate = 0.2,
                    .failed_rate = 0.1,
                    .seed = static_cast<unsigned>(rng())});
      if (rng() % 2 == 0 && !h.empty()) {
        // Disturb one result or time.
        Event& e = h[rng() % h.size()];
        switch (rng() % 4) {
          case 0:
            e.result.value = rng() % 2 == 0 ? Value() : Value("c0-0");
            break;
          case 1:
            e.result.ok = !e.result.ok;
            break;
          case 2:
            e.invoke = e.complete;
            break;
          default:
            e.complete = e.invoke;
            break;
        }
      }
    }
    const bool expected = reference_linearizable(h);
    const CheckResult r = check(h);
    ASSERT_EQ(r.verdict, expected ? Verdict::kLinearizable : Verdict::kNotLinearizable)
        << "trial " << trial << "\n"
        << to_json(h) << r.summary();
    (expected ? linearizable : not_linearizable)++;
  }
  std::printf("%d linearizable, %d not\n", linearizable, not_linearizable);
  EXPECT_GT(linearizable, 5000);
  EXPECT_GT(not_linearizable, 5000);
}

// ---------------------------------------------------------------------------------------------
// Budgets.

History pathological() {
  // 24 overlapping writes, then a read of a value nobody wrote: the search must try every
  // subset and order of the writes before giving up.
  History h;
  for (int i = 0; i < 24; ++i) {
    h.push_back(write_event(i, "k", "v" + std::to_string(i), 0, 1000));
  }
  h.push_back(read_event(99, "k", "nobody", 2000, 2010));
  return h;
}

TEST(Linearizability, StepBudgetGivesTimeout) {
  CheckOptions o;
  o.per_key_max_steps = 100'000;
  const CheckResult r = check(pathological(), o);
  EXPECT_EQ(r.verdict, Verdict::kTimeout);
  EXPECT_EQ(r.key, "k");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.summary().find("timeout"), std::string::npos);
}

TEST(Linearizability, TimeBudgetGivesTimeout) {
  CheckOptions o;
  o.per_key_timeout = std::chrono::milliseconds(50);
  const auto t0 = std::chrono::steady_clock::now();
  const CheckResult r = check(pathological(), o);
  EXPECT_EQ(r.verdict, Verdict::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(Linearizability, NotLinearizableWinsOverTimeout) {
  History h = pathological();
  h.push_back(write_event(1, "a", "1", 0, 10));
  h.push_back(read_event(1, "a", "2", 20, 30));
  CheckOptions o;
  o.per_key_max_steps = 10'000;
  const CheckResult r = check(h, o);
  EXPECT_EQ(r.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(r.key, "a");
}

// ---------------------------------------------------------------------------------------------
// Recorder and JSON.

TEST(Recorder, RecordsOutcomes) {
  Recorder rec;
  const auto w = rec.invoke(1, Op{.kind = OpKind::kWrite, .key = "k", .value = "a"});
  const auto r = rec.invoke(2, Op{.kind = OpKind::kRead, .key = "k"});
  const auto lost = rec.invoke(3, Op{.kind = OpKind::kWrite, .key = "k", .value = "b"});
  const auto refused = rec.invoke(4, Op{.kind = OpKind::kWrite, .key = "k", .value = "c"});
  rec.invoke(5, Op{.kind = OpKind::kWrite, .key = "k", .value = "d"});  // never finished
  rec.ok(w, {});
  rec.ok(r, OpResult{.value = "a"});
  rec.unknown(lost);
  rec.failed(refused);
  EXPECT_THROW(rec.ok(w, {}), std::logic_error);
  const History h = rec.history();
  ASSERT_EQ(h.size(), 5u);
  EXPECT_EQ(rec.size(), 5u);
  EXPECT_EQ(h[0].outcome, Outcome::kOk);
  EXPECT_LE(h[0].invoke, h[0].complete);
  EXPECT_EQ(h[2].outcome, Outcome::kUnknown);
  EXPECT_EQ(h[3].outcome, Outcome::kFailed);
  EXPECT_EQ(h[4].outcome, Outcome::kUnknown);
  // The read overlapped the write, so either result is fine.
  EXPECT_EQ(check(h).verdict, Verdict::kLinearizable);
}

TEST(Recorder, ConcurrentClientsOnARealRegister) {
  // Four threads run reads, writes and CAS against a mutex-protected map, recording each
  // operation around the critical section: the history must be linearizable.
  Recorder rec;
  std::mutex mutex;
  std::map<std::string, std::string> store;
  std::vector<std::thread> threads;
  for (int c = 0; c < 4; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 rng(static_cast<unsigned>(c));
      std::string last;
      for (int i = 0; i < 300; ++i) {
        const std::string key = "k" + std::to_string(rng() % 3);
        const std::string fresh = std::to_string(c) + "-" + std::to_string(i);
        switch (rng() % 3) {
          case 0: {
            const auto id = rec.invoke(c, Op{.kind = OpKind::kRead, .key = key});
            Value seen;
            {
              std::lock_guard lock(mutex);
              if (auto it = store.find(key); it != store.end()) {
                seen = it->second;
              }
            }
            rec.ok(id, OpResult{.value = seen});
            last = seen.value_or("");
            break;
          }
          case 1: {
            const auto id = rec.invoke(c, Op{.kind = OpKind::kWrite, .key = key, .value = fresh});
            {
              std::lock_guard lock(mutex);
              store[key] = fresh;
            }
            rec.ok(id, {});
            break;
          }
          default: {
            const Value expect = last.empty() ? Value() : Value(last);
            const auto id = rec.invoke(
                c, Op{.kind = OpKind::kCas, .key = key, .expect = expect, .value = fresh});
            OpResult result;
            {
              std::lock_guard lock(mutex);
              auto it = store.find(key);
              const Value current = it == store.end() ? Value() : Value(it->second);
              result.ok = current == expect;
              if (result.ok) {
                store[key] = fresh;
              } else {
                result.value = current;
                result.value_known = true;
              }
            }
            rec.ok(id, result);
            break;
          }
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  const History h = rec.history();
  ASSERT_EQ(h.size(), 1200u);
  const CheckResult r = check(h);
  EXPECT_EQ(r.verdict, Verdict::kLinearizable) << r.summary();
}

TEST(Json, RoundTrip) {
  History h = simulate({.clients = 3, .ops = 200, .keys = 2, .seed = 7});
  h.push_back(write_event(1, "we\"ird\\key\n", "caf\xc3\xa9 \x01", -5, 7));
  const std::string json = to_json(h);
  const History back = history_from_json(json);
  ASSERT_EQ(back.size(), h.size());
  for (std::size_t i = 0; i < h.size(); ++i) {
    const Event& a = h[i];
    const Event& b = back[i];
    EXPECT_EQ(a.client, b.client);
    EXPECT_EQ(a.op.kind, b.op.kind);
    EXPECT_EQ(a.op.key, b.op.key);
    EXPECT_EQ(a.op.expect, b.op.expect);
    EXPECT_EQ(a.op.value, b.op.value);
    EXPECT_EQ(a.result.ok, b.result.ok);
    EXPECT_EQ(a.result.value, b.result.value);
    EXPECT_EQ(a.result.value_known, b.result.value_known);
    EXPECT_EQ(a.outcome, b.outcome);
    EXPECT_EQ(a.invoke, b.invoke);
    EXPECT_EQ(a.complete, b.complete);
  }
  EXPECT_EQ(to_json(back), json);
  // Hand-written input: escapes, optional members.
  const History hand = history_from_json(
      R"({"events": [ {"client": 1, "kind": "read", "key": "k\u00e9\ud83d\ude00",
          "result": null, "outcome": "ok", "invoke": 0, "complete": 3} ]})");
  ASSERT_EQ(hand.size(), 1u);
  EXPECT_EQ(hand[0].op.key, "k\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(hand[0].result.value, nullopt);
}

TEST(Json, RejectsMalformed) {
  for (const char* bad : {"", "[]", "{\"events\": 3}", "{\"events\": [{}]}",
                          R"({"events": [{"client": 1, "kind": "nope", "key": "k",
                              "outcome": "ok", "invoke": 0, "complete": 1}]})",
                          R"({"events": [{"client": 1.5}]})", "{\"events\": [] } x",
                          "{\"events\": [\"unterminated]}"}) {
    EXPECT_THROW(history_from_json(bad), std::invalid_argument) << bad;
  }
}

TEST(Describe, Events) {
  EXPECT_EQ(describe(Value()), "absent");
  EXPECT_EQ(describe(Value("v")), "\"v\"");
  EXPECT_EQ(describe(cas_event(3, "k", "a", "b", false, 1, 2, Value("c"))),
            "client 3 cas(\"k\", \"a\" -> \"b\") -> fail (saw \"c\") [1, 2]");
  EXPECT_EQ(describe(unknown(write_event(1, "k", "v", 5, 6))),
            "client 1 write(\"k\", \"v\") -> unknown [5, inf)");
  EXPECT_EQ(describe(read_event(2, "k", nullopt, 1, 2)), "client 2 read(\"k\") -> absent [1, 2]");
}

}  // namespace
}  // namespace br2k::chaos
