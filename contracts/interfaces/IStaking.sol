// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Pool} from "../libraries/SharesMath.sol";

/// @notice Stake held for one operator. Unbonding tokens sit in share pools so a slash reaches them in O(1).
struct OperatorStake {
    uint128 selfStake; // active self-stake (backs declared capacity)
    uint16 commissionBps; // commission in force, until a pending increase takes effect
    uint16 pendingCommissionBps; // announced increase
    uint64 commissionEffectiveAt; // when the announced increase takes effect (zero: none pending)
    Pool selfUnbonding; // the operator's own unbonding stake
    Pool delegated; // active delegated stake; delegators own its shares
    Pool delegatedUnbonding; // delegators' unbonding stake
    uint256 rewardPerShare; // cumulative delegator rewards per delegated share, scaled by REWARD_SCALE
    uint256 operatorRewards; // rewards owed to the operator (commission and its self-stake's share)
}

/// @notice A delegator's position with one operator.
struct Delegation {
    uint256 shares; // shares of the operator's `delegated` pool
    uint256 rewardPerSharePaid; // the operator's `rewardPerShare` when `rewards` was last brought up to date
    uint256 rewards; // rewards earned and not yet claimed
    uint48 generation; // generation of the `delegated` pool the shares belong to (older: worthless)
    uint208 votes; // voting power this position counts for the delegator (its principal, lowered by slashes)
}

/// @notice A queued exit; its tokens are its shares of the pool named by `operator` and `delegated`.
struct UnbondingRequest {
    address operator;
    uint40 releaseAt;
    bool delegated; // true: shares of `delegatedUnbonding`, false: of `selfUnbonding`
    uint48 generation; // generation of the pool the shares belong to (older: worthless)
    uint256 shares;
}

/// @title IStaking
/// @notice Operator self-stake, delegation with commission, an unbonding queue that stays slashable, and
/// delegator rewards by cumulative reward-per-share.
/// @dev Trust: only `SLASHER_ROLE` (the slashing module) can take stake, and only stake of the operator it names,
/// active or unbonding, self-stake first and then delegators pro rata. No role can move unslashed stake: withdrawals
/// need only the cooldown. `DISTRIBUTOR_ROLE` (the rewards distributor) can only reserve tokens this contract already
/// holds beyond what it owes, and credit them as rewards. Governance (`DEFAULT_ADMIN_ROLE`) manages both roles; the
/// timelock delay exceeds the unbonding period, so stakers can leave before a new slasher is appointed.
interface IStaking {
    /// @notice The operator added self-stake.
    event Staked(address indexed operator, uint256 amount);
    /// @notice The operator moved self-stake into the unbonding queue.
    event Unstaked(address indexed operator, uint256 amount, uint256 shares, uint64 releaseAt);
    /// @notice A delegator delegated to an operator.
    event Delegated(address indexed delegator, address indexed operator, uint256 amount, uint256 shares);
    /// @notice A delegator moved delegated stake into the unbonding queue (`forced`: by `forceExit`).
    event Undelegated(
        address indexed delegator,
        address indexed operator,
        uint256 amount,
        uint256 unbondingShares,
        uint64 releaseAt,
        bool forced
    );
    /// @notice A staker withdrew released unbonding requests.
    event Withdrawn(address indexed staker, uint256 amount, uint256 requests);
    /// @notice The operator's commission changed now.
    event CommissionSet(address indexed operator, uint16 commissionBps);
    /// @notice The operator announced a commission increase.
    event CommissionIncreaseAnnounced(address indexed operator, uint16 commissionBps, uint64 effectiveAt);
    /// @notice Rewards were added for an operator and its delegators.
    event RewardsAdded(address indexed operator, address indexed funder, uint256 toOperator, uint256 toDelegators);
    /// @notice An account claimed its rewards from an operator's pool.
    event RewardsClaimed(address indexed account, address indexed operator, uint256 amount);
    /// @notice Stake of an operator was slashed and sent to the slasher.
    event Slashed(address indexed operator, uint256 fromSelf, uint256 fromDelegators, address indexed slasher);
    /// @notice The rewards distributor reserved rewards it minted into this contract.
    event RewardsReserved(address indexed distributor, uint256 amount);
    /// @notice The voting power `account` holds through its stake changed.
    event StakeVotesChanged(address indexed account, uint256 previousVotes, uint256 newVotes);

    /// @notice The amount is zero.
    error ZeroAmount();
    /// @notice The operator's self-stake is lower than the amount.
    error InsufficientSelfStake(address operator, uint256 have, uint256 want);
    /// @notice Unstaking would leave the operator's declared capacity unbacked.
    error StakeBelowRequired(address operator, uint256 remaining, uint256 required);
    /// @notice A partial exit below the minimum unbonding amount (full exits are always allowed).
    error UnbondBelowMinimum(uint256 amount, uint256 minimum);
    /// @notice The staker has the maximum number of unbonding requests pending.
    error TooManyPendingUnbondings(address staker, uint256 pending);
    /// @notice The delegation would exceed the operator's delegation cap.
    error DelegationCapExceeded(address operator, uint256 delegated, uint256 cap);
    /// @notice An operator cannot delegate to itself; it stakes instead.
    error SelfDelegation(address operator);
    /// @notice The operator is stalled (jailed devices, unbacked capacity or no self-stake).
    error OperatorStalled(address operator);
    /// @notice The operator is healthy, so a forced exit is not allowed.
    error OperatorNotStalled(address operator);
    /// @notice The delegator has fewer shares than asked.
    error InsufficientShares(address delegator, address operator, uint256 have, uint256 want);
    /// @notice The delegator has no delegation with this operator.
    error NoDelegation(address delegator, address operator);
    /// @notice No unbonding request is released yet.
    error NothingToWithdraw(address staker);
    /// @notice Nothing to claim.
    error NothingToClaim(address account, address operator);
    /// @notice Commission above 100%.
    error CommissionTooHigh(uint16 commissionBps);
    /// @notice The commission is already this value.
    error CommissionUnchanged(uint16 commissionBps);
    /// @notice The registry given at deployment does not point back at this contract.
    error RegistryMismatch(address registry);
    /// @notice Past votes can only be read for a time before now.
    error FutureLookup(uint256 timepoint, uint48 clock);
    /// @notice Reserving these rewards would owe more than this contract holds.
    error RewardsUnfunded(uint256 held, uint256 owed);

    /// @notice Role allowed to slash (the slashing module).
    function SLASHER_ROLE() external view returns (bytes32);

    /// @notice Role allowed to reserve and credit minted rewards (the rewards distributor).
    function DISTRIBUTOR_ROLE() external view returns (bytes32);

    /// @notice Scale of `OperatorStake.rewardPerShare`.
    function REWARD_SCALE() external view returns (uint256);

    /// @notice Adds `amount` to the caller's self-stake.
    function stake(uint256 amount) external;

    /// @notice Moves `amount` of the caller's self-stake into the unbonding queue. The rest must still back the
    /// caller's declared capacity; a partial exit must reach the minimum unbonding amount.
    function unstake(uint256 amount) external;

    /// @notice Delegates `amount` to `operator`, within the cap of `MaxDelegationRatio` x self-stake.
    /// @return shares Shares of the operator's delegation pool minted to the caller.
    function delegate(address operator, uint256 amount) external returns (uint256 shares);

    /// @notice Moves `shares` of the caller's delegation to `operator` into the unbonding queue.
    /// @return amount Tokens queued.
    function undelegate(address operator, uint256 shares) external returns (uint256 amount);

    /// @notice Moves all of `delegator`'s delegation to a stalled `operator` into the unbonding queue. Anyone may call
    /// it, so delegators of a jailed or departed operator are taken out even when they are not watching; the queue
    /// cap and the minimum do not apply.
    /// @return amount Tokens queued.
    function forceExit(address operator, address delegator) external returns (uint256 amount);

    /// @notice Pays out the caller's released unbonding requests, oldest first, at most `maxRequests` of them.
    /// @return amount Tokens paid.
    function withdraw(uint256 maxRequests) external returns (uint256 amount);

    /// @notice Sets the caller's commission: a decrease applies at once, an increase after `CommissionIncreaseDelay`.
    function setCommission(uint16 commissionBps) external;

    /// @notice Pulls `amount` from the caller as rewards of `operator`: commission first, then the rest pro rata
    /// between the operator's self-stake and its delegators.
    function addRewards(address operator, uint256 amount) external;

    /// @notice Reserves `amount` tokens the rewards distributor has already minted into this contract, to be credited
    /// to operators later by `creditRewards` (so a claim moves no tokens). `DISTRIBUTOR_ROLE` only.
    function reserveRewards(uint256 amount) external;

    /// @notice Credits `amount` of reserved rewards to `operator`, split like `addRewards`. `DISTRIBUTOR_ROLE` only;
    /// the distributor credits at most what it reserved.
    function creditRewards(address operator, uint256 amount) external;

    /// @notice Pays the caller's rewards from `operator`'s pool (the operator's own when the caller is `operator`).
    /// @return amount Tokens paid.
    function claimRewards(address operator) external returns (uint256 amount);

    /// @notice Takes up to `amount` of `operator`'s stake (self-stake first, active then unbonding; then delegators
    /// pro rata over active and unbonding) and sends it to the caller. Slasher only.
    /// @return slashed Tokens actually taken (at most the slashable stake).
    function slash(address operator, uint256 amount) external returns (uint256 slashed);

    /// @notice The registry whose declared capacity self-stake must back.
    function registry() external view returns (address);

    /// @notice Active self-stake of `operator`.
    function selfStake(address operator) external view returns (uint256);

    /// @notice Full stake record of `operator`.
    function getOperatorStake(address operator) external view returns (OperatorStake memory);

    /// @notice Everything a slash of `operator` can reach: active and unbonding, self and delegated.
    function slashableStake(address operator) external view returns (uint256);

    /// @notice Commission of `operator` in force now.
    function commissionOf(address operator) external view returns (uint16);

    /// @notice True when `operator` has jailed devices, unbacked capacity or no self-stake.
    function isStalled(address operator) external view returns (bool);

    /// @notice Voting power `account` holds through its stake now: its self-stake plus the principal of its
    /// delegations (lowered to their value once slashed); unbonding stake does not vote.
    function stakeVotes(address account) external view returns (uint256);

    /// @notice `stakeVotes` of `account` at `timepoint` (a unix time before now).
    function getPastStakeVotes(address account, uint256 timepoint) external view returns (uint256);

    /// @notice Brings a delegation up to date: its rewards, and its votes down to its value if its operator was
    /// slashed since. Anyone; every action of the delegator on the position does the same.
    function refreshDelegation(address operator, address delegator) external;

    /// @notice `delegator`'s shares of `operator`'s pool and their value in tokens (rounded down).
    function delegationOf(address operator, address delegator) external view returns (uint256 shares, uint256 tokens);

    /// @notice Rewards `account` can claim from `operator`'s pool now.
    function pendingRewards(address operator, address account) external view returns (uint256);

    /// @notice `staker`'s unbonding requests not yet withdrawn, oldest first.
    function pendingUnbondings(address staker) external view returns (UnbondingRequest[] memory);

    /// @notice Tokens a request would pay now (its shares at the pool's current rate).
    function unbondingValue(UnbondingRequest calldata request) external view returns (uint256);

    /// @notice Active stake of all operators and delegators.
    function totalStaked() external view returns (uint256);

    /// @notice Stake in all unbonding pools.
    function totalUnbonding() external view returns (uint256);

    /// @notice Rewards received and not yet claimed (includes rounding dust that no account can claim).
    function rewardsReserved() external view returns (uint256);
}
