// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IExpiringPause} from "./IExpiringPause.sol";

/// @notice One device's claim: its cumulative rewards in the latest root and the Merkle proof of that leaf.
struct RewardClaim {
    address device;
    uint256 cumulativeAmount;
    bytes32[] proof;
}

/// @title IRewardsDistributor
/// @notice Pays providers from emission. For each finalised epoch the oracle verdict carries a Merkle root of
/// cumulative rewards per device; `sync` mints the emission scheduled up to that epoch (including what earlier
/// epochs without a verdict rolled over) and adopts the root. A claim pays a device's cumulative amount minus what was
/// already claimed, so one proof covers every past epoch at a cost independent of how many were missed. Emission is
/// minted straight into the staking contract and reserved there (`Staking.reserveRewards`); a claim credits the
/// device's operator (`Staking.creditRewards`, which splits it with the operator's delegators, commission first)
/// without moving tokens; the operator collects its part with `Staking.claimRewards`.
/// @dev Trust: governance (`DEFAULT_ADMIN_ROLE`) only appoints the pause guardian, who can stop claims for a while
/// (`IExpiringPause`); nobody can redirect or seize rewards. The distributor mints only up to
/// `EmissionSchedule.cumulativeEmission` of the latest finalised epoch, and pays out at most what it minted, whatever
/// the roots say. Leaves are OpenZeppelin standard Merkle tree
/// leaves of (address device, uint256 cumulativeAmount).
interface IRewardsDistributor is IExpiringPause {
    /// @notice A newer finalised root was adopted and the emission up to its epoch minted.
    event RootUpdated(uint64 indexed epoch, bytes32 rewardsRoot, uint256 minted);
    /// @notice A device's rewards were paid to its operator's staking pool.
    event RewardsClaimed(address indexed device, address indexed operator, uint256 amount, uint256 cumulativeAmount);

    /// @notice No verdict has been finalised yet.
    error NoFinalisedRoot();
    /// @notice The leaf is not in the current root.
    error InvalidProof(address device, uint256 cumulativeAmount);
    /// @notice The device's cumulative amount was claimed already.
    error NothingToClaim(address device, uint256 cumulativeAmount, uint256 claimed);
    /// @notice The device is not registered.
    error UnknownDevice(address device);
    /// @notice Paying this claim would pay out more than was minted (a faulty root).
    error ClaimExceedsMinted(uint256 claimedAfter, uint256 totalMinted);

    /// @notice Adopts the latest finalised root and mints the emission scheduled up to its epoch into the staking
    /// contract. Anyone; a claim calls it when its proof is not for the root in use, `claimMany` always.
    function sync() external;

    /// @notice Pays `device`'s unclaimed rewards to its operator's staking pool. Anyone may call. The proof is
    /// checked against the root in use, then, if it fails, against the latest finalised one (after `sync`).
    /// @return amount Tokens paid.
    function claim(address device, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        returns (uint256 amount);

    /// @notice Claims for many devices in one transaction; reverts if any claim is invalid.
    /// @return total Tokens paid.
    function claimMany(RewardClaim[] calldata claims) external returns (uint256 total);

    /// @notice Leaf of the rewards tree for (device, cumulativeAmount).
    function leafHash(address device, uint256 cumulativeAmount) external pure returns (bytes32);

    /// @notice The root claims are checked against, and its epoch.
    function currentRoot() external view returns (uint64 epoch, bytes32 rewardsRoot);

    /// @notice Cumulative amount already paid for `device`.
    function claimed(address device) external view returns (uint256);

    /// @notice Tokens minted by the distributor so far.
    function totalMinted() external view returns (uint256);

    /// @notice Tokens paid out so far.
    function totalClaimed() external view returns (uint256);
}
