// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

import {IMeshToken} from "../interfaces/IMeshToken.sol";

/// @notice Receives ERC777-style transfer callbacks from `ReentrantToken`.
interface ITokenTransferHook {
    /// @notice Called on the sender before its balance moves, and on the recipient after its balance moved.
    function onTokenTransfer(address from, address to, uint256 value) external;
}

/// @title ReentrantToken
/// @notice TEST ONLY, never deploy. A hostile ERC20 with the surface of `IMeshToken` that hands control to hooked
/// accounts in the middle of every transfer, as ERC777 `tokensToSend` / `tokensReceived` do: the sender is called
/// before its balance moves, the recipient after. Any contract that takes a token address at construction is deployed
/// with it by the security suite, to show that a callback from inside `transfer` / `transferFrom` cannot re-enter it
/// with profit. Minting is open to anyone: this token guards nothing.
contract ReentrantToken is ERC20, IMeshToken {
    uint256 public constant MAX_SUPPLY = 1_000_000_000e18;
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    uint256 public totalMinted;
    /// @notice Accounts that asked for transfer callbacks.
    mapping(address account => bool) public hooked;

    constructor() ERC20("Reentrant", "REENTER") {}

    /// @notice Turns the caller's transfer callbacks on or off.
    function setHook(bool on) external {
        hooked[msg.sender] = on;
    }

    /// @notice Open mint (test only).
    function mint(address to, uint256 amount) external {
        totalMinted += amount;
        _mint(to, amount);
    }

    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (hooked[from]) ITokenTransferHook(from).onTokenTransfer(from, to, value);
        super._update(from, to, value);
        if (hooked[to]) ITokenTransferHook(to).onTokenTransfer(from, to, value);
    }
}
