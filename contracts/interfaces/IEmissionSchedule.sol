// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CLASS_COUNT} from "../types/Types.sol";

/// @notice The curve a schedule segment follows.
enum EmissionShape {
    Halving, // R per epoch, halved every `period` epochs (Helium HIP-20)
    ExponentialDecay, // S * (1 - 2^(-n / period)): half-life `period` (Filecoin simple minting)
    TargetedInflation // supply * rate per epoch, the rate steered toward a bonded ratio (Livepeer)
}

/// @notice A shape and its parameters, as governance sets them. Fields the shape does not use must be zero.
struct ShapeParams {
    EmissionShape shape;
    uint32 period; // Halving: epochs between halvings; ExponentialDecay: half-life in epochs
    uint16 targetBondedBps; // TargetedInflation: bonded ratio (staked / supply) the rate steers toward, basis points
    uint64 initialRate; // TargetedInflation: inflation of the segment's first epoch, WAD (1e18 = 100%) per epoch
    uint64 rateStep; // TargetedInflation: change of the rate per epoch, WAD per epoch
    uint64 maxRate; // TargetedInflation: ceiling of the rate, WAD per epoch (the floor is 0)
    uint128 initialEmission; // Halving: token wei emitted in each epoch of the first period
    uint128 totalEmission; // ExponentialDecay: token wei the segment emits as time goes to infinity
}

/// @notice A piece of the schedule: from `startEpoch` until the next segment starts, emission follows `params`,
/// counted from `startEpoch` and added to what the schedule had emitted before it.
struct Segment {
    ShapeParams params;
    uint64 startEpoch; // first epoch the segment governs
    int8 direction; // TargetedInflation: +1 the rate rises, -1 it falls, 0 it holds (from the bonded-ratio sample)
    uint128 baseSupply; // TargetedInflation: token supply sampled when the segment was added (rates apply to it)
    uint128 cumulativeAtStart; // emission scheduled for epochs [0, startEpoch), never above the budget
}

/// @title IEmissionSchedule
/// @notice How many new MESH each epoch may bring, in closed form: `cumulativeEmission(n)` is the total scheduled
/// for epochs [0, n), never above `emissionBudget`, and `epochEmission(e)` is the difference of two cumulatives,
/// so the emissions of any set of consecutive epochs add up exactly. Epochs are those of `ProtocolConfig`'s clock.
/// Each epoch's emission is split among resource classes by `classSplitAt(epoch)` (basis points summing to 10,000).
/// This contract only schedules: it mints nothing; the rewards path mints at most what it schedules.
///
/// The schedule is a list of segments, each with one of three shapes:
/// - `Halving`: R per epoch, halved every H = `period` epochs; a segment emits at most 2 * H * R.
/// - `ExponentialDecay`: S * (1 - 2^(-n/T)) after n epochs, T = `period`; a segment emits at most S.
/// - `TargetedInflation`: epoch emission = base supply * rate / 1e18, where the rate moves by `rateStep` per epoch
///   toward `targetBondedBps` (up while the bonded ratio staked/supply is below it, down while above, held when
///   equal), clamped to [0, maxRate]. Kept O(1) by `checkpoint()`: anyone may call it once per epoch to sample the
///   bonded ratio and the supply and start a new segment next epoch; between checkpoints the rate keeps ramping in the
///   last sampled direction on the last sampled supply (an approximation: the supply base does not grow with the
///   emissions of the epochs in between; a checkpoint every epoch makes it Livepeer's per-round rule).
///
/// Fixed point: Halving and TargetedInflation are exact integer formulas floored once per segment; ExponentialDecay
/// takes 2^(fraction) from PRBMath's UD60x18 `exp2` and rounds so it never exceeds the exact value (see
/// `EmissionMath`). So `cumulativeEmission` is at most the real-valued schedule and below it by less than one wei per
/// segment (two for a decay segment), plus 4e-18 of a decay segment's remaining tail S * 2^(-n/T).
///
/// @dev Trust: governance (the owner, the timelock) can change the shape only PROSPECTIVELY: `scheduleShape` takes
/// effect at a future epoch and never changes the emission of an epoch that has begun; only a segment that has not
/// started yet can be replaced. It can change the class split only from the next epoch on. It cannot raise the
/// budget, which is fixed at deployment (at most what the token can still mint), nor set a parameter outside the
/// hard-coded bounds.
interface IEmissionSchedule {
    /// @notice A segment was appended to the schedule (at deployment, by governance or by a checkpoint).
    event SegmentAdded(uint256 indexed index, uint64 indexed startEpoch, Segment segment);
    /// @notice A segment that had not started yet was removed, to be replaced.
    event SegmentReplaced(uint256 indexed index, uint64 indexed startEpoch);
    /// @notice Someone sampled the bonded ratio during `epoch`; the segment added next starts at `epoch + 1`.
    event Checkpointed(uint64 indexed epoch, uint256 bondedBps, uint256 supply, int8 direction, uint256 nextRate);
    /// @notice The class split for epochs from `fromEpoch` on was set.
    event ClassSplitSet(uint64 indexed fromEpoch, uint16[CLASS_COUNT] splitBps);

    /// @notice The budget is zero or above what the token can still mint (or the hard-coded maximum).
    error BudgetOutOfBounds(uint256 budget, uint256 max);
    /// @notice The halving period or half-life lies outside [MIN_PERIOD, MAX_PERIOD].
    error PeriodOutOfBounds(uint256 period, uint256 min, uint256 max);
    /// @notice The initial emission (Halving) or total emission (ExponentialDecay) lies outside its bounds.
    error AmountOutOfBounds(uint256 amount, uint256 min, uint256 max);
    /// @notice The maximum inflation rate exceeds MAX_INFLATION_RATE.
    error MaxRateOutOfBounds(uint256 maxRate, uint256 max);
    /// @notice The initial inflation rate exceeds the segment's maximum rate.
    error InitialRateAboveMax(uint256 initialRate, uint256 maxRate);
    /// @notice The rate step exceeds the segment's maximum rate.
    error RateStepAboveMax(uint256 rateStep, uint256 maxRate);
    /// @notice The target bonded ratio lies outside [MIN_TARGET_BONDED_BPS, MAX_TARGET_BONDED_BPS].
    error TargetBondedOutOfBounds(uint256 targetBondedBps, uint256 min, uint256 max);
    /// @notice A parameter the shape does not use is non-zero (most likely a parameter meant for another shape).
    error UnusedParamNotZero(EmissionShape shape);
    /// @notice The switch would start at an epoch that has already begun.
    error SwitchNotInFuture(uint256 startEpoch, uint256 currentEpoch);
    /// @notice The same segment is already scheduled from this epoch.
    error SwitchUnchanged(uint256 startEpoch);
    /// @notice `checkpoint` was already called in this epoch.
    error AlreadyCheckpointed(uint256 epoch);
    /// @notice The operation needs the segment in force to be TargetedInflation.
    error NotTargetedInflation(uint256 epoch, EmissionShape shape);
    /// @notice A governance switch is scheduled from `startEpoch`; checkpoints resume once it has started.
    error SwitchPending(uint256 startEpoch);
    /// @notice The class split does not sum to 10,000 basis points.
    error SplitSumInvalid(uint256 sum);
    /// @notice The class split equals the latest one set.
    error SplitUnchanged();

    /* GOVERNANCE */

    /// @notice Switches the schedule to `params` from `startEpoch` on (the new segment counts its epochs from there).
    /// Owner only. `startEpoch` must lie after the current epoch: the emission of every epoch that has begun stays
    /// as it was. A segment that has not started yet (a pending switch, or the one a checkpoint added for the next
    /// epoch) is replaced. For TargetedInflation the bonded ratio and supply are sampled now.
    /// @dev Reverts `SwitchNotInFuture`, `SwitchUnchanged` (same start and parameters as the pending segment) or one
    /// of the bound errors.
    function scheduleShape(uint64 startEpoch, ShapeParams calldata params) external;

    /// @notice Sets the share of each resource class (order of `ResourceClass`) in basis points, summing to 10,000,
    /// for epochs from the next one on. Owner only. Setting it again in the same epoch replaces the pending split.
    /// @dev Reverts `SplitSumInvalid` or `SplitUnchanged` (equal to the latest split set).
    function setClassSplit(uint16[CLASS_COUNT] calldata splitBps) external;

    /* TARGETED INFLATION */

    /// @notice Samples the bonded ratio (staked / supply) and the supply, and starts a TargetedInflation segment at
    /// the next epoch: its first rate is the current epoch's rate moved one step toward the target (clamped to
    /// [0, maxRate]), and it keeps moving that way until the next checkpoint. Anyone may call it, once per epoch,
    /// while the segment in force is TargetedInflation and no governance switch is pending.
    /// @dev Reverts `AlreadyCheckpointed`, `NotTargetedInflation` or `SwitchPending`.
    function checkpoint() external;

    /* VIEWS */

    /// @notice Total emission scheduled for epochs [0, epochs), never above `emissionBudget()`. Final once every
    /// epoch counted has begun (`epochs <= currentEpoch() + 1`): later changes only add segments starting later.
    /// @dev O(log segments): a binary search for the segment (O(1) when it is the latest), then its closed form; no
    /// loop over epochs. Epochs past 2^64 (the range of the config's clock) count as 2^64.
    function cumulativeEmission(uint256 epochs) external view returns (uint256);

    /// @notice Emission scheduled for `epoch`: `cumulativeEmission(epoch + 1) - cumulativeEmission(epoch)`
    /// (zero once the budget is reached).
    function epochEmission(uint256 epoch) external view returns (uint256);

    /// @notice Total the schedule may ever emit, fixed at deployment.
    function emissionBudget() external view returns (uint256);

    /// @notice Share of each resource class (order of `ResourceClass`) in `epoch`'s emission, in basis points
    /// summing to 10,000: the split in force at that epoch (the full history is kept, O(log changes)).
    function classSplitAt(uint256 epoch) external view returns (uint16[CLASS_COUNT] memory);

    /// @notice Inflation rate (WAD per epoch) in force at `epoch`; reverts `NotTargetedInflation` when the segment
    /// governing `epoch` has another shape.
    function inflationRateAt(uint256 epoch) external view returns (uint256);

    /// @notice Bonded ratio now: `staking.totalStaked() * 10,000 / token.totalSupply()` (0 when the supply is 0).
    function bondedRatioBps() external view returns (uint256);

    /// @notice Number of segments (never zero: segment 0 starts at epoch 0).
    function segmentCount() external view returns (uint256);

    /// @notice Segment number `index` (reverts past the end).
    function segment(uint256 index) external view returns (Segment memory);

    /// @notice The segment governing `epoch` and its index.
    function segmentAt(uint256 epoch) external view returns (uint256 index, Segment memory);

    /// @notice First epoch in which `checkpoint()` may be called again (0 before the first checkpoint).
    function nextCheckpointEpoch() external view returns (uint64);

    /// @notice Smallest halving period or half-life, in epochs.
    function MIN_PERIOD() external view returns (uint256);

    /// @notice Largest halving period or half-life, in epochs.
    function MAX_PERIOD() external view returns (uint256);

    /// @notice Smallest initial emission (Halving) or total emission (ExponentialDecay), in token wei.
    function MIN_AMOUNT() external view returns (uint256);

    /// @notice Largest initial emission, total emission, budget and sampled supply, in token wei.
    function MAX_AMOUNT() external view returns (uint256);

    /// @notice Largest inflation rate, WAD per epoch.
    function MAX_INFLATION_RATE() external view returns (uint256);

    /// @notice Smallest target bonded ratio, basis points.
    function MIN_TARGET_BONDED_BPS() external view returns (uint256);

    /// @notice Largest target bonded ratio, basis points.
    function MAX_TARGET_BONDED_BPS() external view returns (uint256);
}
