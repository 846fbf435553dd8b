// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IStaking, OperatorStake, Delegation, UnbondingRequest} from "./interfaces/IStaking.sol";
import {IProtocolConfig, Param} from "./interfaces/IProtocolConfig.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {Pool, SharesMath} from "./libraries/SharesMath.sol";
import {VoteHistory, VoteHistoryLib} from "./libraries/VoteHistory.sol";

/// @title Staking
/// @notice Self-stake, delegation, a slashable unbonding queue and delegator rewards by reward-per-share.
contract Staking is IStaking, AccessControl {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SharesMath for Pool;
    using VoteHistoryLib for VoteHistory;

    /// @inheritdoc IStaking
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    /// @inheritdoc IStaking
    bytes32 public constant DISTRIBUTOR_ROLE = keccak256("DISTRIBUTOR_ROLE");
    /// @inheritdoc IStaking
    uint256 public constant REWARD_SCALE = 1e36;
    uint256 private constant BPS = 10_000; // basis-point scale

    IERC20 public immutable token;
    IProtocolConfig public immutable config;
    /// @inheritdoc IStaking
    address public immutable registry;

    mapping(address operator => OperatorStake) private _operators;
    mapping(address operator => mapping(address delegator => Delegation)) private _delegations;
    mapping(address staker => UnbondingRequest[]) private _queue;
    mapping(address staker => uint256) private _queueHead;
    mapping(address operator => mapping(uint48 generation => uint256)) private _rewardPerShareAtWipe;
    mapping(address account => VoteHistory) private _stakeVotes;

    /// @inheritdoc IStaking
    uint256 public totalStaked;
    /// @inheritdoc IStaking
    uint256 public totalUnbonding;
    /// @inheritdoc IStaking
    uint256 public rewardsReserved;

    /// @param token_ MESH.
    /// @param config_ Protocol parameters.
    /// @param registry_ The provider registry, which must name this contract as its staking contract.
    /// @param admin Governance, which manages `SLASHER_ROLE`.
    constructor(IERC20 token_, IProtocolConfig config_, address registry_, address admin) {
        if (IProviderRegistry(registry_).staking() != address(this)) revert RegistryMismatch(registry_);
        token = token_;
        config = config_;
        registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /* SELF-STAKE */

    /// @inheritdoc IStaking
    function stake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        _operators[msg.sender].selfStake += amount.toUint128();
        totalStaked += amount;
        emit Staked(msg.sender, amount);
        _addVotes(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IStaking
    function unstake(uint256 amount) external {
        OperatorStake storage op = _operators[msg.sender];
        uint256 have = op.selfStake;
        if (amount == 0) revert ZeroAmount();
        if (amount > have) revert InsufficientSelfStake(msg.sender, have, amount);
        uint256 remaining = have - amount;
        uint256 required = IProviderRegistry(registry).requiredStake(msg.sender);
        if (remaining < required) revert StakeBelowRequired(msg.sender, remaining, required);
        _checkMinimum(amount, remaining == 0);

        op.selfStake = remaining.toUint128();
        totalStaked -= amount;
        _subtractVotes(msg.sender, amount);
        (uint256 shares, uint40 releaseAt) = _queueExit(msg.sender, msg.sender, op.selfUnbonding, false, amount, true);
        emit Unstaked(msg.sender, amount, shares, releaseAt);
    }

    /* DELEGATION */

    /// @inheritdoc IStaking
    function delegate(address operator, uint256 amount) external returns (uint256 shares) {
        if (operator == msg.sender) revert SelfDelegation(operator);
        if (amount == 0) revert ZeroAmount();
        if (isStalled(operator)) revert OperatorStalled(operator);
        OperatorStake storage op = _operators[operator];
        uint256 delegatedAfter = uint256(op.delegated.tokens) + amount;
        uint256 cap = uint256(op.selfStake) * config.param(Param.MaxDelegationRatio);
        if (delegatedAfter > cap) revert DelegationCapExceeded(operator, delegatedAfter, cap);

        Delegation storage d = _delegations[operator][msg.sender];
        _syncDelegation(operator, op, d, msg.sender);
        shares = op.delegated.deposit(amount);
        d.shares += shares;
        d.votes += amount.toUint208();
        totalStaked += amount;
        _addVotes(msg.sender, amount);

        emit Delegated(msg.sender, operator, amount, shares);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IStaking
    function undelegate(address operator, uint256 shares) external returns (uint256 amount) {
        if (shares == 0) revert ZeroAmount();
        OperatorStake storage op = _operators[operator];
        Delegation storage d = _delegations[operator][msg.sender];
        _syncDelegation(operator, op, d, msg.sender);
        if (shares > d.shares) revert InsufficientShares(msg.sender, operator, d.shares, shares);
        amount = op.delegated.toTokensDown(shares);
        _checkMinimum(amount, shares == d.shares);
        _exitDelegation(operator, op, d, msg.sender, shares, amount, false);
    }

    /// @inheritdoc IStaking
    function forceExit(address operator, address delegator) external returns (uint256 amount) {
        if (!isStalled(operator)) revert OperatorNotStalled(operator);
        OperatorStake storage op = _operators[operator];
        Delegation storage d = _delegations[operator][delegator];
        _syncDelegation(operator, op, d, delegator);
        uint256 shares = d.shares;
        if (shares == 0) revert NoDelegation(delegator, operator);
        amount = op.delegated.toTokensDown(shares);
        _exitDelegation(operator, op, d, delegator, shares, amount, true);
    }

    /* UNBONDING QUEUE */

    /// @inheritdoc IStaking
    function withdraw(uint256 maxRequests) external returns (uint256 amount) {
        UnbondingRequest[] storage queue = _queue[msg.sender];
        uint256 head = _queueHead[msg.sender];
        uint256 end = queue.length - head > maxRequests ? head + maxRequests : queue.length;
        uint256 first = head;
        for (; head < end; ++head) {
            UnbondingRequest memory request = queue[head];
            if (request.releaseAt > block.timestamp) break;
            Pool storage pool = _unbondingPool(request);
            if (request.generation == pool.generation) {
                uint256 tokens = pool.toTokensDown(request.shares);
                pool.remove(tokens, request.shares);
                amount += tokens;
            }
            delete queue[head];
        }
        if (head == first) revert NothingToWithdraw(msg.sender);
        _queueHead[msg.sender] = head;
        totalUnbonding -= amount;

        emit Withdrawn(msg.sender, amount, head - first);
        token.safeTransfer(msg.sender, amount);
    }

    /* COMMISSION AND REWARDS */

    /// @inheritdoc IStaking
    function setCommission(uint16 commissionBps) external {
        if (commissionBps > BPS) revert CommissionTooHigh(commissionBps);
        OperatorStake storage op = _operators[msg.sender];
        uint16 current = commissionOf(msg.sender);
        bool pending = op.commissionEffectiveAt > block.timestamp;
        if (commissionBps == current && !pending) revert CommissionUnchanged(commissionBps);

        op.pendingCommissionBps = 0;
        op.commissionEffectiveAt = 0;
        if (commissionBps <= current || op.delegated.shares == 0) {
            op.commissionBps = commissionBps;
            emit CommissionSet(msg.sender, commissionBps);
        } else {
            uint64 effectiveAt = uint64(block.timestamp + config.param(Param.CommissionIncreaseDelay));
            op.commissionBps = current;
            op.pendingCommissionBps = commissionBps;
            op.commissionEffectiveAt = effectiveAt;
            emit CommissionIncreaseAnnounced(msg.sender, commissionBps, effectiveAt);
        }
    }

    /// @inheritdoc IStaking
    function addRewards(address operator, uint256 amount) external {
        _allocateRewards(operator, amount);
        rewardsReserved += amount;
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IStaking
    function reserveRewards(uint256 amount) external onlyRole(DISTRIBUTOR_ROLE) {
        uint256 reserved = rewardsReserved + amount;
        uint256 owed = totalStaked + totalUnbonding + reserved;
        uint256 held = token.balanceOf(address(this));
        if (held < owed) revert RewardsUnfunded(held, owed);
        rewardsReserved = reserved;
        emit RewardsReserved(msg.sender, amount);
    }

    /// @inheritdoc IStaking
    function creditRewards(address operator, uint256 amount) external onlyRole(DISTRIBUTOR_ROLE) {
        _allocateRewards(operator, amount);
    }

    /// @inheritdoc IStaking
    function claimRewards(address operator) external returns (uint256 amount) {
        OperatorStake storage op = _operators[operator];
        Delegation storage d = _delegations[operator][msg.sender];
        _syncDelegation(operator, op, d, msg.sender);
        amount = d.rewards;
        d.rewards = 0;
        if (msg.sender == operator) {
            amount += op.operatorRewards;
            op.operatorRewards = 0;
        }
        if (amount == 0) revert NothingToClaim(msg.sender, operator);
        rewardsReserved -= amount;

        emit RewardsClaimed(msg.sender, operator, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /* SLASHING */

    /// @inheritdoc IStaking
    function slash(address operator, uint256 amount) external onlyRole(SLASHER_ROLE) returns (uint256 slashed) {
        OperatorStake storage op = _operators[operator];
        uint256 rest = Math.min(amount, slashableStake(operator));
        slashed = rest;

        uint256 fromSelf = Math.min(rest, op.selfStake);
        op.selfStake -= uint128(fromSelf);
        _subtractVotes(operator, fromSelf);
        rest -= fromSelf;
        uint256 fromSelfUnbonding = Math.min(rest, op.selfUnbonding.tokens);
        op.selfUnbonding.remove(fromSelfUnbonding, 0);
        rest -= fromSelfUnbonding;

        // Delegators pro rata over active and unbonding stake; the active pool's part rounds up.
        uint256 fromDelegated;
        if (rest > 0) {
            uint256 active = op.delegated.tokens;
            fromDelegated = Math.mulDiv(rest, active, active + op.delegatedUnbonding.tokens, Math.Rounding.Ceil);
            _removeDelegated(operator, op, fromDelegated, 0);
            op.delegatedUnbonding.remove(rest - fromDelegated, 0);
        }

        totalStaked -= fromSelf + fromDelegated;
        totalUnbonding -= fromSelfUnbonding + rest - fromDelegated;

        emit Slashed(operator, fromSelf + fromSelfUnbonding, rest, msg.sender);
        if (slashed > 0) token.safeTransfer(msg.sender, slashed);
    }

    /* VIEWS */

    /// @inheritdoc IStaking
    function selfStake(address operator) external view returns (uint256) {
        return _operators[operator].selfStake;
    }

    /// @inheritdoc IStaking
    function getOperatorStake(address operator) external view returns (OperatorStake memory) {
        return _operators[operator];
    }

    /// @inheritdoc IStaking
    function slashableStake(address operator) public view returns (uint256) {
        OperatorStake storage op = _operators[operator];
        return uint256(op.selfStake) + op.selfUnbonding.tokens + op.delegated.tokens + op.delegatedUnbonding.tokens;
    }

    /// @inheritdoc IStaking
    function commissionOf(address operator) public view returns (uint16) {
        OperatorStake storage op = _operators[operator];
        uint64 effectiveAt = op.commissionEffectiveAt;
        if (effectiveAt != 0 && block.timestamp >= effectiveAt) return op.pendingCommissionBps;
        return op.commissionBps;
    }

    /// @inheritdoc IStaking
    function isStalled(address operator) public view returns (bool) {
        IProviderRegistry reg = IProviderRegistry(registry);
        uint256 self = _operators[operator].selfStake;
        return self == 0 || reg.jailedDevices(operator) > 0 || self < reg.requiredStake(operator);
    }

    /// @inheritdoc IStaking
    function stakeVotes(address account) external view returns (uint256) {
        return _stakeVotes[account].latest();
    }

    /// @inheritdoc IStaking
    function getPastStakeVotes(address account, uint256 timepoint) external view returns (uint256) {
        uint48 clock = uint48(block.timestamp);
        if (timepoint >= clock) revert FutureLookup(timepoint, clock);
        return _stakeVotes[account].upperLookup(uint48(timepoint));
    }

    /// @inheritdoc IStaking
    function refreshDelegation(address operator, address delegator) external {
        _syncDelegation(operator, _operators[operator], _delegations[operator][delegator], delegator);
    }

    /// @inheritdoc IStaking
    function delegationOf(address operator, address delegator)
        external
        view
        returns (uint256 shares, uint256 tokens)
    {
        Delegation storage d = _delegations[operator][delegator];
        Pool storage pool = _operators[operator].delegated;
        if (d.generation != pool.generation) return (0, 0);
        shares = d.shares;
        tokens = pool.toTokensDown(shares);
    }

    /// @inheritdoc IStaking
    function pendingRewards(address operator, address account) external view returns (uint256 amount) {
        OperatorStake storage op = _operators[operator];
        Delegation storage d = _delegations[operator][account];
        uint256 earnedPerShare = _rewardPerShareOf(operator, op, d) - d.rewardPerSharePaid;
        amount = d.rewards + Math.mulDiv(d.shares, earnedPerShare, REWARD_SCALE);
        if (account == operator) amount += op.operatorRewards;
    }

    /// @inheritdoc IStaking
    function pendingUnbondings(address staker) external view returns (UnbondingRequest[] memory requests) {
        UnbondingRequest[] storage queue = _queue[staker];
        uint256 head = _queueHead[staker];
        requests = new UnbondingRequest[](queue.length - head);
        for (uint256 i; i < requests.length; ++i) {
            requests[i] = queue[head + i];
        }
    }

    /// @inheritdoc IStaking
    function unbondingValue(UnbondingRequest calldata request) external view returns (uint256) {
        Pool storage pool = _unbondingPool(request);
        return request.generation == pool.generation ? pool.toTokensDown(request.shares) : 0;
    }

    /* INTERNAL */

    function _exitDelegation(
        address operator,
        OperatorStake storage op,
        Delegation storage d,
        address delegator,
        uint256 shares,
        uint256 amount,
        bool forced
    ) private {
        uint256 votes = Math.mulDiv(d.votes, shares, d.shares);
        d.votes -= uint208(votes);
        d.shares -= shares;
        _removeDelegated(operator, op, amount, shares);
        // The rest never counts for more than it is worth (the exit's rounding can leave it a wei above).
        uint256 value = op.delegated.toTokensDown(d.shares);
        if (d.votes > value) {
            votes += d.votes - value;
            d.votes = uint208(value);
        }
        _subtractVotes(delegator, votes);
        totalStaked -= amount;
        (uint256 unbondingShares, uint40 releaseAt) =
            _queueExit(delegator, operator, op.delegatedUnbonding, true, amount, !forced);
        emit Undelegated(delegator, operator, amount, unbondingShares, releaseAt, forced);
    }

    /// @dev Puts `amount` into `pool` and queues the staker's claim on it. Worthless exits (a pool slashed to zero)
    /// queue nothing.
    function _queueExit(
        address staker,
        address operator,
        Pool storage pool,
        bool delegated,
        uint256 amount,
        bool capped
    ) private returns (uint256 shares, uint40 releaseAt) {
        if (amount == 0) return (0, 0);
        UnbondingRequest[] storage queue = _queue[staker];
        uint256 pending = queue.length - _queueHead[staker];
        if (capped && pending >= config.param(Param.MaxPendingUnbondings)) {
            revert TooManyPendingUnbondings(staker, pending);
        }
        shares = pool.deposit(amount);
        totalUnbonding += amount;
        releaseAt = uint40(block.timestamp + config.param(Param.UnbondingPeriod));
        queue.push(UnbondingRequest(operator, releaseAt, delegated, pool.generation, shares));
    }

    /// @dev Takes tokens (and shares) out of the active delegation pool; if that wipes the pool, remembers the
    /// reward-per-share its worthless shares had earned up to then.
    function _removeDelegated(address operator, OperatorStake storage op, uint256 tokens, uint256 shares) private {
        uint48 generation = op.delegated.generation;
        if (op.delegated.remove(tokens, shares)) _rewardPerShareAtWipe[operator][generation] = op.rewardPerShare;
    }

    /// @dev Brings a delegation's rewards up to date; drops shares of a wiped generation (keeping what they earned);
    /// lowers its votes to its value when a slash took part of it.
    /// @dev Splits `amount` of `operator`'s rewards: commission first, then pro rata between its self-stake and its
    /// delegators (by reward-per-share). The caller accounts for the tokens.
    function _allocateRewards(address operator, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        OperatorStake storage op = _operators[operator];
        uint256 afterCommission = amount - Math.mulDiv(amount, commissionOf(operator), BPS);
        uint256 delegatedTokens = op.delegated.tokens;
        uint256 toDelegators;
        if (delegatedTokens > 0 && op.delegated.shares > 0) {
            // Payouts round down; what delegators cannot claim to the wei stays in the reserve as dust.
            toDelegators = Math.mulDiv(afterCommission, delegatedTokens, delegatedTokens + op.selfStake);
            uint256 increment = Math.mulDiv(toDelegators, REWARD_SCALE, op.delegated.shares);
            if (increment == 0) toDelegators = 0;
            op.rewardPerShare += increment;
        }
        uint256 toOperator = amount - toDelegators;
        op.operatorRewards += toOperator;
        emit RewardsAdded(operator, msg.sender, toOperator, toDelegators);
    }

    function _syncDelegation(address operator, OperatorStake storage op, Delegation storage d, address delegator)
        private
    {
        if (d.shares > 0) {
            uint256 rewardPerShare = _rewardPerShareOf(operator, op, d);
            d.rewards += Math.mulDiv(d.shares, rewardPerShare - d.rewardPerSharePaid, REWARD_SCALE);
        }
        if (d.generation != op.delegated.generation) {
            d.shares = 0;
            d.generation = op.delegated.generation;
        }
        d.rewardPerSharePaid = op.rewardPerShare;
        uint256 value = op.delegated.toTokensDown(d.shares);
        if (d.votes > value) {
            _subtractVotes(delegator, d.votes - value);
            d.votes = uint208(value);
        }
    }

    function _addVotes(address account, uint256 amount) private {
        if (amount > 0) _writeVotes(account, _stakeVotes[account].latest() + amount);
    }

    function _subtractVotes(address account, uint256 amount) private {
        if (amount > 0) _writeVotes(account, _stakeVotes[account].latest() - amount);
    }

    function _writeVotes(address account, uint256 votes) private {
        (uint256 previous, uint256 current) = _stakeVotes[account].push(uint48(block.timestamp), votes);
        emit StakeVotesChanged(account, previous, current);
    }

    /// @dev The reward-per-share a delegation's shares have earned up to: now, or the wipe of their generation.
    function _rewardPerShareOf(address operator, OperatorStake storage op, Delegation storage d)
        private
        view
        returns (uint256)
    {
        return d.generation == op.delegated.generation
            ? op.rewardPerShare
            : _rewardPerShareAtWipe[operator][d.generation];
    }

    function _checkMinimum(uint256 amount, bool fullExit) private view {
        uint256 minimum = config.param(Param.MinUnbondAmount);
        if (!fullExit && amount < minimum) revert UnbondBelowMinimum(amount, minimum);
    }

    function _unbondingPool(UnbondingRequest memory request) private view returns (Pool storage) {
        OperatorStake storage op = _operators[request.operator];
        return request.delegated ? op.delegatedUnbonding : op.selfUnbonding;
    }
}
