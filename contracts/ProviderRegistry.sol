// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IProviderRegistry, Device, DeviceRegistration} from "./interfaces/IProviderRegistry.sol";
import {IProtocolConfig, Param, ClassParam} from "./interfaces/IProtocolConfig.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {H3} from "./libraries/H3.sol";
import {ExpiringPause} from "./utils/ExpiringPause.sol";
import {ResourceClass, DeviceStatus, CLASS_COUNT} from "./types/Types.sol";

/// @title ProviderRegistry
/// @notice Devices, their operators and declared capacity; onboarding by device-signed EIP-712 consent.
contract ProviderRegistry is IProviderRegistry, ExpiringPause, EIP712 {
    /// @inheritdoc IProviderRegistry
    bytes32 public constant JAILER_ROLE = keccak256("JAILER_ROLE");
    /// @inheritdoc IProviderRegistry
    bytes32 public constant REGISTRATION_TYPEHASH = keccak256(
        "DeviceRegistration(address operator,uint8 resourceClass,uint64 capacity,uint64 location,uint256 nonce,"
        "uint256 deadline)"
    );
    /// @inheritdoc IProviderRegistry
    bytes32 public constant LOCATION_TYPEHASH =
        keccak256("LocationUpdate(address device,uint64 location,uint256 nonce,uint256 deadline)");

    IProtocolConfig public immutable config;
    /// @inheritdoc IProviderRegistry
    address public immutable staking;

    mapping(address device => Device) private _devices;
    mapping(address operator => uint256[CLASS_COUNT]) private _capacity;
    /// @inheritdoc IProviderRegistry
    mapping(address operator => uint256) public jailedDevices;

    /// @dev Who operated a device before its last transfer, for the epochs before `untilEpoch` (one slot).
    struct FormerOperator {
        address operator;
        uint64 untilEpoch;
    }

    mapping(address device => FormerOperator) private _formerOperators;

    /// @param config_ Protocol parameters.
    /// @param staking_ The staking contract (deployed right after this one; its address is known in advance).
    /// @param admin Governance, which manages `JAILER_ROLE`.
    constructor(IProtocolConfig config_, address staking_, address admin) EIP712("Meshwork ProviderRegistry", "1") {
        config = config_;
        staking = staking_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    modifier onlyOperator(address device) {
        address operator = _devices[device].operator;
        if (operator == address(0)) revert DeviceNotRegistered(device);
        if (operator != msg.sender) revert NotDeviceOperator(device, msg.sender);
        _;
    }

    /* ONBOARDING */

    /// @inheritdoc IProviderRegistry
    function registerDevice(DeviceRegistration calldata registration, bytes calldata signature)
        external
        whenNotPaused
    {
        address device = registration.device;
        ResourceClass resourceClass = registration.resourceClass;
        uint64 capacity = registration.capacity;
        if (_devices[device].status != DeviceStatus.None) revert DeviceAlreadyRegistered(device);
        if (block.timestamp > registration.deadline) revert SignatureExpired(registration.deadline);
        uint256 maxCapacity = config.classParam(resourceClass, ClassParam.MaxCapacity);
        if (capacity == 0 || capacity > maxCapacity) revert InvalidCapacity(resourceClass, capacity, maxCapacity);
        _checkLocation(resourceClass, registration.location);
        _checkDeviceSignature(device, _registrationHash(registration), signature);

        Device storage d = _devices[device];
        d.operator = msg.sender;
        d.resourceClass = resourceClass;
        d.status = DeviceStatus.Active;
        d.location = registration.location;
        d.capacity = capacity;
        d.lastLocationChange = uint40(block.timestamp);
        d.statusSince = uint40(block.timestamp);
        if (bytes(registration.metadataURI).length > 0) d.metadataURI = registration.metadataURI;
        _capacity[msg.sender][uint256(resourceClass)] += capacity;
        _checkStake(msg.sender);

        emit DeviceRegistered(
            device, msg.sender, resourceClass, capacity, registration.location, registration.metadataURI
        );
    }

    /* DEVICE UPDATES */

    /// @inheritdoc IProviderRegistry
    function updateLocation(address device, uint64 location, uint256 deadline, bytes calldata signature)
        external
        onlyOperator(device)
    {
        Device storage d = _devices[device];
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        _checkLocation(d.resourceClass, location);
        uint64 oldLocation = d.location;
        if (location == oldLocation) revert LocationUnchanged(device, location);
        uint256 nextAllowed = d.lastLocationChange + config.param(Param.LocationChangeCooldown);
        if (block.timestamp < nextAllowed) revert LocationChangeTooSoon(device, nextAllowed);

        bytes32 structHash = keccak256(abi.encode(LOCATION_TYPEHASH, device, location, d.nonce++, deadline));
        _checkDeviceSignature(device, structHash, signature);

        d.location = location;
        d.lastLocationChange = uint40(block.timestamp);
        emit LocationUpdated(device, oldLocation, location);
    }

    /// @inheritdoc IProviderRegistry
    function updateMetadata(address device, string calldata metadataURI) external onlyOperator(device) {
        _devices[device].metadataURI = metadataURI;
        emit MetadataUpdated(device, metadataURI);
    }

    /* TRANSFER */

    /// @inheritdoc IProviderRegistry
    function offerTransfer(address device, address to) external onlyOperator(device) {
        Device storage d = _devices[device];
        if (d.status != DeviceStatus.Active) revert InvalidStatus(device, d.status);
        if (to == msg.sender) revert InvalidOperator(to);
        if (to != address(0)) _checkTransferable(device);
        d.pendingOperator = to;
        emit TransferOffered(device, msg.sender, to);
    }

    /// @inheritdoc IProviderRegistry
    function acceptTransfer(address device) external {
        Device storage d = _devices[device];
        // Offers exist only for Active devices: exiting or jailing a device withdraws its offer.
        if (d.pendingOperator != msg.sender || msg.sender == address(0)) revert NotPendingOperator(device, msg.sender);
        _checkTransferable(device);

        address from = d.operator;
        // The former operator answers for the faults of the epochs up to this one.
        _formerOperators[device] = FormerOperator(from, config.currentEpoch() + 1);
        uint256 classIndex = uint256(d.resourceClass);
        d.operator = msg.sender;
        d.pendingOperator = address(0);
        _capacity[from][classIndex] -= d.capacity;
        _capacity[msg.sender][classIndex] += d.capacity;
        _checkStake(msg.sender);

        emit DeviceTransferred(device, from, msg.sender);
    }

    /* EXIT */

    /// @inheritdoc IProviderRegistry
    function beginExit(address device) external onlyOperator(device) {
        Device storage d = _devices[device];
        if (d.status != DeviceStatus.Active) revert InvalidStatus(device, d.status);
        d.pendingOperator = address(0);
        _setStatus(device, d, DeviceStatus.Exiting);
    }

    /// @inheritdoc IProviderRegistry
    function completeExit(address device) external onlyOperator(device) {
        Device storage d = _devices[device];
        if (d.status != DeviceStatus.Exiting) revert InvalidStatus(device, d.status);
        uint256 readyAt = d.statusSince + config.param(Param.UnbondingPeriod);
        if (block.timestamp < readyAt) revert ExitNotReady(device, readyAt);

        _capacity[d.operator][uint256(d.resourceClass)] -= d.capacity;
        _setStatus(device, d, DeviceStatus.Removed);
    }

    /* JAIL */

    /// @inheritdoc IProviderRegistry
    function jail(address device, uint64 until) external onlyRole(JAILER_ROLE) {
        Device storage d = _devices[device];
        if (d.status != DeviceStatus.Active) revert InvalidStatus(device, d.status);
        d.jailedUntil = SafeCast.toUint40(until);
        d.pendingOperator = address(0);
        ++jailedDevices[d.operator];
        _setStatus(device, d, DeviceStatus.Jailed);
        emit DeviceJailed(device, until);
    }

    /// @inheritdoc IProviderRegistry
    function unjail(address device) external onlyOperator(device) {
        Device storage d = _devices[device];
        if (d.status != DeviceStatus.Jailed) revert InvalidStatus(device, d.status);
        if (block.timestamp < d.jailedUntil) revert StillJailed(device, d.jailedUntil);
        _checkStake(msg.sender);

        --jailedDevices[msg.sender];
        d.jailedUntil = 0;
        _setStatus(device, d, DeviceStatus.Active);
    }

    /* VIEWS */

    /// @inheritdoc IProviderRegistry
    function getDevice(address device) external view returns (Device memory) {
        return _devices[device];
    }

    /// @inheritdoc IProviderRegistry
    function operatorOf(address device) external view returns (address) {
        return _devices[device].operator;
    }

    /// @inheritdoc IProviderRegistry
    function operatorAt(address device, uint64 epoch) external view returns (address) {
        FormerOperator memory former = _formerOperators[device];
        return epoch < former.untilEpoch ? former.operator : _devices[device].operator;
    }

    /// @inheritdoc IProviderRegistry
    function capacityOf(address operator, ResourceClass resourceClass) external view returns (uint256) {
        return _capacity[operator][uint256(resourceClass)];
    }

    /// @inheritdoc IProviderRegistry
    function requiredStake(address operator) public view returns (uint256 total) {
        uint256[CLASS_COUNT] storage capacity = _capacity[operator];
        for (uint256 c; c < CLASS_COUNT; ++c) {
            if (capacity[c] > 0) total += capacity[c] * config.classParam(ResourceClass(c), ClassParam.StakePerUnit);
        }
    }

    /// @inheritdoc IProviderRegistry
    function nonces(address device) external view returns (uint256) {
        return _devices[device].nonce;
    }

    /* INTERNAL */

    function _setStatus(address device, Device storage d, DeviceStatus to) private {
        DeviceStatus from = d.status;
        d.status = to;
        d.statusSince = uint40(block.timestamp);
        emit StatusChanged(device, from, to);
    }

    /// @dev Consumes the device's current nonce.
    function _registrationHash(DeviceRegistration calldata r) private returns (bytes32) {
        return keccak256(
            abi.encode(
                REGISTRATION_TYPEHASH,
                msg.sender,
                r.resourceClass,
                r.capacity,
                r.location,
                _devices[r.device].nonce++,
                r.deadline
            )
        );
    }

    function _checkDeviceSignature(address device, bytes32 structHash, bytes calldata signature) private view {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(_hashTypedDataV4(structHash), signature);
        if (err != ECDSA.RecoverError.NoError || signer != device) revert InvalidDeviceSignature(device);
    }

    function _checkLocation(ResourceClass resourceClass, uint64 location) private pure {
        if (location == 0) {
            if (resourceClass == ResourceClass.Coverage) revert InvalidLocation(resourceClass, location);
        } else if (!H3.isValidCell(location)) {
            revert InvalidLocation(resourceClass, location);
        }
    }

    /// @dev One former operator is remembered: the next transfer waits until faults of its epochs are too old to
    /// apply (the slashing module's limit: an epoch's end plus the unbonding period).
    function _checkTransferable(address device) private view {
        uint64 untilEpoch = _formerOperators[device].untilEpoch;
        if (untilEpoch == 0) return;
        uint256 allowedAfter = config.epochEnd(untilEpoch - 1) + config.param(Param.UnbondingPeriod);
        if (block.timestamp <= allowedAfter) revert TransferTooSoon(device, allowedAfter);
    }

    function _checkStake(address operator) private view {
        uint256 need = requiredStake(operator);
        uint256 have = IStaking(staking).selfStake(operator);
        if (have < need) revert InsufficientStake(operator, have, need);
    }
}
