// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IEpochSeed
/// @notice One unpredictable seed per epoch, fixed on-chain once the epoch has started, from which devices' storage
/// and compute challenges are derived, so answers cannot be computed before the epoch.
/// @dev Anyone records the seed of the current epoch (oracles do it at epoch start). It mixes the beacon chain's
/// `prevrandao` with the previous block hash: a block proposer could bias it by withholding a block, which is as much
/// as any on-chain randomness without a VRF offers; the value at stake per epoch does not justify more. No role.
interface IEpochSeed {
    /// @notice The seed of `epoch` was fixed.
    event SeedRecorded(uint64 indexed epoch, bytes32 seed);

    /// @notice The current epoch's seed is already fixed.
    error SeedAlreadyRecorded(uint64 epoch, bytes32 seed);
    /// @notice No seed was recorded for the epoch.
    error SeedNotRecorded(uint64 epoch);

    /// @notice Fixes and returns the current epoch's seed. Anyone; once per epoch.
    function recordSeed() external returns (bytes32 seed);

    /// @notice The seed of `epoch`; reverts `SeedNotRecorded` if none was recorded.
    function seedOf(uint64 epoch) external view returns (bytes32);

    /// @notice Whether `epoch` has a seed.
    function hasSeed(uint64 epoch) external view returns (bool);
}
