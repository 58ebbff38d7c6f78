// ReplicatedState: exactly-once apply with the applied-id table, pruning, snapshots
// (server/include/br2k/server/replicated_state.hpp), and the example applications.
#include <gtest/gtest.h>

#include <br2k/examples/kv_store.hpp>
#include <br2k/examples/number_list.hpp>
#include <br2k/server/replicated_state.hpp>
#include <nlohmann/json.hpp>

namespace br2k::server {
namespace {

using examples::KvStore;
using examples::NumberList;
using json = nlohmann::json;

LogEntry put(std::string key, std::string value, std::string id = {}) {
  LogEntry e;
  e.command = Command{.method = "PUT",
                      .target = "/kv/" + key,
                      .body = std::move(value),
                      .idempotency_key = std::move(id)};
  return e;
}

TEST(ReplicatedState, AppliesInOrderAndRefusesGaps) {
  KvStore kv;
  ReplicatedState s(kv);
  EXPECT_EQ(s.apply(1, put("a", "1")).status, 200u);
  EXPECT_EQ(s.applied_index(), 1u);
  EXPECT_THROW(s.apply(3, put("a", "2")), std::logic_error);
  EXPECT_THROW(s.apply(1, put("a", "2")), std::logic_error);
  EXPECT_EQ(kv.data().at("a").data, "1");
}

TEST(ReplicatedState, RepeatedIdGetsTheStoredReplyAndDoesNotReachTheApplication) {
  KvStore kv;
  ReplicatedState s(kv);
  Reply first = s.apply(1, put("a", "1", "id-1"));
  s.apply(2, put("a", "2"));  // another write in between
  Reply again = s.apply(3, put("a", "1", "id-1"));
  EXPECT_EQ(first, again);
  EXPECT_EQ(kv.data().at("a").data, "2");  // the retry did not overwrite
  EXPECT_EQ(kv.data().at("a").version, 2u);
  EXPECT_EQ(s.duplicates(), 1u);
  ASSERT_NE(s.find("id-1"), nullptr);
  EXPECT_EQ(s.find("id-1")->index, 1u);
}

TEST(ReplicatedState, SameIdWithAnotherRequestIs422AndChangesNothing) {
  KvStore kv;
  ReplicatedState s(kv);
  s.apply(1, put("a", "1", "id-1"));
  auto r = s.apply(2, put("a", "other", "id-1"));
  EXPECT_EQ(r.status, 422u);
  EXPECT_EQ(kv.data().at("a").data, "1");
}

TEST(ReplicatedState, IdsAreForgottenAfterTheWindow) {
  KvStore kv;
  ReplicatedState s(kv, {.dedup_window = 3});
  s.apply(1, put("a", "1", "id-1"));
  s.apply(2, put("b", "1"));
  s.apply(3, put("c", "1"));
  EXPECT_NE(s.find("id-1"), nullptr);
  s.apply(4, put("d", "1"));
  EXPECT_EQ(s.find("id-1"), nullptr);
  EXPECT_EQ(s.remembered_ids(), 0u);
}

TEST(ReplicatedState, DeduplicationOffAppliesTwice) {
  KvStore kv;
  ReplicatedState s(kv, {.deduplicate = false});
  s.apply(1, put("a", "1", "id-1"));
  s.apply(2, put("a", "1", "id-1"));
  EXPECT_EQ(kv.data().at("a").version, 2u);
}

TEST(ReplicatedState, SnapshotRestoresStateTableAndIndex) {
  KvStore kv;
  ReplicatedState s(kv);
  s.apply(1, put("a", "1", "id-1"));
  s.apply(2, put("b", "2", "id-2"));
  auto snap = s.snapshot();

  KvStore kv2;
  ReplicatedState t(kv2);
  ASSERT_TRUE(t.restore(snap));
  EXPECT_EQ(t.applied_index(), 2u);
  EXPECT_EQ(t.state_hash(), s.state_hash());
  EXPECT_EQ(kv2.data().at("b").data, "2");
  // The restored table still deduplicates.
  Reply again = t.apply(3, put("a", "1", "id-1"));
  EXPECT_EQ(again.status, 200u);
  EXPECT_EQ(kv2.data().at("a").version, 1u);
}

TEST(ReplicatedState, RestoreRefusesGarbageAndKeepsState) {
  KvStore kv;
  ReplicatedState s(kv);
  s.apply(1, put("a", "1"));
  const auto hash = s.state_hash();
  for (std::string bad : {std::string(), std::string("garbage"), s.snapshot().substr(0, 5)})
    EXPECT_FALSE(s.restore(bad));
  EXPECT_EQ(s.state_hash(), hash);
  EXPECT_EQ(s.applied_index(), 1u);
}

TEST(ReplicatedState, ApplicationExceptionBecomes500OnEveryReplica) {
  struct Throwing final : StateMachine {
    Reply apply(const Command&, std::uint64_t) override { throw std::runtime_error("boom"); }
    Reply query(const Command&) const override { return {}; }
    std::string snapshot() const override { return ""; }
    Result<void> restore(std::string_view) override { return {}; }
  } m;
  ReplicatedState s(m);
  EXPECT_EQ(s.apply(1, put("a", "1")).status, 500u);
  EXPECT_EQ(s.applied_index(), 1u);
}

TEST(KvStore, RoutesAndRefusals) {
  KvStore kv;
  Command c{.method = "PUT", .target = "/kv/"};
  EXPECT_EQ(kv.prepare(c)->status, 400u);
  c.target = "/kv/" + std::string(257, 'k');
  EXPECT_EQ(kv.prepare(c)->status, 400u);
  c.target = "/other";
  EXPECT_EQ(kv.prepare(c)->status, 404u);
  c = Command{.method = "PATCH", .target = "/kv/a"};
  EXPECT_EQ(kv.prepare(c)->status, 405u);
  c = Command{.method = "POST", .target = "/kv/a/cas", .body = "{\"value\": 3}"};
  EXPECT_EQ(kv.prepare(c)->status, 400u);
  c = Command{.method = "PUT", .target = "/kv/a", .body = std::string(64 * 1024 + 1, 'v')};
  EXPECT_EQ(kv.prepare(c)->status, 413u);
  c = Command{.method = "PUT", .target = "/kv/a", .body = "v"};
  EXPECT_FALSE(kv.prepare(c));
}

// Regressions found by the fuzz targets (fuzz/, issue 6): a key or value that is not UTF-8 used to
// be stored, after which KvStore::snapshot() (JSON) threw, and with it ReplicatedState::snapshot()
// and state_hash() on every replica. Such requests are now refused with 400 and change nothing.
TEST(KvStore, RefusesKeysAndValuesThatAreNotUtf8) {
  struct Case {
    const char* what;
    std::string target;
    std::string body;
  };
  const Case kCases[] = {
      // fuzz/corpus/http_request_fuzz/regression_put_binary_body: the body of a PUT.
      {"binary body", "/kv/a", std::string("\xa0\xb3\x00\x00p", 5)},
      {"lone continuation byte", "/kv/a", "v\x85lue"},
      {"overlong NUL", "/kv/a", "\xc0\x80"},
      {"UTF-16 surrogate", "/kv/a", "\xed\xa0\x80"},
      {"above U+10FFFF", "/kv/a", "\xf4\x90\x80\x80"},
      {"truncated sequence", "/kv/a", "\xe2\x82"},
      {"key", "/kv/\xff", "v"},
  };
  for (const auto& c : kCases) {
    KvStore kv;
    Command command{.method = "PUT", .target = c.target, .body = c.body};
    auto refusal = kv.prepare(command);
    ASSERT_TRUE(refusal) << c.what;
    EXPECT_EQ(refusal->status, 400u) << c.what;
    EXPECT_TRUE(json::parse(refusal->body).contains("error")) << c.what;
    EXPECT_EQ(kv.apply(command, 1).status, 400u) << c.what;
    EXPECT_TRUE(kv.data().empty()) << c.what;
  }
  KvStore kv;
  Command text{
      .method = "PUT", .target = "/kv/caf\xc3\xa9", .body = "\xe2\x82\xac \xf0\x9f\x98\x80"};
  EXPECT_FALSE(kv.prepare(text));
  EXPECT_EQ(kv.apply(text, 1).status, 200u);
  EXPECT_NO_THROW(kv.snapshot());
}

TEST(ReplicatedState, LoggedValueThatIsNotUtf8IsRefusedAndTheStateStillSnapshots) {
  // fuzz/corpus/log_entry_fuzz/regression_put_binary_body: a well-formed entry (PUT /kv/a?x=1,
  // body "v\0\x85lue") as an older leader could have logged it.
  constexpr std::string_view kEntry =
      "e9012a07856b65792d3183505554892f6b762f613f783d318a746578742f706c61696e867600856c7565";
  const Bytes raw = from_hex(kEntry).value();
  auto entry = decode_log_entry(std::string(raw.begin(), raw.end()));
  ASSERT_TRUE(entry) << entry.error();
  EXPECT_EQ(entry->command.body, std::string("v\0\x85lue", 6));
  KvStore kv;
  ReplicatedState s(kv);
  EXPECT_EQ(s.apply(1, *entry).status, 400u);
  EXPECT_TRUE(kv.data().empty());
  std::string snap;
  ASSERT_NO_THROW(snap = s.snapshot());
  KvStore kv2;
  ReplicatedState t(kv2);
  ASSERT_TRUE(t.restore(snap));
  EXPECT_EQ(t.state_hash(), s.state_hash());
}

TEST(KvStore, CompareAndSet) {
  KvStore kv;
  auto cas = [](std::string expect_json, std::string value) {
    return Command{.method = "POST",
                   .target = "/kv/k/cas",
                   .body = "{\"expect\": " + expect_json + ", \"value\": \"" + value + "\"}"};
  };
  EXPECT_EQ(kv.apply(cas("null", "1"), 1).status, 200u);
  EXPECT_EQ(kv.apply(cas("null", "2"), 2).status, 409u);
  EXPECT_EQ(kv.apply(cas("\"1\"", "2"), 3).status, 200u);
  auto r = kv.apply(cas("\"1\"", "3"), 4);
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(json::parse(r.body)["value"], "2");
  auto g = kv.query(Command{.method = "GET", .target = "/kv/k"});
  EXPECT_EQ(json::parse(g.body)["value"], "2");
  EXPECT_EQ(json::parse(g.body)["version"], 2);
  EXPECT_EQ(kv.query(Command{.method = "GET", .target = "/kv/none"}).status, 404u);
}

TEST(NumberList, PrepareDrawsTheNumberOnceSoReplicasAgree) {
  NumberList leader, follower;
  Command c{.method = "POST", .target = "/numbers"};
  ASSERT_FALSE(leader.prepare(c));
  ASSERT_FALSE(c.body.empty());
  auto a = leader.apply(c, 1);
  auto b = follower.apply(c, 1);
  EXPECT_EQ(a, b);
  EXPECT_EQ(leader.values(), follower.values());
  EXPECT_EQ(leader.snapshot(), follower.snapshot());
  Command bad{.method = "POST", .target = "/numbers", .body = "{\"value\": -1}"};
  EXPECT_EQ(leader.prepare(bad)->status, 400u);
  Command other{.method = "DELETE", .target = "/numbers"};
  EXPECT_EQ(leader.prepare(other)->status, 405u);
  auto list = leader.query(Command{.method = "GET", .target = "/numbers"});
  EXPECT_EQ(json::parse(list.body)["count"], 1);
  NumberList restored;
  ASSERT_TRUE(restored.restore(leader.snapshot()));
  EXPECT_EQ(restored.values(), leader.values());
  EXPECT_FALSE(restored.restore("{}"));
}

}  // namespace
}  // namespace br2k::server
