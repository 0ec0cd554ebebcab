// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import {IPerpEvents} from "../exchange/IPerpEvents.sol";
import "../exchange/PerpTypes.sol";

/// @notice Premium sampling, hourly settlement, keeper reward, lazy index application, snapshot semantics.
contract ExchangeFundingTest is Fixture {
    uint256 internal constant P = 50_000e8;
    uint256 internal constant TICK = 1e7;
    uint256 internal boundary;

    function setUp() public override {
        super.setUp();
        fund(alice, 100_000);
        fund(bob, 100_000);
        fund(carol, 100_000);
        fund(dave, 100_000);
        // alice long 1 BTC, bob short 1 BTC, both at 50,000
        postAsk(bob, BTC, P, 1e8);
        ioc(alice, BTC, Side.Buy, P, 1e8);
        boundary = ex.nextFundingTime(BTC);
        assertEq(boundary, 1_700_002_800, "first boundary");
    }

    function _quote(uint256 bidPrice, uint256 askPrice) internal returns (uint256 b, uint256 a) {
        b = postBid(carol, BTC, bidPrice, 0.01e8);
        a = postAsk(carol, BTC, askPrice, 0.01e8);
    }

    function test_pokeFunding_samplesMidVsOracle() public {
        _quote(50_100e8, 50_300e8); // mid 50,200 vs 50,000: +0.4 %
        vm.expectEmit(true, false, false, true, address(ex));
        emit IPerpEvents.FundingSampled(BTC, 0.004e18, 1, 50_200e8, P);
        int256 prem = ex.pokeFunding(BTC);
        assertEq(prem, 0.004e18, "premium");
        FundingView memory f = ex.getFunding(BTC);
        assertEq(f.sampleCount, 1, "count");
        assertEq(f.premiumSum, 0.004e18, "sum");
        assertEq(f.nextSampleTime, block.timestamp + 60, "next sample");
        assertEq(f.projectedRate, 0.004e18 / 8 + 0.0000125e18, "projected");
    }

    function test_pokeFunding_boundsAndReverts() public {
        _quote(50_100e8, 50_300e8);
        ex.pokeFunding(BTC);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.SampleTooEarly.selector, block.timestamp + 60));
        ex.pokeFunding(BTC);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.UnknownMarket.selector, 7));
        ex.pokeFunding(7);
        warpTo(block.timestamp + 60);
        setPrice(BTC, 40_000); // mid 50,200 vs 40,000: clamped to +0.5 %
        assertEq(ex.pokeFunding(BTC), 0.005e18, "clamped");
        warpTo(boundary);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.FundingDue.selector, boundary));
        ex.pokeFunding(BTC);
    }

    function test_pokeFunding_oneSidedBookSamplesZero() public {
        postBid(carol, BTC, 50_500e8, 0.01e8);
        assertEq(ex.pokeFunding(BTC), 0, "no ask: zero");
        assertEq(ex.getFunding(BTC).sampleCount, 1, "still counted");
    }

    function test_settleFunding_interestOnly() public {
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.FundingNotDue.selector, boundary));
        ex.settleFunding(BTC);
        warpTo(boundary);
        vm.expectEmit(true, false, false, true, address(ex));
        emit IPerpEvents.FundingSettled(BTC, 0.0000125e18, 0.625e18, P, 1);
        vm.prank(dave);
        int256 rate = ex.settleFunding(BTC);
        assertEq(rate, 0.0000125e18, "rate = interest");
        assertEq(ex.fundingIndex(BTC), 0.625e18, "index = rate * price");
        assertEq(ex.nextFundingTime(BTC), boundary + 3600, "next");
        // 1 BTC * 50,000 * 0.00125 % = 0.625 USD
        assertEq(ex.getPosition(alice, BTC).pendingFunding, 625_000, "long pays");
        assertEq(ex.getPosition(bob, BTC).pendingFunding, -625_000, "short receives");
        assertEq(ex.getFunding(BTC).lastRate, 0.0000125e18, "last rate");
    }

    function test_settleFunding_averagesSamples() public {
        (, uint256 a) = _quote(50_100e8, 50_300e8);
        ex.pokeFunding(BTC); // +0.4 %
        warpTo(block.timestamp + 60);
        ex.pokeFunding(BTC); // +0.4 %
        warpTo(block.timestamp + 60);
        vm.prank(carol);
        ex.replace(a, 51_000e8, 0.01e8); // mid 50,550: +1.1 % -> clamped +0.5 %
        ex.pokeFunding(BTC);
        warpTo(boundary);
        int256 expectedRate = int256(13e15) / 3 / 8 + 0.0000125e18;
        assertEq(ex.settleFunding(BTC), expectedRate, "rate");
        int256 index = expectedRate * 50_000;
        assertEq(ex.fundingIndex(BTC), index, "index");
        // payer rounds up, receiver rounds down (in its favour never)
        assertEq(ex.getPosition(alice, BTC).pendingFunding, (index * 1e8 + 1e20 - 1) / 1e20, "long pays ceil");
        assertEq(ex.getPosition(bob, BTC).pendingFunding, -(index * 1e8 / 1e20), "short gets floor");
        assertEq(ex.getFunding(BTC).sampleCount, 0, "samples reset");
    }

    function test_settleFunding_negativePremiumShortsPay() public {
        _quote(49_700e8, 49_900e8); // mid 49,800: -0.4 %
        ex.pokeFunding(BTC);
        warpTo(boundary);
        int256 rate = ex.settleFunding(BTC);
        assertEq(rate, -0.004e18 / 8 + 0.0000125e18, "negative rate");
        assertLt(ex.getPosition(alice, BTC).pendingFunding, 0, "long receives");
        assertGt(ex.getPosition(bob, BTC).pendingFunding, 0, "short pays");
    }

    function test_settleFunding_clampedToMaxRate() public {
        MarketParams memory p = btcParams();
        p.maxFundingRate = 0.0001e18;
        ex.updateMarket(BTC, p);
        _quote(50_400e8, 50_600e8); // +1 % -> sample clamp 0.5 % -> /8 = 0.0625 % > 0.01 %
        ex.pokeFunding(BTC);
        warpTo(boundary);
        assertEq(ex.settleFunding(BTC), 0.0001e18, "clamped");
    }

    function test_settleFunding_keeperReward() public {
        uint256 pool = ex.feePool(); // taker 25 - maker rebate 5 = 20
        assertEq(pool, 20e6, "pool");
        address keeper = address(0x4EE9E4);
        warpTo(boundary);
        vm.expectEmit(true, true, false, true, address(ex));
        emit IPerpEvents.KeeperRewarded(keeper, BTC, 1e6);
        vm.prank(keeper);
        ex.settleFunding(BTC);
        assertEq(ex.getAccount(keeper).collateral, 1e6, "reward credited to a new account");
        assertEq(ex.feePool(), pool - 1e6, "paid from the fee pool");
        vm.prank(keeper);
        ex.withdraw(1e6);
        assertEq(usd.balanceOf(keeper), 1e6, "withdrawable");
    }

    function test_settleFunding_rewardCappedByPool() public {
        ex.withdrawFees(admin, ex.feePool() - 0.3e6);
        warpTo(boundary);
        vm.prank(dave);
        ex.settleFunding(BTC);
        assertEq(ex.feePool(), 0, "drained");
        assertEq(collateralOf(dave), 100_000e6 + 0.3e6, "capped reward");
    }

    function test_missedHoursAreAllApplied() public {
        warpTo(boundary + 2 * 3600 + 5);
        vm.expectEmit(true, false, false, true, address(ex));
        emit IPerpEvents.FundingSettled(BTC, 0.0000125e18, 3 * 0.625e18, P, 3);
        ex.settleFunding(BTC);
        assertEq(ex.nextFundingTime(BTC), boundary + 3 * 3600, "aligned to the hour");
        assertEq(ex.getPosition(alice, BTC).pendingFunding, 3 * 625_000, "three hours");
    }

    function test_fundingPaidOnTouch() public {
        warpTo(boundary);
        ex.settleFunding(BTC);
        int256 before = collateralOf(alice);
        postBid(carol, BTC, P - TICK, 1e8);
        vm.expectEmit(true, true, false, true, address(ex));
        emit IPerpEvents.FundingPaid(alice, BTC, 625_000);
        ioc(alice, BTC, Side.Sell, 0, 0.5e8);
        assertEq(ex.getPosition(alice, BTC).pendingFunding, 0, "settled");
        // collateral: - funding - realised loss (0.5 * 0.1) - taker fee (5 bp of 24,999.95, rounded up)
        assertEq(collateralOf(alice), before - 625_000 - 50_000 - 12_499_975, "collateral");
    }

    /// A position opened after the hour boundary never pays for that hour: the fill settles first.
    function test_snapshotSemantics_newPositionDoesNotPayPastHour() public {
        warpTo(boundary + 30); // boundary passed, nobody settled yet
        postAsk(dave, BTC, P, 0.5e8);
        vm.expectEmit(true, false, false, true, address(ex));
        emit IPerpEvents.FundingSettled(BTC, 0.0000125e18, 0.625e18, P, 1);
        ioc(carol, BTC, Side.Buy, P, 0.5e8); // the fill settles the due hour first
        assertEq(ex.getPosition(carol, BTC).pendingFunding, 0, "carol (opened after) pays nothing");
        assertEq(ex.getPosition(dave, BTC).pendingFunding, 0, "dave (opened after) receives nothing");
        assertEq(ex.getPosition(alice, BTC).pendingFunding, 625_000, "alice (held at the boundary) pays");
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.FundingNotDue.selector, boundary + 3600));
        ex.settleFunding(BTC);
    }

    function test_fundingIsConservative() public {
        warpTo(boundary);
        ex.settleFunding(BTC);
        int256 sum = ex.getPosition(alice, BTC).pendingFunding + ex.getPosition(bob, BTC).pendingFunding;
        assertGe(sum, 0, "payers >= receivers");
        assertLe(uint256(sum), 1, "at most rounding dust");
    }
}
