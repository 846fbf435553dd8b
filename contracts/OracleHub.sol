// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {
    IOracleHub,
    EpochVerdict,
    VerdictStatus,
    VerdictRecord,
    VerdictDispute,
    Committee,
    ConfirmationMode
} from "./interfaces/IOracleHub.sol";
import {IVerdictConfirmer} from "./interfaces/IVerdictConfirmer.sol";
import {IMeshToken} from "./interfaces/IMeshToken.sol";
import {IProtocolConfig, Param} from "./interfaces/IProtocolConfig.sol";
import {ISlashing} from "./interfaces/ISlashing.sol";
import {FaultKind} from "./types/Types.sol";

/// @title OracleHub
/// @notice M-of-N oracle verdicts per epoch with optimistic finalisation, disputes, fault application, and an optional
/// second verdict source (a confirmer) that must agree or can stand in for a stalled committee.
contract OracleHub is IOracleHub, AccessControl, EIP712 {
    using SafeERC20 for IMeshToken;

    /// @inheritdoc IOracleHub
    bytes32 public constant ARBITRATOR_ROLE = keccak256("ARBITRATOR_ROLE");
    /// @inheritdoc IOracleHub
    bytes32 public constant VERDICT_TYPEHASH = keccak256(
        "EpochVerdict(uint64 epoch,uint32 devicesCounted,bytes32 rewardsRoot,bytes32 faultsRoot,bytes32 leasesRoot,"
        "uint256 totalWorkUnits,bytes32 dataHash)"
    );
    /// @inheritdoc IOracleHub
    uint256 public constant MAX_COMMITTEE_SIZE = 32;

    IMeshToken public immutable token;
    IProtocolConfig public immutable config;
    ISlashing public immutable slashing;

    /// @dev Committees by id (ids are never reused); `_schedule` lists the ids in force, by ascending `fromEpoch`.
    mapping(uint256 committeeId => Committee) private _committees;
    mapping(uint256 committeeId => mapping(address => bool)) private _isMember;
    uint256[] private _schedule;
    /// @inheritdoc IOracleHub
    uint256 public committeeCount;

    mapping(uint64 epoch => VerdictRecord) private _verdicts;
    mapping(uint64 epoch => VerdictDispute) private _disputes;
    mapping(uint64 epoch => uint256) private _resubmitUntil;
    // One slot: finalisation reads the mode beside the last finalised epoch.
    uint64 private _lastFinalised;
    bool private _anyFinalised;
    /// @inheritdoc IOracleHub
    IVerdictConfirmer public confirmer;
    /// @inheritdoc IOracleHub
    ConfirmationMode public confirmationMode;
    /// @inheritdoc IOracleHub
    uint256 public disputeRewardReserve;

    /// @param members The first committee (from epoch 0), strictly ascending.
    /// @param threshold Signatures needed, a strict majority of `members`.
    /// @param admin Governance, which schedules committees and manages the arbitrator role.
    constructor(
        IMeshToken token_,
        IProtocolConfig config_,
        ISlashing slashing_,
        address[] memory members,
        uint8 threshold,
        address admin
    ) EIP712("Meshwork OracleHub", "1") {
        token = token_;
        config = config_;
        slashing = slashing_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _addCommittee(members, threshold, 0);
    }

    /* GOVERNANCE */

    /// @inheritdoc IOracleHub
    function scheduleCommittee(address[] calldata members, uint8 threshold, uint64 fromEpoch)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        uint64 current = config.currentEpoch();
        uint256 lastId = _schedule[_schedule.length - 1];
        uint64 lastStart = _committees[lastId].fromEpoch;
        // A committee not yet in force is replaced rather than followed.
        if (lastStart > current) {
            _schedule.pop();
            lastStart = _committees[_schedule[_schedule.length - 1]].fromEpoch;
        }
        uint64 earliest = uint64(Math.max(current, lastStart)) + 1;
        if (fromEpoch < earliest) revert InvalidCommitteeStart(fromEpoch, earliest);
        _addCommittee(members, threshold, fromEpoch);
    }

    /// @inheritdoc IOracleHub
    function setConfirmation(IVerdictConfirmer confirmer_, ConfirmationMode mode)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (mode != ConfirmationMode.CommitteeOnly && address(confirmer_) == address(0)) revert ConfirmerRequired();
        confirmer = confirmer_;
        confirmationMode = mode;
        emit ConfirmationSet(confirmer_, mode);
    }

    /* VERDICTS */

    /// @inheritdoc IOracleHub
    function submitVerdict(EpochVerdict calldata verdict, bytes[] calldata signatures) external {
        uint64 epoch = verdict.epoch;
        uint256 closesAt = _checkOpenEpoch(epoch);
        if (block.timestamp > closesAt) revert SubmissionWindowClosed(epoch, closesAt);

        bytes32 digest = verdictDigest(verdict);
        uint256 committeeId = _committeeIdAt(epoch);
        address previous;
        for (uint256 i; i < signatures.length; ++i) {
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signatures[i]);
            if (err != ECDSA.RecoverError.NoError) revert InvalidSignature(i);
            if (signer <= previous) revert SignersNotAscending(i, signer);
            if (!_isMember[committeeId][signer]) revert NotCommitteeMember(epoch, signer);
            previous = signer;
        }
        uint8 threshold = _committees[committeeId].threshold;
        if (signatures.length < threshold) revert QuorumNotReached(epoch, signatures.length, threshold);

        _recordVerdict(verdict, digest, uint32(signatures.length));
    }

    /// @inheritdoc IOracleHub
    function submitConfirmedVerdict(EpochVerdict calldata verdict) external {
        if (confirmationMode != ConfirmationMode.Fallback) revert WrongConfirmationMode(confirmationMode);
        uint64 epoch = verdict.epoch;
        uint256 closesAt = _checkOpenEpoch(epoch);
        if (block.timestamp <= closesAt) revert CommitteeWindowOpen(epoch, closesAt);
        bytes32 digest = verdictDigest(verdict);
        _checkConfirmed(epoch, digest);
        _recordVerdict(verdict, digest, 0);
    }

    /// @inheritdoc IOracleHub
    function refuseVerdict(uint64 epoch) external {
        if (confirmationMode != ConfirmationMode.MustAgree) revert WrongConfirmationMode(confirmationMode);
        VerdictRecord storage record = _verdicts[epoch];
        if (record.status != VerdictStatus.Pending) revert InvalidVerdictStatus(epoch, record.status);
        bytes32 confirmedDigest = _confirmedDigest(epoch);
        bytes32 digest = record.digest;
        if (confirmedDigest == digest) revert ConfirmationAgrees(epoch);

        delete _verdicts[epoch];
        _resubmitUntil[epoch] = block.timestamp + config.param(Param.VerdictSubmissionWindow);
        emit VerdictRefused(epoch, digest, confirmedDigest);
    }

    /// @inheritdoc IOracleHub
    function finaliseVerdict(uint64 epoch) external {
        VerdictRecord storage record = _verdicts[epoch];
        if (record.status != VerdictStatus.Pending) revert InvalidVerdictStatus(epoch, record.status);
        if (block.timestamp < record.challengeEndsAt) revert ChallengeWindowOpen(epoch, record.challengeEndsAt);
        if (confirmationMode == ConfirmationMode.MustAgree) _checkConfirmed(epoch, record.digest);

        record.status = VerdictStatus.Finalised;
        // An epoch that finalises after a later one (its dispute outlasted the later epoch's window) makes its faults
        // applicable, but its rewards root is older than the latest one, which is cumulative and stays in force.
        if (!_anyFinalised || epoch > _lastFinalised) {
            _lastFinalised = epoch;
            _anyFinalised = true;
        }
        emit VerdictFinalised(epoch, record.rewardsRoot, record.faultsRoot);
    }

    /* DISPUTES */

    /// @inheritdoc IOracleHub
    function disputeVerdict(uint64 epoch, bytes32 reason) external {
        VerdictRecord storage record = _verdicts[epoch];
        if (record.status != VerdictStatus.Pending) revert InvalidVerdictStatus(epoch, record.status);
        if (block.timestamp >= record.challengeEndsAt) revert ChallengeWindowClosed(epoch, record.challengeEndsAt);

        uint256 bond = _isMember[_committeeIdAt(epoch)][msg.sender] ? 0 : config.param(Param.VerdictDisputeBond);
        record.status = VerdictStatus.Disputed;
        _disputes[epoch] = VerdictDispute(msg.sender, uint64(block.timestamp), bond, reason);

        emit VerdictDisputed(epoch, msg.sender, bond, reason);
        if (bond > 0) token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc IOracleHub
    function resolveDispute(uint64 epoch, bool upheld) external onlyRole(ARBITRATOR_ROLE) {
        VerdictDispute memory dispute = _openDispute(epoch);
        uint256 closesAt = dispute.openedAt + config.param(Param.DisputeWindow);
        if (block.timestamp > closesAt) revert DisputeWindowClosed(epoch, closesAt);
        delete _disputes[epoch];

        uint256 reward;
        if (upheld) {
            delete _verdicts[epoch];
            _resubmitUntil[epoch] = block.timestamp + config.param(Param.VerdictSubmissionWindow);
            if (dispute.bond > 0) {
                reward = Math.min(config.param(Param.VerdictDisputeReward), disputeRewardReserve);
                disputeRewardReserve -= reward;
            }
        } else {
            VerdictRecord storage record = _verdicts[epoch];
            record.status = VerdictStatus.Pending;
            record.challengeEndsAt = uint64(block.timestamp);
        }

        emit DisputeResolved(epoch, upheld, reward);
        if (upheld) {
            if (dispute.bond + reward > 0) token.safeTransfer(dispute.challenger, dispute.bond + reward);
        } else if (dispute.bond > 0) {
            address treasury = config.treasury();
            if (treasury == address(0)) token.burn(dispute.bond);
            else token.safeTransfer(treasury, dispute.bond);
        }
    }

    /// @inheritdoc IOracleHub
    function expireDispute(uint64 epoch) external {
        VerdictDispute memory dispute = _openDispute(epoch);
        uint256 closesAt = dispute.openedAt + config.param(Param.DisputeWindow);
        if (block.timestamp <= closesAt) revert DisputeWindowOpen(epoch, closesAt);
        delete _disputes[epoch];
        VerdictRecord storage record = _verdicts[epoch];
        record.status = VerdictStatus.Pending;
        record.challengeEndsAt = uint64(block.timestamp);

        emit DisputeExpired(epoch);
        if (dispute.bond > 0) token.safeTransfer(dispute.challenger, dispute.bond);
    }

    /// @inheritdoc IOracleHub
    function fundDisputeRewards(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        disputeRewardReserve += amount;
        emit DisputeRewardsFunded(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /* FAULTS */

    /// @inheritdoc IOracleHub
    function applyFault(uint64 epoch, address device, FaultKind kind, bytes32 evidence, bytes32[] calldata proof)
        external
        returns (uint256 slashed)
    {
        VerdictRecord storage record = _verdicts[epoch];
        if (record.status != VerdictStatus.Finalised) revert InvalidVerdictStatus(epoch, record.status);
        if (!MerkleProof.verifyCalldata(proof, record.faultsRoot, faultLeaf(device, kind, evidence))) {
            revert InvalidFaultProof(epoch, device);
        }
        slashed = slashing.penaliseFault(device, kind, epoch, evidence);
        emit FaultApplied(epoch, device, kind, slashed);
    }

    /* VIEWS */

    /// @inheritdoc IOracleHub
    function verdictDigest(EpochVerdict calldata v) public view returns (bytes32) {
        return _hashTypedDataV4(verdictHash(v));
    }

    /// @inheritdoc IOracleHub
    function verdictHash(EpochVerdict calldata v) public pure returns (bytes32) {
        return keccak256(
            abi.encode(
                VERDICT_TYPEHASH,
                v.epoch,
                v.devicesCounted,
                v.rewardsRoot,
                v.faultsRoot,
                v.leasesRoot,
                v.totalWorkUnits,
                v.dataHash
            )
        );
    }

    /// @inheritdoc IOracleHub
    function faultLeaf(address device, FaultKind kind, bytes32 evidence) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(device, kind, evidence))));
    }

    /// @inheritdoc IOracleHub
    function committeeAt(uint64 epoch) external view returns (Committee memory) {
        return _committees[_committeeIdAt(epoch)];
    }

    /// @inheritdoc IOracleHub
    function getVerdict(uint64 epoch) external view returns (VerdictRecord memory) {
        return _verdicts[epoch];
    }

    /// @inheritdoc IOracleHub
    function getDispute(uint64 epoch) external view returns (VerdictDispute memory) {
        return _disputes[epoch];
    }

    /// @inheritdoc IOracleHub
    function latestFinalised() external view returns (uint64 epoch, bytes32 rewardsRoot, bool exists) {
        if (!_anyFinalised) return (0, bytes32(0), false);
        return (_lastFinalised, _verdicts[_lastFinalised].rewardsRoot, true);
    }

    /* INTERNAL */

    /// @dev Reverts unless `epoch` has ended, is not settled (or was reopened) and has no verdict; returns when its
    /// committee submission window closes.
    function _checkOpenEpoch(uint64 epoch) private view returns (uint256 closesAt) {
        uint256 endsAt = config.epochEnd(epoch);
        if (block.timestamp < endsAt) revert EpochNotEnded(epoch, endsAt);
        // An epoch reopened by an upheld dispute or a refusal can take its corrected verdict (for its faults) even
        // after a later epoch finalised; any other epoch up to the latest final one is settled.
        uint256 resubmitUntil = _resubmitUntil[epoch];
        if (_anyFinalised && epoch <= _lastFinalised && resubmitUntil == 0) {
            revert EpochAlreadySettled(epoch, _lastFinalised);
        }
        VerdictStatus status = _verdicts[epoch].status;
        if (status != VerdictStatus.None) revert VerdictAlreadySubmitted(epoch, status);
        closesAt = Math.max(endsAt + config.param(Param.VerdictSubmissionWindow), resubmitUntil);
    }

    function _recordVerdict(EpochVerdict calldata verdict, bytes32 digest, uint32 signers) private {
        _verdicts[verdict.epoch] = VerdictRecord({
            digest: digest,
            rewardsRoot: verdict.rewardsRoot,
            faultsRoot: verdict.faultsRoot,
            leasesRoot: verdict.leasesRoot,
            status: VerdictStatus.Pending,
            challengeEndsAt: uint64(block.timestamp + config.param(Param.VerdictChallengeWindow)),
            signers: signers
        });
        emit VerdictSubmitted(verdict.epoch, digest, verdict, signers);
    }

    /// @dev The EIP-712 digest of the verdict the confirmer confirmed for `epoch`; reverts if none.
    function _confirmedDigest(uint64 epoch) private view returns (bytes32) {
        bytes32 confirmed = confirmer.confirmedVerdict(epoch);
        if (confirmed == bytes32(0)) revert VerdictUnconfirmed(epoch);
        return _hashTypedDataV4(confirmed);
    }

    function _checkConfirmed(uint64 epoch, bytes32 digest) private view {
        bytes32 confirmedDigest = _confirmedDigest(epoch);
        if (confirmedDigest != digest) revert ConfirmationMismatch(epoch, digest, confirmedDigest);
    }

    function _addCommittee(address[] memory members, uint8 threshold, uint64 fromEpoch) private {
        uint256 size = members.length;
        if (size == 0 || size > MAX_COMMITTEE_SIZE || uint256(threshold) * 2 <= size || threshold > size) {
            revert InvalidCommittee(size, threshold);
        }
        uint256 id = committeeCount++;
        address previous;
        for (uint256 i; i < size; ++i) {
            if (members[i] <= previous) revert InvalidCommittee(size, threshold);
            _isMember[id][members[i]] = true;
            previous = members[i];
        }
        _committees[id] = Committee(fromEpoch, threshold, members);
        _schedule.push(id);
        emit CommitteeScheduled(id, fromEpoch, threshold, members);
    }

    /// @dev Binary search of the last scheduled committee with `fromEpoch <= epoch` (the first starts at 0).
    function _committeeIdAt(uint64 epoch) private view returns (uint256) {
        uint256 low;
        uint256 high = _schedule.length;
        while (high - low > 1) {
            uint256 mid = (low + high) / 2;
            if (_committees[_schedule[mid]].fromEpoch <= epoch) low = mid;
            else high = mid;
        }
        return _schedule[low];
    }

    function _openDispute(uint64 epoch) private view returns (VerdictDispute memory dispute) {
        VerdictStatus status = _verdicts[epoch].status;
        if (status != VerdictStatus.Disputed) revert InvalidVerdictStatus(epoch, status);
        dispute = _disputes[epoch];
    }
}
