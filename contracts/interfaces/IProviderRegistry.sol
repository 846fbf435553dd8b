// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ResourceClass, DeviceStatus} from "../types/Types.sol";
import {IExpiringPause} from "./IExpiringPause.sol";

/// @notice A registered device. The device is identified by the address of its own secp256k1 key.
struct Device {
    address operator; // who runs the device and whose stake backs it
    ResourceClass resourceClass;
    DeviceStatus status;
    uint64 location; // H3 cell index; zero for classes without a location
    uint64 capacity; // declared capacity in the class's units
    uint40 lastLocationChange; // timestamp of the last location change (registration counts)
    uint40 statusSince; // timestamp of the last status change
    uint40 jailedUntil; // earliest unjail time while Jailed
    uint64 nonce; // next nonce of the device's signed messages (in the same slot: no fresh slot per registration)
    address pendingOperator; // operator offered the device, awaiting its acceptance
    string metadataURI;
}

/// @notice What an operator submits to onboard a device; the device key signs all but `metadataURI`.
struct DeviceRegistration {
    address device; // address of the device's own key
    ResourceClass resourceClass;
    uint64 capacity;
    uint64 location; // H3 cell (required for Coverage; optional, zero, for other classes)
    uint256 deadline; // the device's signature expires after this timestamp
    string metadataURI;
}

/// @title IProviderRegistry
/// @notice Registry of the physical devices that contribute resources, and of the capacity each operator declares.
/// @dev Trust: a device key can only be onboarded with its own EIP-712 signature binding it to one operator, and a key
/// is never registered twice. Only `JAILER_ROLE` (the slashing module) jails; governance (`DEFAULT_ADMIN_ROLE`)
/// only manages that role and the pause guardian, who can stop new registrations for a while (`IExpiringPause`;
/// exits, transfers and location updates are never paused). Operators must back their declared capacity with
/// self-stake in `Staking`.
interface IProviderRegistry is IExpiringPause {
    /// @notice A device joined under `operator`.
    event DeviceRegistered(
        address indexed device,
        address indexed operator,
        ResourceClass indexed resourceClass,
        uint64 capacity,
        uint64 location,
        string metadataURI
    );
    /// @notice A device's location changed (signed by the device key).
    event LocationUpdated(address indexed device, uint64 oldLocation, uint64 newLocation);
    /// @notice A device's metadata URI changed.
    event MetadataUpdated(address indexed device, string metadataURI);
    /// @notice The operator offered the device to `to` (zero: offer withdrawn).
    event TransferOffered(address indexed device, address indexed from, address indexed to);
    /// @notice The device moved to a new operator.
    event DeviceTransferred(address indexed device, address indexed from, address indexed to);
    /// @notice The device's status changed.
    event StatusChanged(address indexed device, DeviceStatus from, DeviceStatus to);
    /// @notice The device was jailed until `until`.
    event DeviceJailed(address indexed device, uint64 until);

    /// @notice The device key is registered already (or was, and has been removed: keys are never reused).
    error DeviceAlreadyRegistered(address device);
    /// @notice No device is registered under this key.
    error DeviceNotRegistered(address device);
    /// @notice The signature was not made by the device key over this exact request.
    error InvalidDeviceSignature(address device);
    /// @notice The signed request expired.
    error SignatureExpired(uint256 deadline);
    /// @notice The caller is not the device's operator.
    error NotDeviceOperator(address device, address caller);
    /// @notice The caller was not offered this device.
    error NotPendingOperator(address device, address caller);
    /// @notice The device is not in the status this action needs.
    error InvalidStatus(address device, DeviceStatus status);
    /// @notice Capacity is zero or above the class's maximum.
    error InvalidCapacity(ResourceClass resourceClass, uint64 capacity, uint256 max);
    /// @notice The location is not a valid H3 cell, or is missing for a class that needs one (Coverage).
    error InvalidLocation(ResourceClass resourceClass, uint64 location);
    /// @notice The location changed too recently.
    error LocationChangeTooSoon(address device, uint256 nextAllowed);
    /// @notice The new location equals the current one.
    error LocationUnchanged(address device, uint64 location);
    /// @notice The operator's self-stake does not cover its declared capacity.
    error InsufficientStake(address operator, uint256 have, uint256 need);
    /// @notice The device is still jailed.
    error StillJailed(address device, uint64 until);
    /// @notice The device is still inside its exit period (it stays slashable until then).
    error ExitNotReady(address device, uint256 readyAt);
    /// @notice The address given is zero or otherwise unusable as an operator.
    error InvalidOperator(address operator);
    /// @notice The device changed hands too recently: faults of its former operator's epochs can still be applied
    /// until `allowedAfter`, and only one former operator is remembered.
    error TransferTooSoon(address device, uint256 allowedAfter);

    /// @notice The staking contract whose self-stake backs declared capacity.
    function staking() external view returns (address);

    /// @notice Role allowed to jail devices (the slashing module).
    function JAILER_ROLE() external view returns (bytes32);

    /// @notice EIP-712 typehash of the device's onboarding consent.
    function REGISTRATION_TYPEHASH() external view returns (bytes32);

    /// @notice EIP-712 typehash of a device-signed location change.
    function LOCATION_TYPEHASH() external view returns (bytes32);

    /// @notice Registers `registration.device` under the caller, with the device key's EIP-712 consent.
    /// @dev The device signs `DeviceRegistration(operator, resourceClass, capacity, location, nonce, deadline)` with
    /// `operator = msg.sender` and `nonce = nonces(device)`. The caller's self-stake must cover its total declared
    /// capacity afterwards.
    function registerDevice(DeviceRegistration calldata registration, bytes calldata signature) external;

    /// @notice Moves `device` to `location`, with the device key's signature over
    /// `LocationUpdate(device, location, nonce, deadline)`. Operator only; at most once per cooldown.
    function updateLocation(address device, uint64 location, uint256 deadline, bytes calldata signature) external;

    /// @notice Sets the device's metadata URI. Operator only.
    function updateMetadata(address device, string calldata metadataURI) external;

    /// @notice Offers an Active device to operator `to` (zero withdraws the offer). Operator only.
    function offerTransfer(address device, address to) external;

    /// @notice Accepts a device offered to the caller; the caller's self-stake must cover the added capacity. The
    /// former operator stays answerable for the faults of the epochs up to the current one (`operatorAt`), so a
    /// device can change hands again only once those faults are too old to apply (`TransferTooSoon`).
    function acceptTransfer(address device) external;

    /// @notice Starts the removal of an Active device: it stops counting as active but stays slashable for the
    /// unbonding period. Operator only.
    function beginExit(address device) external;

    /// @notice Completes the removal after the exit period; the capacity no longer needs stake. Operator only.
    function completeExit(address device) external;

    /// @notice Jails an Active device until `until`. Jailer only.
    function jail(address device, uint64 until) external;

    /// @notice Returns a jailed device to Active after its jail time, if the operator's self-stake covers its
    /// declared capacity. Operator only.
    function unjail(address device) external;

    /// @notice The device record.
    function getDevice(address device) external view returns (Device memory);

    /// @notice Current operator of `device` (zero if never registered).
    function operatorOf(address device) external view returns (address);

    /// @notice The operator answerable for `device` in `epoch`: the former operator for the epochs up to its last
    /// transfer's epoch, else the current one (zero if never registered).
    function operatorAt(address device, uint64 epoch) external view returns (address);

    /// @notice Capacity `operator` declares in `resourceClass` over its devices that are not Removed.
    function capacityOf(address operator, ResourceClass resourceClass) external view returns (uint256);

    /// @notice Number of the operator's devices that are Jailed.
    function jailedDevices(address operator) external view returns (uint256);

    /// @notice Self-stake `operator` needs for its declared capacity at current per-class rates.
    function requiredStake(address operator) external view returns (uint256);

    /// @notice The current signature nonce of a device key.
    function nonces(address device) external view returns (uint256);
}
