// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FunctionsClient} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/FunctionsClient.sol";
import {FunctionsRequest} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/libraries/FunctionsRequest.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {
    IFunctionsVerdictConfirmer,
    ConfirmationAttempt,
    ConfirmationStatus
} from "./interfaces/IFunctionsVerdictConfirmer.sol";
import {IOracleHub, VerdictStatus} from "./interfaces/IOracleHub.sol";
import {IVerdictConfirmer} from "./interfaces/IVerdictConfirmer.sol";
import {IProtocolConfig, Param} from "./interfaces/IProtocolConfig.sol";

/// @title FunctionsVerdictConfirmer
/// @notice Chainlink Functions consumer that confirms epoch verdicts for the OracleHub.
contract FunctionsVerdictConfirmer is IFunctionsVerdictConfirmer, FunctionsClient, Ownable2Step {
    using FunctionsRequest for FunctionsRequest.Request;

    struct OpenRequest {
        uint64 epoch;
        bool open;
    }

    /// @inheritdoc IFunctionsVerdictConfirmer
    uint256 public constant MAX_ENDPOINTS = 5;
    /// @inheritdoc IFunctionsVerdictConfirmer
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;
    /// @dev Length of a well-formed answer: abi.encode(uint256 epoch, bytes32 verdictHash).
    uint256 private constant ANSWER_LENGTH = 64;

    IProtocolConfig public immutable config;
    IOracleHub public immutable hub;

    /// @inheritdoc IFunctionsVerdictConfirmer
    bytes32 public sourceHash;
    /// @inheritdoc IFunctionsVerdictConfirmer
    bytes32 public donId;
    /// @inheritdoc IFunctionsVerdictConfirmer
    uint64 public subscriptionId;
    uint8 private _quorum;
    string[] private _endpoints;

    mapping(uint64 epoch => bytes32 verdictHash) private _confirmed;
    mapping(uint64 epoch => ConfirmationAttempt) private _attempts;
    /// @dev Requests not answered yet (every request id the router returns is distinct).
    mapping(bytes32 requestId => OpenRequest) private _openRequests;

    /// @param router The Chainlink Functions router.
    /// @param owner_ Governance (the timelock once deployed).
    constructor(
        address router,
        IProtocolConfig config_,
        IOracleHub hub_,
        address owner_,
        bytes32 sourceHash_,
        uint64 subscriptionId_,
        bytes32 donId_,
        string[] memory endpoints_,
        uint8 quorum_
    ) FunctionsClient(router) Ownable(owner_) {
        config = config_;
        hub = hub_;
        _setSource(sourceHash_);
        _setSubscription(subscriptionId_, donId_);
        _setEndpoints(endpoints_, quorum_);
    }

    /* REQUESTS */

    /// @inheritdoc IFunctionsVerdictConfirmer
    function requestConfirmation(uint64 epoch, string calldata source) external returns (bytes32 requestId) {
        bytes32 presented = keccak256(bytes(source));
        if (presented != sourceHash) revert SourceMismatch(presented, sourceHash);
        uint256 endsAt = config.epochEnd(epoch);
        if (block.timestamp < endsAt) revert EpochNotEnded(epoch, endsAt);
        // Not "settled by a later epoch": an older epoch's verdict can still finalise, once confirmed (MustAgree).
        if (hub.getVerdict(epoch).status == VerdictStatus.Finalised) revert VerdictAlreadyFinal(epoch);
        if (_confirmed[epoch] != bytes32(0)) revert AlreadyConfirmed(epoch, _confirmed[epoch]);
        ConfirmationAttempt storage attempt = _attempts[epoch];
        if (attempt.status != ConfirmationStatus.None) {
            uint256 allowedFrom = attempt.sentAt + config.param(Param.ConfirmationRetryInterval);
            if (block.timestamp < allowedFrom) revert RetryTooSoon(epoch, allowedFrom);
        }

        FunctionsRequest.Request memory request;
        request.initializeRequestForInlineJavaScript(source);
        request.setArgs(requestArgs(epoch));
        requestId = _sendRequest(
            request.encodeCBOR(), subscriptionId, uint32(config.param(Param.ConfirmationCallbackGas)), donId
        );

        _attempts[epoch] = ConfirmationAttempt(requestId, uint64(block.timestamp), ConfirmationStatus.Pending);
        _openRequests[requestId] = OpenRequest(epoch, true);
        emit ConfirmationRequested(epoch, requestId, msg.sender);
    }

    /// @dev Never reverts on what the DON sends: a malformed answer is a failure the epoch can recover from by a new
    /// request. An answer to a superseded request still counts (it is the DON's answer for the same epoch).
    function fulfillRequest(bytes32 requestId, bytes memory response, bytes memory err) internal override {
        OpenRequest memory request = _openRequests[requestId];
        if (!request.open) return; // the router delivers each request once; nothing else reaches here
        delete _openRequests[requestId];
        uint64 epoch = request.epoch;

        bytes32 verdictHash;
        bytes memory failure = err;
        if (failure.length == 0) (verdictHash, failure) = _decodeAnswer(epoch, response);
        if (failure.length > 0) {
            if (_attempts[epoch].requestId == requestId) _attempts[epoch].status = ConfirmationStatus.Failed;
            emit ConfirmationFailed(epoch, requestId, failure);
        } else if (_confirmed[epoch] != bytes32(0)) {
            emit ConfirmationIgnored(epoch, requestId, verdictHash);
        } else {
            _confirmed[epoch] = verdictHash;
            _attempts[epoch].status = ConfirmationStatus.Confirmed;
            emit VerdictConfirmed(epoch, requestId, verdictHash);
        }
    }

    /* GOVERNANCE */

    /// @inheritdoc IFunctionsVerdictConfirmer
    function setSource(bytes32 sourceHash_) external onlyOwner {
        _setSource(sourceHash_);
    }

    /// @inheritdoc IFunctionsVerdictConfirmer
    function setEndpoints(string[] calldata endpoints_, uint8 quorum_) external onlyOwner {
        _setEndpoints(endpoints_, quorum_);
    }

    /// @inheritdoc IFunctionsVerdictConfirmer
    function setSubscription(uint64 subscriptionId_, bytes32 donId_) external onlyOwner {
        _setSubscription(subscriptionId_, donId_);
    }

    /* VIEWS */

    /// @inheritdoc IVerdictConfirmer
    function confirmedVerdict(uint64 epoch) external view returns (bytes32) {
        return _confirmed[epoch];
    }

    /// @inheritdoc IFunctionsVerdictConfirmer
    function attemptOf(uint64 epoch) external view returns (ConfirmationAttempt memory) {
        return _attempts[epoch];
    }

    /// @inheritdoc IFunctionsVerdictConfirmer
    function endpoints() external view returns (string[] memory, uint8) {
        return (_endpoints, _quorum);
    }

    /// @inheritdoc IFunctionsVerdictConfirmer
    function requestArgs(uint64 epoch) public view returns (string[] memory args) {
        uint256 count = _endpoints.length;
        args = new string[](count + 2);
        args[0] = Strings.toString(epoch);
        args[1] = Strings.toString(_quorum);
        for (uint256 i; i < count; ++i) {
            args[i + 2] = _endpoints[i];
        }
    }

    /* INTERNAL */

    function _decodeAnswer(uint64 epoch, bytes memory response)
        private
        pure
        returns (bytes32 verdictHash, bytes memory failure)
    {
        if (response.length != ANSWER_LENGTH) return (0, "malformed answer");
        (uint256 answeredEpoch, bytes32 answeredHash) = abi.decode(response, (uint256, bytes32));
        if (answeredEpoch != epoch) return (0, "answer for another epoch");
        if (answeredHash == bytes32(0)) return (0, "zero verdict hash");
        return (answeredHash, "");
    }

    function _setSource(bytes32 sourceHash_) private {
        if (sourceHash_ == bytes32(0)) revert ZeroValue();
        sourceHash = sourceHash_;
        emit SourceSet(sourceHash_);
    }

    function _setSubscription(uint64 subscriptionId_, bytes32 donId_) private {
        if (donId_ == bytes32(0)) revert ZeroValue();
        subscriptionId = subscriptionId_;
        donId = donId_;
        emit SubscriptionSet(subscriptionId_, donId_);
    }

    function _setEndpoints(string[] memory endpoints_, uint8 quorum_) private {
        uint256 count = endpoints_.length;
        if (count == 0 || count > MAX_ENDPOINTS || quorum_ > count || uint256(quorum_) * 2 <= count) {
            revert InvalidEndpoints(count, quorum_);
        }
        for (uint256 i; i < count; ++i) {
            uint256 length = bytes(endpoints_[i]).length;
            if (length == 0 || length > MAX_ENDPOINT_LENGTH) revert InvalidEndpoints(count, quorum_);
        }
        _endpoints = endpoints_;
        _quorum = quorum_;
        emit EndpointsSet(endpoints_, quorum_);
    }
}
