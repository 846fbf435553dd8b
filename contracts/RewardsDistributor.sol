// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IRewardsDistributor, RewardClaim} from "./interfaces/IRewardsDistributor.sol";
import {IEmissionSchedule} from "./interfaces/IEmissionSchedule.sol";
import {IMeshToken} from "./interfaces/IMeshToken.sol";
import {IOracleHub} from "./interfaces/IOracleHub.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {ExpiringPause} from "./utils/ExpiringPause.sol";

/// @title RewardsDistributor
/// @notice Mints scheduled emission for finalised epochs and pays cumulative Merkle claims into operators' pools.
contract RewardsDistributor is IRewardsDistributor, ExpiringPause {
    IMeshToken public immutable token;
    IOracleHub public immutable hub;
    IEmissionSchedule public immutable schedule;
    IProviderRegistry public immutable registry;
    IStaking public immutable staking;

    uint64 private _rootEpoch;
    bool private _synced; // a finalised verdict has been adopted
    bytes32 private _root;
    /// @inheritdoc IRewardsDistributor
    mapping(address device => uint256) public claimed;
    /// @inheritdoc IRewardsDistributor
    uint256 public totalMinted;
    /// @inheritdoc IRewardsDistributor
    uint256 public totalClaimed;

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
        token_.approve(address(staking_), type(uint256).max);
    }

    /// @inheritdoc IRewardsDistributor
    function sync() public {
        (uint64 epoch, bytes32 root, bool exists) = hub.latestFinalised();
        if (!exists || (_synced && epoch == _rootEpoch)) return;
        _synced = true;
        _rootEpoch = epoch;
        _root = root;
        // Cumulative: epochs that never got a verdict are paid with the next finalised one.
        uint256 minted = schedule.cumulativeEmission(uint256(epoch) + 1) - totalMinted;
        totalMinted += minted;
        emit RootUpdated(epoch, root, minted);
        if (minted > 0) token.mint(address(this), minted);
    }

    /// @inheritdoc IRewardsDistributor
    function claim(address device, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        whenNotPaused
        returns (uint256 amount)
    {
        sync();
        amount = _claim(device, cumulativeAmount, proof);
    }

    /// @inheritdoc IRewardsDistributor
    function claimMany(RewardClaim[] calldata claims) external whenNotPaused returns (uint256 total) {
        sync();
        for (uint256 i; i < claims.length; ++i) {
            total += _claim(claims[i].device, claims[i].cumulativeAmount, claims[i].proof);
        }
    }

    /// @inheritdoc IRewardsDistributor
    function leafHash(address device, uint256 cumulativeAmount) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(device, cumulativeAmount))));
    }

    /// @inheritdoc IRewardsDistributor
    function currentRoot() external view returns (uint64 epoch, bytes32 rewardsRoot) {
        return (_rootEpoch, _root);
    }

    function _claim(address device, uint256 cumulativeAmount, bytes32[] calldata proof)
        private
        returns (uint256 amount)
    {
        if (!_synced) revert NoFinalisedRoot();
        if (!MerkleProof.verifyCalldata(proof, _root, leafHash(device, cumulativeAmount))) {
            revert InvalidProof(device, cumulativeAmount);
        }
        uint256 already = claimed[device];
        if (cumulativeAmount <= already) revert NothingToClaim(device, cumulativeAmount, already);
        address operator = registry.operatorOf(device);
        if (operator == address(0)) revert UnknownDevice(device);

        amount = cumulativeAmount - already;
        uint256 paid = totalClaimed + amount;
        if (paid > totalMinted) revert ClaimExceedsMinted(paid, totalMinted);
        claimed[device] = cumulativeAmount;
        totalClaimed = paid;

        emit RewardsClaimed(device, operator, amount, cumulativeAmount);
        staking.addRewards(operator, amount);
    }
}
