// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IMeshToken
/// @notice MESH: the staking, reward and governance token. Its supply is hard-capped: the total ever minted never
/// exceeds `MAX_SUPPLY`, even after burns. Only holders of `MINTER_ROLE` (the emission path) can mint.
interface IMeshToken is IERC20 {
    /// @notice Minting `amount` would take the total ever minted past the cap.
    error SupplyCapExceeded(uint256 amount, uint256 totalMinted, uint256 cap);

    /// @notice Hard cap on the total ever minted, in token wei.
    function MAX_SUPPLY() external view returns (uint256);

    /// @notice Role allowed to mint.
    function MINTER_ROLE() external view returns (bytes32);

    /// @notice Total ever minted (burns do not give room back under the cap).
    function totalMinted() external view returns (uint256);

    /// @notice Mints `amount` to `to`. Minter only; reverts with `SupplyCapExceeded` past the cap.
    function mint(address to, uint256 amount) external;

    /// @notice Burns `amount` of the caller's tokens.
    function burn(uint256 amount) external;
}
