// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IExpiringPause
/// @notice An emergency brake that releases itself. The pause guardian (`PAUSER_ROLE`) can stop a contract's guarded
/// functions for at most `MAX_PAUSE_DURATION`, and cannot pause again until `PAUSE_COOLDOWN` after the pause ended, so
/// a guardian alone can never hold the protocol still for long. Governance appoints the guardian and can lift a pause.
/// @dev What a pause stops is listed by each contract; nothing that returns unslashed stake is ever guarded.
interface IExpiringPause {
    /// @notice The guarded functions are stopped until `until`.
    event Paused(address indexed by, uint64 until);
    /// @notice A pause was lifted before it expired.
    event Unpaused(address indexed by);

    /// @notice The contract is paused until `until`.
    error EnforcedPause(uint64 until);
    /// @notice A pause lasts more than nothing and at most `max` seconds.
    error InvalidPauseDuration(uint64 duration, uint64 max);
    /// @notice The guardian may pause again from `allowedAt`.
    error PauseCoolingDown(uint64 allowedAt);
    /// @notice Nothing to lift.
    error NotPaused();

    /// @notice Role that may pause (the pause guardian).
    function PAUSER_ROLE() external view returns (bytes32);
    /// @notice Longest pause.
    function MAX_PAUSE_DURATION() external view returns (uint64);
    /// @notice Wait after a pause ends before the next one.
    function PAUSE_COOLDOWN() external view returns (uint64);
    /// @notice Stops the guarded functions for `duration` seconds. Pause guardian only; not during the cooldown.
    function pause(uint64 duration) external;
    /// @notice Lifts the pause now. Pause guardian or governance.
    function unpause() external;
    /// @notice Whether the guarded functions are stopped.
    function paused() external view returns (bool);
    /// @notice End of the current (or last) pause.
    function pausedUntil() external view returns (uint64);
    /// @notice Earliest time of the guardian's next pause.
    function nextPauseAt() external view returns (uint64);
}
