// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IExpiringPause} from "../interfaces/IExpiringPause.sol";

/// @title ExpiringPause
/// @notice `whenNotPaused` for the guarded functions of a contract, with pauses that expire on their own.
abstract contract ExpiringPause is IExpiringPause, AccessControl {
    /// @inheritdoc IExpiringPause
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @inheritdoc IExpiringPause
    uint64 public constant MAX_PAUSE_DURATION = 7 days;
    /// @inheritdoc IExpiringPause
    uint64 public constant PAUSE_COOLDOWN = 7 days;

    /// @inheritdoc IExpiringPause
    uint64 public pausedUntil;
    /// @inheritdoc IExpiringPause
    uint64 public nextPauseAt;

    modifier whenNotPaused() {
        if (paused()) revert EnforcedPause(pausedUntil);
        _;
    }

    /// @inheritdoc IExpiringPause
    function pause(uint64 duration) external onlyRole(PAUSER_ROLE) {
        if (duration == 0 || duration > MAX_PAUSE_DURATION) revert InvalidPauseDuration(duration, MAX_PAUSE_DURATION);
        if (block.timestamp < nextPauseAt) revert PauseCoolingDown(nextPauseAt);
        uint64 until = uint64(block.timestamp) + duration;
        pausedUntil = until;
        nextPauseAt = until + PAUSE_COOLDOWN;
        emit Paused(msg.sender, until);
    }

    /// @inheritdoc IExpiringPause
    function unpause() external {
        if (!hasRole(PAUSER_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, PAUSER_ROLE);
        }
        if (!paused()) revert NotPaused();
        pausedUntil = uint64(block.timestamp);
        nextPauseAt = uint64(block.timestamp) + PAUSE_COOLDOWN;
        emit Unpaused(msg.sender);
    }

    /// @inheritdoc IExpiringPause
    function paused() public view returns (bool) {
        return block.timestamp < pausedUntil;
    }
}
