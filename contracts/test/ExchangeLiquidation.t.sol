// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import {IPerpEvents} from "../exchange/IPerpEvents.sol";
import "../exchange/PerpTypes.sol";

/// @notice Liquidation by position transfer at the oracle price, reward, shortfall to insurance.
contract ExchangeLiquidationTest is Fixture {
    uint256 internal constant P = 50_000e8;

    function setUp() public override {
        super.setUp();
        fund(alice, 6_000);
        fund(bob, 100_000);
        fund(dave, 10_000);
        postAsk(bob, BTC, P, 1e8);
        ioc(alice, BTC, Side.Buy, P, 1e8); // alice long 1 BTC @ 50,000, collateral 5,975 after fee
        assertEq(collateralOf(alice), 5_975e6, "after fee");
    }

    function test_notLiquidatableAboveMaintenance() public {
        setPrice(BTC, 48_000); // equity 3,975 > MM 2,400
        assertFalse(ex.isLiquidatable(alice), "healthy");
        vm.prank(dave);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.NotLiquidatable.selector, int256(3_975e6), 2_400e6));
        ex.liquidate(alice, BTC, 1e8);
    }

    function test_liquidateFull() public {
        setPrice(BTC, 46_000); // equity 1,975 < MM 2,300
        assertTrue(ex.isLiquidatable(alice), "liquidatable");
        assertTrue(ex.getAccount(alice).liquidatable, "flag");
        vm.expectEmit(true, true, true, true, address(ex));
        emit IPerpEvents.Liquidation(alice, dave, BTC, 1e8, 46_000e8, 460e6, 1_975e6, 2_300e6);
        vm.prank(dave);
        uint256 reward = ex.liquidate(alice, BTC, 1e8);
        assertEq(reward, 460e6, "1 % of 46,000");
        assertEq(sizeOf(alice, BTC), 0, "alice flat");
        assertEq(collateralOf(alice), 5_975e6 - 4_000e6 - 460e6, "realised loss + reward");
        assertEq(sizeOf(dave, BTC), 1e8, "dave took the position");
        assertEq(ex.getPosition(dave, BTC).entryPrice, 46_000e8, "at the oracle price");
        assertEq(collateralOf(dave), 10_460e6, "reward");
        assertEq(ex.insuranceFund(), 0, "no shortfall");
    }

    function test_liquidatePartial() public {
        setPrice(BTC, 46_000);
        vm.prank(dave);
        ex.liquidate(alice, BTC, 0.4e8);
        assertEq(sizeOf(alice, BTC), 0.6e8, "partial");
        assertEq(sizeOf(dave, BTC), 0.4e8, "dave");
        // remaining account: equity 1,975 - 184 = 1,791 vs MM 0.6 * 46,000 * 5 % = 1,380 -> healthy again
        assertFalse(ex.isLiquidatable(alice), "restored");
    }

    function test_liquidateShort() public {
        fund(carol, 6_000);
        postBid(bob, BTC, P, 1e8);
        ioc(carol, BTC, Side.Sell, P, 1e8); // carol short 1
        setPrice(BTC, 54_000); // carol equity 1,975 < MM 2,700 ; alice is fine
        vm.prank(dave);
        ex.liquidate(carol, BTC, 1e8);
        assertEq(sizeOf(carol, BTC), 0, "flat");
        assertEq(sizeOf(dave, BTC), -1e8, "dave short");
        assertEq(collateralOf(carol), 5_975e6 - 4_000e6 - 540e6, "loss + reward");
    }

    function test_shortfallCoveredByInsurance() public {
        usd.mint(admin, 10_000e6);
        usd.approve(address(ex), 10_000e6);
        ex.depositInsurance(10_000e6);
        setPrice(BTC, 40_000); // equity -4,025
        vm.expectEmit(true, false, false, true, address(ex));
        emit IPerpEvents.InsuranceCovered(alice, 4_425e6, 5_575e6);
        vm.prank(dave);
        ex.liquidate(alice, BTC, 1e8);
        assertEq(collateralOf(alice), 0, "reset to zero");
        assertEq(ex.insuranceFund(), 5_575e6, "insurance paid 4,025 + 400 reward");
        assertEq(collateralOf(dave), 10_400e6, "liquidator still paid");
    }

    function test_shortfallBeyondInsuranceIsBadDebt() public {
        setPrice(BTC, 40_000);
        vm.prank(dave);
        ex.liquidate(alice, BTC, 1e8);
        assertEq(ex.insuranceFund(), -4_425e6, "negative = bad debt");
        assertEq(collateralOf(alice), 0, "account not negative");
    }

    function test_liquidate_reverts() public {
        setPrice(BTC, 46_000);
        fund(carol, 100);
        vm.startPrank(alice);
        vm.expectRevert(IPerpEvents.SelfLiquidation.selector);
        ex.liquidate(alice, BTC, 1e8);
        vm.stopPrank();
        address stranger = address(0x5757);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.NoAccount.selector, stranger));
        ex.liquidate(alice, BTC, 1e8);
        vm.startPrank(dave);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.NoAccount.selector, stranger));
        ex.liquidate(stranger, BTC, 1e8);
        vm.expectRevert(IPerpEvents.NoPosition.selector);
        ex.liquidate(alice, ETH, 1e8);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InvalidSize.selector, 1.001e8));
        ex.liquidate(alice, BTC, 1.001e8);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InvalidSize.selector, 1));
        ex.liquidate(alice, BTC, 1);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.UnknownMarket.selector, 9));
        ex.liquidate(alice, 9, 1e8);
        vm.stopPrank();
        vm.prank(carol); // 100 USD cannot carry 1 BTC (IM 4,600)
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InsufficientMargin.selector, int256(560e6), 4_600e6));
        ex.liquidate(alice, BTC, 1e8);
    }

    function test_liquidate_staleOracleReverts() public {
        setPrice(BTC, 46_000);
        vm.warp(block.timestamp + 121);
        vm.prank(dave);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.StalePrice.selector, BTC, block.timestamp - 121));
        ex.liquidate(alice, BTC, 1e8);
    }

    function test_liquidationSettlesDueFunding() public {
        uint256 boundary = ex.nextFundingTime(BTC);
        warpTo(boundary + 1);
        setPrice(BTC, 46_000);
        vm.prank(dave);
        ex.liquidate(alice, BTC, 1e8);
        assertEq(ex.nextFundingTime(BTC), boundary + 3600, "settled on the way");
        assertEq(ex.getPosition(dave, BTC).pendingFunding, 0, "liquidator pays nothing for the past hour");
    }

    function test_crossMarginLiquidationKeepsNegativeUntilFlat() public {
        // alice also holds ETH; BTC loss makes the whole account liquidatable
        postAsk(bob, ETH, 3_000e8, 1e8);
        ioc(alice, ETH, Side.Buy, 3_000e8, 0.5e8);
        setPrice(BTC, 40_000);
        vm.prank(dave);
        ex.liquidate(alice, BTC, 1e8);
        assertLt(collateralOf(alice), 0, "still has ETH: not covered yet");
        assertEq(ex.insuranceFund(), 0, "untouched");
        vm.prank(dave);
        ex.liquidate(alice, ETH, 0.5e8);
        assertEq(collateralOf(alice), 0, "covered once flat");
        assertLt(ex.insuranceFund(), 0, "bad debt recorded");
    }
}
