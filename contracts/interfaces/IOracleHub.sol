// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FaultKind} from "../types/Types.sol";
import {IVerdictConfirmer} from "./IVerdictConfirmer.sol";

/// @notice What the oracle committee agrees on for one epoch; each oracle signs it as EIP-712 typed data.
struct EpochVerdict {
    uint64 epoch;
    uint32 devicesCounted; // devices with at least one valid proof in the epoch
    bytes32 rewardsRoot; // Merkle root of (device, cumulative rewards up to and including `epoch`)
    bytes32 faultsRoot; // Merkle root of (device, fault kind, evidence) proven in `epoch`; zero if none
    // Merkle root of (leaseId, cumulative delivered bps, cumulative breaches) per open lease; zero if none
    bytes32 leasesRoot;
    uint256 totalWorkUnits; // verified work across all devices in the epoch
    bytes32 dataHash; // keccak256 of the full verdict file the oracles publish
}

/// @notice Lifecycle of an epoch's verdict.
enum VerdictStatus {
    None, // nothing submitted (or a disputed verdict was struck down)
    Pending, // submitted with a quorum; disputable until `challengeEndsAt`
    Disputed, // frozen until the arbitrator rules or the dispute expires
    Finalised
}

/// @notice A submitted verdict and where it stands. Only what the chain uses is stored; the rest of the verdict is in
/// the `VerdictSubmitted` event and is bound by `digest`.
struct VerdictRecord {
    bytes32 digest; // EIP-712 digest of the whole `EpochVerdict` the committee signed
    bytes32 rewardsRoot;
    bytes32 faultsRoot;
    bytes32 leasesRoot; // what the marketplace settles leases against once the verdict is final
    VerdictStatus status;
    uint64 challengeEndsAt; // Pending: finalisable from this time
    uint32 signers; // committee signatures the relayer presented (zero: submitted on the confirmer's word)
}

/// @notice An open dispute of a pending verdict.
struct VerdictDispute {
    address challenger;
    uint64 openedAt;
    uint256 bond; // zero when a committee member disputes
    bytes32 reason; // hash of the challenger's evidence
}

/// @notice How the hub uses its verdict confirmer (Chainlink Functions), chosen by governance.
enum ConfirmationMode {
    CommitteeOnly, // the committee's quorum alone decides; confirmations are ignored
    MustAgree, // a committee verdict finalises only once the confirmer confirmed the same verdict; a different
    // confirmation lets anyone refuse it, reopening the epoch for a corrected verdict
    Fallback // the committee decides; once its submission window closed without a verdict, the verdict the
    // confirmer confirmed may be submitted instead (liveness when the committee stalls)
}

/// @notice An oracle committee, in force from `fromEpoch` until the next committee's `fromEpoch`.
struct Committee {
    uint64 fromEpoch;
    uint8 threshold;
    address[] members; // strictly ascending
}

/// @title IOracleHub
/// @notice Turns M-of-N signed oracle verdicts into finalised epochs: anyone relays a quorum of EIP-712 signatures in
/// one transaction; the verdict finalises optimistically after a challenge window during which a fisherman (with a
/// bond) or a committee member (without one) can dispute it, and the arbitrator rules. An epoch without a verdict by
/// its submission deadline is skipped: its emission rolls over to the next finalised epoch, because rewards roots and
/// emission are cumulative. Faults of a finalised verdict are applied through the slashing module by anyone with a
/// Merkle proof.
/// A second verdict source (`IVerdictConfirmer`, Chainlink Functions) can be required to agree with the committee or
/// can stand in for a stalled committee, as governance's `ConfirmationMode` says.
/// @dev Trust: governance (`DEFAULT_ADMIN_ROLE`) appoints committees, which take effect only from a future epoch,
/// with a threshold above half the members, and chooses the confirmer and its mode; `ARBITRATOR_ROLE` only rules on
/// disputes. Nobody can submit a verdict without a quorum of the committee in force for its epoch, except, in
/// `Fallback` mode and after the committee's window, the verdict the confirmer confirmed. Signatures bind chain id,
/// this contract and the epoch (EIP-712), must come from distinct members sorted ascending, and must be low-s (no
/// malleability).
interface IOracleHub {
    /// @notice A committee was scheduled to take effect from `fromEpoch`.
    event CommitteeScheduled(uint256 indexed committeeId, uint64 fromEpoch, uint8 threshold, address[] members);
    /// @notice A verdict with a quorum was submitted.
    event VerdictSubmitted(uint64 indexed epoch, bytes32 indexed digest, EpochVerdict verdict, uint32 signers);
    /// @notice A verdict was disputed.
    event VerdictDisputed(uint64 indexed epoch, address indexed challenger, uint256 bond, bytes32 reason);
    /// @notice The arbitrator ruled; upheld disputes strike the verdict down so a corrected one can be submitted.
    event DisputeResolved(uint64 indexed epoch, bool upheld, uint256 reward);
    /// @notice A dispute nobody ruled on expired; the bond went back and the verdict stands.
    event DisputeExpired(uint64 indexed epoch);
    /// @notice A verdict became final.
    event VerdictFinalised(uint64 indexed epoch, bytes32 rewardsRoot, bytes32 faultsRoot);
    /// @notice A proven fault of a finalised verdict was passed to the slashing module.
    event FaultApplied(uint64 indexed epoch, address indexed device, FaultKind kind, uint256 slashed);
    /// @notice Tokens were added to the reserve that pays upheld disputes.
    event DisputeRewardsFunded(address indexed funder, uint256 amount);
    /// @notice Governance chose the verdict confirmer and how it is used.
    event ConfirmationSet(IVerdictConfirmer indexed confirmer, ConfirmationMode mode);
    /// @notice A pending verdict was refused because the confirmer confirmed a different one; the epoch is open for
    /// a corrected verdict for another `VerdictSubmissionWindow`.
    event VerdictRefused(uint64 indexed epoch, bytes32 digest, bytes32 confirmedDigest);

    /// @notice The committee is malformed: empty, too large, unsorted or zero members, or a threshold that is not a
    /// strict majority.
    error InvalidCommittee(uint256 size, uint8 threshold);
    /// @notice A new committee must start in a future epoch, after the last scheduled one.
    error InvalidCommitteeStart(uint64 fromEpoch, uint64 earliest);
    /// @notice The epoch has not ended yet.
    error EpochNotEnded(uint64 epoch, uint256 endsAt);
    /// @notice The epoch's submission window has closed.
    error SubmissionWindowClosed(uint64 epoch, uint256 closedAt);
    /// @notice An equal or later epoch is already final (and this one was not reopened by an upheld dispute or a
    /// refusal).
    error EpochAlreadySettled(uint64 epoch, uint64 lastFinalised);
    /// @notice The epoch already has a verdict (a final one reports `EpochAlreadySettled`, unless it was reopened).
    error VerdictAlreadySubmitted(uint64 epoch, VerdictStatus status);
    /// @notice Signature `index` is malformed or malleable.
    error InvalidSignature(uint256 index);
    /// @notice Signers must be strictly ascending (this also rejects duplicates).
    error SignersNotAscending(uint256 index, address signer);
    /// @notice The signer is not in the committee in force for the epoch.
    error NotCommitteeMember(uint64 epoch, address signer);
    /// @notice Fewer valid signatures than the committee's threshold.
    error QuorumNotReached(uint64 epoch, uint256 signers, uint256 threshold);
    /// @notice The verdict is not in the status the action needs.
    error InvalidVerdictStatus(uint64 epoch, VerdictStatus status);
    /// @notice The verdict's challenge window is still open.
    error ChallengeWindowOpen(uint64 epoch, uint256 endsAt);
    /// @notice The verdict's challenge window has closed.
    error ChallengeWindowClosed(uint64 epoch, uint256 endedAt);
    /// @notice The dispute's arbitration window has closed.
    error DisputeWindowClosed(uint64 epoch, uint256 closedAt);
    /// @notice The dispute's arbitration window is still open.
    error DisputeWindowOpen(uint64 epoch, uint256 closesAt);
    /// @notice The fault is not in the verdict's faults root.
    error InvalidFaultProof(uint64 epoch, address device);
    /// @notice Zero amount.
    error ZeroAmount();
    /// @notice A mode other than `CommitteeOnly` needs a confirmer.
    error ConfirmerRequired();
    /// @notice The action needs another confirmation mode.
    error WrongConfirmationMode(ConfirmationMode mode);
    /// @notice The confirmer has not confirmed a verdict for the epoch yet.
    error VerdictUnconfirmed(uint64 epoch);
    /// @notice The confirmer confirmed a different verdict.
    error ConfirmationMismatch(uint64 epoch, bytes32 digest, bytes32 confirmedDigest);
    /// @notice The confirmer confirmed this very verdict: nothing to refuse.
    error ConfirmationAgrees(uint64 epoch);
    /// @notice The committee may still submit a verdict for the epoch.
    error CommitteeWindowOpen(uint64 epoch, uint256 closesAt);

    /// @notice Role that rules on verdict disputes.
    function ARBITRATOR_ROLE() external view returns (bytes32);

    /// @notice EIP-712 typehash of `EpochVerdict`.
    function VERDICT_TYPEHASH() external view returns (bytes32);

    /// @notice Largest committee.
    function MAX_COMMITTEE_SIZE() external view returns (uint256);

    /// @notice Schedules a committee from `fromEpoch` (> current epoch and > the last scheduled committee's start; a
    /// committee not yet in force is replaced). Governance only.
    function scheduleCommittee(address[] calldata members, uint8 threshold, uint64 fromEpoch) external;

    /// @notice Sets the verdict confirmer and the mode the hub uses it in (a mode other than `CommitteeOnly` needs a
    /// confirmer). Takes effect at once, for pending verdicts too. Governance only.
    function setConfirmation(IVerdictConfirmer confirmer, ConfirmationMode mode) external;

    /// @notice Relays a verdict with the signatures of at least `threshold` members of the epoch's committee, sorted
    /// by signer address. Anyone may call, once the epoch has ended and until its submission window closes.
    function submitVerdict(EpochVerdict calldata verdict, bytes[] calldata signatures) external;

    /// @notice `Fallback` mode: submits the verdict the confirmer confirmed for an epoch whose committee submission
    /// window closed without a verdict. The verdict is then pending and disputable like a committee verdict. Anyone.
    function submitConfirmedVerdict(EpochVerdict calldata verdict) external;

    /// @notice `MustAgree` mode: refuses a pending verdict the confirmer contradicts; the epoch is open for a corrected
    /// verdict for another `VerdictSubmissionWindow`. Anyone.
    function refuseVerdict(uint64 epoch) external;

    /// @notice Disputes a pending verdict inside its challenge window. A committee member disputes for free; anyone
    /// else bonds `VerdictDisputeBond`.
    function disputeVerdict(uint64 epoch, bytes32 reason) external;

    /// @notice Rules on a dispute inside the arbitration window (`DisputeWindow`). Upheld: the verdict is struck down,
    /// a corrected one may be submitted for another `VerdictSubmissionWindow`, and the challenger gets its bond back
    /// plus up to `VerdictDisputeReward` from the reserve. Rejected: the bond goes to the treasury (burned if none) and
    /// the verdict may finalise at once. Arbitrator only.
    function resolveDispute(uint64 epoch, bool upheld) external;

    /// @notice Ends a dispute nobody ruled on in time: the bond goes back and the verdict may finalise. Anyone.
    function expireDispute(uint64 epoch) external;

    /// @notice Finalises a pending verdict whose challenge window has passed; in `MustAgree` mode only once the
    /// confirmer confirmed the same verdict. Anyone. A verdict that finalises after a later epoch's (its dispute
    /// outlasted that epoch's challenge window) makes its faults applicable; the later, cumulative rewards root stays
    /// the latest.
    function finaliseVerdict(uint64 epoch) external;

    /// @notice Penalises a fault proven in a finalised verdict: `proof` shows (device, kind, evidence) is a leaf of its
    /// faults root. Anyone; each fault is penalised once (the slashing module enforces it).
    function applyFault(uint64 epoch, address device, FaultKind kind, bytes32 evidence, bytes32[] calldata proof)
        external
        returns (uint256 slashed);

    /// @notice Adds tokens to the reserve that pays upheld disputes.
    function fundDisputeRewards(uint256 amount) external;

    /// @notice EIP-712 digest the oracles sign for `verdict`.
    function verdictDigest(EpochVerdict calldata verdict) external view returns (bytes32);

    /// @notice EIP-712 struct hash of `verdict`: what a verdict confirmer confirms.
    function verdictHash(EpochVerdict calldata verdict) external pure returns (bytes32);

    /// @notice The verdict confirmer (zero if none).
    function confirmer() external view returns (IVerdictConfirmer);

    /// @notice How the hub uses the confirmer.
    function confirmationMode() external view returns (ConfirmationMode);

    /// @notice Leaf of a faults root (OpenZeppelin standard Merkle tree leaf of (address, uint8, bytes32)).
    function faultLeaf(address device, FaultKind kind, bytes32 evidence) external pure returns (bytes32);

    /// @notice The committee in force for `epoch`.
    function committeeAt(uint64 epoch) external view returns (Committee memory);

    /// @notice Number of committees ever scheduled.
    function committeeCount() external view returns (uint256);

    /// @notice The verdict record of `epoch`.
    function getVerdict(uint64 epoch) external view returns (VerdictRecord memory);

    /// @notice The open dispute of `epoch`.
    function getDispute(uint64 epoch) external view returns (VerdictDispute memory);

    /// @notice The latest finalised epoch and its rewards root (`exists` false before the first).
    function latestFinalised() external view returns (uint64 epoch, bytes32 rewardsRoot, bool exists);

    /// @notice Tokens available to reward upheld disputes.
    function disputeRewardReserve() external view returns (uint256);
}
