// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title H3
/// @notice Structural checks of H3 cell indexes (https://h3geo.org/docs/core-library/h3Indexing).
library H3 {
    uint256 private constant MODE_OFFSET = 59;
    uint256 private constant RES_OFFSET = 52;
    uint256 private constant BASE_CELL_OFFSET = 45;
    uint64 private constant CELL_MODE = 1;
    uint64 private constant BASE_CELLS = 122;

    /// @notice True if `index` is shaped like an H3 cell: reserved bit clear, cell mode, base cell below 122, and
    /// every digit past the resolution set to 7 (unused).
    function isValidCell(uint64 index) internal pure returns (bool) {
        if (index >> 63 != 0) return false;
        if ((index >> MODE_OFFSET) & 0xF != CELL_MODE) return false;
        if ((index >> BASE_CELL_OFFSET) & 0x7F >= BASE_CELLS) return false;
        uint64 res = (index >> RES_OFFSET) & 0xF;
        for (uint64 r = 1; r <= 15; ++r) {
            uint64 digit = (index >> ((15 - r) * 3)) & 0x7;
            if (r > res && digit != 7) return false;
            if (r <= res && digit == 7) return false;
        }
        return true;
    }

    /// @notice True if `cell` lies inside `region` (both valid cells): `region` is `cell` or one of its ancestors,
    /// i.e. `cell` at `region`'s resolution (its finer digits set to 7) equals `region`.
    function contains(uint64 region, uint64 cell) internal pure returns (bool) {
        uint64 res = (region >> RES_OFFSET) & 0xF;
        if ((cell >> RES_OFFSET) & 0xF < res) return false;
        uint64 unused = uint64((uint256(1) << ((15 - res) * 3)) - 1); // digits res + 1 .. 15, all ones (7)
        uint64 resMask = uint64(0xF << RES_OFFSET);
        return ((cell & ~resMask) | uint64(uint256(res) << RES_OFFSET) | unused) == region;
    }
}
