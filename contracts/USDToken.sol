// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "./interfaces/IERC20.sol";

/// @title USDToken
/// @notice 6-decimal USD collateral token (ERC20). `mintable` is fixed at deployment: local/dev
///         deployments set it to true so the admin can mint test balances; any other deployment sets it
///         to false and the whole supply is the `initialSupply` minted to the admin in the constructor.
contract USDToken is IERC20 {
    string public constant name = "Reference USD";
    string public constant symbol = "rUSD";
    uint8 public constant decimals = 6;

    address public immutable admin;
    bool public immutable mintable;

    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    error NotAdmin(address caller);
    error MintingDisabled();
    error ZeroAddress();
    error InsufficientBalance(address from, uint256 balance, uint256 needed);
    error InsufficientAllowance(address owner, address spender, uint256 allowance, uint256 needed);

    constructor(bool mintable_, address admin_, uint256 initialSupply) {
        if (admin_ == address(0)) revert ZeroAddress();
        admin = admin_;
        mintable = mintable_;
        if (initialSupply != 0) _mint(admin_, initialSupply);
    }

    /// @notice Mint test balances. Only the admin, and only on deployments created with `mintable`.
    function mint(address to, uint256 amount) external {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        if (!mintable) revert MintingDisabled();
        _mint(to, amount);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        if (spender == address(0)) revert ZeroAddress();
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < value) revert InsufficientAllowance(from, msg.sender, allowed, value);
            unchecked {
                allowance[from][msg.sender] = allowed - value;
            }
        }
        _transfer(from, to, value);
        return true;
    }

    function _transfer(address from, address to, uint256 value) internal {
        if (to == address(0)) revert ZeroAddress();
        uint256 bal = balanceOf[from];
        if (bal < value) revert InsufficientBalance(from, bal, value);
        unchecked {
            balanceOf[from] = bal - value;
            balanceOf[to] += value; // cannot overflow: sum of balances == totalSupply
        }
        emit Transfer(from, to, value);
    }

    function _mint(address to, uint256 amount) internal {
        if (to == address(0)) revert ZeroAddress();
        totalSupply += amount;
        unchecked {
            balanceOf[to] += amount;
        }
        emit Transfer(address(0), to, amount);
    }
}
