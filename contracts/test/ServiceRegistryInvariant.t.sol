// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {Test, TestBase} from "./Test.sol";
import {ServiceRegistry} from "../src/ServiceRegistry.sol";

/// @dev The invariant fuzzer calls this handler's functions in random order with random arguments
///      (forge: [invariant] runs x depth). Each function makes one registry call as one of a few
///      actors (the provider, other accounts) and checks the outcome against a model of what the
///      registry should hold; any disagreement is counted and fails
///      `invariant_EveryCallHadTheExpectedOutcome`.
contract RegistryHandler is TestBase {
    bytes32 public constant ID = keccak256("br2k/invariant-service");
    uint256 internal constant ACTORS = 6;

    ServiceRegistry public immutable registry;
    address public immutable provider;
    address[] internal _actors; // _actors[0] is the provider

    // Model.
    uint64 public maxAcceptedEpoch;
    uint64 public backupVersion;
    mapping(address account => bool) public modelManager;
    uint256 public modelManagerCount;

    // Observations.
    uint64 public lastSeenEpoch;
    uint256 public epochDecreases;
    uint256 public wrongOutcomes;
    string public firstWrongOutcome;

    constructor(ServiceRegistry registry_) {
        registry = registry_;
        provider = makeAddr("invariant-provider");
        _actors.push(provider);
        for (uint256 i = 1; i < ACTORS; ++i) {
            _actors.push(makeAddr(string.concat("invariant-actor-", vm.toString(i))));
        }
        vm.prank(provider);
        registry.register(ID, "invariant", "", "http://initial:8080", "", bytes32(0));
        modelManager[provider] = true;
        modelManagerCount = 1;
    }

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    // ---------------------------------------------------------------------------------------------
    // Actions

    /// Epochs are drawn near the stored one half of the time, so both outcomes occur often.
    function updateLocation(uint256 actorSeed, uint64 epoch, bool nearCurrent) external {
        address actor = _actor(actorSeed);
        if (nearCurrent) epoch = _near(maxAcceptedEpoch, epoch);
        bytes memory expected;
        if (!modelManager[actor]) {
            expected = abi.encodeWithSelector(ServiceRegistry.NotManager.selector, ID, actor);
        } else if (epoch <= maxAcceptedEpoch) {
            expected = abi.encodeWithSelector(
                ServiceRegistry.StaleEpoch.selector, ID, epoch, maxAcceptedEpoch
            );
        }
        string memory location = string.concat("http://leader-", vm.toString(epoch), ":8080");
        vm.prank(actor);
        try registry.updateLocation(ID, location, epoch) {
            if (_succeeded(expected)) maxAcceptedEpoch = epoch;
        } catch (bytes memory reason) {
            _reverted(expected, reason);
        }
        _observe();
    }

    function addManager(uint256 callerSeed, uint256 accountSeed) external {
        address caller = _actor(callerSeed);
        address account = accountSeed % (ACTORS + 1) == ACTORS ? address(0) : _actor(accountSeed);
        bytes memory expected;
        if (caller != provider) {
            expected = abi.encodeWithSelector(ServiceRegistry.NotProvider.selector, ID, caller);
        } else if (account == address(0)) {
            expected = abi.encodeWithSelector(ServiceRegistry.InvalidManager.selector, ID, account);
        } else if (modelManager[account]) {
            expected = abi.encodeWithSelector(ServiceRegistry.AlreadyManager.selector, ID, account);
        }
        vm.prank(caller);
        try registry.addManager(ID, account) {
            if (_succeeded(expected)) {
                modelManager[account] = true;
                ++modelManagerCount;
            }
        } catch (bytes memory reason) {
            _reverted(expected, reason);
        }
        _observe();
    }

    function removeManager(uint256 callerSeed, uint256 accountSeed) external {
        address caller = _actor(callerSeed);
        address account = _actor(accountSeed);
        bytes memory expected;
        if (caller != provider) {
            expected = abi.encodeWithSelector(ServiceRegistry.NotProvider.selector, ID, caller);
        } else if (account == provider) {
            expected =
                abi.encodeWithSelector(ServiceRegistry.CannotRemoveProvider.selector, ID, account);
        } else if (!modelManager[account]) {
            expected = abi.encodeWithSelector(ServiceRegistry.NotManager.selector, ID, account);
        }
        vm.prank(caller);
        try registry.removeManager(ID, account) {
            if (_succeeded(expected)) {
                modelManager[account] = false;
                --modelManagerCount;
            }
        } catch (bytes memory reason) {
            _reverted(expected, reason);
        }
        _observe();
    }

    function sendClaim(uint256 callerSeed, uint64 epoch, bool current) external {
        address caller = _actor(callerSeed);
        if (current) epoch = maxAcceptedEpoch;
        bytes memory expected;
        if (epoch != maxAcceptedEpoch) {
            expected = abi.encodeWithSelector(
                ServiceRegistry.StaleClaim.selector, ID, epoch, maxAcceptedEpoch
            );
        }
        vm.prank(caller);
        try registry.sendClaim(ID, "http://unreachable", epoch, "timeout") {
            _succeeded(expected);
        } catch (bytes memory reason) {
            _reverted(expected, reason);
        }
        _observe();
    }

    function storeBackupLog(uint256 callerSeed, uint64 version, bool nearCurrent) external {
        address caller = _actor(callerSeed);
        if (nearCurrent) version = _near(backupVersion, version);
        bytes memory expected;
        if (!modelManager[caller]) {
            expected = abi.encodeWithSelector(ServiceRegistry.NotManager.selector, ID, caller);
        } else if (version <= backupVersion) {
            expected = abi.encodeWithSelector(
                ServiceRegistry.StaleBackupVersion.selector, ID, version, backupVersion
            );
        }
        vm.prank(caller);
        try registry.storeBackupLog(
            ID, version, hex"c0ffee", keccak256(abi.encode(version)), "s3://b"
        ) {
            if (_succeeded(expected)) backupVersion = version;
        } catch (bytes memory reason) {
            _reverted(expected, reason);
        }
        _observe();
    }

    function updateName(uint256 callerSeed) external {
        address caller = _actor(callerSeed);
        bytes memory expected;
        if (!modelManager[caller]) {
            expected = abi.encodeWithSelector(ServiceRegistry.NotManager.selector, ID, caller);
        }
        vm.prank(caller);
        try registry.updateName(ID, "renamed") {
            _succeeded(expected);
        } catch (bytes memory reason) {
            _reverted(expected, reason);
        }
        _observe();
    }

    // ---------------------------------------------------------------------------------------------

    function _actor(uint256 seed) internal view returns (address) {
        return _actors[seed % ACTORS];
    }

    /// A value in [current - 1, current + 2] (clamped to uint64), derived from `seed`.
    function _near(uint64 current, uint64 seed) internal pure returns (uint64) {
        uint256 low = current == 0 ? 0 : uint256(current) - 1;
        uint256 high = uint256(current) + 2;
        if (high > type(uint64).max) high = type(uint64).max;
        return uint64(bound(seed, low, high));
    }

    /// Records a success; returns whether one was expected (`expected` empty).
    function _succeeded(bytes memory expected) internal returns (bool) {
        if (expected.length == 0) return true;
        _wrong(string.concat("succeeded; expected revert ", vm.toString(expected)));
        return false;
    }

    function _reverted(bytes memory expected, bytes memory reason) internal {
        if (expected.length == 0 || keccak256(reason) != keccak256(expected)) {
            _wrong(
                string.concat(
                    "reverted with ", vm.toString(reason), "; expected ", vm.toString(expected)
                )
            );
        }
    }

    function _wrong(string memory what) internal {
        if (wrongOutcomes == 0) firstWrongOutcome = what;
        ++wrongOutcomes;
    }

    function _observe() internal {
        (, uint64 epoch) = registry.getServiceLocation(ID);
        if (epoch < lastSeenEpoch) ++epochDecreases;
        lastSeenEpoch = epoch;
    }
}

contract ServiceRegistryInvariantTest is Test {
    ServiceRegistry internal registry;
    RegistryHandler internal handler;

    function setUp() public {
        registry = new ServiceRegistry();
        handler = new RegistryHandler(registry);
        targetContract(address(handler));
    }

    /// The stored epoch never went down between calls, and equals the greatest accepted epoch.
    function invariant_LocationEpochNeverDecreases() public view {
        assertEq(handler.epochDecreases(), 0, "location epoch decreased");
        (, uint64 epoch) = registry.getServiceLocation(handler.ID());
        assertEq(epoch, handler.maxAcceptedEpoch(), "stored epoch != greatest accepted epoch");
    }

    function invariant_ProviderIsAlwaysManager() public view {
        bytes32 id = handler.ID();
        address provider = handler.provider();
        ServiceRegistry.Service memory s = registry.getService(id);
        assertEq(s.provider, provider);
        assertTrue(registry.isManager(id, provider), "provider is not a manager");
        bool listed = false;
        for (uint256 i = 0; i < s.managers.length; ++i) {
            listed = listed || s.managers[i] == provider;
        }
        assertTrue(listed, "provider missing from the managers list");
    }

    /// Only the provider's successful add/remove calls changed the manager set.
    function invariant_ManagersMatchTheModel() public view {
        bytes32 id = handler.ID();
        address[] memory actors = handler.actors();
        for (uint256 i = 0; i < actors.length; ++i) {
            assertEq(registry.isManager(id, actors[i]), handler.modelManager(actors[i]));
        }
        assertEq(
            registry.getService(id).managers.length,
            handler.modelManagerCount(),
            "managers list length"
        );
    }

    /// Every call succeeded or failed exactly as the rules say (authorization, epochs, versions).
    function invariant_EveryCallHadTheExpectedOutcome() public view {
        assertEq(handler.wrongOutcomes(), 0, handler.firstWrongOutcome());
    }
}
