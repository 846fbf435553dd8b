// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @notice An account's latest checkpoint and how many older ones are archived, in one slot.
struct VoteHistory {
    uint48 latestKey; // timepoint of the latest checkpoint (zero: no checkpoint yet)
    uint176 latestValue;
    uint32 archived; // checkpoints in `past`, oldest first
    mapping(uint256 index => ArchivedVotes) past;
}

/// @notice A superseded checkpoint.
struct ArchivedVotes {
    uint48 key;
    uint208 value;
}

/// @title VoteHistoryLib
/// @notice Checkpointed votes like OpenZeppelin's `Checkpoints.Trace208`, but the latest checkpoint and the count share
/// one slot: an account's first checkpoint writes one fresh slot instead of two (array length and element), and
/// reading the current votes is one slot. A new timepoint archives the previous latest checkpoint.
library VoteHistoryLib {
    /// @notice Checkpoints must be pushed in non-decreasing timepoint order.
    error DecreasingTimepoint(uint48 latest, uint48 key);

    /// @notice Sets the votes at `key` (now) to `value`; returns the previous and new latest values.
    function push(VoteHistory storage self, uint48 key, uint256 value)
        internal
        returns (uint256 previous, uint256 current)
    {
        uint48 latestKey = self.latestKey;
        previous = self.latestValue;
        if (latestKey != 0 && key != latestKey) {
            if (key < latestKey) revert DecreasingTimepoint(latestKey, key);
            uint32 archived = self.archived;
            self.past[archived] = ArchivedVotes(latestKey, uint208(previous));
            self.archived = archived + 1;
        }
        self.latestKey = key;
        self.latestValue = SafeCast.toUint176(value);
        current = value;
    }

    /// @notice The latest votes (zero before any checkpoint).
    function latest(VoteHistory storage self) internal view returns (uint256) {
        return self.latestValue;
    }

    /// @notice The votes in force at `key`: the value of the last checkpoint at or before it (zero if none).
    function upperLookup(VoteHistory storage self, uint48 key) internal view returns (uint256) {
        uint48 latestKey = self.latestKey;
        if (latestKey != 0 && latestKey <= key) return self.latestValue;
        // Binary search over the archive for the last key <= `key`: O(log n), no loop over all checkpoints.
        uint256 low = 0;
        uint256 high = self.archived;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (self.past[mid].key > key) high = mid;
            else low = mid + 1;
        }
        return high == 0 ? 0 : self.past[high - 1].value;
    }
}
