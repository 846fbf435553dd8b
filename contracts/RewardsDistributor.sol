// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IRewardsDistributor, RewardClaim} from "./interfaces/IRewardsDistributor.sol";
import {IEmissionSchedule} from "./interfaces/IEmissionSchedule.sol";
import {IMeshToken} from "./interfaces/IMeshToken.sol";
import {IOracleHub} from "./interfaces/IOracleHub.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {ExpiringPause} from "./utils/ExpiringPause.sol";

/// @title RewardsDistributor
/// @notice Mints scheduled emission for finalised epochs into the staking contract and credits cumulative Merkle claims
/// to operators' pools there (a claim moves no tokens).
contract RewardsDistributor is IRewardsDistributor, ExpiringPause {
    IMeshToken public immutable token;
    IOracleHub public immutable hub;
    IEmissionSchedule public immutable schedule;
    IProviderRegistry public immutable registry;
    IStaking public immutable staking;

    uint64 private _rootEpoch;
    bool private _synced; // a finalised verdict has been adopted
    bytes32 private _root;
    // One slot, read and written by every claim. Supply is far below 2^128 (EmissionSchedule's cap).
    uint128 private _totalMinted;
    uint128 private _totalClaimed;
    /// @inheritdoc IRewardsDistributor
    mapping(address device => uint256) public claimed;

    constructor(
        IMeshToken token_,
        IOracleHub hub_,
        IEmissionSchedule schedule_,
        IProviderRegistry registry_,
        IStaking staking_,
        address admin
    ) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        token = token_;
        hub = hub_;
        schedule = schedule_;
        registry = registry_;
        staking = staking_;
    }

    /// @inheritdoc IRewardsDistributor
    function sync() public {
        (uint64 epoch, bytes32 root, bool exists) = hub.latestFinalised();
        if (!exists || (_synced && epoch == _rootEpoch)) return;
        _synced = true;
        _rootEpoch = epoch;
        _root = root;
        // Cumulative: epochs that never got a verdict are paid with the next finalised one.
        uint256 cumulative = schedule.cumulativeEmission(uint256(epoch) + 1);
        uint256 minted = cumulative - _totalMinted;
        _totalMinted = SafeCast.toUint128(cumulative);
        emit RootUpdated(epoch, root, minted);
        if (minted > 0) {
            token.mint(address(staking), minted);
            staking.reserveRewards(minted);
        }
    }

    /// @inheritdoc IRewardsDistributor
    function claim(address device, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        whenNotPaused
        returns (uint256 amount)
    {
        bytes32 leaf = leafHash(device, cumulativeAmount);
        // The root in use is checked first: a claim syncs (and pays for it) only when its proof is for a newer root.
        if (!MerkleProof.verifyCalldata(proof, _root, leaf)) {
            sync();
            if (!_synced) revert NoFinalisedRoot();
            if (!MerkleProof.verifyCalldata(proof, _root, leaf)) revert InvalidProof(device, cumulativeAmount);
        }
        amount = _pay(device, cumulativeAmount);
    }

    /// @inheritdoc IRewardsDistributor
    function claimMany(RewardClaim[] calldata claims) external whenNotPaused returns (uint256 total) {
        sync();
        if (!_synced) revert NoFinalisedRoot();
        bytes32 root = _root;
        for (uint256 i; i < claims.length; ++i) {
            RewardClaim calldata c = claims[i];
            if (!MerkleProof.verifyCalldata(c.proof, root, leafHash(c.device, c.cumulativeAmount))) {
                revert InvalidProof(c.device, c.cumulativeAmount);
            }
            total += _pay(c.device, c.cumulativeAmount);
        }
    }

    /// @inheritdoc IRewardsDistributor
    function leafHash(address device, uint256 cumulativeAmount) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(device, cumulativeAmount))));
    }

    /// @inheritdoc IRewardsDistributor
    function totalMinted() external view returns (uint256) {
        return _totalMinted;
    }

    /// @inheritdoc IRewardsDistributor
    function totalClaimed() external view returns (uint256) {
        return _totalClaimed;
    }

    /// @inheritdoc IRewardsDistributor
    function currentRoot() external view returns (uint64 epoch, bytes32 rewardsRoot) {
        return (_rootEpoch, _root);
    }

    /// @dev Pays `device` its `cumulativeAmount` (proven against the current root) minus what it was already paid.
    function _pay(address device, uint256 cumulativeAmount) private returns (uint256 amount) {
        uint256 already = claimed[device];
        if (cumulativeAmount <= already) revert NothingToClaim(device, cumulativeAmount, already);
        address operator = registry.operatorOf(device);
        if (operator == address(0)) revert UnknownDevice(device);

        amount = cumulativeAmount - already;
        uint256 paid = _totalClaimed + amount;
        if (paid > _totalMinted) revert ClaimExceedsMinted(paid, _totalMinted);
        claimed[device] = cumulativeAmount;
        _totalClaimed = uint128(paid); // <= _totalMinted

        emit RewardsClaimed(device, operator, amount, cumulativeAmount);
        staking.creditRewards(operator, amount);
    }
}
