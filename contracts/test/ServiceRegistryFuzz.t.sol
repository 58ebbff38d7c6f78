// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {ServiceRegistry} from "../src/ServiceRegistry.sol";
import {RegistryFixture} from "./ServiceRegistry.t.sol";

/// @dev Property tests of the registry's rules over fuzzed inputs (forge: [fuzz] runs).
contract ServiceRegistryFuzzTest is RegistryFixture {
    /// Longest epoch sequence one run applies (keeps a run cheap; the fuzzer varies the values).
    uint256 internal constant MAX_UPDATES = 24;

    /// Any sequence of updateLocation epochs: each is accepted exactly when it is greater than
    /// the stored one, a refused one changes nothing, and the stored epoch ends as the greatest
    /// accepted one.
    function testFuzz_UpdateLocation_EpochOnlyGrows(uint64[] calldata epochs) public {
        uint64 maxAccepted = 0;
        string memory accepted = LOCATION;
        uint256 n = epochs.length < MAX_UPDATES ? epochs.length : MAX_UPDATES;
        for (uint256 i = 0; i < n; ++i) {
            uint64 epoch = epochs[i];
            string memory location = string.concat("http://leader-", vm.toString(i), ":8080");
            if (epoch > maxAccepted) {
                vm.expectEmit(true, true, true, true, address(registry));
                emit ServiceRegistry.NewLocation(ID, location, epoch);
                vm.prank(i % 2 == 0 ? node : provider);
                registry.updateLocation(ID, location, epoch);
                maxAccepted = epoch;
                accepted = location;
            } else {
                vm.expectRevert(
                    abi.encodeWithSelector(
                        ServiceRegistry.StaleEpoch.selector, ID, epoch, maxAccepted
                    )
                );
                vm.prank(i % 2 == 0 ? node : provider);
                registry.updateLocation(ID, location, epoch);
            }
            (string memory stored, uint64 epochNow) = registry.getServiceLocation(ID);
            assertEq(epochNow, maxAccepted);
            assertEq(stored, accepted);
        }
    }

    /// Two leaders racing: whichever order the transactions land in, the higher epoch wins.
    function testFuzz_UpdateLocation_HigherEpochWinsInAnyOrder(uint64 a, uint64 b, bool aFirst)
        public
    {
        vm.assume(a != b && a != 0 && b != 0);
        (uint64 first, uint64 second) = aFirst ? (a, b) : (b, a);
        vm.startPrank(node);
        registry.updateLocation(ID, "http://first", first);
        if (second > first) {
            registry.updateLocation(ID, "http://second", second);
        } else {
            vm.expectRevert(
                abi.encodeWithSelector(ServiceRegistry.StaleEpoch.selector, ID, second, first)
            );
            registry.updateLocation(ID, "http://second", second);
        }
        vm.stopPrank();
        (string memory location, uint64 epoch) = registry.getServiceLocation(ID);
        assertEq(epoch, a > b ? a : b);
        assertEq(location, second > first ? "http://second" : "http://first");
    }

    /// Every manager-only function refuses a caller that is not a manager, with NotManager naming
    /// it, whatever the arguments (authorization is checked before the arguments).
    function testFuzz_NonManagerAlwaysRevertsWithNotManager(
        address caller,
        string calldata text,
        uint64 number,
        bytes32 word,
        bytes calldata data
    ) public {
        vm.assume(caller != provider && caller != node && caller != VM_ADDRESS);
        bytes memory notManager = err(ServiceRegistry.NotManager.selector, ID, caller);
        bytes memory before = abi.encode(registry.getService(ID));

        vm.startPrank(caller);
        vm.expectRevert(notManager);
        registry.updateLocation(ID, text, number);
        vm.expectRevert(notManager);
        registry.updateName(ID, text);
        vm.expectRevert(notManager);
        registry.updateDescription(ID, text);
        vm.expectRevert(notManager);
        registry.updateImage(ID, text, word);
        vm.expectRevert(notManager);
        registry.storeBackupLog(ID, number, data, word, text);
        vm.stopPrank();

        assertEq(abi.encode(registry.getService(ID)), before);
    }

    /// Only the provider changes managers: any other caller, a manager included, gets NotProvider
    /// from addManager and removeManager, and the manager set stays as it was.
    function testFuzz_OnlyProviderChangesManagers(
        address caller,
        address account,
        bool callerIsManager
    ) public {
        vm.assume(caller != provider && caller != VM_ADDRESS);
        if (callerIsManager && caller != node && caller != address(0)) {
            vm.prank(provider);
            registry.addManager(ID, caller);
        }
        address[] memory before = registry.getService(ID).managers;
        bytes memory notProvider = err(ServiceRegistry.NotProvider.selector, ID, caller);

        vm.startPrank(caller);
        vm.expectRevert(notProvider);
        registry.addManager(ID, account);
        vm.expectRevert(notProvider);
        registry.removeManager(ID, account);
        vm.expectRevert(notProvider);
        registry.removeManager(ID, node);
        vm.stopPrank();

        assertEq(registry.getService(ID).managers, before);
    }

    /// The provider's add and remove keep isManager and the managers list in agreement.
    function testFuzz_ProviderAddRemoveKeepsManagerListConsistent(
        address[8] calldata accounts,
        uint8 removeMask
    ) public {
        vm.startPrank(provider);
        for (uint256 i = 0; i < accounts.length; ++i) {
            address a = accounts[i];
            if (a == address(0) || registry.isManager(ID, a)) continue;
            registry.addManager(ID, a);
        }
        for (uint256 i = 0; i < accounts.length; ++i) {
            address a = accounts[i];
            if ((removeMask >> i) & 1 == 0 || a == provider || !registry.isManager(ID, a)) {
                continue;
            }
            registry.removeManager(ID, a);
            assertFalse(registry.isManager(ID, a));
        }
        vm.stopPrank();

        address[] memory managers = registry.getService(ID).managers;
        assertEq(managers[0], provider);
        for (uint256 i = 0; i < managers.length; ++i) {
            assertTrue(registry.isManager(ID, managers[i]));
            for (uint256 j = i + 1; j < managers.length; ++j) {
                assertTrue(managers[i] != managers[j], "duplicate manager");
            }
        }
        for (uint256 i = 0; i < accounts.length; ++i) {
            bool listed = false;
            for (uint256 j = 0; j < managers.length; ++j) {
                listed = listed || managers[j] == accounts[i];
            }
            assertEq(registry.isManager(ID, accounts[i]), listed);
        }
    }

    /// Anyone may claim about the current epoch; the event names the claimer.
    function testFuzz_SendClaim_FromAnyoneAboutTheCurrentEpoch(
        address claimer,
        uint64 epoch,
        string calldata reason
    ) public {
        vm.assume(bytes(reason).length <= registry.MAX_REASON_LENGTH());
        if (epoch != 0) {
            vm.prank(node);
            registry.updateLocation(ID, "http://current", epoch);
        }
        string memory location = epoch != 0 ? "http://current" : LOCATION;
        vm.expectEmit(true, true, true, true, address(registry));
        emit ServiceRegistry.Claim(ID, location, claimer, epoch, reason);
        vm.prank(claimer);
        registry.sendClaim(ID, location, epoch, reason);
    }
}
