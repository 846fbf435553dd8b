// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";

import {ITokenTransferHook} from "./ReentrantToken.sol";

/// @title HostileDelegator
/// @notice TEST ONLY, never deploy. A contract account (delegator, operator, challenger) run by its deployer. It
/// executes calls as itself, several in one transaction (to try a double withdraw or double claim atomically), and can
/// be armed with one call that it fires from inside the next token transfer callback it receives (`ReentrantToken`),
/// i.e. while the calling protocol function has not returned yet. The re-entrant call's outcome is recorded, not
/// bubbled, so a test can check both that it failed and that the outer call's accounting stayed exact.
contract HostileDelegator is ITokenTransferHook {
    address public immutable owner;

    address public reentryTarget;
    bytes public reentryData;
    /// @notice Re-entrant calls attempted and how the last one ended.
    uint256 public reentries;
    bool public lastReentrySucceeded;
    bytes public lastReentryResult;

    /// @notice A re-entrant call was attempted from a transfer callback.
    event Reentered(address indexed target, bool success, bytes result);

    error NotOwner(address caller);

    constructor() {
        owner = msg.sender;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Calls `target` with `data` as this contract; bubbles a revert.
    function execute(address target, bytes calldata data) external onlyOwner returns (bytes memory) {
        return Address.functionCall(target, data);
    }

    /// @notice Executes the calls in order in one transaction; any revert reverts them all.
    function executeBatch(address[] calldata targets, bytes[] calldata data) external onlyOwner {
        for (uint256 i; i < targets.length; ++i) {
            Address.functionCall(targets[i], data[i]);
        }
    }

    /// @notice Arms one re-entrant call, fired (once) from the next transfer callback.
    function arm(address target, bytes calldata data) external onlyOwner {
        reentryTarget = target;
        reentryData = data;
    }

    /// @inheritdoc ITokenTransferHook
    function onTokenTransfer(address, address, uint256) external {
        bytes memory data = reentryData;
        if (data.length == 0) return;
        delete reentryData;
        address target = reentryTarget;
        ++reentries;
        // A low-level call on purpose: the attack records the re-entrant call's outcome instead of bubbling it.
        // solhint-disable-next-line avoid-low-level-calls
        (bool success, bytes memory result) = target.call(data);
        lastReentrySucceeded = success;
        lastReentryResult = result;
        emit Reentered(target, success, result);
    }
}
