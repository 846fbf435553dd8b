// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FaultKind} from "../types/Types.sol";
import {IExpiringPause} from "./IExpiringPause.sol";

/// @notice Lifecycle of a fisherman challenge.
enum ChallengeStatus {
    None,
    Open,
    Upheld,
    Rejected,
    Expired
}

/// @notice A fisherman's claim that a device committed a fault, backed by a bond.
struct Challenge {
    address challenger;
    ChallengeStatus status;
    FaultKind kind;
    uint64 epoch;
    address device;
    uint64 openedAt;
    uint256 bond;
    bytes32 evidence; // hash of the evidence the arbitrator reviews off-chain
}

/// @notice Consecutive missed epochs of a device, for jailing.
struct MissedDutyRecord {
    uint64 lastEpoch; // last epoch reported missed
    uint32 consecutive; // consecutive missed epochs ending at `lastEpoch` since the last jailing
    bool reported; // whether any miss was reported
}

/// @title ISlashing
/// @notice Graduated penalties for device faults, applied by authorised sources only: the oracle verdict path
/// (`REPORTER_ROLE`) and fisherman challenges resolved by the arbitrator (`ARBITRATOR_ROLE`).
/// @dev Each fault (device, kind, epoch) is penalised at most once. A penalty is `RateBps` of the operator's slashable
/// stake rounded up, capped by the kind's `MaxPerIncident`; the stake is taken self-stake first, then delegators
/// pro rata (see `IStaking.slash`). Total slashing per epoch is capped by `MaxSlashPerEpoch` (circuit breaker: a
/// penalty past the cap reverts and can be applied in a later epoch). Faults whose epoch ended more than the unbonding
/// period ago are never penalised, so withdrawn and newly arrived stake is never charged for old faults.
/// Slashed tokens go to the treasury, or are burned when none is set, less the challenger's reward.
/// The pause guardian can stop penalties reported by the verdict path for a while (`IExpiringPause`), e.g. while a
/// faulty verdict is investigated. Challenges are never paused: the arbitrator's ruling is a deliberate decision, and a
/// paused ruling would let the guardian make open challenges lapse.
interface ISlashing is IExpiringPause {
    /// @notice A fault was penalised.
    event FaultPenalised(
        bytes32 indexed faultId,
        address indexed device,
        address indexed operator,
        FaultKind kind,
        uint64 epoch,
        uint256 slashed,
        bytes32 evidence
    );
    /// @notice A missed epoch was recorded; `consecutive` counts the run it extends.
    event MissedDutyRecorded(address indexed device, uint64 epoch, uint32 consecutive);
    /// @notice A fisherman opened a challenge.
    event ChallengeOpened(
        uint256 indexed challengeId,
        address indexed challenger,
        address indexed device,
        FaultKind kind,
        uint64 epoch,
        uint256 bond,
        bytes32 evidence
    );
    /// @notice The arbitrator resolved a challenge; on uphold the challenger got its bond back plus `reward`.
    event ChallengeResolved(uint256 indexed challengeId, bool upheld, uint256 slashed, uint256 reward);
    /// @notice The dispute window passed without a ruling; the bond went back to the challenger.
    event ChallengeExpired(uint256 indexed challengeId);
    /// @notice Slashed or forfeited tokens left the module: to the treasury, or burned when `treasury` is zero.
    event ProceedsReleased(address indexed treasury, uint256 amount);

    /// @notice No device is registered under this key.
    error UnknownDevice(address device);
    /// @notice This fault was penalised already.
    error FaultAlreadyPenalised(bytes32 faultId);
    /// @notice A challenge of this fault is open already (an open challenge does not block the oracle path).
    error FaultUnderChallenge(bytes32 faultId, uint256 challengeId);
    /// @notice The fault's epoch has not started yet.
    error FaultInFuture(uint64 epoch, uint64 currentEpoch);
    /// @notice The fault's epoch ended more than the unbonding period ago.
    error FaultTooOld(uint64 epoch, uint256 expiredAt);
    /// @notice The penalty would take the epoch's total slashing past the circuit breaker.
    error EpochSlashCapExceeded(uint64 epoch, uint256 total, uint256 cap);
    /// @notice The challenge is not open.
    error ChallengeNotOpen(uint256 challengeId);
    /// @notice The dispute window of the challenge has closed.
    error DisputeWindowClosed(uint256 challengeId, uint256 closedAt);
    /// @notice The dispute window of the challenge is still open.
    error DisputeWindowOpen(uint256 challengeId, uint256 closesAt);

    /// @notice Role of the oracle verdict path, which reports proven faults.
    function REPORTER_ROLE() external view returns (bytes32);

    /// @notice Role that rules on fisherman challenges.
    function ARBITRATOR_ROLE() external view returns (bytes32);

    /// @notice Penalises a proven fault; for `MissedDuty` it also counts consecutive misses and jails the device after
    /// `JailAfterMissedEpochs` of them (a late report of an epoch before the last one counted is penalised but does
    /// not extend the streak). Reporter only.
    /// @return slashed Tokens taken.
    function penaliseFault(address device, FaultKind kind, uint64 epoch, bytes32 evidence)
        external
        returns (uint256 slashed);

    /// @notice Opens a challenge of a fault, pulling `ChallengeBond` from the caller.
    /// @return challengeId Identifier of the new challenge.
    function openChallenge(address device, FaultKind kind, uint64 epoch, bytes32 evidence)
        external
        returns (uint256 challengeId);

    /// @notice Rules on an open challenge inside its dispute window. Upheld: the fault is penalised, the challenger
    /// gets its bond back and `ChallengerRewardBps` of the slash (only the bond if the oracles penalised the fault
    /// first). Rejected: the bond is forfeited. Arbitrator only.
    function resolveChallenge(uint256 challengeId, bool upheld) external;

    /// @notice Returns the bond of a challenge nobody ruled on within the dispute window. Anyone may call.
    function expireChallenge(uint256 challengeId) external;

    /// @notice Identifier of a fault.
    function faultId(address device, FaultKind kind, uint64 epoch) external pure returns (bytes32);

    /// @notice Whether a fault was penalised.
    function penalised(bytes32 faultId) external view returns (bool);

    /// @notice Open challenge of a fault (zero if none).
    function openChallengeOf(bytes32 faultId) external view returns (uint256);

    /// @notice A challenge.
    function getChallenge(uint256 challengeId) external view returns (Challenge memory);

    /// @notice Tokens slashed in `epoch` so far.
    function slashedInEpoch(uint64 epoch) external view returns (uint256);

    /// @notice Consecutive missed epochs of a device.
    function missedDuty(address device) external view returns (MissedDutyRecord memory);

    /// @notice Penalty a fault of `kind` by `device` would incur now (before the circuit breaker), charged to its
    /// current operator (a fault of an epoch before its last transfer is charged to `registry.operatorAt`).
    function previewPenalty(address device, FaultKind kind) external view returns (uint256);
}
