// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {ISlashing, Challenge, ChallengeStatus, MissedDutyRecord} from "./interfaces/ISlashing.sol";
import {IMeshToken} from "./interfaces/IMeshToken.sol";
import {IProtocolConfig, Param, FaultParam} from "./interfaces/IProtocolConfig.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {DeviceStatus, FaultKind} from "./types/Types.sol";
import {ExpiringPause} from "./utils/ExpiringPause.sol";

/// @title Slashing
/// @notice Graduated, capped, rate-limited penalties for device faults; fisherman challenges with an arbitrator.
contract Slashing is ISlashing, ExpiringPause {
    using SafeERC20 for IMeshToken;

    /// @inheritdoc ISlashing
    bytes32 public constant REPORTER_ROLE = keccak256("REPORTER_ROLE");
    /// @inheritdoc ISlashing
    bytes32 public constant ARBITRATOR_ROLE = keccak256("ARBITRATOR_ROLE");
    uint256 private constant BPS = 10_000; // basis-point scale

    IMeshToken public immutable token;
    IProtocolConfig public immutable config;
    IProviderRegistry public immutable registry;
    IStaking public immutable staking;

    /// @inheritdoc ISlashing
    mapping(bytes32 faultId => bool) public penalised;
    /// @inheritdoc ISlashing
    mapping(bytes32 faultId => uint256) public openChallengeOf;
    /// @inheritdoc ISlashing
    mapping(uint64 epoch => uint256) public slashedInEpoch;
    mapping(address device => MissedDutyRecord) private _missed;
    mapping(uint256 challengeId => Challenge) private _challenges;
    uint256 public challengeCount;

    /// @param admin Governance, which manages the reporter and arbitrator roles.
    constructor(
        IMeshToken token_,
        IProtocolConfig config_,
        IProviderRegistry registry_,
        IStaking staking_,
        address admin
    ) {
        token = token_;
        config = config_;
        registry = registry_;
        staking = staking_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /* ORACLE-REPORTED FAULTS */

    /// @inheritdoc ISlashing
    function penaliseFault(address device, FaultKind kind, uint64 epoch, bytes32 evidence)
        external
        onlyRole(REPORTER_ROLE)
        whenNotPaused
        returns (uint256 slashed)
    {
        slashed = _penalise(faultId(device, kind, epoch), device, kind, epoch, evidence);
        if (kind == FaultKind.MissedDuty) _recordMissedDuty(device, epoch);
        _release(slashed);
    }

    /* FISHERMAN CHALLENGES */

    /// @inheritdoc ISlashing
    function openChallenge(address device, FaultKind kind, uint64 epoch, bytes32 evidence)
        external
        returns (uint256 challengeId)
    {
        bytes32 id = faultId(device, kind, epoch);
        if (penalised[id]) revert FaultAlreadyPenalised(id);
        if (openChallengeOf[id] != 0) revert FaultUnderChallenge(id, openChallengeOf[id]);
        if (registry.operatorOf(device) == address(0)) revert UnknownDevice(device);
        _checkEpoch(epoch);

        uint256 bond = config.param(Param.ChallengeBond);
        challengeId = ++challengeCount;
        _challenges[challengeId] = Challenge({
            challenger: msg.sender,
            status: ChallengeStatus.Open,
            kind: kind,
            epoch: epoch,
            device: device,
            openedAt: uint64(block.timestamp),
            bond: bond,
            evidence: evidence
        });
        openChallengeOf[id] = challengeId;

        emit ChallengeOpened(challengeId, msg.sender, device, kind, epoch, bond, evidence);
        token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc ISlashing
    function resolveChallenge(uint256 challengeId, bool upheld) external onlyRole(ARBITRATOR_ROLE) {
        Challenge storage c = _openChallenge(challengeId);
        uint256 closesAt = c.openedAt + config.param(Param.DisputeWindow);
        if (block.timestamp > closesAt) revert DisputeWindowClosed(challengeId, closesAt);
        bytes32 id = faultId(c.device, c.kind, c.epoch);
        delete openChallengeOf[id];

        uint256 slashed;
        uint256 reward;
        uint256 payout;
        if (upheld) {
            c.status = ChallengeStatus.Upheld;
            // The oracles may have penalised the fault meanwhile: the challenger is right but earns no reward.
            if (!penalised[id]) {
                slashed = _penalise(id, c.device, c.kind, c.epoch, c.evidence);
                reward = Math.mulDiv(slashed, config.param(Param.ChallengerRewardBps), BPS);
                _release(slashed - reward);
            }
            payout = c.bond + reward;
        } else {
            c.status = ChallengeStatus.Rejected;
            _release(c.bond);
        }

        emit ChallengeResolved(challengeId, upheld, slashed, reward);
        if (payout > 0) token.safeTransfer(c.challenger, payout);
    }

    /// @inheritdoc ISlashing
    function expireChallenge(uint256 challengeId) external {
        Challenge storage c = _openChallenge(challengeId);
        uint256 closesAt = c.openedAt + config.param(Param.DisputeWindow);
        if (block.timestamp <= closesAt) revert DisputeWindowOpen(challengeId, closesAt);
        c.status = ChallengeStatus.Expired;
        delete openChallengeOf[faultId(c.device, c.kind, c.epoch)];

        emit ChallengeExpired(challengeId);
        token.safeTransfer(c.challenger, c.bond);
    }

    /* VIEWS */

    /// @inheritdoc ISlashing
    function faultId(address device, FaultKind kind, uint64 epoch) public pure returns (bytes32) {
        return keccak256(abi.encode(device, kind, epoch));
    }

    /// @inheritdoc ISlashing
    function getChallenge(uint256 challengeId) external view returns (Challenge memory) {
        return _challenges[challengeId];
    }

    /// @inheritdoc ISlashing
    function missedDuty(address device) external view returns (MissedDutyRecord memory) {
        return _missed[device];
    }

    /// @inheritdoc ISlashing
    function previewPenalty(address device, FaultKind kind) external view returns (uint256) {
        return _penalty(registry.operatorOf(device), kind);
    }

    /* INTERNAL */

    function _penalty(address operator, FaultKind kind) private view returns (uint256) {
        uint256 slashable = staking.slashableStake(operator);
        uint256 byRate = Math.mulDiv(slashable, config.faultParam(kind, FaultParam.RateBps), BPS, Math.Rounding.Ceil);
        return Math.min(byRate, config.faultParam(kind, FaultParam.MaxPerIncident));
    }

    function _penalise(bytes32 id, address device, FaultKind kind, uint64 epoch, bytes32 evidence)
        private
        returns (uint256 slashed)
    {
        if (penalised[id]) revert FaultAlreadyPenalised(id);
        // The operator of the fault's epoch pays, even if the device changed hands since.
        address operator = registry.operatorAt(device, epoch);
        if (operator == address(0)) revert UnknownDevice(device);
        _checkEpoch(epoch);

        uint256 amount = _penalty(operator, kind);
        uint64 current = config.currentEpoch();
        uint256 total = slashedInEpoch[current] + amount;
        uint256 cap = config.param(Param.MaxSlashPerEpoch);
        if (total > cap) revert EpochSlashCapExceeded(current, total, cap);

        penalised[id] = true;
        slashedInEpoch[current] = total;
        slashed = staking.slash(operator, amount);
        emit FaultPenalised(id, device, operator, kind, epoch, slashed, evidence);
    }

    function _recordMissedDuty(address device, uint64 epoch) private {
        MissedDutyRecord storage m = _missed[device];
        // A late report of an older epoch is still penalised, but only newer epochs extend the streak.
        if (m.reported && epoch <= m.lastEpoch) return;
        uint32 consecutive = m.reported && epoch == m.lastEpoch + 1 ? m.consecutive + 1 : 1;
        m.reported = true;
        m.lastEpoch = epoch;
        emit MissedDutyRecorded(device, epoch, consecutive);

        if (
            consecutive >= config.param(Param.JailAfterMissedEpochs)
                && registry.getDevice(device).status == DeviceStatus.Active
        ) {
            consecutive = 0;
            registry.jail(device, uint64(block.timestamp + config.param(Param.JailCooldown)));
        }
        m.consecutive = consecutive;
    }

    function _checkEpoch(uint64 epoch) private view {
        uint64 current = config.currentEpoch();
        if (epoch > current) revert FaultInFuture(epoch, current);
        uint256 expiredAt = config.epochEnd(epoch) + config.param(Param.UnbondingPeriod);
        if (block.timestamp > expiredAt) revert FaultTooOld(epoch, expiredAt);
    }

    function _openChallenge(uint256 challengeId) private view returns (Challenge storage c) {
        c = _challenges[challengeId];
        if (c.status != ChallengeStatus.Open) revert ChallengeNotOpen(challengeId);
    }

    /// @dev Sends slashed or forfeited tokens to the treasury, or burns them when no treasury is set.
    function _release(uint256 amount) private {
        if (amount == 0) return;
        address treasury = config.treasury();
        emit ProceedsReleased(treasury, amount);
        if (treasury == address(0)) token.burn(amount);
        else token.safeTransfer(treasury, amount);
    }
}
