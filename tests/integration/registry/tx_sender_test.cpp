// TxSender against a real anvil node: nonces under concurrency and failures, fee modes, chain id,
// receipt deadlines, and reverts decoded from mined transactions.
#include <boost/asio/detached.hpp>
#include <br2k/chain/tx_sender.hpp>
#include <br2k/eth/abi.hpp>
#include <set>

#include "registry_test_base.hpp"

namespace br2k::testing {
namespace {

using chain::Json;
using chain::TxRequest;

class TxSenderTest : public RegistryTestBase {
 protected:
  TxSenderTest() : RegistryTestBase(AnvilOptions{}) {}

  // A plain value transfer to account 2.
  TxRequest transfer(std::uint64_t wei = 1) {
    TxRequest r;
    r.to = key(kThirdKey).address();
    r.value = eth::U256::from_uint64(wei);
    return r;
  }

  std::uint64_t nonce_on_chain(const eth::Address& a) {
    Json params = Json::array({chain::hex_data(a), "latest"});
    auto r = run(chain::call(*rpc_, "eth_getTransactionCount", std::move(params), deadline()));
    return eth::U256::from_hex(r.value().get<std::string>()).value().to_uint64().value();
  }

  Json rpc(std::string method, Json params = Json::array()) {
    auto r = run(chain::call(*rpc_, std::move(method), std::move(params), deadline()));
    EXPECT_TRUE(r) << r.error();
    return r ? *r : Json();
  }
};

TEST_F(TxSenderTest, ConcurrentTransactionsGetDistinctNoncesAndAllAreMined) {
  const auto before = nonce_on_chain(sender_->address());
  constexpr int kCount = 24;
  std::vector<Result<chain::Receipt>> results(kCount, Error(Errc::kCancelled));
  int done = 0;
  for (int i = 0; i < kCount; ++i) {
    boost::asio::co_spawn(
        io_,
        [&, i]() -> Task<void> {
          results[i] = co_await sender_->transact(transfer(), deadline());
          ++done;
        },
        boost::asio::detached);
  }
  run([&]() -> Task<void> {
    while (done < kCount)
      co_await sleep_for(std::chrono::milliseconds(10));
  }());
  std::set<std::string> hashes;
  for (const auto& r : results) {
    ASSERT_TRUE(r) << r.error();
    EXPECT_TRUE(r->success);
    hashes.insert(chain::hex_hash(r->transaction_hash));
  }
  EXPECT_EQ(hashes.size(), static_cast<std::size_t>(kCount));
  EXPECT_EQ(nonce_on_chain(sender_->address()), before + kCount);
}

TEST_F(TxSenderTest, ARefusedTransactionReleasesItsNonceSoLaterOnesAreNotStuck) {
  const auto before = nonce_on_chain(sender_->address());
  // Far more than the account holds, with the gas given so that the node refuses it at
  // eth_sendRawTransaction (after its nonce was taken), not at estimation.
  TxRequest too_much = transfer();
  too_much.value = eth::U256::from_hex("0xffffffffffffffffffffffffffff").value();
  too_much.gas_limit = 21000;
  Result<chain::Receipt> refused = Error(Errc::kCancelled), second = Error(Errc::kCancelled),
                         third = Error(Errc::kCancelled);
  int done = 0;
  auto spawn = [&](Result<chain::Receipt>& out, TxRequest r) {
    boost::asio::co_spawn(
        io_,
        [&out, &done, this, r = std::move(r)]() mutable -> Task<void> {
          out = co_await sender_->transact(std::move(r), deadline());
          ++done;
        },
        boost::asio::detached);
  };
  // The refused one takes nonce n and the second n + 1; n is released and the third reuses it,
  // which unblocks the second.
  spawn(refused, too_much);
  spawn(second, transfer());
  run([&]() -> Task<void> {
    while (done < 1)
      co_await sleep_for(std::chrono::milliseconds(5));
  }());
  spawn(third, transfer());
  run([&]() -> Task<void> {
    while (done < 3)
      co_await sleep_for(std::chrono::milliseconds(10));
  }());
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(Errc::kInvalidArgument)) << refused.error();
  EXPECT_NE(refused.error().detail.find("nsufficient"), std::string::npos) << refused.error();
  ASSERT_TRUE(second) << second.error();
  ASSERT_TRUE(third) << third.error();
  EXPECT_GE(sender_->stats().released_nonces, 1u);
  EXPECT_EQ(nonce_on_chain(sender_->address()), before + 2);
}

TEST_F(TxSenderTest, AnotherSenderOnTheSameAccountCausesAResyncNotAFailure) {
  chain::TxSender other(*rpc_, key(Anvil::kDevPrivateKey), registry_sender_options());
  ASSERT_TRUE(run(sender_->transact(transfer(), deadline())));
  ASSERT_TRUE(run(other.transact(transfer(), deadline())));
  ASSERT_TRUE(run(other.transact(transfer(), deadline())));
  // sender_'s next nonce is now stale by two.
  auto r = run(sender_->transact(transfer(), deadline()));
  ASSERT_TRUE(r) << r.error();
  EXPECT_GE(sender_->stats().resyncs, 1u);
}

TEST_F(TxSenderTest, Eip1559TransactionsOnALondonChain) {
  auto r = run(sender_->transact(transfer(), deadline()));
  ASSERT_TRUE(r) << r.error();
  auto tx = rpc("eth_getTransactionByHash", Json::array({chain::hex_hash(r->transaction_hash)}));
  EXPECT_EQ(tx["type"], "0x2");
  EXPECT_EQ(tx["from"].get<std::string>(), chain::hex_data(sender_->address()));
}

TEST_F(TxSenderTest, LegacyModeSignsWithEip155ReplayProtection) {
  auto options = registry_sender_options();
  options.fee_mode = chain::FeeMode::kLegacy;
  chain::TxSender legacy(*rpc_, key(kSecondKey), options);
  auto r = run(legacy.transact(transfer(), deadline()));
  ASSERT_TRUE(r) << r.error();
  auto tx = rpc("eth_getTransactionByHash", Json::array({chain::hex_hash(r->transaction_hash)}));
  EXPECT_EQ(tx["type"], "0x0");
  // v = y_parity + chain_id * 2 + 35 (EIP-155), chain 31337.
  auto v = eth::U256::from_hex(tx["v"].get<std::string>()).value().to_uint64().value();
  EXPECT_TRUE(v == 31337 * 2 + 35 || v == 31337 * 2 + 36) << v;
}

TEST_F(TxSenderTest, WrongChainIdIsRefusedBeforeSigning) {
  auto options = registry_sender_options();
  options.chain_id = 1;
  chain::TxSender mainnet(*rpc_, key(kSecondKey), options);
  auto r = run(mainnet.transact(transfer(), deadline()));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kInvalidArgument)) << r.error();
  EXPECT_NE(r.error().detail.find("31337"), std::string::npos);
  EXPECT_EQ(nonce_on_chain(mainnet.address()), 0u);
}

TEST_F(TxSenderTest, AMinedRevertIsReplayedForItsReason) {
  register_service("svc-a");
  ASSERT_TRUE(run(registry_->update_location(id("svc-a"), "http://a/", 9, deadline())));
  // Gas given: no estimate, so the stale update is mined and fails on chain.
  const auto& f = *registry::service_registry_abi().function("updateLocation");
  const auto service = id("svc-a");
  std::vector<eth::abi::Value> args{Bytes(service.begin(), service.end()),
                                    std::string("http://old/"), 4};
  TxRequest r;
  r.to = registry_->contract();
  r.data = eth::abi::encode_call(f.signature.selector(), f.signature.types(), args).value();
  r.gas_limit = 200000;
  auto mined = run(sender_->transact(std::move(r), deadline()));
  ASSERT_FALSE(mined);
  EXPECT_TRUE(mined.error().is(Errc::kReverted)) << mined.error();
  EXPECT_EQ(chain::revert_name(mined.error()), "StaleEpoch") << mined.error();
}

class TxSenderNoMiningTest : public RegistryTestBase {
 protected:
  TxSenderNoMiningTest() : RegistryTestBase(AnvilOptions{.extra_args = {"--no-mining"}}) {
    deploy_ = false;
  }
};

TEST_F(TxSenderNoMiningTest, NoReceiptByTheDeadlineIsOutcomeUnknownAndTheWaitCanResume) {
  TxRequest r;
  r.to = key(kThirdKey).address();
  r.value = eth::U256::from_uint64(5);
  auto t0 = Clock::now();
  auto pending = run(sender_->transact(std::move(r), deadline(std::chrono::milliseconds(1500))));
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  ASSERT_FALSE(pending);
  ASSERT_TRUE(pending.error().is(Errc::kOutcomeUnknown)) << pending.error();
  // The detail names the transaction: "transaction 0x<64 hex> sent; ...".
  auto at = pending.error().detail.find("0x");
  ASSERT_NE(at, std::string::npos);
  auto hash_bytes = from_hex(pending.error().detail.substr(at, 66)).value();
  eth::Hash hash;
  std::copy(hash_bytes.begin(), hash_bytes.end(), hash.begin());

  ASSERT_TRUE(run(chain::call(*rpc_, "evm_mine", Json::array(), deadline())));
  auto receipt = run(sender_->wait_receipt(hash, deadline()));
  ASSERT_TRUE(receipt) << receipt.error();
  EXPECT_TRUE(receipt->success);
}

}  // namespace
}  // namespace br2k::testing
