// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @notice A pool of tokens owned pro rata by its shares; a slash lowers `tokens` and so every share's value at once.
struct Pool {
    uint128 tokens;
    uint128 shares;
}

/// @title SharesMath
/// @notice Token/share conversions with virtual shares and tokens (as in Morpho Blue's SharesMathLib), so an empty or
/// fully slashed pool never divides by zero and the first depositor cannot inflate the share price.
/// Functions say which way they round: deposits round shares down, exits round shares burned up.
library SharesMath {
    uint256 internal constant VIRTUAL_SHARES = 1e6;
    uint256 internal constant VIRTUAL_TOKENS = 1;

    function toSharesDown(Pool memory pool, uint256 tokens) internal pure returns (uint256) {
        return Math.mulDiv(tokens, pool.shares + VIRTUAL_SHARES, pool.tokens + VIRTUAL_TOKENS);
    }

    function toSharesUp(Pool memory pool, uint256 tokens) internal pure returns (uint256) {
        return Math.mulDiv(tokens, pool.shares + VIRTUAL_SHARES, pool.tokens + VIRTUAL_TOKENS, Math.Rounding.Ceil);
    }

    function toTokensDown(Pool memory pool, uint256 shares) internal pure returns (uint256) {
        return Math.mulDiv(shares, pool.tokens + VIRTUAL_TOKENS, pool.shares + VIRTUAL_SHARES);
    }
}
