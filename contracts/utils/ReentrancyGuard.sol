// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ReentrancyGuard
/// @notice Reentrancy lock kept in transient storage (EIP-1153, cancun): costs ~300 gas per guarded call.
abstract contract ReentrancyGuard {
    /// @dev arbitrary fixed transient slot (transient storage is per contract and per transaction)
    uint256 private constant _LOCK_SLOT = 0x7065727052656e7472616e63794c6f636b;

    error Reentrancy();

    modifier nonReentrant() {
        uint256 locked;
        assembly ("memory-safe") {
            locked := tload(_LOCK_SLOT)
        }
        if (locked != 0) revert Reentrancy();
        assembly ("memory-safe") {
            tstore(_LOCK_SLOT, 1)
        }
        _;
        assembly ("memory-safe") {
            tstore(_LOCK_SLOT, 0)
        }
    }
}
