// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

/// @title BR2K service registry
/// @notice The on-chain record of BR2K services: where each service is reachable now (its leader's
///         URL), who may change that, and what a new node needs to recover it. The chain is
///         replicated on machines the operator does not own, so users can find a service, and file
///         claims about it, even when the operator's own infrastructure is gone.
/// @dev Design: PROTOCOL.md, "Service registry contract". Every refusal is a custom error that
///      names the service and the value at fault, and every event indexes the service id, so a
///      client can filter logs by service and explain any failure. `updateLocation` and `sendClaim`
///      are on the failover path and kept cheap: the provider and the location epoch share one
///      storage slot, so existence, the epoch check and the epoch write cost one slot.
contract ServiceRegistry {
    /// @notice The whole record of one service, as `getService` returns it.
    /// @dev Field order is the ABI tuple order; the SDK decodes it. `provider` and `locationEpoch`
    ///      come first and share slot 0 of the record (see the contract comment).
    struct Service {
        /// The account that registered the service. Always a manager; only it changes managers.
        address provider;
        /// Epoch of `location`: the etcd create revision of the leader key of the leader that
        /// published it (0 for the location given at registration). Only grows.
        uint64 locationEpoch;
        /// Access location: the current leader's URL. Never empty.
        string location;
        string name;
        string description;
        /// Accounts allowed to update the record (the provider and the nodes' accounts).
        /// Unordered: removal moves the last manager into the freed place.
        address[] managers;
        /// Recovery data: the container image of the service and its digest (sha256).
        string image;
        bytes32 imageDigest;
        /// Latest backup log: its version (the service's state version, from 1; 0 = none yet),
        /// the encrypted log, the hash of the snapshot it describes, and where that snapshot is.
        uint64 backupVersion;
        bytes32 snapshotHash;
        string backupStorageLocation;
        bytes backupLog;
    }

    /// @notice Longest accepted name, in bytes.
    uint256 public constant MAX_NAME_LENGTH = 256;
    /// @notice Longest accepted description, in bytes.
    uint256 public constant MAX_DESCRIPTION_LENGTH = 4096;
    /// @notice Longest accepted location (also a claim's failed location and a backup's storage
    ///         location), in bytes.
    uint256 public constant MAX_LOCATION_LENGTH = 2048;
    /// @notice Longest accepted container image reference, in bytes.
    uint256 public constant MAX_IMAGE_LENGTH = 512;
    /// @notice Longest accepted claim reason, in bytes.
    uint256 public constant MAX_REASON_LENGTH = 1024;
    /// @notice Longest accepted encrypted backup log, in bytes.
    uint256 public constant MAX_BACKUP_LOG_LENGTH = 8192;
    /// @notice Most managers one service may have (bounds the size of `getService`).
    uint256 public constant MAX_MANAGERS = 64;

    mapping(bytes32 id => Service) private _services;
    /// Position of an account in `_services[id].managers`, plus one; 0 = not a manager.
    mapping(bytes32 id => mapping(address account => uint256 position)) private _managerPosition;

    // ---------------------------------------------------------------------------------------------
    // Events

    /// @notice A service was registered by `provider`.
    event ServiceRegistered(
        bytes32 indexed id, address indexed provider, string name, string location
    );
    /// @notice The service's access location changed; `epoch` is the publishing leader's epoch
    ///         (0 for the location given at registration).
    event NewLocation(bytes32 indexed id, string location, uint64 indexed epoch);
    event NameUpdated(bytes32 indexed id, string name);
    event DescriptionUpdated(bytes32 indexed id, string description);
    event ImageUpdated(bytes32 indexed id, string image, bytes32 digest);
    event ManagerAdded(bytes32 indexed id, address indexed account);
    event ManagerRemoved(bytes32 indexed id, address indexed account);
    /// @notice `claimer` could not reach the service at `failedLocation`, published at
    ///         `failedEpoch`. For the operators; nothing on chain changes.
    event Claim(
        bytes32 indexed id,
        string failedLocation,
        address indexed claimer,
        uint64 failedEpoch,
        string reason
    );
    /// @notice A manager recorded the backup log of state version `version`.
    event BackupLogStored(
        bytes32 indexed id,
        uint64 indexed version,
        bytes32 snapshotHash,
        string storageLocation,
        bytes encryptedLog
    );

    // ---------------------------------------------------------------------------------------------
    // Errors (every refusal)

    /// @notice No service is registered under `id`.
    error UnknownService(bytes32 id);
    /// @notice `register`: a service is already registered under `id`.
    error ServiceExists(bytes32 id);
    /// @notice `account` is not a manager of service `id`: the caller of a manager-only function,
    ///         or the account `removeManager` was asked to remove.
    error NotManager(bytes32 id, address account);
    /// @notice The caller `account` of a provider-only function is not the provider of `id`.
    error NotProvider(bytes32 id, address account);
    /// @notice `updateLocation`: `given` is not greater than the stored epoch `current` (a stale
    ///         leader's late update, or a replay).
    error StaleEpoch(bytes32 id, uint64 given, uint64 current);
    /// @notice `sendClaim`: the claim is about epoch `failedEpoch` but the service's location is
    ///         at epoch `currentEpoch`: the location changed, so the claimer should resolve again.
    error StaleClaim(bytes32 id, uint64 failedEpoch, uint64 currentEpoch);
    /// @notice `storeBackupLog`: `given` is not greater than the stored backup version `current`.
    error StaleBackupVersion(bytes32 id, uint64 given, uint64 current);
    /// @notice `register` or `updateLocation` was given an empty location.
    error EmptyLocation(bytes32 id);
    /// @notice `addManager`: `account` is the zero address.
    error InvalidManager(bytes32 id, address account);
    /// @notice `addManager`: `account` already is a manager of `id`.
    error AlreadyManager(bytes32 id, address account);
    /// @notice `addManager`: service `id` already has `max` managers.
    error TooManyManagers(bytes32 id, uint256 max);
    /// @notice `removeManager`: the provider is always a manager.
    error CannotRemoveProvider(bytes32 id, address provider);
    /// @notice Argument `field` is `length` bytes long; at most `max` are accepted.
    error TooLong(string field, uint256 length, uint256 max);

    // ---------------------------------------------------------------------------------------------
    // Access

    /// @dev Reverts UnknownService, then NotManager for the caller.
    modifier onlyManagers(bytes32 id) {
        if (_services[id].provider == address(0)) revert UnknownService(id);
        if (_managerPosition[id][msg.sender] == 0) revert NotManager(id, msg.sender);
        _;
    }

    /// @dev Reverts UnknownService, then NotProvider for the caller.
    modifier onlyProvider(bytes32 id) {
        address provider = _services[id].provider;
        if (provider == address(0)) revert UnknownService(id);
        if (msg.sender != provider) revert NotProvider(id, msg.sender);
        _;
    }

    // ---------------------------------------------------------------------------------------------
    // Registration and updates

    /// @notice Registers service `id`; the caller becomes its provider and first manager, and its
    ///         location starts at epoch 0. Emits ServiceRegistered, ManagerAdded and NewLocation.
    /// @dev Reverts ServiceExists, EmptyLocation, TooLong("name" | "description" | "location" |
    ///      "image").
    function register(
        bytes32 id,
        string calldata name,
        string calldata description,
        string calldata location,
        string calldata image,
        bytes32 imageDigest
    ) external {
        Service storage s = _services[id];
        if (s.provider != address(0)) revert ServiceExists(id);
        _checkName(name);
        _checkDescription(description);
        _checkLocation(id, location);
        _checkImage(image);

        s.provider = msg.sender;
        s.location = location;
        s.name = name;
        s.description = description;
        s.image = image;
        s.imageDigest = imageDigest;
        s.managers.push(msg.sender);
        _managerPosition[id][msg.sender] = 1;

        emit ServiceRegistered(id, msg.sender, name, location);
        emit ManagerAdded(id, msg.sender);
        emit NewLocation(id, location, 0);
    }

    /// @notice Publishes the service's new access location. A new leader calls this with its URL
    ///         and its epoch; an epoch not greater than the stored one is refused, so a deposed
    ///         leader's late transaction cannot undo a newer leader's. Emits NewLocation.
    /// @dev Managers only. Reverts UnknownService, NotManager, EmptyLocation, TooLong("location"),
    ///      StaleEpoch. Writes only the location and the epoch.
    function updateLocation(bytes32 id, string calldata location, uint64 epoch)
        external
        onlyManagers(id)
    {
        _checkLocation(id, location);
        Service storage s = _services[id];
        uint64 current = s.locationEpoch;
        if (epoch <= current) revert StaleEpoch(id, epoch, current);
        s.locationEpoch = epoch;
        s.location = location;
        emit NewLocation(id, location, epoch);
    }

    /// @notice Renames the service. Emits NameUpdated.
    /// @dev Managers only. Reverts UnknownService, NotManager, TooLong("name").
    function updateName(bytes32 id, string calldata name) external onlyManagers(id) {
        _checkName(name);
        _services[id].name = name;
        emit NameUpdated(id, name);
    }

    /// @notice Replaces the service's description. Emits DescriptionUpdated.
    /// @dev Managers only. Reverts UnknownService, NotManager, TooLong("description").
    function updateDescription(bytes32 id, string calldata description) external onlyManagers(id) {
        _checkDescription(description);
        _services[id].description = description;
        emit DescriptionUpdated(id, description);
    }

    /// @notice Replaces the recovery data: the service's container image and its digest.
    ///         Emits ImageUpdated.
    /// @dev Managers only. Reverts UnknownService, NotManager, TooLong("image").
    function updateImage(bytes32 id, string calldata image, bytes32 digest)
        external
        onlyManagers(id)
    {
        _checkImage(image);
        Service storage s = _services[id];
        s.image = image;
        s.imageDigest = digest;
        emit ImageUpdated(id, image, digest);
    }

    /// @notice Makes `account` a manager of the service. Emits ManagerAdded.
    /// @dev Provider only. Reverts UnknownService, NotProvider, InvalidManager (zero address),
    ///      AlreadyManager, TooManyManagers.
    function addManager(bytes32 id, address account) external onlyProvider(id) {
        if (account == address(0)) revert InvalidManager(id, account);
        if (_managerPosition[id][account] != 0) revert AlreadyManager(id, account);
        address[] storage managers = _services[id].managers;
        if (managers.length >= MAX_MANAGERS) revert TooManyManagers(id, MAX_MANAGERS);
        managers.push(account);
        _managerPosition[id][account] = managers.length;
        emit ManagerAdded(id, account);
    }

    /// @notice Takes `account`'s manager rights away. Emits ManagerRemoved.
    /// @dev Provider only. Reverts UnknownService, NotProvider, CannotRemoveProvider, NotManager
    ///      (`account` is not a manager).
    function removeManager(bytes32 id, address account) external onlyProvider(id) {
        if (account == msg.sender) revert CannotRemoveProvider(id, account);
        uint256 position = _managerPosition[id][account];
        if (position == 0) revert NotManager(id, account);
        address[] storage managers = _services[id].managers;
        address last = managers[managers.length - 1];
        managers[position - 1] = last;
        _managerPosition[id][last] = position;
        managers.pop();
        delete _managerPosition[id][account];
        emit ManagerRemoved(id, account);
    }

    /// @notice Tells the operators that the caller could not reach the service at `failedLocation`,
    ///         which it resolved at epoch `failedEpoch`. Anyone may call this; it only emits Claim.
    ///         A claim about an epoch other than the current one is refused (StaleClaim): the
    ///         location has changed since, so the claimer should resolve it again instead.
    /// @dev Reverts UnknownService, StaleClaim, TooLong("failedLocation" | "reason"). Reads one
    ///      storage slot and writes none.
    function sendClaim(
        bytes32 id,
        string calldata failedLocation,
        uint64 failedEpoch,
        string calldata reason
    ) external {
        Service storage s = _services[id];
        if (s.provider == address(0)) revert UnknownService(id);
        uint64 current = s.locationEpoch;
        if (failedEpoch != current) revert StaleClaim(id, failedEpoch, current);
        if (bytes(failedLocation).length > MAX_LOCATION_LENGTH) {
            revert TooLong("failedLocation", bytes(failedLocation).length, MAX_LOCATION_LENGTH);
        }
        if (bytes(reason).length > MAX_REASON_LENGTH) {
            revert TooLong("reason", bytes(reason).length, MAX_REASON_LENGTH);
        }
        emit Claim(id, failedLocation, msg.sender, failedEpoch, reason);
    }

    /// @notice Records the backup log of state version `version`: the encrypted log (seed 001,
    ///         Table 2), the hash of the snapshot it describes, so tampering in off-chain storage
    ///         is detected, and where that snapshot is stored. Replaces the previous one.
    ///         Emits BackupLogStored.
    /// @dev Managers only. Reverts UnknownService, NotManager, StaleBackupVersion,
    ///      TooLong("encryptedLog" | "storageLocation").
    function storeBackupLog(
        bytes32 id,
        uint64 version,
        bytes calldata encryptedLog,
        bytes32 snapshotHash,
        string calldata storageLocation
    ) external onlyManagers(id) {
        Service storage s = _services[id];
        uint64 current = s.backupVersion;
        if (version <= current) revert StaleBackupVersion(id, version, current);
        if (encryptedLog.length > MAX_BACKUP_LOG_LENGTH) {
            revert TooLong("encryptedLog", encryptedLog.length, MAX_BACKUP_LOG_LENGTH);
        }
        if (bytes(storageLocation).length > MAX_LOCATION_LENGTH) {
            revert TooLong("storageLocation", bytes(storageLocation).length, MAX_LOCATION_LENGTH);
        }
        s.backupVersion = version;
        s.snapshotHash = snapshotHash;
        s.backupStorageLocation = storageLocation;
        s.backupLog = encryptedLog;
        emit BackupLogStored(id, version, snapshotHash, storageLocation, encryptedLog);
    }

    // ---------------------------------------------------------------------------------------------
    // Views

    /// @notice The service's access location and its epoch.
    /// @dev Reverts UnknownService.
    function getServiceLocation(bytes32 id)
        external
        view
        returns (string memory location, uint64 epoch)
    {
        Service storage s = _services[id];
        if (s.provider == address(0)) revert UnknownService(id);
        return (s.location, s.locationEpoch);
    }

    /// @notice The whole record of the service, managers and recovery data included.
    /// @dev Reverts UnknownService.
    function getService(bytes32 id) external view returns (Service memory) {
        Service storage s = _services[id];
        if (s.provider == address(0)) revert UnknownService(id);
        return s;
    }

    /// @notice Whether `account` may update service `id`; false for an unknown service.
    function isManager(bytes32 id, address account) external view returns (bool) {
        return _managerPosition[id][account] != 0;
    }

    // ---------------------------------------------------------------------------------------------
    // Argument checks. The field names are literals inside the revert branches so that an
    // accepted call never pays for building them.

    function _checkName(string calldata name) private pure {
        if (bytes(name).length > MAX_NAME_LENGTH) {
            revert TooLong("name", bytes(name).length, MAX_NAME_LENGTH);
        }
    }

    function _checkDescription(string calldata description) private pure {
        if (bytes(description).length > MAX_DESCRIPTION_LENGTH) {
            revert TooLong("description", bytes(description).length, MAX_DESCRIPTION_LENGTH);
        }
    }

    function _checkLocation(bytes32 id, string calldata location) private pure {
        if (bytes(location).length == 0) revert EmptyLocation(id);
        if (bytes(location).length > MAX_LOCATION_LENGTH) {
            revert TooLong("location", bytes(location).length, MAX_LOCATION_LENGTH);
        }
    }

    function _checkImage(string calldata image) private pure {
        if (bytes(image).length > MAX_IMAGE_LENGTH) {
            revert TooLong("image", bytes(image).length, MAX_IMAGE_LENGTH);
        }
    }
}
