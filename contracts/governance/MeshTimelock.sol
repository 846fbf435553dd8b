// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

import {IProtocolConfig, Param} from "../interfaces/IProtocolConfig.sol";

/// @title MeshTimelock
/// @notice The protocol's governance executor: owner or admin of every protocol contract. Its delay always exceeds the
/// unbonding period, so a staker who dislikes a queued decision can unbond and leave before it takes effect.
/// @dev `ProtocolConfig` refuses an unbonding period at or above this delay; this contract refuses a delay at or below
/// the unbonding period. The constructor takes any delay so a deployment can wire ownerships through the timelock
/// with no wait; the deployment then sets the real delay through `updateDelay` and renounces its admin role.
contract MeshTimelock is TimelockController {
    IProtocolConfig public immutable config;

    /// @notice The delay must stay above the unbonding period.
    error DelayNotAboveUnbonding(uint256 delay, uint256 unbondingPeriod);

    constructor(
        IProtocolConfig config_,
        uint256 minDelay,
        address[] memory proposers,
        address[] memory executors,
        address admin
    ) TimelockController(minDelay, proposers, executors, admin) {
        config = config_;
    }

    /// @notice Changes the delay; only through a timelocked operation, and only above the unbonding period.
    function updateDelay(uint256 newDelay) public override {
        uint256 unbonding = config.param(Param.UnbondingPeriod);
        if (newDelay <= unbonding) revert DelayNotAboveUnbonding(newDelay, unbonding);
        super.updateDelay(newDelay);
    }
}
