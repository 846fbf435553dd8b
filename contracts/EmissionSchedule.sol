// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IEmissionSchedule, EmissionShape, ShapeParams, Segment} from "./interfaces/IEmissionSchedule.sol";
import {IMeshToken} from "./interfaces/IMeshToken.sol";
import {IProtocolConfig} from "./interfaces/IProtocolConfig.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {EmissionMath} from "./libraries/EmissionMath.sol";
import {CLASS_COUNT} from "./types/Types.sol";

/// @notice A class split and the first epoch it applies to.
struct SplitChange {
    uint64 fromEpoch;
    uint16[CLASS_COUNT] splitBps;
}

/// @title EmissionSchedule
/// @notice Closed-form emission per epoch and cumulative, as a list of governance segments (Halving, ExponentialDecay,
/// TargetedInflation), hard-capped by a budget fixed at deployment; per-class split with full history.
contract EmissionSchedule is IEmissionSchedule, Ownable2Step {
    using SafeCast for uint256;

    uint256 private constant BPS = 10_000; // basis-point scale (class split, bonded ratio)
    /// @dev Epoch counts are clamped here: the config clock numbers epochs with uint64.
    uint256 private constant EPOCH_LIMIT = 2 ** 64;

    /// @inheritdoc IEmissionSchedule
    uint256 public constant MIN_PERIOD = 30; // epochs (a month of daily epochs)
    /// @inheritdoc IEmissionSchedule
    uint256 public constant MAX_PERIOD = 36_500; // epochs (a century of daily epochs); < 2^17 as EmissionMath needs
    /// @inheritdoc IEmissionSchedule
    uint256 public constant MIN_AMOUNT = 1e18; // one MESH
    /// @inheritdoc IEmissionSchedule
    uint256 public constant MAX_AMOUNT = 1e27; // one billion MESH, MeshToken's cap; < 2^90 as EmissionMath needs
    /// @inheritdoc IEmissionSchedule
    uint256 public constant MAX_INFLATION_RATE = 1e15; // WAD per epoch: 0.1% per epoch
    /// @inheritdoc IEmissionSchedule
    uint256 public constant MIN_TARGET_BONDED_BPS = 1_000;
    /// @inheritdoc IEmissionSchedule
    uint256 public constant MAX_TARGET_BONDED_BPS = 9_000;

    IProtocolConfig public immutable config;
    IMeshToken public immutable token;
    IStaking public immutable staking;
    /// @inheritdoc IEmissionSchedule
    uint256 public immutable emissionBudget;

    /// @dev Ascending by `startEpoch`, the first at epoch 0; at most the last one has not started yet.
    Segment[] private _segments;
    /// @dev Ascending by `fromEpoch`, the first at epoch 0; at most the last one does not apply yet.
    SplitChange[] private _splits;
    /// @inheritdoc IEmissionSchedule
    uint64 public nextCheckpointEpoch;

    /// @param config_ Protocol config: its clock numbers the epochs.
    /// @param token_ MESH: its supply is the base of targeted inflation; the budget must fit under its cap.
    /// @param staking_ Staking: its total stake gives the bonded ratio.
    /// @param owner_ Governance (the timelock once deployed).
    /// @param emissionBudget_ Total the schedule may ever emit: in [1, min(MAX_AMOUNT, MAX_SUPPLY - totalMinted)].
    /// @param initialShape Shape of segment 0, from epoch 0.
    /// @param initialSplit Class split from epoch 0, basis points summing to 10,000.
    constructor(
        IProtocolConfig config_,
        IMeshToken token_,
        IStaking staking_,
        address owner_,
        uint256 emissionBudget_,
        ShapeParams memory initialShape,
        uint16[CLASS_COUNT] memory initialSplit
    ) Ownable(owner_) {
        uint256 maxBudget = Math.min(MAX_AMOUNT, token_.MAX_SUPPLY() - token_.totalMinted());
        if (emissionBudget_ == 0 || emissionBudget_ > maxBudget) revert BudgetOutOfBounds(emissionBudget_, maxBudget);
        config = config_;
        token = token_;
        staking = staking_;
        emissionBudget = emissionBudget_;

        _pushSegment(_newSegment(0, initialShape, 0));
        _checkSplit(initialSplit);
        _splits.push(SplitChange(0, initialSplit));
        emit ClassSplitSet(0, initialSplit);
    }

    /* GOVERNANCE */

    /// @inheritdoc IEmissionSchedule
    function scheduleShape(uint64 startEpoch, ShapeParams calldata params) external onlyOwner {
        uint64 current = config.currentEpoch();
        if (startEpoch <= current) revert SwitchNotInFuture(startEpoch, current);
        uint256 last = _segments.length - 1;
        Segment storage lastSegment = _segments[last];
        uint64 lastStart = lastSegment.startEpoch;
        if (lastStart > current) {
            // Not started yet (index >= 1, since segment 0 starts at epoch 0): replace it.
            if (lastStart == startEpoch && keccak256(abi.encode(lastSegment.params)) == keccak256(abi.encode(params))) {
                revert SwitchUnchanged(startEpoch);
            }
            _segments.pop();
            emit SegmentReplaced(last, lastStart);
        }
        // The segments left have all started, so the new one follows them and the past keeps its emission.
        _pushSegment(_newSegment(startEpoch, params, _cumulative(startEpoch)));
    }

    /// @inheritdoc IEmissionSchedule
    function setClassSplit(uint16[CLASS_COUNT] calldata splitBps) external onlyOwner {
        _checkSplit(splitBps);
        uint64 fromEpoch = config.currentEpoch() + 1;
        uint256 last = _splits.length - 1;
        if (_sameSplit(_splits[last].splitBps, splitBps)) revert SplitUnchanged();
        if (_splits[last].fromEpoch == fromEpoch) {
            // A split set earlier in this epoch has not applied yet: replace it, or drop it if this one restores the
            // split in force (index >= 1, since split 0 applies from epoch 0).
            _splits.pop();
            if (!_sameSplit(_splits[last - 1].splitBps, splitBps)) _splits.push(SplitChange(fromEpoch, splitBps));
        } else {
            _splits.push(SplitChange(fromEpoch, splitBps));
        }
        emit ClassSplitSet(fromEpoch, splitBps);
    }

    /* TARGETED INFLATION */

    /// @inheritdoc IEmissionSchedule
    function checkpoint() external {
        uint64 current = config.currentEpoch();
        if (current < nextCheckpointEpoch) revert AlreadyCheckpointed(current);
        uint256 index = _segmentIndexAt(current);
        Segment memory active = _segments[index];
        if (active.params.shape != EmissionShape.TargetedInflation) {
            revert NotTargetedInflation(current, active.params.shape);
        }
        if (index != _segments.length - 1) revert SwitchPending(_segments[index + 1].startEpoch);
        nextCheckpointEpoch = current + 1;

        (uint256 bondedBps, uint256 supply) = _sampleBonded();
        int8 direction = _direction(bondedBps, active.params.targetBondedBps);
        // The next epoch's rate: this epoch's, moved one step in the sampled direction; the other parameters carry on.
        ShapeParams memory p = active.params;
        uint256 nextRate = EmissionMath.rampRate(_rateAt(active, current), direction, p.rateStep, p.maxRate, 1);
        p.initialRate = nextRate.toUint64();
        uint64 start = current + 1;
        _pushSegment(
            Segment({
                params: p,
                startEpoch: start,
                direction: direction,
                baseSupply: Math.min(supply, MAX_AMOUNT).toUint128(),
                cumulativeAtStart: _cumulative(start).toUint128()
            })
        );
        emit Checkpointed(current, bondedBps, supply, direction, nextRate);
    }

    /// @dev A segment from `params` (checked against the bounds) starting at `startEpoch`; for TargetedInflation it
    /// samples the bonded ratio and the supply now.
    function _newSegment(uint64 startEpoch, ShapeParams memory params, uint256 cumulativeAtStart)
        private
        view
        returns (Segment memory s)
    {
        _checkParams(params);
        s.params = params;
        s.startEpoch = startEpoch;
        s.cumulativeAtStart = cumulativeAtStart.toUint128();
        if (params.shape == EmissionShape.TargetedInflation) {
            (uint256 bondedBps, uint256 supply) = _sampleBonded();
            s.direction = _direction(bondedBps, params.targetBondedBps);
            s.baseSupply = Math.min(supply, MAX_AMOUNT).toUint128();
        }
    }

    function _pushSegment(Segment memory s) private {
        _segments.push(s);
        emit SegmentAdded(_segments.length - 1, s.startEpoch, s);
    }

    function _sampleBonded() private view returns (uint256 bondedBps, uint256 supply) {
        supply = token.totalSupply();
        bondedBps = supply == 0 ? 0 : Math.mulDiv(staking.totalStaked(), BPS, supply);
    }

    /// @dev +1 below the target (the rate rises to attract stake), -1 above it, 0 on it.
    function _direction(uint256 bondedBps, uint256 targetBps) private pure returns (int8) {
        if (bondedBps < targetBps) return 1;
        if (bondedBps > targetBps) return -1;
        return 0;
    }

    function _rateAt(Segment memory s, uint256 epoch) private pure returns (uint256) {
        ShapeParams memory p = s.params;
        return EmissionMath.rampRate(p.initialRate, s.direction, p.rateStep, p.maxRate, epoch - s.startEpoch);
    }

    function _checkParams(ShapeParams memory p) private pure {
        if (p.shape == EmissionShape.TargetedInflation) {
            if (p.maxRate > MAX_INFLATION_RATE) revert MaxRateOutOfBounds(p.maxRate, MAX_INFLATION_RATE);
            if (p.initialRate > p.maxRate) revert InitialRateAboveMax(p.initialRate, p.maxRate);
            if (p.rateStep > p.maxRate) revert RateStepAboveMax(p.rateStep, p.maxRate);
            if (p.targetBondedBps < MIN_TARGET_BONDED_BPS || p.targetBondedBps > MAX_TARGET_BONDED_BPS) {
                revert TargetBondedOutOfBounds(p.targetBondedBps, MIN_TARGET_BONDED_BPS, MAX_TARGET_BONDED_BPS);
            }
            if (p.period != 0 || p.initialEmission != 0 || p.totalEmission != 0) revert UnusedParamNotZero(p.shape);
            return;
        }
        if (p.period < MIN_PERIOD || p.period > MAX_PERIOD) revert PeriodOutOfBounds(p.period, MIN_PERIOD, MAX_PERIOD);
        bool halving = p.shape == EmissionShape.Halving;
        uint256 amount = halving ? p.initialEmission : p.totalEmission;
        if (amount < MIN_AMOUNT || amount > MAX_AMOUNT) revert AmountOutOfBounds(amount, MIN_AMOUNT, MAX_AMOUNT);
        uint256 unusedAmount = halving ? p.totalEmission : p.initialEmission;
        if (unusedAmount != 0 || p.targetBondedBps != 0 || p.initialRate != 0 || p.rateStep != 0 || p.maxRate != 0) {
            revert UnusedParamNotZero(p.shape);
        }
    }

    /* CLASS SPLIT */

    function _checkSplit(uint16[CLASS_COUNT] memory splitBps) private pure {
        uint256 sum;
        for (uint256 c; c < CLASS_COUNT; ++c) {
            sum += splitBps[c];
        }
        if (sum != BPS) revert SplitSumInvalid(sum);
    }

    function _sameSplit(uint16[CLASS_COUNT] storage a, uint16[CLASS_COUNT] memory b) private view returns (bool) {
        for (uint256 c; c < CLASS_COUNT; ++c) {
            if (a[c] != b[c]) return false;
        }
        return true;
    }

    /* VIEWS */

    /// @inheritdoc IEmissionSchedule
    function cumulativeEmission(uint256 epochs) external view returns (uint256) {
        return _cumulative(epochs);
    }

    /// @inheritdoc IEmissionSchedule
    function epochEmission(uint256 epoch) external view returns (uint256) {
        if (epoch >= EPOCH_LIMIT) return 0;
        return _cumulative(epoch + 1) - _cumulative(epoch);
    }

    /// @inheritdoc IEmissionSchedule
    function classSplitAt(uint256 epoch) external view returns (uint16[CLASS_COUNT] memory) {
        uint256 low;
        uint256 high = _splits.length;
        while (high - low > 1) {
            uint256 mid = Math.average(low, high);
            if (_splits[mid].fromEpoch <= epoch) low = mid;
            else high = mid;
        }
        return _splits[low].splitBps;
    }

    /// @inheritdoc IEmissionSchedule
    function inflationRateAt(uint256 epoch) external view returns (uint256) {
        Segment memory s = _segments[_segmentIndexAt(epoch)];
        if (s.params.shape != EmissionShape.TargetedInflation) revert NotTargetedInflation(epoch, s.params.shape);
        return _rateAt(s, Math.min(epoch, EPOCH_LIMIT));
    }

    /// @inheritdoc IEmissionSchedule
    function bondedRatioBps() external view returns (uint256 bondedBps) {
        (bondedBps,) = _sampleBonded();
    }

    /// @inheritdoc IEmissionSchedule
    function segmentCount() external view returns (uint256) {
        return _segments.length;
    }

    /// @inheritdoc IEmissionSchedule
    function segment(uint256 index) external view returns (Segment memory) {
        return _segments[index];
    }

    /// @inheritdoc IEmissionSchedule
    function segmentAt(uint256 epoch) external view returns (uint256 index, Segment memory) {
        index = _segmentIndexAt(epoch);
        return (index, _segments[index]);
    }

    /// @dev Emission scheduled for epochs [0, epochs): the governing segment's closed form on top of what came before,
    /// clamped to the budget. For epochs <= currentEpoch + 1 the value never changes: later segments start later.
    function _cumulative(uint256 epochs) private view returns (uint256) {
        uint256 n = Math.min(epochs, EPOCH_LIMIT);
        Segment memory s = _segments[_segmentIndexAt(n)];
        uint256 total = s.cumulativeAtStart + _segmentEmission(s, n - s.startEpoch);
        return Math.min(total, emissionBudget);
    }

    /// @dev Emission of segment `s` over its first `n` epochs (rounded down; see EmissionMath).
    function _segmentEmission(Segment memory s, uint256 n) private pure returns (uint256) {
        ShapeParams memory p = s.params;
        if (p.shape == EmissionShape.Halving) {
            return EmissionMath.halvingCumulativeDown(p.initialEmission, p.period, n);
        }
        if (p.shape == EmissionShape.ExponentialDecay) {
            return EmissionMath.decayCumulativeDown(p.totalEmission, p.period, n);
        }
        return EmissionMath.inflationCumulativeDown(s.baseSupply, p.initialRate, s.direction, p.rateStep, p.maxRate, n);
    }

    /// @dev Index of the last segment starting at or before `epoch`: O(1) for the latest, else a binary search.
    function _segmentIndexAt(uint256 epoch) private view returns (uint256) {
        uint256 high = _segments.length;
        if (_segments[high - 1].startEpoch <= epoch) return high - 1;
        uint256 low;
        --high; // segments[high] starts after `epoch`; segments[0] starts at 0, at or before it
        while (high - low > 1) {
            uint256 mid = Math.average(low, high);
            if (_segments[mid].startEpoch <= epoch) low = mid;
            else high = mid;
        }
        return low;
    }
}
