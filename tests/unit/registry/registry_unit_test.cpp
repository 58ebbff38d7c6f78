// The registry client's decoding of what nodes answer, with a scripted Rpc (the seam): malformed
// results, unknown reverts, events with wrong shapes; and the embedded ABI itself.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <br2k/chain/tx_sender.hpp>
#include <br2k/eth/abi.hpp>
#include <br2k/registry/artifacts.hpp>
#include <br2k/registry/registry.hpp>
#include <deque>
#include <set>

namespace br2k::registry {
namespace {

using chain::Json;

// Answers each request with the next scripted reply, and records what was asked.
class ScriptedRpc final : public chain::Rpc {
 public:
  std::deque<Result<chain::RpcReply>> replies;
  std::vector<std::pair<std::string, Json>> asked;

  Task<Result<chain::RpcReply>> request(std::string method, Json params, Deadline) override {
    asked.emplace_back(std::move(method), std::move(params));
    if (replies.empty())
      co_return Error(Errc::kUnavailable, "script ran out");
    auto r = std::move(replies.front());
    replies.pop_front();
    co_return r;
  }
  Task<Result<std::unique_ptr<chain::Subscription>>> subscribe(Json, Deadline) override {
    co_return Error(Errc::kUnavailable, "no subscriptions here");
  }

  void result(Json j) { replies.push_back(chain::RpcReply{std::move(j), std::nullopt}); }
  void error(std::int64_t code, std::string message, Json data = nullptr) {
    replies.push_back(
        chain::RpcReply{nullptr, chain::RpcError{code, std::move(message), std::move(data)}});
  }
};

class RegistryUnitTest : public ::testing::Test {
 protected:
  template <class T>
  T run(Task<T> t) {
    auto f = boost::asio::co_spawn(io_, std::move(t), boost::asio::use_future);
    io_.run();
    io_.restart();
    return f.get();
  }
  static Deadline later() { return Clock::now() + std::chrono::seconds(5); }

  boost::asio::io_context io_;
  ScriptedRpc rpc_;
  RegistryClient client_{rpc_,
                         eth::parse_address("0x5FbDB2315678afecb367f032d93F642f64180aa3").value()};
  ServiceId id_ = parse_service_id("svc").value();
};

std::string hex_of(const Result<Bytes>& b) {
  return chain::hex_data(b.value());
}

TEST(RegistryAbi, EmbeddedAbiHasEveryFunctionEventAndErrorTheClientUses) {
  const auto& abi = service_registry_abi();
  for (const char* f : {"register", "updateLocation", "updateName", "updateDescription",
                        "updateImage", "addManager", "removeManager", "getServiceLocation",
                        "getService", "isManager", "sendClaim", "storeBackupLog"})
    EXPECT_NE(abi.function(f), nullptr) << f;
  EXPECT_EQ(abi.function("updateLocation")->signature.canonical(),
            "updateLocation(bytes32,string,uint64)");
  EXPECT_TRUE(abi.function("getServiceLocation")->view);
  EXPECT_FALSE(abi.function("sendClaim")->view);
  EXPECT_EQ(abi.event("NewLocation")->canonical(), "NewLocation(bytes32,string,uint64)");
  EXPECT_EQ(abi.event("Claim")->canonical(), "Claim(bytes32,string,address,uint64,string)");
  std::set<std::string> errors;
  for (const auto& e : abi.errors())
    errors.insert(e.name);
  for (const char* e : {"UnknownService", "ServiceExists", "NotManager", "NotProvider",
                        "StaleEpoch", "StaleClaim", "TooLong", "EmptyLocation"})
    EXPECT_TRUE(errors.count(e)) << e;
  EXPECT_GT(service_registry_artifacts().bytecode_hex.size(), 1000u);
}

TEST(RegistryAbi, MalformedAbiJsonIsRefused) {
  EXPECT_FALSE(ContractAbi::parse("not json"));
  EXPECT_FALSE(ContractAbi::parse("{}"));
  EXPECT_FALSE(ContractAbi::parse(R"([{"type":"function"}])"));
  EXPECT_FALSE(
      ContractAbi::parse(R"([{"type":"function","name":"f","inputs":[{"type":"uint7"}]}])"));
  EXPECT_TRUE(ContractAbi::parse("[]"));
}

TEST(ServiceId, TextAndHexForms) {
  auto a = parse_service_id("my-service").value();
  EXPECT_EQ(a[0], 'm');
  EXPECT_EQ(a[10], 0);
  EXPECT_EQ(to_string(a), "my-service");
  auto h = parse_service_id("0x" + std::string(62, '0') + "ff").value();
  EXPECT_EQ(h[31], 0xff);
  EXPECT_EQ(to_string(h), "0x" + std::string(62, '0') + "ff");
  EXPECT_FALSE(parse_service_id(""));
  EXPECT_FALSE(parse_service_id(std::string(33, 'x')));
  EXPECT_FALSE(parse_service_id("0x" + std::string(64, 'g')));
}

TEST_F(RegistryUnitTest, LocationDecodesFromTheReturnData) {
  const auto& f = *service_registry_abi().function("getServiceLocation");
  std::vector<eth::abi::Value> out{std::string("http://a/"), 42};
  rpc_.result(hex_of(eth::abi::encode(f.outputs, out)));
  auto l = run(client_.get_service_location(id_, later()));
  ASSERT_TRUE(l) << l.error();
  EXPECT_EQ(*l, (Location{"http://a/", 42}));
  ASSERT_EQ(rpc_.asked.size(), 1u);
  EXPECT_EQ(rpc_.asked[0].first, "eth_call");
  EXPECT_EQ(rpc_.asked[0].second[0]["to"], "0x5fbdb2315678afecb367f032d93f642f64180aa3");
}

TEST_F(RegistryUnitTest, MalformedResultsAreMalformedReplies) {
  for (Json bad : {Json(42), Json("not hex"), Json("0x00"), Json("0x" + std::string(64, 'f')),
                   Json(nullptr)}) {
    rpc_.result(bad);
    auto l = run(client_.get_service_location(id_, later()));
    ASSERT_FALSE(l) << bad;
    EXPECT_TRUE(l.error().is(Errc::kMalformedReply)) << bad << " " << l.error();
  }
  // getService with a truncated tuple.
  rpc_.result("0x" + std::string(128, '0'));
  auto s = run(client_.get_service(id_, later()));
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(Errc::kMalformedReply)) << s.error();
}

TEST_F(RegistryUnitTest, RevertsAreDecodedAndUnknownOnesReportedRaw) {
  // UnknownService(bytes32) -> kNotFound for a view.
  auto unknown_service =
      eth::abi::encode_call("UnknownService(bytes32)", {Bytes(id_.begin(), id_.end())});
  rpc_.error(3, "execution reverted", chain::hex_data(unknown_service.value()));
  auto l = run(client_.get_service_location(id_, later()));
  ASSERT_FALSE(l);
  EXPECT_TRUE(l.error().is(Errc::kNotFound)) << l.error();

  rpc_.error(3, "execution reverted", "0xdeadbeef01");
  l = run(client_.get_service_location(id_, later()));
  ASSERT_FALSE(l);
  EXPECT_TRUE(l.error().is(Errc::kReverted));
  EXPECT_NE(l.error().detail.find("deadbeef"), std::string::npos) << l.error();
  EXPECT_EQ(chain::revert_name(l.error()), "");

  auto message = eth::abi::encode_call("Error(string)", {std::string("paused")});
  rpc_.error(3, "execution reverted: paused", chain::hex_data(message.value()));
  l = run(client_.get_service_location(id_, later()));
  ASSERT_FALSE(l);
  EXPECT_EQ(chain::revert_name(l.error()), "Error");
  EXPECT_NE(l.error().detail.find("paused"), std::string::npos);

  rpc_.error(-32000, "header not found");
  l = run(client_.get_service_location(id_, later()));
  ASSERT_FALSE(l);
  EXPECT_TRUE(l.error().is(Errc::kServerError)) << l.error();
}

chain::Log location_log(const ServiceId& id, std::string location, std::uint64_t epoch) {
  chain::Log log;
  log.topics = {new_location_topic(), id, eth::U256::from_uint64(epoch).bytes};
  std::vector<eth::abi::Type> types{eth::abi::Type::string()};
  std::vector<eth::abi::Value> values{std::move(location)};
  log.data = eth::abi::encode(types, values).value();
  log.block_number = 7;
  return log;
}

TEST(RegistryEvents, NewLocationDecodes) {
  auto id = parse_service_id("svc").value();
  auto e = decode_event(location_log(id, "http://x/", 5));
  ASSERT_TRUE(e) << e.error();
  const auto& n = std::get<NewLocationEvent>(e->body);
  EXPECT_EQ(n.id, id);
  EXPECT_EQ(n.location, "http://x/");
  EXPECT_EQ(n.epoch, 5u);
  EXPECT_EQ(e->log.block_number, 7u);
}

TEST(RegistryEvents, MisshapenLogsAreTypedErrors) {
  auto id = parse_service_id("svc").value();
  auto log = location_log(id, "http://x/", 5);
  log.topics.pop_back();
  EXPECT_TRUE(decode_event(log).error().is(Errc::kMalformedReply));
  log = location_log(id, "http://x/", 5);
  log.data.resize(40);
  EXPECT_TRUE(decode_event(log).error().is(Errc::kMalformedReply));
  log = location_log(id, "http://x/", 5);
  log.topics[2][0] = 0xff;  // an epoch with bits above uint64
  EXPECT_TRUE(decode_event(log).error().is(Errc::kMalformedReply));
  log = location_log(id, "http://x/", 5);
  log.topics[0][0] ^= 1;
  EXPECT_TRUE(decode_event(log).error().is(Errc::kNotFound));
  log.topics.clear();
  EXPECT_TRUE(decode_event(log).error().is(Errc::kNotFound));
}

TEST(ChainTypes, LogsAndReceiptsFromNodesAreValidated) {
  Json good = {{"address", "0x5fbdb2315678afecb367f032d93f642f64180aa3"},
               {"topics", Json::array({"0x" + std::string(64, '1')})},
               {"data", "0x"},
               {"blockNumber", "0x10"},
               {"blockHash", "0x" + std::string(64, '2')},
               {"transactionHash", "0x" + std::string(64, '3')},
               {"logIndex", "0x1"},
               {"removed", false}};
  auto log = chain::parse_log(good);
  ASSERT_TRUE(log) << log.error();
  EXPECT_EQ(log->block_number, 16u);
  for (const char* field : {"address", "topics", "data", "blockNumber", "blockHash", "logIndex"}) {
    Json bad = good;
    bad[field] = 12;
    EXPECT_TRUE(chain::parse_log(bad).error().is(Errc::kMalformedReply)) << field;
    bad.erase(field);
    EXPECT_TRUE(chain::parse_log(bad).error().is(Errc::kMalformedReply)) << field;
  }
  Json short_address = good;
  short_address["address"] = "0x1234";
  EXPECT_FALSE(chain::parse_log(short_address));
  Json huge_number = good;
  huge_number["blockNumber"] = "0x" + std::string(20, 'f');
  EXPECT_FALSE(chain::parse_log(huge_number));
  EXPECT_FALSE(chain::parse_receipt(Json::array()));
  EXPECT_FALSE(chain::parse_block_header(Json("x")));
}

}  // namespace
}  // namespace br2k::registry
