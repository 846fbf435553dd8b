// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The kinds of physical resource a device can contribute, one per seed network.
/// @dev Appending a class is a breaking change for every contract that sizes storage by `CLASS_COUNT`.
enum ResourceClass {
    Coverage, // radio coverage (Helium)
    Storage, // disk storage (Filecoin)
    ComputeGpu, // GPU work (Render)
    ComputeCpu, // CPU work (Akash)
    Mapping, // mapping and sensor captures (Hivemapper)
    Energy // metered energy (Powerledger)
}

/// @dev Number of members of `ResourceClass`.
uint256 constant CLASS_COUNT = 6;

/// @notice Lifecycle of a registered device: Active <-> Jailed, Active -> Exiting -> Removed.
enum DeviceStatus {
    None, // never registered
    Active,
    Jailed,
    Exiting,
    Removed
}

/// @notice Faults the slashing module penalises, each with its own rate and per-incident cap.
enum FaultKind {
    MissedDuty, // no valid proof in an epoch
    InvalidProof, // forged or invalid proof
    LocationSpoofing, // impossible geometry or signal for the claimed location
    DoubleRegistration, // the same hardware onboarded under two device keys
    ServiceLevelBreach // a leased device delivered below its lease's service level for the lease's K-th time
}

/// @dev Number of members of `FaultKind`.
uint256 constant FAULT_KIND_COUNT = 5;
