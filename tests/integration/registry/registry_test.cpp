// The typed registry client against a real anvil node: every function and view, and every refusal
// decoded into its custom error.
#include <br2k/chain/tx_sender.hpp>

#include "registry_test_base.hpp"

namespace br2k::testing {
namespace {

using chain::revert_name;
using registry::RegistryClient;

class RegistryTest : public RegistryTestBase {
 protected:
  // A registry client acting as another account.
  std::unique_ptr<chain::TxSender> other_sender(std::string_view hex) {
    return std::make_unique<chain::TxSender>(*rpc_, key(hex), registry_sender_options());
  }
};

TEST_F(RegistryTest, RegisterThenReadTheWholeRecord) {
  register_service("svc-a", "http://10.0.0.1:8080/");
  auto record = run(registry_->get_service(id("svc-a"), deadline()));
  ASSERT_TRUE(record) << record.error();
  EXPECT_EQ(record->provider, sender_->address());
  EXPECT_EQ(record->location, "http://10.0.0.1:8080/");
  EXPECT_EQ(record->location_epoch, 0u);
  EXPECT_EQ(record->name, "svc-a");
  EXPECT_EQ(record->description, "test service");
  EXPECT_EQ(record->image, "registry.example/app:1");
  ASSERT_EQ(record->managers.size(), 1u);
  EXPECT_EQ(record->managers[0], sender_->address());
  EXPECT_EQ(record->backup_version, 0u);

  auto location = run(registry_->get_service_location(id("svc-a"), deadline()));
  ASSERT_TRUE(location) << location.error();
  EXPECT_EQ(*location, (registry::Location{"http://10.0.0.1:8080/", 0}));
  auto manager = run(registry_->is_manager(id("svc-a"), sender_->address(), deadline()));
  ASSERT_TRUE(manager);
  EXPECT_TRUE(*manager);
}

TEST_F(RegistryTest, RegisteringATakenIdRevertsWithServiceExists) {
  register_service("svc-a");
  registry::Registration again;
  again.id = id("svc-a");
  again.location = "http://elsewhere/";
  auto r = run(registry_->register_service(std::move(again), deadline()));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kReverted)) << r.error();
  EXPECT_EQ(revert_name(r.error()), "ServiceExists");
}

TEST_F(RegistryTest, UpdateLocationNeedsAGreaterEpoch) {
  register_service("svc-a");
  auto first = run(registry_->update_location(id("svc-a"), "http://n1/", 7, deadline()));
  ASSERT_TRUE(first) << first.error();
  EXPECT_TRUE(first->success);

  // A stale leader's late update: refused, with both epochs in the decoded error.
  auto stale = run(registry_->update_location(id("svc-a"), "http://n0/", 5, deadline()));
  ASSERT_FALSE(stale);
  EXPECT_TRUE(stale.error().is(Errc::kReverted));
  EXPECT_EQ(revert_name(stale.error()), "StaleEpoch");
  EXPECT_NE(stale.error().detail.find("given=5"), std::string::npos) << stale.error();
  EXPECT_NE(stale.error().detail.find("current=7"), std::string::npos) << stale.error();
  auto replay = run(registry_->update_location(id("svc-a"), "http://n1/", 7, deadline()));
  ASSERT_FALSE(replay);
  EXPECT_EQ(revert_name(replay.error()), "StaleEpoch");

  auto location = run(registry_->get_service_location(id("svc-a"), deadline()));
  ASSERT_TRUE(location);
  EXPECT_EQ(*location, (registry::Location{"http://n1/", 7}));
}

TEST_F(RegistryTest, NonManagerUpdateRevertsWithNotManager) {
  register_service("svc-a");
  auto stranger = other_sender(kSecondKey);
  RegistryClient as_stranger(*rpc_, registry_->contract(), stranger.get());
  auto r = run(as_stranger.update_location(id("svc-a"), "http://evil/", 100, deadline()));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kReverted));
  EXPECT_EQ(revert_name(r.error()), "NotManager");
  EXPECT_NE(r.error().detail.find(eth::to_checksum_address(stranger->address())), std::string::npos)
      << r.error();
  for (auto* call : {+[](RegistryClient&c, registry::ServiceId i, Deadline d) {
                       return c.update_name(i, "x", d);
                     },
                     +[](RegistryClient&c, registry::ServiceId i, Deadline d) {
                       return c.update_description(i, "x", d);
                     }}) {
    auto refused = run(call(as_stranger, id("svc-a"), deadline()));
    ASSERT_FALSE(refused);
    EXPECT_EQ(revert_name(refused.error()), "NotManager") << refused.error();
  }
  auto location = run(registry_->get_service_location(id("svc-a"), deadline()));
  ASSERT_TRUE(location);
  EXPECT_EQ(location->url, "http://127.0.0.1:1/");
}

TEST_F(RegistryTest, ManagersAreAddedAndRemovedByTheProviderOnly) {
  register_service("svc-a");
  auto node = other_sender(kSecondKey);
  auto stranger = other_sender(kThirdKey);
  RegistryClient as_node(*rpc_, registry_->contract(), node.get());
  RegistryClient as_stranger(*rpc_, registry_->contract(), stranger.get());

  auto added = run(registry_->add_manager(id("svc-a"), node->address(), deadline()));
  ASSERT_TRUE(added) << added.error();
  auto updated = run(as_node.update_location(id("svc-a"), "http://node/", 3, deadline()));
  ASSERT_TRUE(updated) << updated.error();

  // Only the provider manages managers, even a manager may not.
  auto by_manager = run(as_node.add_manager(id("svc-a"), stranger->address(), deadline()));
  ASSERT_FALSE(by_manager);
  EXPECT_EQ(revert_name(by_manager.error()), "NotProvider");
  auto twice = run(registry_->add_manager(id("svc-a"), node->address(), deadline()));
  ASSERT_FALSE(twice);
  EXPECT_EQ(revert_name(twice.error()), "AlreadyManager");
  auto provider = run(registry_->remove_manager(id("svc-a"), sender_->address(), deadline()));
  ASSERT_FALSE(provider);
  EXPECT_EQ(revert_name(provider.error()), "CannotRemoveProvider");

  auto record = run(registry_->get_service(id("svc-a"), deadline()));
  ASSERT_TRUE(record);
  EXPECT_EQ(record->managers.size(), 2u);

  auto removed = run(registry_->remove_manager(id("svc-a"), node->address(), deadline()));
  ASSERT_TRUE(removed) << removed.error();
  auto after = run(as_node.update_location(id("svc-a"), "http://node/", 4, deadline()));
  ASSERT_FALSE(after);
  EXPECT_EQ(revert_name(after.error()), "NotManager");
  auto is = run(registry_->is_manager(id("svc-a"), node->address(), deadline()));
  ASSERT_TRUE(is);
  EXPECT_FALSE(*is);
}

TEST_F(RegistryTest, ClaimsAreForTheCurrentEpochAndFromAnyone) {
  register_service("svc-a");
  ASSERT_TRUE(run(registry_->update_location(id("svc-a"), "http://leader-1/", 11, deadline())));
  auto user = other_sender(kThirdKey);
  RegistryClient as_user(*rpc_, registry_->contract(), user.get());
  auto claim = run(as_user.send_claim(id("svc-a"), "http://leader-1/", 11, "timeout", deadline()));
  ASSERT_TRUE(claim) << claim.error();
  ASSERT_EQ(claim->logs.size(), 1u);
  auto event = registry::decode_event(claim->logs[0]);
  ASSERT_TRUE(event) << event.error();
  const auto& c = std::get<registry::ClaimEvent>(event->body);
  EXPECT_EQ(c.id, id("svc-a"));
  EXPECT_EQ(c.failed_location, "http://leader-1/");
  EXPECT_EQ(c.claimer, user->address());
  EXPECT_EQ(c.failed_epoch, 11u);
  EXPECT_EQ(c.reason, "timeout");

  // The location moved on: a claim about the old one is refused, so the user resolves again.
  auto stale = run(as_user.send_claim(id("svc-a"), "http://leader-0/", 3, "", deadline()));
  ASSERT_FALSE(stale);
  EXPECT_EQ(revert_name(stale.error()), "StaleClaim");
}

TEST_F(RegistryTest, UnknownServiceIsNotFoundForViewsAndRevertsForWrites) {
  auto location = run(registry_->get_service_location(id("nope"), deadline()));
  ASSERT_FALSE(location);
  EXPECT_TRUE(location.error().is(Errc::kNotFound)) << location.error();
  auto record = run(registry_->get_service(id("nope"), deadline()));
  ASSERT_FALSE(record);
  EXPECT_TRUE(record.error().is(Errc::kNotFound));
  auto update = run(registry_->update_location(id("nope"), "http://x/", 1, deadline()));
  ASSERT_FALSE(update);
  EXPECT_EQ(revert_name(update.error()), "UnknownService");
}

TEST_F(RegistryTest, OversizedAndEmptyStringsRevertWithTheirLimits) {
  registry::Registration r;
  r.id = id("svc-big");
  r.location = "http://x/";
  r.name = std::string(300, 'n');
  auto big = run(registry_->register_service(std::move(r), deadline()));
  ASSERT_FALSE(big);
  EXPECT_EQ(revert_name(big.error()), "TooLong");
  EXPECT_NE(big.error().detail.find("\"name\""), std::string::npos) << big.error();
  EXPECT_NE(big.error().detail.find("300"), std::string::npos) << big.error();

  register_service("svc-a");
  auto empty = run(registry_->update_location(id("svc-a"), "", 1, deadline()));
  ASSERT_FALSE(empty);
  EXPECT_EQ(revert_name(empty.error()), "EmptyLocation");
  auto huge = run(registry_->update_location(id("svc-a"), std::string(5000, 'u'), 1, deadline()));
  ASSERT_FALSE(huge);
  EXPECT_EQ(revert_name(huge.error()), "TooLong");
  // Nothing was used up by the refusals: the next update works with the next epoch.
  ASSERT_TRUE(run(registry_->update_location(id("svc-a"), "http://ok/", 1, deadline())));
}

TEST_F(RegistryTest, UpdatesOfTheOtherFieldsAndTheBackupLog) {
  register_service("svc-a");
  ASSERT_TRUE(run(registry_->update_name(id("svc-a"), "Service A", deadline())));
  ASSERT_TRUE(run(registry_->update_description(id("svc-a"), "the first one", deadline())));
  eth::Hash digest{};
  digest[0] = 0xab;
  ASSERT_TRUE(run(registry_->update_image(id("svc-a"), "img:2", digest, deadline())));
  eth::Hash snapshot{};
  snapshot[31] = 0x01;
  Bytes log = {1, 2, 3, 4};
  ASSERT_TRUE(
      run(registry_->store_backup_log(id("svc-a"), 1, log, snapshot, "s3://b/1", deadline())));
  auto stale =
      run(registry_->store_backup_log(id("svc-a"), 1, log, snapshot, "s3://b/1", deadline()));
  ASSERT_FALSE(stale);
  EXPECT_EQ(revert_name(stale.error()), "StaleBackupVersion");

  auto record = run(registry_->get_service(id("svc-a"), deadline()));
  ASSERT_TRUE(record);
  EXPECT_EQ(record->name, "Service A");
  EXPECT_EQ(record->description, "the first one");
  EXPECT_EQ(record->image, "img:2");
  EXPECT_EQ(record->image_digest, digest);
  EXPECT_EQ(record->backup_version, 1u);
  EXPECT_EQ(record->snapshot_hash, snapshot);
  EXPECT_EQ(record->backup_storage_location, "s3://b/1");
  EXPECT_EQ(record->backup_log, log);
}

TEST_F(RegistryTest, NoContractAtTheAddressIsNotFound) {
  RegistryClient nowhere(*rpc_, sender_->address());  // an account, not a contract
  auto r = run(nowhere.get_service_location(id("svc-a"), deadline()));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kNotFound)) << r.error();
}

TEST_F(RegistryTest, ReadOnlyClientRefusesWrites) {
  RegistryClient reader(*rpc_, registry_->contract());
  auto r = run(reader.update_location(id("svc-a"), "http://x/", 1, deadline()));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::kInvalidArgument));
}

}  // namespace
}  // namespace br2k::testing
