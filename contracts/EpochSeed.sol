// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IEpochSeed} from "./interfaces/IEpochSeed.sol";
import {IProtocolConfig} from "./interfaces/IProtocolConfig.sol";

/// @title EpochSeed
/// @notice Records one challenge seed per epoch.
contract EpochSeed is IEpochSeed {
    IProtocolConfig public immutable config;

    mapping(uint64 epoch => bytes32) private _seeds;

    constructor(IProtocolConfig config_) {
        config = config_;
    }

    /// @inheritdoc IEpochSeed
    function recordSeed() external returns (bytes32 seed) {
        uint64 epoch = config.currentEpoch();
        bytes32 existing = _seeds[epoch];
        if (existing != bytes32(0)) revert SeedAlreadyRecorded(epoch, existing);
        seed = keccak256(abi.encode(block.prevrandao, blockhash(block.number - 1), epoch, address(this)));
        _seeds[epoch] = seed;
        emit SeedRecorded(epoch, seed);
    }

    /// @inheritdoc IEpochSeed
    function seedOf(uint64 epoch) external view returns (bytes32 seed) {
        seed = _seeds[epoch];
        if (seed == bytes32(0)) revert SeedNotRecorded(epoch);
    }

    /// @inheritdoc IEpochSeed
    function hasSeed(uint64 epoch) external view returns (bool) {
        return _seeds[epoch] != bytes32(0);
    }
}
