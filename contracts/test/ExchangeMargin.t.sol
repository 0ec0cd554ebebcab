// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import {IPerpEvents} from "../exchange/IPerpEvents.sol";
import "../exchange/PerpTypes.sol";

/// @notice Initial-margin checks at placement and fill, cross margin, solvency rules, oracle staleness.
contract ExchangeMarginTest is Fixture {
    uint256 internal constant P = 50_000e8;
    uint256 internal constant TICK = 1e7;

    function setUp() public override {
        super.setUp();
        fund(alice, 100_000);
        fund(bob, 100_000);
        fund(dave, 1_000); // the small account
    }

    function test_restingOrderNeedsInitialMargin() public {
        postBid(dave, BTC, P - TICK, 0.2e8); // IM at mark: 0.2 * 50,000 * 10 % = 1,000 = equity
        // the opposite side does not add: exposure = max(|q + buys|, |q - sells|)
        postAsk(dave, BTC, P + TICK, 0.2e8);
        vm.prank(dave);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InsufficientMargin.selector, int256(1_000e6), 1_005e6));
        ex.place(BTC, Side.Sell, P + 2 * TICK, 0.001e8, true, false, 0, 0);
        AccountView memory v = ex.getAccount(dave);
        assertEq(v.initialMargin, 0, "no position IM");
        assertEq(v.initialMarginWithOrders, 1_000e6, "orders IM");
    }

    function test_takerNeedsInitialMargin() public {
        postAsk(alice, BTC, P, 1e8);
        vm.prank(dave);
        // 0.2 BTC: IM 1,000 > equity 1,000 - 5 (fee)
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InsufficientMargin.selector, int256(995e6), 1_000e6));
        ex.placeIOC(BTC, Side.Buy, P, 0.2e8, false, 0);
        ioc(dave, BTC, Side.Buy, P, 0.19e8);
        assertEq(sizeOf(dave, BTC), 0.19e8, "filled");
    }

    function test_reducingAllowedBelowInitialMargin() public {
        postAsk(alice, BTC, P, 1e8);
        ioc(dave, BTC, Side.Buy, P, 0.19e8); // equity 995.25, IM 950
        setPrice(BTC, 49_000); // equity 805.25 < IM 931 but > MM
        AccountView memory v = ex.getAccount(dave);
        assertEq(v.equity, 805_250_000, "equity");
        assertEq(v.initialMargin, 931e6, "IM");
        assertFalse(v.liquidatable, "above MM");
        postBid(alice, BTC, 49_000e8, 1e8);
        vm.prank(dave); // adding risk fails
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InsufficientMargin.selector, int256(805_250_000), 980e6));
        ex.place(BTC, Side.Buy, 48_000e8, 0.01e8, true, false, 0, 0);
        ioc(dave, BTC, Side.Sell, 49_000e8, 0.1e8); // reducing works
        assertEq(sizeOf(dave, BTC), 0.09e8, "reduced");
    }

    function test_crossMargin_profitInOneMarketSupportsAnother() public {
        postAsk(alice, ETH, 3_000e8, 10e8);
        ioc(dave, ETH, Side.Buy, 3_000e8, 2e8); // IM 300, equity 997
        vm.prank(dave);
        // + BTC IM 750 > 997
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InsufficientMargin.selector, int256(997e6), 1_050e6));
        ex.place(BTC, Side.Buy, P - TICK, 0.15e8, true, false, 0, 0);
        setPrice(ETH, 3_100); // +200 uPnL, IM 310
        postBid(dave, BTC, P - TICK, 0.15e8);
        AccountView memory v = ex.getAccount(dave);
        assertEq(v.equity, 1_197e6, "equity incl. ETH uPnL");
        assertEq(v.initialMarginWithOrders, 310e6 + 750e6, "sum over markets");
        assertEq(uint256(v.marketMask), 3, "two markets");
    }

    function test_makerFailingMarginAtFillIsCancelled() public {
        uint256 weak = postBid(dave, BTC, P - TICK, 0.19e8);
        uint256 strong = postBid(alice, BTC, P - 10 * TICK, 0.19e8);
        setPrice(BTC, 45_000); // dave's fill would lose ~950 at mark: equity ~50 < IM 855
        vm.expectEmit(true, true, false, true, address(ex));
        emit IPerpEvents.OrderCancelled(weak, dave, 0.19e8, CancelReason.Margin);
        (, uint256 filled) = ioc(bob, BTC, Side.Sell, 0, 0.19e8);
        assertEq(filled, 0.19e8, "filled against alice");
        assertEq(sizeOf(dave, BTC), 0, "dave untouched");
        assertEq(ex.getOrder(strong).owner, address(0), "alice filled");
    }

    function test_takerCannotGoInsolventBySellingCheap() public {
        postAsk(alice, BTC, P, 1e8);
        ioc(dave, BTC, Side.Buy, P, 0.19e8);
        postBid(bob, BTC, 40_000e8, 1e8); // colluding far-off bid
        vm.prank(dave);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.Insolvent.selector, int256(-908_550_000)));
        ex.placeIOC(BTC, Side.Sell, 0, 0.19e8, false, 0);
        assertEq(sizeOf(dave, BTC), 0.19e8, "unchanged");
    }

    function test_makerCannotGoInsolventBySellingCheap() public {
        postAsk(alice, BTC, P, 1e8);
        ioc(dave, BTC, Side.Buy, P, 0.19e8);
        uint256 cheap = postAsk(dave, BTC, 40_000e8, 0.19e8); // reduce-side ask far below mark
        vm.expectEmit(true, true, false, true, address(ex));
        emit IPerpEvents.OrderCancelled(cheap, dave, 0.19e8, CancelReason.Margin);
        (, uint256 filled) = ioc(bob, BTC, Side.Buy, 40_000e8, 0.19e8);
        assertEq(filled, 0, "no fill");
        assertEq(sizeOf(dave, BTC), 0.19e8, "dave unchanged");
        assertGe(equityOf(dave), 0, "solvent");
    }

    function test_staleOracleBlocksRiskButNotCancels() public {
        uint256 id = postBid(alice, BTC, P - TICK, 0.1e8);
        vm.warp(block.timestamp + 121);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.StalePrice.selector, BTC, block.timestamp - 121));
        ex.place(BTC, Side.Buy, P - 2 * TICK, 0.1e8, true, false, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.StalePrice.selector, BTC, block.timestamp - 121));
        ex.markPrice(BTC);
        vm.prank(alice);
        ex.replace(id, P - 3 * TICK, 0.05e8); // shrinking needs no price
        vm.prank(alice);
        ex.cancel(id);
    }

    function test_makerWithStaleFeedElsewhereIsCancelled() public {
        postAsk(alice, ETH, 3_000e8, 1e8);
        ioc(dave, ETH, Side.Buy, 3_000e8, 0.1e8); // dave has an ETH position
        uint256 daveAsk = postAsk(dave, BTC, P, 0.01e8);
        fund(carol, 10_000); // carol has no ETH exposure, so her maker check only needs BTC
        uint256 carolAsk = postAsk(carol, BTC, P + TICK, 0.01e8);
        vm.warp(block.timestamp + 121);
        setPrice(BTC, 50_000); // only BTC stays fresh; ETH is stale
        vm.expectEmit(true, true, false, true, address(ex));
        emit IPerpEvents.OrderCancelled(daveAsk, dave, 0.01e8, CancelReason.Margin);
        (, uint256 filled) = ioc(bob, BTC, Side.Buy, P + TICK, 0.01e8);
        assertEq(filled, 0.01e8, "bob not blocked");
        assertEq(ex.getOrder(carolAsk).owner, address(0), "filled by carol");
    }

    function test_badOraclePrice() public {
        postBid(alice, BTC, P - TICK, 0.1e8);
        // a feed id with no data behaves as invalid: repoint BTC to feed 99
        MarketParams memory p = btcParams();
        p.feedId = 99;
        ex.updateMarket(BTC, p);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.BadOraclePrice.selector, BTC));
        ex.markPrice(BTC);
    }
}
