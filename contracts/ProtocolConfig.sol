// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

import {IProtocolConfig, Param, ClassParam, FaultParam} from "./interfaces/IProtocolConfig.sol";
import {ResourceClass, FaultKind} from "./types/Types.sol";

/// @title ProtocolConfig
/// @notice Governed parameters of Meshwork with hard-coded bounds and the fixed epoch clock.
/// @dev The delay view of a TimelockController.
interface ITimelockDelay {
    function getMinDelay() external view returns (uint256);
}

contract ProtocolConfig is IProtocolConfig, Ownable2Step {
    uint256 private constant MESH = 1e18; // token unit (18 decimals)
    uint256 private constant BPS = 10_000; // basis-point scale

    uint64 public constant MIN_EPOCH_LENGTH = 1 hours;
    uint64 public constant MAX_EPOCH_LENGTH = 30 days;

    /// @inheritdoc IProtocolConfig
    uint64 public immutable genesis;
    /// @inheritdoc IProtocolConfig
    uint64 public immutable epochLength;

    mapping(Param => uint256) private _params;
    mapping(ResourceClass => mapping(ClassParam => uint256)) private _classParams;
    mapping(FaultKind => mapping(FaultParam => uint256)) private _faultParams;

    /// @inheritdoc IProtocolConfig
    address public treasury;
    /// @inheritdoc IProtocolConfig
    mapping(address token => bool) public isPaymentToken;

    /// @param owner_ Governance (the timelock once deployed).
    /// @param genesis_ Start of epoch 0 (zero: the deployment block's timestamp).
    /// @param epochLength_ Epoch length in seconds, within [MIN_EPOCH_LENGTH, MAX_EPOCH_LENGTH].
    /// @param treasury_ Destination of slashed tokens (zero: burn).
    constructor(address owner_, uint64 genesis_, uint64 epochLength_, address treasury_) Ownable(owner_) {
        if (epochLength_ < MIN_EPOCH_LENGTH || epochLength_ > MAX_EPOCH_LENGTH) {
            revert EpochLengthOutOfBounds(epochLength_, MIN_EPOCH_LENGTH, MAX_EPOCH_LENGTH);
        }
        genesis = genesis_ == 0 ? uint64(block.timestamp) : genesis_;
        epochLength = epochLength_;
        treasury = treasury_;

        _initParam(Param.UnbondingPeriod, 7 days);
        _initParam(Param.MaxDelegationRatio, 16);
        _initParam(Param.CommissionIncreaseDelay, 7 days);
        _initParam(Param.MinUnbondAmount, 1 * MESH);
        _initParam(Param.MaxPendingUnbondings, 32);
        _initParam(Param.LocationChangeCooldown, 1 days);
        _initParam(Param.JailAfterMissedEpochs, 3);
        _initParam(Param.JailCooldown, 1 days);
        _initParam(Param.MaxSlashPerEpoch, 1_000_000 * MESH);
        _initParam(Param.ChallengeBond, 100 * MESH);
        _initParam(Param.DisputeWindow, 3 days);
        _initParam(Param.ChallengerRewardBps, 5_000);
        _initParam(Param.VerdictSubmissionWindow, 1 days);
        _initParam(Param.VerdictChallengeWindow, 12 hours);
        _initParam(Param.VerdictDisputeBond, 1_000 * MESH);
        _initParam(Param.VerdictDisputeReward, 500 * MESH);
        _initParam(Param.ConfirmationCallbackGas, 100_000);
        _initParam(Param.ConfirmationRetryInterval, 15 minutes);
        _initParam(Param.MarketFeeBps, 100);
        _initParam(Param.BidDeposit, 5 * MESH);
        _initParam(Param.BidCommitWindow, 1 hours);
        _initParam(Param.BidRevealWindow, 1 hours);
        _initParam(Param.UnrevealedForfeitBps, 2_000);
        _initParam(Param.SettlementBountyBps, 50);
        _initParam(Param.LeaseNoticeEpochs, 1);
        _initParam(Param.SlaBreachEpochs, 3);

        // Capacity units: Coverage = hotspot, Storage = GiB, ComputeGpu = TFLOPS, ComputeCpu = vCPU,
        // Mapping = camera, Energy = kW of metered output.
        _initClass(ResourceClass.Coverage, 100 * MESH, 1);
        _initClass(ResourceClass.Storage, MESH / 10, 1_000_000);
        _initClass(ResourceClass.ComputeGpu, 50 * MESH, 10_000);
        _initClass(ResourceClass.ComputeCpu, 5 * MESH, 1_024);
        _initClass(ResourceClass.Mapping, 50 * MESH, 1);
        _initClass(ResourceClass.Energy, 10 * MESH, 10_000);

        _initFault(FaultKind.MissedDuty, 10, 100 * MESH);
        _initFault(FaultKind.InvalidProof, 500, 10_000 * MESH);
        _initFault(FaultKind.LocationSpoofing, 1_000, 20_000 * MESH);
        _initFault(FaultKind.DoubleRegistration, 200, 5_000 * MESH);
        _initFault(FaultKind.ServiceLevelBreach, 50, 1_000 * MESH);
    }

    /* GOVERNANCE */

    /// @inheritdoc IProtocolConfig
    function setParam(Param p, uint256 value) external onlyOwner {
        (uint256 min, uint256 max) = paramBounds(p);
        _checkChange(_params[p], value, min, max);
        if (p == Param.UnbondingPeriod) _checkBelowGovernanceDelay(value);
        _params[p] = value;
        emit ParamSet(p, value);
    }

    /// @inheritdoc IProtocolConfig
    function setClassParam(ResourceClass resourceClass, ClassParam p, uint256 value) external onlyOwner {
        (uint256 min, uint256 max) = classParamBounds(p);
        _checkChange(_classParams[resourceClass][p], value, min, max);
        _classParams[resourceClass][p] = value;
        emit ClassParamSet(resourceClass, p, value);
    }

    /// @inheritdoc IProtocolConfig
    function setFaultParam(FaultKind kind, FaultParam p, uint256 value) external onlyOwner {
        (uint256 min, uint256 max) = faultParamBounds(p);
        _checkChange(_faultParams[kind][p], value, min, max);
        _faultParams[kind][p] = value;
        emit FaultParamSet(kind, p, value);
    }

    /// @inheritdoc IProtocolConfig
    function setTreasury(address newTreasury) external onlyOwner {
        if (newTreasury == treasury) revert TreasuryUnchanged(newTreasury);
        treasury = newTreasury;
        emit TreasurySet(newTreasury);
    }

    /// @inheritdoc IProtocolConfig
    function setPaymentToken(address token, bool allowed) external onlyOwner {
        if (token == address(0)) revert ZeroPaymentToken();
        if (isPaymentToken[token] == allowed) revert PaymentTokenUnchanged(token, allowed);
        isPaymentToken[token] = allowed;
        emit PaymentTokenSet(token, allowed);
    }

    /* EPOCH CLOCK */

    /// @inheritdoc IProtocolConfig
    function epochAt(uint256 timestamp) public view returns (uint64) {
        if (timestamp < genesis) revert BeforeGenesis(timestamp, genesis);
        return uint64((timestamp - genesis) / epochLength);
    }

    /// @inheritdoc IProtocolConfig
    function currentEpoch() external view returns (uint64) {
        return epochAt(block.timestamp);
    }

    /// @inheritdoc IProtocolConfig
    function epochEnd(uint64 epoch) external view returns (uint256) {
        return uint256(genesis) + (uint256(epoch) + 1) * epochLength;
    }

    /* VIEWS */

    /// @inheritdoc IProtocolConfig
    function param(Param p) external view returns (uint256) {
        return _params[p];
    }

    /// @inheritdoc IProtocolConfig
    function classParam(ResourceClass resourceClass, ClassParam p) external view returns (uint256) {
        return _classParams[resourceClass][p];
    }

    /// @inheritdoc IProtocolConfig
    function faultParam(FaultKind kind, FaultParam p) external view returns (uint256) {
        return _faultParams[kind][p];
    }

    /// @inheritdoc IProtocolConfig
    function paramBounds(Param p) public pure returns (uint256 min, uint256 max) {
        if (p == Param.UnbondingPeriod) return (1 days, 90 days);
        if (p == Param.MaxDelegationRatio) return (0, 100);
        if (p == Param.CommissionIncreaseDelay) return (1 days, 60 days);
        if (p == Param.MinUnbondAmount) return (0, 1_000 * MESH);
        if (p == Param.MaxPendingUnbondings) return (1, 128);
        if (p == Param.LocationChangeCooldown) return (1 hours, 30 days);
        if (p == Param.JailAfterMissedEpochs) return (1, 30);
        if (p == Param.JailCooldown) return (1 hours, 30 days);
        if (p == Param.MaxSlashPerEpoch) return (1 * MESH, 100_000_000 * MESH);
        if (p == Param.ChallengeBond) return (1 * MESH, 1_000_000 * MESH);
        if (p == Param.DisputeWindow) return (1 days, 30 days);
        if (p == Param.ChallengerRewardBps) return (0, 9_000); // the challenger never takes the whole slash
        if (p == Param.VerdictSubmissionWindow) return (1 hours, 7 days);
        if (p == Param.VerdictChallengeWindow) return (1 hours, 7 days);
        if (p == Param.VerdictDisputeBond) return (1 * MESH, 1_000_000 * MESH);
        if (p == Param.VerdictDisputeReward) return (0, 1_000_000 * MESH);
        // Chainlink Functions caps callback gas at 300,000; below 50,000 a confirmation cannot be recorded.
        if (p == Param.ConfirmationCallbackGas) return (50_000, 300_000);
        // Above the Functions request timeout (5 minutes), so a retry does not race a live request.
        if (p == Param.ConfirmationRetryInterval) return (5 minutes, 1 days);
        if (p == Param.MarketFeeBps) return (0, 1_000); // Akash takes 4 % (AKT) to 20 % (other tokens); we stay <= 10 %
        if (p == Param.BidDeposit) return (0, 10_000 * MESH);
        if (p == Param.BidCommitWindow) return (10 minutes, 7 days);
        if (p == Param.BidRevealWindow) return (10 minutes, 7 days);
        if (p == Param.UnrevealedForfeitBps) return (0, BPS);
        if (p == Param.SettlementBountyBps) return (0, 500);
        if (p == Param.LeaseNoticeEpochs) return (1, 30);
        return (1, 30); // SlaBreachEpochs
    }

    /// @inheritdoc IProtocolConfig
    function classParamBounds(ClassParam p) public pure returns (uint256 min, uint256 max) {
        if (p == ClassParam.StakePerUnit) return (0, 1_000_000 * MESH);
        return (1, 1_000_000_000); // MaxCapacity
    }

    /// @inheritdoc IProtocolConfig
    function faultParamBounds(FaultParam p) public pure returns (uint256 min, uint256 max) {
        if (p == FaultParam.RateBps) return (0, BPS / 2); // no single incident takes more than half the stake
        return (0, 10_000_000 * MESH); // MaxPerIncident
    }

    /* INTERNAL */

    function _checkChange(uint256 current, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert ValueOutOfBounds(value, min, max);
        if (value == current) revert ValueUnchanged(value);
    }

    function _initParam(Param p, uint256 value) private {
        _params[p] = value;
        emit ParamSet(p, value);
    }

    function _initClass(ResourceClass resourceClass, uint256 stakePerUnit, uint256 maxCapacity) private {
        _classParams[resourceClass][ClassParam.StakePerUnit] = stakePerUnit;
        _classParams[resourceClass][ClassParam.MaxCapacity] = maxCapacity;
        emit ClassParamSet(resourceClass, ClassParam.StakePerUnit, stakePerUnit);
        emit ClassParamSet(resourceClass, ClassParam.MaxCapacity, maxCapacity);
    }

    function _initFault(FaultKind kind, uint256 rateBps, uint256 maxPerIncident) private {
        _faultParams[kind][FaultParam.RateBps] = rateBps;
        _faultParams[kind][FaultParam.MaxPerIncident] = maxPerIncident;
        emit FaultParamSet(kind, FaultParam.RateBps, rateBps);
        emit FaultParamSet(kind, FaultParam.MaxPerIncident, maxPerIncident);
    }

    /// @dev Stakers must be able to leave before a governance decision they dislike takes effect: when the owner is a
    /// timelock (it answers `getMinDelay`), the unbonding period stays strictly below its delay. The timelock enforces
    /// the same from its side (`MeshTimelock.updateDelay`).
    function _checkBelowGovernanceDelay(uint256 unbonding) private view {
        // An owner that is not a timelock (an account, a multisig) has no delay to stay below.
        (bool ok, bytes memory data) = owner().staticcall(abi.encodeCall(ITimelockDelay.getMinDelay, ()));
        if (!ok || data.length != 32) return;
        uint256 delay = abi.decode(data, (uint256));
        if (unbonding >= delay) revert UnbondingNotBelowTimelockDelay(unbonding, delay);
    }
}
