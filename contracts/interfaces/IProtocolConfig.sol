// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ResourceClass, FaultKind} from "../types/Types.sol";

/// @notice Global parameters, each bounded by hard-coded limits (see `paramBounds`).
enum Param {
    UnbondingPeriod, // seconds a stake stays slashable after unbonding; also the statute of limitations for faults
    MaxDelegationRatio, // delegated stake allowed per unit of operator self-stake (The Graph: 16)
    CommissionIncreaseDelay, // seconds between announcing a commission increase and its effect
    MinUnbondAmount, // smallest partial unbonding, in token wei (a full exit is always allowed)
    MaxPendingUnbondings, // unbonding requests one staker may have queued at once
    LocationChangeCooldown, // seconds between two location changes of one device
    JailAfterMissedEpochs, // consecutive missed epochs that jail a device
    JailCooldown, // seconds a jailed device waits before its operator may unjail it
    MaxSlashPerEpoch, // circuit breaker: total token wei slashable in one epoch
    ChallengeBond, // token wei a fisherman bonds to open a challenge
    DisputeWindow, // seconds the arbitrator has to resolve a challenge
    ChallengerRewardBps, // share of a slash upheld on challenge paid to the challenger, in basis points
    VerdictSubmissionWindow, // seconds after an epoch ends during which its verdict can be submitted
    VerdictChallengeWindow, // seconds a submitted verdict can be disputed before it finalises
    VerdictDisputeBond, // token wei a non-oracle bonds to dispute a verdict
    VerdictDisputeReward, // token wei paid (from the hub's reward reserve) for an upheld verdict dispute
    ConfirmationCallbackGas, // gas the Chainlink Functions router gives a verdict confirmation's callback
    ConfirmationRetryInterval, // seconds before an epoch's verdict confirmation may be requested again
    MarketFeeBps, // protocol fee on lease payments, in basis points (snapshotted per lease when it starts)
    BidDeposit, // MESH wei a provider deposits with each sealed bid
    BidCommitWindow, // seconds after an order is posted during which sealed bids are committed
    BidRevealWindow, // seconds after the commit window during which bids are revealed
    UnrevealedForfeitBps, // share of an unrevealed bid's deposit that is forfeited, in basis points
    SettlementBountyBps, // share of a lease payment paid to a third party that settles it, in basis points
    LeaseNoticeEpochs, // epochs a lease runs on after either side gives notice to close it
    SlaBreachEpochs // epochs below its service level after which a lease may be closed and its devices are faulted
}

/// @notice Parameters set per resource class.
enum ClassParam {
    StakePerUnit, // token wei of self-stake required per declared capacity unit
    MaxCapacity // largest capacity one device may declare, in the class's units
}

/// @notice Parameters set per fault kind.
enum FaultParam {
    RateBps, // share of the operator's slashable stake taken per incident, in basis points
    MaxPerIncident // cap of one incident's slash, in token wei
}

/// @title IProtocolConfig
/// @notice The one place where Meshwork's tunable parameters live. Only the owner (the governance timelock) changes
/// them, and never outside the hard-coded bounds returned by the `*Bounds` functions. The epoch clock (genesis and
/// epoch length) is fixed at deployment: renumbering epochs would rewrite history.
interface IProtocolConfig {
    /// @notice A global parameter changed.
    event ParamSet(Param indexed param, uint256 value);
    /// @notice A per-class parameter changed.
    event ClassParamSet(ResourceClass indexed resourceClass, ClassParam indexed param, uint256 value);
    /// @notice A per-fault-kind parameter changed.
    event FaultParamSet(FaultKind indexed kind, FaultParam indexed param, uint256 value);
    /// @notice The destination of slashed tokens changed (zero: slashed tokens are burned).
    event TreasurySet(address indexed treasury);
    /// @notice Governance allowed or disallowed an ERC20 as a marketplace payment token.
    event PaymentTokenSet(address indexed token, bool allowed);

    /// @notice The value lies outside the parameter's hard-coded bounds.
    error ValueOutOfBounds(uint256 value, uint256 min, uint256 max);
    /// @notice The new value equals the current one.
    error ValueUnchanged(uint256 value);
    /// @notice The unbonding period must stay below the governance timelock's delay.
    error UnbondingNotBelowTimelockDelay(uint256 unbonding, uint256 timelockDelay);
    /// @notice The treasury is already set to this address.
    error TreasuryUnchanged(address treasury);
    /// @notice The epoch length given at deployment is outside its bounds.
    error EpochLengthOutOfBounds(uint256 epochLength, uint256 min, uint256 max);
    /// @notice The token is already allowed (or already not allowed) as a marketplace payment token.
    error PaymentTokenUnchanged(address token, bool allowed);
    /// @notice The zero address is not a token.
    error ZeroPaymentToken();
    /// @notice The timestamp lies before epoch 0 starts.
    error BeforeGenesis(uint256 timestamp, uint64 genesis);

    /// @notice Timestamp at which epoch 0 starts.
    function genesis() external view returns (uint64);

    /// @notice Length of an epoch in seconds.
    function epochLength() external view returns (uint64);

    /// @notice The epoch containing `timestamp` (which must not precede genesis).
    function epochAt(uint256 timestamp) external view returns (uint64);

    /// @notice The epoch containing the current block.
    function currentEpoch() external view returns (uint64);

    /// @notice Timestamp at which `epoch` ends (exclusive).
    function epochEnd(uint64 epoch) external view returns (uint256);

    /// @notice Current value of a global parameter.
    function param(Param p) external view returns (uint256);

    /// @notice Current value of a per-class parameter.
    function classParam(ResourceClass resourceClass, ClassParam p) external view returns (uint256);

    /// @notice Current value of a per-fault-kind parameter.
    function faultParam(FaultKind kind, FaultParam p) external view returns (uint256);

    /// @notice Where slashed tokens that are not paid to a challenger go; zero means they are burned.
    function treasury() external view returns (address);

    /// @notice True if marketplace orders may be paid in `token` (MESH is allowed by the marketplace itself).
    function isPaymentToken(address token) external view returns (bool);

    /// @notice Hard-coded inclusive bounds of a global parameter.
    function paramBounds(Param p) external pure returns (uint256 min, uint256 max);

    /// @notice Hard-coded inclusive bounds of a per-class parameter.
    function classParamBounds(ClassParam p) external pure returns (uint256 min, uint256 max);

    /// @notice Hard-coded inclusive bounds of a per-fault-kind parameter.
    function faultParamBounds(FaultParam p) external pure returns (uint256 min, uint256 max);

    /// @notice Sets a global parameter. Owner only; reverts outside bounds or if unchanged. When the owner is a
    /// timelock, the unbonding period must stay below its delay.
    function setParam(Param p, uint256 value) external;

    /// @notice Allows or disallows an ERC20 as a marketplace payment token for new orders (existing orders and
    /// leases keep their token). Owner only.
    function setPaymentToken(address token, bool allowed) external;

    /// @notice Sets a per-class parameter. Owner only; reverts outside bounds or if unchanged.
    function setClassParam(ResourceClass resourceClass, ClassParam p, uint256 value) external;

    /// @notice Sets a per-fault-kind parameter. Owner only; reverts outside bounds or if unchanged.
    function setFaultParam(FaultKind kind, FaultParam p, uint256 value) external;

    /// @notice Sets where slashed tokens go (zero burns them). Owner only; reverts if unchanged.
    function setTreasury(address newTreasury) external;
}
