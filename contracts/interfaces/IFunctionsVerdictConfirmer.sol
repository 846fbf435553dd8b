// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IVerdictConfirmer} from "./IVerdictConfirmer.sol";

/// @notice Where an epoch's confirmation request stands.
enum ConfirmationStatus {
    None, // never requested
    Pending, // sent; the Functions DON has not answered
    Failed, // the DON answered with an error or a malformed result: anyone may request again after the retry interval
    Confirmed // the DON confirmed a verdict hash: final
}

/// @notice The latest confirmation request of an epoch.
struct ConfirmationAttempt {
    bytes32 requestId;
    uint64 sentAt;
    ConfirmationStatus status;
}

/// @title IFunctionsVerdictConfirmer
/// @notice Confirms epoch verdicts through Chainlink Functions. Anyone requests a confirmation for an ended epoch that
/// is not settled yet, presenting the JavaScript source whose hash governance pinned; the DON runs it with the epoch,
/// the endpoint quorum and the oracle endpoints as arguments: it fetches each oracle's own verdict with its tree
/// leaves, recomputes the Merkle roots, and answers `abi.encode(uint256 epoch, bytes32 verdictHash)` once `quorum`
/// endpoints agree. The first well-formed answer for an epoch is its confirmation; errors and malformed answers are
/// recorded as failures, and the epoch may be requested again after `ConfirmationRetryInterval`, so a lost or failed
/// fulfilment never leaves an epoch stuck.
/// @dev Trust: governance (the owner) pins the source, the endpoints and the subscription; the LINK subscription pays
/// for requests, which is why an epoch can be asked about at most once per retry interval and only until it settles.
interface IFunctionsVerdictConfirmer is IVerdictConfirmer {
    /// @notice A confirmation of `epoch` was requested.
    event ConfirmationRequested(uint64 indexed epoch, bytes32 indexed requestId, address indexed requester);
    /// @notice The DON confirmed `verdictHash` for `epoch`.
    event VerdictConfirmed(uint64 indexed epoch, bytes32 indexed requestId, bytes32 verdictHash);
    /// @notice A fulfilment carried an error or a malformed result (`reason`: the DON's error, or what was wrong).
    event ConfirmationFailed(uint64 indexed epoch, bytes32 indexed requestId, bytes reason);
    /// @notice A fulfilment arrived for an epoch confirmed meanwhile (by an earlier request); it changes nothing.
    event ConfirmationIgnored(uint64 indexed epoch, bytes32 indexed requestId, bytes32 verdictHash);
    /// @notice Governance pinned the hash of the request source.
    event SourceSet(bytes32 sourceHash);
    /// @notice Governance set the oracle endpoints the source reads and how many of them must agree.
    event EndpointsSet(string[] endpoints, uint8 quorum);
    /// @notice Governance set the Functions subscription that pays for requests and the DON that serves them.
    event SubscriptionSet(uint64 subscriptionId, bytes32 donId);

    /// @notice The presented source is not the one governance pinned.
    error SourceMismatch(bytes32 presented, bytes32 pinned);
    /// @notice The epoch has not ended yet.
    error EpochNotEnded(uint64 epoch, uint256 endsAt);
    /// @notice The epoch's verdict is already final: nothing left to confirm.
    error VerdictAlreadyFinal(uint64 epoch);
    /// @notice The epoch's verdict is already confirmed.
    error AlreadyConfirmed(uint64 epoch, bytes32 verdictHash);
    /// @notice The epoch was requested less than a retry interval ago.
    error RetryTooSoon(uint64 epoch, uint256 allowedFrom);
    /// @notice Endpoints must number 1 to `MAX_ENDPOINTS`, each 1 to `MAX_ENDPOINT_LENGTH` bytes, with a quorum that
    /// is a strict majority of them.
    error InvalidEndpoints(uint256 count, uint8 quorum);
    /// @notice Zero source hash or DON id.
    error ZeroValue();

    /// @notice Most endpoints a request names (Chainlink Functions allows 5 HTTP requests per execution).
    function MAX_ENDPOINTS() external view returns (uint256);

    /// @notice Longest endpoint URL, in bytes.
    function MAX_ENDPOINT_LENGTH() external view returns (uint256);

    /// @notice Requests a confirmation of `epoch`'s verdict. Anyone; the epoch must have ended, its verdict must not
    /// be final nor confirmed, and it must not have been requested within `ConfirmationRetryInterval`. `source` must
    /// hash to the pinned `sourceHash`.
    function requestConfirmation(uint64 epoch, string calldata source) external returns (bytes32 requestId);

    /// @notice Pins the keccak256 of the request source. Governance only.
    function setSource(bytes32 sourceHash) external;

    /// @notice Sets the oracle endpoints (base URLs) and the number that must agree. Governance only.
    function setEndpoints(string[] calldata endpoints, uint8 quorum) external;

    /// @notice Sets the Functions subscription and DON. Governance only.
    function setSubscription(uint64 subscriptionId, bytes32 donId) external;

    /// @notice keccak256 of the source a request must present.
    function sourceHash() external view returns (bytes32);

    /// @notice The Functions subscription paying for requests.
    function subscriptionId() external view returns (uint64);

    /// @notice The DON serving requests.
    function donId() external view returns (bytes32);

    /// @notice The oracle endpoints and their quorum.
    function endpoints() external view returns (string[] memory urls, uint8 quorum);

    /// @notice The arguments a request for `epoch` carries: the epoch, the quorum, then the endpoints.
    function requestArgs(uint64 epoch) external view returns (string[] memory args);

    /// @notice The latest confirmation request of `epoch`.
    function attemptOf(uint64 epoch) external view returns (ConfirmationAttempt memory);
}
