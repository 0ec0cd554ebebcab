// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title OwnedState
/// @notice Admin role state, modifier and two-step transfer logic (internal). `Owned` adds the external
///         entry points; PerpExchange keeps them in its module to save code size in the trading core.
abstract contract OwnedState {
    address public owner;
    address public pendingOwner;

    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error Unauthorized(address caller);
    error ZeroAddress();

    modifier onlyOwner() {
        if (msg.sender != owner) revert Unauthorized(msg.sender);
        _;
    }

    constructor(address initialOwner) {
        if (initialOwner == address(0)) revert ZeroAddress();
        owner = initialOwner;
        emit OwnershipTransferred(address(0), initialOwner);
    }
}

/// @title Owned
/// @notice Minimal two-step ownership (admin role).
abstract contract Owned is OwnedState {
    /// @notice Step 1: the owner nominates `newOwner` (address(0) cancels a pending nomination).
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    /// @notice Step 2: the nominee accepts.
    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert Unauthorized(msg.sender);
        emit OwnershipTransferred(owner, msg.sender);
        owner = msg.sender;
        pendingOwner = address(0);
    }
}
