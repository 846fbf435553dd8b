// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @notice A pool of tokens owned pro rata by its shares; a slash lowers `tokens` and so every share's value at once.
/// When slashing leaves a pool's shares (all but) worthless — worth less than 1 token wei per `MAX_SHARES_PER_TOKEN`
/// shares — the pool is wiped: it starts a new `generation` with no shares, and shares held from an older generation
/// count as zero. Otherwise each near-total slash would multiply the share price until deposits overflow.
struct Pool {
    uint128 tokens;
    uint48 generation;
    uint256 shares;
}

/// @title SharesMath
/// @notice Token/share conversions with virtual shares and tokens (as in Morpho Blue's SharesMathLib), so an empty
/// pool never divides by zero and the first depositor cannot inflate the share price. Deposits round shares down;
/// exits round tokens down, so the pool never pays out more than it holds.
library SharesMath {
    using SafeCast for uint256;

    uint256 internal constant VIRTUAL_SHARES = 1e6;
    uint256 internal constant VIRTUAL_TOKENS = 1;
    /// @dev A share price 1e12 times below the initial one (1e6 shares per token wei) wipes the pool: its holders had
    /// lost all but a trillionth of their stake, and at most that dust is left to the pool's next generation.
    uint256 internal constant MAX_SHARES_PER_TOKEN = 1e18;

    function toSharesDown(Pool memory pool, uint256 tokens) internal pure returns (uint256) {
        return Math.mulDiv(tokens, pool.shares + VIRTUAL_SHARES, pool.tokens + VIRTUAL_TOKENS);
    }

    function toTokensDown(Pool memory pool, uint256 shares) internal pure returns (uint256) {
        return Math.mulDiv(shares, pool.tokens + VIRTUAL_TOKENS, pool.shares + VIRTUAL_SHARES);
    }

    /// @dev Adds `tokens` and returns the shares minted for them.
    function deposit(Pool storage pool, uint256 tokens) internal returns (uint256 shares) {
        shares = toSharesDown(pool, tokens);
        pool.tokens += tokens.toUint128();
        pool.shares += shares;
    }

    /// @dev Removes `tokens` and burns `shares`; returns true if that wiped the pool (see `Pool`).
    function remove(Pool storage pool, uint256 tokens, uint256 shares) internal returns (bool wiped) {
        pool.tokens -= tokens.toUint128();
        pool.shares -= shares;
        if (pool.shares > uint256(pool.tokens) * MAX_SHARES_PER_TOKEN) {
            pool.shares = 0;
            ++pool.generation;
            return true;
        }
    }
}
