// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {Test} from "./Test.sol";
import {ServiceRegistry} from "../src/ServiceRegistry.sol";

/// @dev Shared fixture: one service `ID`, registered by `provider`, with the node account `node`
///      added as a manager; `stranger` is neither.
abstract contract RegistryFixture is Test {
    bytes32 internal constant ID = keccak256("br2k/test-service");
    bytes32 internal constant OTHER_ID = keccak256("br2k/other-service");
    string internal constant NAME = "Test service";
    string internal constant DESCRIPTION = "A key-value store kept alive by BR2K";
    string internal constant LOCATION = "http://10.0.0.1:8080";
    string internal constant IMAGE = "registry.example.com/kv:1.0";
    bytes32 internal constant DIGEST = keccak256("image digest");

    ServiceRegistry internal registry;
    address internal provider;
    address internal node;
    address internal stranger;

    function setUp() public virtual {
        registry = new ServiceRegistry();
        provider = makeAddr("provider");
        node = makeAddr("node");
        stranger = makeAddr("stranger");
        vm.prank(provider);
        registry.register(ID, NAME, DESCRIPTION, LOCATION, IMAGE, DIGEST);
        vm.prank(provider);
        registry.addManager(ID, node);
    }

    function storedEpoch() internal view returns (uint64 epoch) {
        (, epoch) = registry.getServiceLocation(ID);
    }

    function err(bytes4 selector, bytes32 id, address account)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(selector, id, account);
    }

    function tooLong(string memory field, uint256 length, uint256 max)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(ServiceRegistry.TooLong.selector, field, length, max);
    }
}

contract RegisterTest is RegistryFixture {
    function test_Register_RecordsEveryFieldWithCallerAsProviderAndOnlyManager() public {
        vm.prank(stranger);
        registry.register(OTHER_ID, NAME, DESCRIPTION, LOCATION, IMAGE, DIGEST);

        ServiceRegistry.Service memory s = registry.getService(OTHER_ID);
        assertEq(s.provider, stranger);
        assertEq(s.locationEpoch, 0);
        assertEq(s.location, LOCATION);
        assertEq(s.name, NAME);
        assertEq(s.description, DESCRIPTION);
        address[] memory managers = new address[](1);
        managers[0] = stranger;
        assertEq(s.managers, managers);
        assertEq(s.image, IMAGE);
        assertEq(s.imageDigest, DIGEST);
        assertEq(s.backupVersion, 0);
        assertEq(s.snapshotHash, bytes32(0));
        assertEq(s.backupStorageLocation, "");
        assertEq(s.backupLog, "");
        assertTrue(registry.isManager(OTHER_ID, stranger));
        assertFalse(registry.isManager(OTHER_ID, provider));
    }

    function test_Register_EmitsRegisteredManagerAddedAndNewLocationAtEpochZero() public {
        vm.expectEmit(address(registry));
        emit ServiceRegistry.ServiceRegistered(OTHER_ID, stranger, NAME, LOCATION);
        vm.expectEmit(address(registry));
        emit ServiceRegistry.ManagerAdded(OTHER_ID, stranger);
        vm.expectEmit(address(registry));
        emit ServiceRegistry.NewLocation(OTHER_ID, LOCATION, 0);
        vm.prank(stranger);
        registry.register(OTHER_ID, NAME, DESCRIPTION, LOCATION, IMAGE, DIGEST);
    }

    function test_Register_FailsWhenIdIsTaken() public {
        vm.expectRevert(abi.encodeWithSelector(ServiceRegistry.ServiceExists.selector, ID));
        vm.prank(stranger);
        registry.register(ID, "impostor", "", "http://evil.example", "", bytes32(0));

        vm.expectRevert(abi.encodeWithSelector(ServiceRegistry.ServiceExists.selector, ID));
        vm.prank(provider);
        registry.register(ID, NAME, DESCRIPTION, LOCATION, IMAGE, DIGEST);
        assertEq(registry.getService(ID).provider, provider);
    }

    function test_Register_FailsOnEmptyLocation() public {
        vm.expectRevert(abi.encodeWithSelector(ServiceRegistry.EmptyLocation.selector, OTHER_ID));
        registry.register(OTHER_ID, NAME, DESCRIPTION, "", IMAGE, DIGEST);
    }

    function test_Register_FailsOnEachTooLongField() public {
        string memory longName = repeatA(registry.MAX_NAME_LENGTH() + 1);
        vm.expectRevert(tooLong("name", bytes(longName).length, registry.MAX_NAME_LENGTH()));
        registry.register(OTHER_ID, longName, DESCRIPTION, LOCATION, IMAGE, DIGEST);

        string memory longDescription = repeatA(registry.MAX_DESCRIPTION_LENGTH() + 1);
        vm.expectRevert(
            tooLong("description", bytes(longDescription).length, registry.MAX_DESCRIPTION_LENGTH())
        );
        registry.register(OTHER_ID, NAME, longDescription, LOCATION, IMAGE, DIGEST);

        string memory longLocation = repeatA(registry.MAX_LOCATION_LENGTH() + 1);
        vm.expectRevert(
            tooLong("location", bytes(longLocation).length, registry.MAX_LOCATION_LENGTH())
        );
        registry.register(OTHER_ID, NAME, DESCRIPTION, longLocation, IMAGE, DIGEST);

        string memory longImage = repeatA(registry.MAX_IMAGE_LENGTH() + 1);
        vm.expectRevert(tooLong("image", bytes(longImage).length, registry.MAX_IMAGE_LENGTH()));
        registry.register(OTHER_ID, NAME, DESCRIPTION, LOCATION, longImage, DIGEST);
    }

    function test_Register_AcceptsFieldsAtTheirMaximumLength() public {
        string memory name = repeatA(registry.MAX_NAME_LENGTH());
        string memory description = repeatA(registry.MAX_DESCRIPTION_LENGTH());
        string memory location = repeatA(registry.MAX_LOCATION_LENGTH());
        string memory image = repeatA(registry.MAX_IMAGE_LENGTH());
        registry.register(OTHER_ID, name, description, location, image, DIGEST);
        ServiceRegistry.Service memory s = registry.getService(OTHER_ID);
        assertEq(s.name, name);
        assertEq(s.description, description);
        assertEq(s.location, location);
        assertEq(s.image, image);
    }

    function test_Services_AreIndependent() public {
        vm.prank(stranger);
        registry.register(OTHER_ID, "other", "", "http://other.example", "", bytes32(0));

        // The provider and node of ID have no rights over OTHER_ID, and the reverse.
        vm.expectRevert(err(ServiceRegistry.NotManager.selector, OTHER_ID, node));
        vm.prank(node);
        registry.updateLocation(OTHER_ID, "http://10.0.0.9", 5);
        vm.expectRevert(err(ServiceRegistry.NotManager.selector, ID, stranger));
        vm.prank(stranger);
        registry.updateLocation(ID, "http://10.0.0.9", 5);

        vm.prank(stranger);
        registry.updateLocation(OTHER_ID, "http://other.example:2", 7);
        assertEq(storedEpoch(), 0);
        (string memory location, uint64 epoch) = registry.getServiceLocation(OTHER_ID);
        assertEq(location, "http://other.example:2");
        assertEq(epoch, 7);
    }
}

contract UpdateLocationTest is RegistryFixture {
    function test_UpdateLocation_StoresLocationAndEpochAndEmitsNewLocation() public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit ServiceRegistry.NewLocation(ID, "http://10.0.0.2:8080", 42);
        vm.prank(node);
        registry.updateLocation(ID, "http://10.0.0.2:8080", 42);

        (string memory location, uint64 epoch) = registry.getServiceLocation(ID);
        assertEq(location, "http://10.0.0.2:8080");
        assertEq(epoch, 42);
    }

    function test_UpdateLocation_ProviderMayUpdateToo() public {
        vm.prank(provider);
        registry.updateLocation(ID, "http://10.0.0.3:8080", 1);
        assertEq(storedEpoch(), 1);
    }

    function test_UpdateLocation_FailsOnEqualEpoch() public {
        vm.prank(node);
        registry.updateLocation(ID, "http://10.0.0.2:8080", 42);

        vm.expectRevert(
            abi.encodeWithSelector(ServiceRegistry.StaleEpoch.selector, ID, uint64(42), uint64(42))
        );
        vm.prank(node);
        registry.updateLocation(ID, "http://10.0.0.3:8080", 42);
    }

    function test_UpdateLocation_FailsOnLowerEpochAndKeepsNewerLocation() public {
        vm.prank(node);
        registry.updateLocation(ID, "http://new-leader:8080", 42);

        // A deposed leader's late transaction.
        vm.expectRevert(
            abi.encodeWithSelector(ServiceRegistry.StaleEpoch.selector, ID, uint64(17), uint64(42))
        );
        vm.prank(provider);
        registry.updateLocation(ID, "http://old-leader:8080", 17);

        (string memory location, uint64 epoch) = registry.getServiceLocation(ID);
        assertEq(location, "http://new-leader:8080");
        assertEq(epoch, 42);
    }

    function test_UpdateLocation_FailsOnEpochZero() public {
        vm.expectRevert(
            abi.encodeWithSelector(ServiceRegistry.StaleEpoch.selector, ID, uint64(0), uint64(0))
        );
        vm.prank(node);
        registry.updateLocation(ID, "http://10.0.0.2:8080", 0);
    }

    function test_UpdateLocation_FailsForNonManager() public {
        vm.expectRevert(err(ServiceRegistry.NotManager.selector, ID, stranger));
        vm.prank(stranger);
        registry.updateLocation(ID, "http://evil.example", 99);
        assertEq(storedEpoch(), 0);
    }

    function test_UpdateLocation_FailsForUnknownService() public {
        vm.expectRevert(abi.encodeWithSelector(ServiceRegistry.UnknownService.selector, OTHER_ID));
        vm.prank(provider);
        registry.updateLocation(OTHER_ID, "http://10.0.0.2:8080", 1);
    }

    function test_UpdateLocation_FailsOnEmptyOrTooLongLocation() public {
        vm.expectRevert(abi.encodeWithSelector(ServiceRegistry.EmptyLocation.selector, ID));
        vm.prank(node);
        registry.updateLocation(ID, "", 1);

        uint256 max = registry.MAX_LOCATION_LENGTH();
        vm.expectRevert(tooLong("location", max + 1, max));
        vm.prank(node);
        registry.updateLocation(ID, repeatA(max + 1), 1);
    }

    function test_UpdateLocation_LongThenShortLocationReadsBackExactly() public {
        string memory longLocation = repeatA(registry.MAX_LOCATION_LENGTH());
        vm.prank(node);
        registry.updateLocation(ID, longLocation, 1);
        (string memory location,) = registry.getServiceLocation(ID);
        assertEq(location, longLocation);

        vm.prank(node);
        registry.updateLocation(ID, "http://short", 2);
        (location,) = registry.getServiceLocation(ID);
        assertEq(location, "http://short");
    }

    function test_UpdateLocation_RemovedManagerLosesTheRight() public {
        vm.prank(provider);
        registry.removeManager(ID, node);
        vm.expectRevert(err(ServiceRegistry.NotManager.selector, ID, node));
        vm.prank(node);
        registry.updateLocation(ID, "http://10.0.0.2:8080", 1);
    }
}

contract UpdateFieldsTest is RegistryFixture {
    function test_UpdateName_StoresAndEmits() public {
        vm.expectEmit(address(registry));
        emit ServiceRegistry.NameUpdated(ID, "Renamed");
        vm.prank(node);
        registry.updateName(ID, "Renamed");
        assertEq(registry.getService(ID).name, "Renamed");
    }

    function test_UpdateDescription_StoresAndEmits() public {
        vm.expectEmit(address(registry));
        emit ServiceRegistry.DescriptionUpdated(ID, "New description");
        vm.prank(node);
        registry.updateDescription(ID, "New description");
        assertEq(registry.getService(ID).description, "New description");
    }

    function test_UpdateImage_StoresImageAndDigestAndEmits() public {
        bytes32 digest = keccak256("v2");
        vm.expectEmit(address(registry));
        emit ServiceRegistry.ImageUpdated(ID, "registry.example.com/kv:2.0", digest);
        vm.prank(provider);
        registry.updateImage(ID, "registry.example.com/kv:2.0", digest);
        ServiceRegistry.Service memory s = registry.getService(ID);
        assertEq(s.image, "registry.example.com/kv:2.0");
        assertEq(s.imageDigest, digest);
    }

    function test_UpdateFields_FailForNonManager() public {
        bytes memory notManager = err(ServiceRegistry.NotManager.selector, ID, stranger);
        vm.startPrank(stranger);
        vm.expectRevert(notManager);
        registry.updateName(ID, "x");
        vm.expectRevert(notManager);
        registry.updateDescription(ID, "x");
        vm.expectRevert(notManager);
        registry.updateImage(ID, "x", bytes32(0));
        vm.stopPrank();
    }

    function test_UpdateFields_FailForUnknownService() public {
        bytes memory unknown =
            abi.encodeWithSelector(ServiceRegistry.UnknownService.selector, OTHER_ID);
        vm.startPrank(provider);
        vm.expectRevert(unknown);
        registry.updateName(OTHER_ID, "x");
        vm.expectRevert(unknown);
        registry.updateDescription(OTHER_ID, "x");
        vm.expectRevert(unknown);
        registry.updateImage(OTHER_ID, "x", bytes32(0));
        vm.stopPrank();
    }

    function test_UpdateFields_FailWhenTooLong() public {
        vm.startPrank(node);
        uint256 max = registry.MAX_NAME_LENGTH();
        vm.expectRevert(tooLong("name", max + 1, max));
        registry.updateName(ID, repeatA(max + 1));
        max = registry.MAX_DESCRIPTION_LENGTH();
        vm.expectRevert(tooLong("description", max + 1, max));
        registry.updateDescription(ID, repeatA(max + 1));
        max = registry.MAX_IMAGE_LENGTH();
        vm.expectRevert(tooLong("image", max + 1, max));
        registry.updateImage(ID, repeatA(max + 1), bytes32(0));
        vm.stopPrank();
    }
}

contract ManagersTest is RegistryFixture {
    function test_AddManager_GrantsRightsAndEmits() public {
        address node2 = makeAddr("node2");
        vm.expectEmit(true, true, true, true, address(registry));
        emit ServiceRegistry.ManagerAdded(ID, node2);
        vm.prank(provider);
        registry.addManager(ID, node2);

        assertTrue(registry.isManager(ID, node2));
        address[] memory managers = new address[](3);
        (managers[0], managers[1], managers[2]) = (provider, node, node2);
        assertEq(registry.getService(ID).managers, managers);
        vm.prank(node2);
        registry.updateLocation(ID, "http://node2:8080", 3);
    }

    function test_AddManager_FailsForManagerWhoIsNotProvider() public {
        vm.expectRevert(err(ServiceRegistry.NotProvider.selector, ID, node));
        vm.prank(node);
        registry.addManager(ID, stranger);
        assertFalse(registry.isManager(ID, stranger));
    }

    function test_AddManager_FailsForStranger() public {
        vm.expectRevert(err(ServiceRegistry.NotProvider.selector, ID, stranger));
        vm.prank(stranger);
        registry.addManager(ID, stranger);
    }

    function test_AddManager_FailsForUnknownService() public {
        vm.expectRevert(abi.encodeWithSelector(ServiceRegistry.UnknownService.selector, OTHER_ID));
        vm.prank(provider);
        registry.addManager(OTHER_ID, node);
    }

    function test_AddManager_FailsOnZeroAddress() public {
        vm.expectRevert(err(ServiceRegistry.InvalidManager.selector, ID, address(0)));
        vm.prank(provider);
        registry.addManager(ID, address(0));
    }

    function test_AddManager_FailsWhenAlreadyManager() public {
        vm.startPrank(provider);
        vm.expectRevert(err(ServiceRegistry.AlreadyManager.selector, ID, node));
        registry.addManager(ID, node);
        vm.expectRevert(err(ServiceRegistry.AlreadyManager.selector, ID, provider));
        registry.addManager(ID, provider);
        vm.stopPrank();
    }

    function test_AddManager_FailsBeyondMaxManagers() public {
        uint256 max = registry.MAX_MANAGERS();
        vm.startPrank(provider);
        for (uint256 i = 2; i < max; ++i) {
            registry.addManager(ID, vm.addr(0x1000 + i));
        }
        assertEq(registry.getService(ID).managers.length, max);
        vm.expectRevert(abi.encodeWithSelector(ServiceRegistry.TooManyManagers.selector, ID, max));
        registry.addManager(ID, address(0xBEEF));
        // Room again after a removal.
        registry.removeManager(ID, node);
        registry.addManager(ID, address(0xBEEF));
        vm.stopPrank();
    }

    function test_RemoveManager_RevokesRightsAndEmits() public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit ServiceRegistry.ManagerRemoved(ID, node);
        vm.prank(provider);
        registry.removeManager(ID, node);

        assertFalse(registry.isManager(ID, node));
        address[] memory managers = new address[](1);
        managers[0] = provider;
        assertEq(registry.getService(ID).managers, managers);
    }

    function test_RemoveManager_FromTheMiddleKeepsTheOthers() public {
        address node2 = makeAddr("node2");
        address node3 = makeAddr("node3");
        vm.startPrank(provider);
        registry.addManager(ID, node2);
        registry.addManager(ID, node3);
        // [provider, node, node2, node3] -> [provider, node3, node2]
        registry.removeManager(ID, node);
        address[] memory managers = new address[](3);
        (managers[0], managers[1], managers[2]) = (provider, node3, node2);
        assertEq(registry.getService(ID).managers, managers);

        registry.removeManager(ID, node2); // the last one
        registry.removeManager(ID, node3);
        registry.addManager(ID, node); // back again
        vm.stopPrank();
        managers = new address[](2);
        (managers[0], managers[1]) = (provider, node);
        assertEq(registry.getService(ID).managers, managers);
        assertTrue(registry.isManager(ID, node));
        assertFalse(registry.isManager(ID, node2));
        assertFalse(registry.isManager(ID, node3));
    }

    function test_RemoveManager_FailsForProvider() public {
        vm.expectRevert(err(ServiceRegistry.CannotRemoveProvider.selector, ID, provider));
        vm.prank(provider);
        registry.removeManager(ID, provider);
        assertTrue(registry.isManager(ID, provider));
    }

    function test_RemoveManager_FailsForNonManagerAccount() public {
        vm.expectRevert(err(ServiceRegistry.NotManager.selector, ID, stranger));
        vm.prank(provider);
        registry.removeManager(ID, stranger);
    }

    function test_RemoveManager_FailsForManagerWhoIsNotProvider() public {
        vm.expectRevert(err(ServiceRegistry.NotProvider.selector, ID, node));
        vm.prank(node);
        registry.removeManager(ID, provider);
        vm.expectRevert(err(ServiceRegistry.NotProvider.selector, ID, node));
        vm.prank(node);
        registry.removeManager(ID, node);
    }

    function test_RemoveManager_FailsForUnknownService() public {
        vm.expectRevert(abi.encodeWithSelector(ServiceRegistry.UnknownService.selector, OTHER_ID));
        vm.prank(provider);
        registry.removeManager(OTHER_ID, node);
    }
}

contract ViewsTest is RegistryFixture {
    function test_GetServiceLocation_FailsForUnknownService() public {
        vm.expectRevert(abi.encodeWithSelector(ServiceRegistry.UnknownService.selector, OTHER_ID));
        registry.getServiceLocation(OTHER_ID);
    }

    function test_GetService_FailsForUnknownService() public {
        vm.expectRevert(abi.encodeWithSelector(ServiceRegistry.UnknownService.selector, OTHER_ID));
        registry.getService(OTHER_ID);
    }

    function test_IsManager_IsFalseForUnknownService() public view {
        assertFalse(registry.isManager(OTHER_ID, provider));
    }

    function test_GetServiceLocation_StartsAtRegisteredLocationEpochZero() public view {
        (string memory location, uint64 epoch) = registry.getServiceLocation(ID);
        assertEq(location, LOCATION);
        assertEq(epoch, 0);
    }
}

contract ClaimTest is RegistryFixture {
    function test_SendClaim_AnyoneMayClaimAndTheClaimerIsRecorded() public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit ServiceRegistry.Claim(ID, LOCATION, stranger, 0, "connection refused");
        vm.prank(stranger);
        registry.sendClaim(ID, LOCATION, 0, "connection refused");
    }

    function test_SendClaim_ChangesNothing() public {
        bytes memory before = abi.encode(registry.getService(ID));
        vm.prank(stranger);
        registry.sendClaim(ID, LOCATION, 0, "timeout");
        assertEq(abi.encode(registry.getService(ID)), before);
    }

    function test_SendClaim_AboutTheCurrentEpochAfterAnUpdate() public {
        vm.prank(node);
        registry.updateLocation(ID, "http://10.0.0.2:8080", 9);
        vm.expectEmit(true, true, true, true, address(registry));
        emit ServiceRegistry.Claim(ID, "http://10.0.0.2:8080", stranger, 9, "");
        vm.prank(stranger);
        registry.sendClaim(ID, "http://10.0.0.2:8080", 9, "");
    }

    function test_SendClaim_FailsWhenTheLocationChangedSince() public {
        vm.prank(node);
        registry.updateLocation(ID, "http://10.0.0.2:8080", 9);
        vm.expectRevert(
            abi.encodeWithSelector(ServiceRegistry.StaleClaim.selector, ID, uint64(0), uint64(9))
        );
        vm.prank(stranger);
        registry.sendClaim(ID, LOCATION, 0, "timeout");
        // An epoch the chain has not seen is refused as well.
        vm.expectRevert(
            abi.encodeWithSelector(ServiceRegistry.StaleClaim.selector, ID, uint64(10), uint64(9))
        );
        vm.prank(stranger);
        registry.sendClaim(ID, LOCATION, 10, "timeout");
    }

    function test_SendClaim_FailsForUnknownService() public {
        vm.expectRevert(abi.encodeWithSelector(ServiceRegistry.UnknownService.selector, OTHER_ID));
        registry.sendClaim(OTHER_ID, LOCATION, 0, "");
    }

    function test_SendClaim_FailsWhenTooLong() public {
        uint256 max = registry.MAX_LOCATION_LENGTH();
        vm.expectRevert(tooLong("failedLocation", max + 1, max));
        registry.sendClaim(ID, repeatA(max + 1), 0, "");
        max = registry.MAX_REASON_LENGTH();
        vm.expectRevert(tooLong("reason", max + 1, max));
        registry.sendClaim(ID, LOCATION, 0, repeatA(max + 1));
    }
}

contract BackupLogTest is RegistryFixture {
    bytes internal constant LOG = hex"00112233445566778899aabbccddeeff";
    bytes32 internal constant SNAPSHOT = keccak256("snapshot 1");

    function test_StoreBackupLog_StoresAndEmits() public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit ServiceRegistry.BackupLogStored(ID, 1, SNAPSHOT, "s3://backups/kv/1", LOG);
        vm.prank(node);
        registry.storeBackupLog(ID, 1, LOG, SNAPSHOT, "s3://backups/kv/1");

        ServiceRegistry.Service memory s = registry.getService(ID);
        assertEq(s.backupVersion, 1);
        assertEq(s.backupLog, LOG);
        assertEq(s.snapshotHash, SNAPSHOT);
        assertEq(s.backupStorageLocation, "s3://backups/kv/1");
    }

    function test_StoreBackupLog_ReplacesOlderVersion() public {
        vm.startPrank(node);
        registry.storeBackupLog(ID, 1, LOG, SNAPSHOT, "s3://backups/kv/1");
        registry.storeBackupLog(ID, 5, hex"aa", keccak256("snapshot 5"), "s3://backups/kv/5");
        vm.stopPrank();
        ServiceRegistry.Service memory s = registry.getService(ID);
        assertEq(s.backupVersion, 5);
        assertEq(s.backupLog, hex"aa");
        assertEq(s.snapshotHash, keccak256("snapshot 5"));
        assertEq(s.backupStorageLocation, "s3://backups/kv/5");
    }

    function test_StoreBackupLog_FailsUnlessVersionGrows() public {
        vm.startPrank(node);
        vm.expectRevert(
            abi.encodeWithSelector(
                ServiceRegistry.StaleBackupVersion.selector, ID, uint64(0), uint64(0)
            )
        );
        registry.storeBackupLog(ID, 0, LOG, SNAPSHOT, "");
        registry.storeBackupLog(ID, 3, LOG, SNAPSHOT, "");
        vm.expectRevert(
            abi.encodeWithSelector(
                ServiceRegistry.StaleBackupVersion.selector, ID, uint64(3), uint64(3)
            )
        );
        registry.storeBackupLog(ID, 3, LOG, SNAPSHOT, "");
        vm.expectRevert(
            abi.encodeWithSelector(
                ServiceRegistry.StaleBackupVersion.selector, ID, uint64(2), uint64(3)
            )
        );
        registry.storeBackupLog(ID, 2, LOG, SNAPSHOT, "");
        vm.stopPrank();
    }

    function test_StoreBackupLog_FailsForNonManagerAndUnknownService() public {
        vm.expectRevert(err(ServiceRegistry.NotManager.selector, ID, stranger));
        vm.prank(stranger);
        registry.storeBackupLog(ID, 1, LOG, SNAPSHOT, "");
        vm.expectRevert(abi.encodeWithSelector(ServiceRegistry.UnknownService.selector, OTHER_ID));
        vm.prank(node);
        registry.storeBackupLog(OTHER_ID, 1, LOG, SNAPSHOT, "");
    }

    function test_StoreBackupLog_FailsWhenTooLong() public {
        vm.startPrank(node);
        uint256 max = registry.MAX_BACKUP_LOG_LENGTH();
        vm.expectRevert(tooLong("encryptedLog", max + 1, max));
        registry.storeBackupLog(ID, 1, new bytes(max + 1), SNAPSHOT, "");
        max = registry.MAX_LOCATION_LENGTH();
        vm.expectRevert(tooLong("storageLocation", max + 1, max));
        registry.storeBackupLog(ID, 1, LOG, SNAPSHOT, repeatA(max + 1));
        vm.stopPrank();
    }
}
