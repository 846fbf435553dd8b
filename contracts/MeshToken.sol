// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {IMeshToken} from "./interfaces/IMeshToken.sol";

/// @title MeshToken
/// @notice ERC20 with permit and checkpointed votes (timestamp clock), hard-capped cumulative minting.
contract MeshToken is IMeshToken, ERC20, ERC20Burnable, ERC20Permit, ERC20Votes, AccessControl {
    /// @inheritdoc IMeshToken
    uint256 public constant MAX_SUPPLY = 1_000_000_000e18;
    /// @inheritdoc IMeshToken
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @inheritdoc IMeshToken
    uint256 public totalMinted;

    /// @param admin Holder of the admin role (governance; the deployer until it hands over).
    /// @param genesisRecipient Receiver of the genesis allocation.
    /// @param genesisSupply Tokens minted at deployment (counts against the cap).
    constructor(address admin, address genesisRecipient, uint256 genesisSupply)
        ERC20("Meshwork", "MESH")
        ERC20Permit("Meshwork")
    {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (genesisSupply > 0) _mintCapped(genesisRecipient, genesisSupply);
    }

    /// @inheritdoc IMeshToken
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mintCapped(to, amount);
    }

    /// @inheritdoc IMeshToken
    function burn(uint256 amount) public override(IMeshToken, ERC20Burnable) {
        super.burn(amount);
    }

    /// @notice Votes are checkpointed by timestamp, so governance periods read in seconds on any chain.
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    /// @notice Machine-readable description of the clock (EIP-6372).
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @notice Permit nonce of `owner`.
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _mintCapped(address to, uint256 amount) private {
        uint256 minted = totalMinted;
        if (amount > MAX_SUPPLY - minted) revert SupplyCapExceeded(amount, minted, MAX_SUPPLY);
        totalMinted = minted + amount;
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
