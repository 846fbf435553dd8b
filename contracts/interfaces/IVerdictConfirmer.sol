// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IVerdictConfirmer
/// @notice A verdict source independent of the oracle committee: it confirms, once per epoch, the EIP-712 struct hash
/// of the `EpochVerdict` it found (see `IOracleHub`). The hub compares it with the committee's verdict or, when the
/// committee stalls, accepts the verdict it confirms, depending on governance's `ConfirmationMode`.
interface IVerdictConfirmer {
    /// @notice The struct hash of the verdict confirmed for `epoch` (`hashStruct(EpochVerdict)` in EIP-712 terms),
    /// or zero while none is. A confirmation never changes once made.
    function confirmedVerdict(uint64 epoch) external view returns (bytes32 verdictHash);
}
