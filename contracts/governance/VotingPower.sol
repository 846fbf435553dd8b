// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC5805} from "@openzeppelin/contracts/interfaces/IERC5805.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";

import {IStaking} from "../interfaces/IStaking.sol";

/// @title VotingPower
/// @notice The votes the Governor counts: an account's MESH votes (held and delegated to it, `ERC20Votes`) plus the
/// voting power of the MESH it has staked (`IStaking.stakeVotes`), so staking never costs a holder their say.
/// @dev Staked tokens sit in the Staking contract, which delegates no token votes, so nothing is counted twice. The
/// total supply (quorum base) is the token's. Token votes are delegated on the token; staked votes stay with the
/// staker (delegating them would need checkpoints per delegatee across every pool). Same timestamp clock as MESH.
contract VotingPower is IERC5805 {
    IERC5805 public immutable token;
    IStaking public immutable staking;

    /// @notice Delegate on the token; staked votes cannot be delegated.
    error DelegateOnToken();

    constructor(IERC5805 token_, IStaking staking_) {
        token = token_;
        staking = staking_;
    }

    /// @inheritdoc IVotes
    function getVotes(address account) external view returns (uint256) {
        return token.getVotes(account) + staking.stakeVotes(account);
    }

    /// @inheritdoc IVotes
    function getPastVotes(address account, uint256 timepoint) external view returns (uint256) {
        return token.getPastVotes(account, timepoint) + staking.getPastStakeVotes(account, timepoint);
    }

    /// @inheritdoc IVotes
    function getPastTotalSupply(uint256 timepoint) external view returns (uint256) {
        return token.getPastTotalSupply(timepoint);
    }

    /// @inheritdoc IVotes
    function delegates(address account) external view returns (address) {
        return token.delegates(account);
    }

    /// @notice Not here: delegate token votes on the token.
    function delegate(address) external pure {
        revert DelegateOnToken();
    }

    /// @notice Not here: delegate token votes on the token.
    function delegateBySig(address, uint256, uint256, uint8, bytes32, bytes32) external pure {
        revert DelegateOnToken();
    }

    /// @notice The token's clock (timestamps).
    function clock() external view returns (uint48) {
        return token.clock();
    }

    /// @notice The token's clock mode.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external view returns (string memory) {
        return token.CLOCK_MODE();
    }
}
