// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {Test} from "./Test.sol";
import {ServiceRegistry} from "../src/ServiceRegistry.sol";

/// @dev Gas benchmark: each state-changing function once, with realistic arguments, from a
///      registered service with three node managers (setUp makes no other kind of call, so each
///      row of the gas report is one function in one situation). Meant for
///
///        scripts/forge-test.sh <dir> --match-contract ServiceRegistryGasTest \
///            --gas-report --isolate
///
///      where --isolate runs every registry call as its own transaction (cold storage, intrinsic
///      cost included), so the report shows what a real transaction costs. Run plainly, these are
///      smoke tests.
contract ServiceRegistryGasTest is Test {
    bytes32 internal constant ID = keccak256("br2k/gas");
    /// A typical leader URL (34 bytes: a length slot and two data slots) and a short one (one
    /// slot).
    string internal constant URL = "https://node-2.kv.example.com:8443";
    string internal constant SHORT_URL = "http://10.0.0.2:8080";

    ServiceRegistry internal registry;
    address internal provider;
    address internal node1;
    address internal node2;
    address internal node3;
    address internal user;

    function setUp() public {
        registry = new ServiceRegistry();
        provider = makeAddr("provider");
        node1 = makeAddr("node1");
        node2 = makeAddr("node2");
        node3 = makeAddr("node3");
        user = makeAddr("user");
        vm.startPrank(provider);
        registry.register(
            ID,
            "kv",
            "A replicated key-value store",
            "https://node-1.kv.example.com:8443",
            "registry.example.com/br2k/kv:1.4.2",
            keccak256("image")
        );
        registry.addManager(ID, node1);
        registry.addManager(ID, node2);
        registry.addManager(ID, node3);
        vm.stopPrank();
    }

    function test_Gas_Register() public {
        vm.prank(user);
        registry.register(
            keccak256("br2k/gas-2"),
            "kv",
            "A replicated key-value store",
            URL,
            "registry.example.com/br2k/kv:1.4.2",
            keccak256("image")
        );
    }

    /// The failover path: a new leader publishes itself (a URL as long as the old one).
    function test_Gas_UpdateLocation() public {
        vm.prank(node2);
        registry.updateLocation(ID, URL, 12);
    }

    function test_Gas_UpdateLocationShortUrl() public {
        vm.prank(node2);
        registry.updateLocation(ID, SHORT_URL, 12);
    }

    /// The failover path: a user reports the leader unreachable.
    function test_Gas_SendClaim() public {
        vm.prank(user);
        registry.sendClaim(ID, "https://node-1.kv.example.com:8443", 0, "connect timeout");
    }

    function test_Gas_UpdateName() public {
        vm.prank(node1);
        registry.updateName(ID, "kv-prod");
    }

    function test_Gas_UpdateDescription() public {
        vm.prank(node1);
        registry.updateDescription(ID, "A replicated key-value store (production)");
    }

    function test_Gas_UpdateImage() public {
        vm.prank(node1);
        registry.updateImage(ID, "registry.example.com/br2k/kv:1.4.3", keccak256("image 2"));
    }

    function test_Gas_AddManager() public {
        vm.prank(provider);
        registry.addManager(ID, makeAddr("node4"));
    }

    function test_Gas_RemoveManager() public {
        vm.prank(provider);
        registry.removeManager(ID, node1);
    }

    /// A 512-byte encrypted backup log (random-looking bytes, as ciphertext is).
    function test_Gas_StoreBackupLog() public {
        bytes memory log = new bytes(512);
        for (uint256 i = 0; i < log.length; i += 32) {
            bytes32 word = keccak256(abi.encode(i));
            assembly ("memory-safe") {
                mstore(add(add(log, 32), i), word)
            }
        }
        vm.prank(node1);
        registry.storeBackupLog(ID, 1, log, keccak256("snapshot"), "s3://br2k-backups/kv/00000001");
    }
}
