// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TestBase} from "./utils/TestBase.sol";
import {USDToken} from "../USDToken.sol";

contract USDTokenTest is TestBase {
    USDToken internal token;
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    function setUp() public {
        token = new USDToken(true, address(this), 1_000e6);
    }

    function test_metadata() public view {
        assertEq(token.decimals(), 6, "decimals");
        assertEq(keccak256(bytes(token.symbol())), keccak256("rUSD"), "symbol");
        assertEq(token.totalSupply(), 1_000e6, "initial supply");
        assertEq(token.balanceOf(address(this)), 1_000e6, "admin balance");
        assertTrue(token.mintable(), "mintable");
        assertEq(token.admin(), address(this), "admin");
    }

    function test_mint_byAdmin() public {
        vm.expectEmit(true, true, false, true, address(token));
        emit Transfer(address(0), alice, 5e6);
        token.mint(alice, 5e6);
        assertEq(token.balanceOf(alice), 5e6, "minted");
        assertEq(token.totalSupply(), 1_005e6, "supply");
    }

    function test_mint_revertsForNonAdmin() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(USDToken.NotAdmin.selector, alice));
        token.mint(alice, 1);
    }

    function test_mint_revertsWhenNotMintable() public {
        USDToken fixedSupply = new USDToken(false, address(this), 10e6);
        vm.expectRevert(USDToken.MintingDisabled.selector);
        fixedSupply.mint(alice, 1);
        assertEq(fixedSupply.totalSupply(), 10e6, "supply unchanged");
    }

    function test_constructor_revertsOnZeroAdmin() public {
        vm.expectRevert(USDToken.ZeroAddress.selector);
        new USDToken(true, address(0), 0);
    }

    function test_transfer() public {
        vm.expectEmit(true, true, false, true, address(token));
        emit Transfer(address(this), alice, 7e6);
        assertTrue(token.transfer(alice, 7e6), "returns true");
        assertEq(token.balanceOf(alice), 7e6, "alice");
        assertEq(token.balanceOf(address(this)), 993e6, "sender");
    }

    function test_transfer_revertsOnInsufficientBalance() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(USDToken.InsufficientBalance.selector, alice, 0, 1));
        token.transfer(bob, 1);
    }

    function test_transfer_revertsToZero() public {
        vm.expectRevert(USDToken.ZeroAddress.selector);
        token.transfer(address(0), 1);
    }

    function test_approveAndTransferFrom() public {
        vm.expectEmit(true, true, false, true, address(token));
        emit Approval(address(this), alice, 10e6);
        token.approve(alice, 10e6);
        vm.prank(alice);
        token.transferFrom(address(this), bob, 4e6);
        assertEq(token.balanceOf(bob), 4e6, "bob");
        assertEq(token.allowance(address(this), alice), 6e6, "allowance left");
    }

    function test_transferFrom_infiniteAllowanceNotDecreased() public {
        token.approve(alice, type(uint256).max);
        vm.prank(alice);
        token.transferFrom(address(this), bob, 4e6);
        assertEq(token.allowance(address(this), alice), type(uint256).max, "infinite");
    }

    function test_transferFrom_revertsOnInsufficientAllowance() public {
        token.approve(alice, 1e6);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(USDToken.InsufficientAllowance.selector, address(this), alice, 1e6, 2e6));
        token.transferFrom(address(this), bob, 2e6);
    }

    function test_approve_revertsForZeroSpender() public {
        vm.expectRevert(USDToken.ZeroAddress.selector);
        token.approve(address(0), 1);
    }

    function testFuzz_transferConservesSupply(uint256 amount, address to) public {
        vm.assume(to != address(0) && to != address(this));
        amount = bound(amount, 0, 1_000e6);
        token.transfer(to, amount);
        assertEq(token.balanceOf(to) + token.balanceOf(address(this)), 1_000e6, "conserved");
    }
}
