// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import {IPerpEvents} from "../exchange/IPerpEvents.sol";
import "../exchange/PerpTypes.sol";

/// @notice Order entry, matching, cancel, replace, batch and book views.
contract ExchangeOrdersTest is Fixture {
    uint256 internal constant P = 50_000e8; // BTC mid area
    uint256 internal constant TICK = 1e7; // $0.10

    function setUp() public override {
        super.setUp();
        fund(alice, 100_000);
        fund(bob, 100_000);
        fund(carol, 100_000);
    }

    // ------------------------------------------------------------------ place (resting)
    function test_place_restingBid() public {
        vm.expectEmit(true, true, true, true, address(ex));
        emit IPerpEvents.OrderPlaced(1, alice, BTC, Side.Buy, P - TICK, 0.25e8, 0, 0, 77);
        vm.prank(alice);
        uint256 id = ex.place(BTC, Side.Buy, P - TICK, 0.25e8, false, false, 0, 77);
        assertEq(id, 1, "first id");
        OrderView memory o = ex.getOrder(id);
        assertEq(o.owner, alice, "owner");
        assertEq(o.price, P - TICK, "price");
        assertEq(o.size, 0.25e8, "size");
        assertEq(o.open, 0.25e8, "open");
        assertEq(o.filled, 0, "filled");
        assertTrue(o.side == Side.Buy, "side");
        (uint256 bp, uint256 bs, uint256 ap,) = ex.bestBidAsk(BTC);
        assertEq(bp, P - TICK, "best bid");
        assertEq(bs, 0.25e8, "bid size");
        assertEq(ap, 0, "no ask");
        PositionView memory pv = ex.getPosition(alice, BTC);
        assertEq(pv.openBuySize, 0.25e8, "open buys");
        assertEq(pv.size, 0, "no position");
        assertEq(uint256(ex.getAccount(alice).marketMask), 1, "mask");
        // ETH ids carry the market in the high bits
        vm.prank(alice);
        uint256 ethId = ex.place(ETH, Side.Sell, 3_100e8, 1e8, true, false, 0, 0);
        assertEq(ethId, (uint256(1) << 40) | 1, "eth id");
        assertEq(ex.getOrder(ethId).market, ETH, "eth market");
    }

    function test_place_reverts() public {
        vm.startPrank(dave);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.NoAccount.selector, dave));
        ex.place(BTC, Side.Buy, P, 1e8, false, false, 0, 0);
        vm.stopPrank();
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.UnknownMarket.selector, 5));
        ex.place(5, Side.Buy, P, 1e8, false, false, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InvalidPrice.selector, 0));
        ex.place(BTC, Side.Buy, 0, 1e8, false, false, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InvalidPrice.selector, P + 1));
        ex.place(BTC, Side.Buy, P + 1, 1e8, false, false, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InvalidPrice.selector, (1 << 24) * TICK));
        ex.place(BTC, Side.Buy, (1 << 24) * TICK, 1e8, false, false, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InvalidSize.selector, 0));
        ex.place(BTC, Side.Buy, P, 0, false, false, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InvalidSize.selector, 1e5 + 1));
        ex.place(BTC, Side.Buy, P, 1e5 + 1, false, false, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InvalidSize.selector, (uint256(1) << 32) * 1e5));
        ex.place(BTC, Side.Buy, P, (uint256(1) << 32) * 1e5, false, false, 0, 0);
        // 0.001 BTC @ 5,000 = $5 < $10
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.BelowMinNotional.selector, 5e6, 10e6));
        ex.place(BTC, Side.Buy, 5_000e8, 1e5, false, false, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InvalidExpiry.selector, uint32(block.timestamp)));
        ex.place(BTC, Side.Buy, P, 1e8, false, false, uint32(block.timestamp), 0);
        vm.expectRevert(IPerpEvents.ReduceOnlyViolation.selector);
        ex.place(BTC, Side.Sell, P, 1e8, false, true, 0, 0);
        vm.stopPrank();
    }

    function test_postOnly_rejectsCrossing() public {
        postAsk(alice, BTC, P, 0.1e8);
        vm.prank(bob);
        vm.expectRevert(IPerpEvents.WouldCross.selector);
        ex.place(BTC, Side.Buy, P, 0.1e8, true, false, 0, 0);
        postBid(bob, BTC, P - TICK, 0.1e8); // one tick below is fine
    }

    // ------------------------------------------------------------------ matching
    function test_limitOrder_sweepsAtMakerPrices_andRestsRemainder() public {
        uint256 a1 = postAsk(alice, BTC, P + 10e8, 1e8);
        uint256 a2 = postAsk(alice, BTC, P + 20e8, 1e8);
        vm.expectEmit(true, true, true, true, address(ex));
        emit IPerpEvents.OrderFilled(BTC, a1, 3, alice, bob, Side.Buy, P + 10e8, 1e8, -5_001_000, 25_005_000);
        uint256 id = bid(bob, BTC, P + 30e8, 2.5e8);
        assertEq(id, 3, "taker id");
        assertEq(sizeOf(bob, BTC), 2e8, "bob long 2");
        assertEq(sizeOf(alice, BTC), -2e8, "alice short 2");
        assertEq(ex.getOrder(a1).owner, address(0), "a1 gone");
        assertEq(ex.getOrder(a2).owner, address(0), "a2 gone");
        OrderView memory rest = ex.getOrder(id);
        assertEq(rest.size, 2.5e8, "rest size");
        assertEq(rest.filled, 2e8, "rest filled");
        assertEq(rest.open, 0.5e8, "rest open");
        (uint256 bp, uint256 bs, uint256 ap, uint256 asz) = ex.bestBidAsk(BTC);
        assertEq(bp, P + 30e8, "best bid");
        assertEq(bs, 0.5e8, "bid size");
        assertEq(ap, 0, "asks consumed");
        assertEq(asz, 0, "ask size");
        PositionView memory pv = ex.getPosition(bob, BTC);
        assertEq(pv.entryPrice, P + 15e8, "avg entry");
        assertEq(pv.openBuySize, 0.5e8, "open buys");
    }

    function test_fees_takerPaysMakerRebate() public {
        postAsk(alice, BTC, P, 0.1e8);
        ioc(bob, BTC, Side.Buy, P, 0.1e8);
        // notional 5,000: taker 5 bp = 2.5, maker -1 bp = -0.5
        assertEq(collateralOf(bob), 100_000e6 - 2.5e6, "taker fee");
        assertEq(collateralOf(alice), 100_000e6 + 0.5e6, "maker rebate");
        assertEq(ex.feePool(), 2e6, "pool");
        assertEq(equityOf(alice) + equityOf(bob) + int256(ex.feePool()), 200_000e6, "conserved");
    }

    function test_priceTimePriority() public {
        uint256 first = postAsk(alice, BTC, P, 0.1e8);
        uint256 second = postAsk(carol, BTC, P, 0.1e8);
        uint256 better = postAsk(carol, BTC, P - TICK, 0.01e8);
        ioc(bob, BTC, Side.Buy, P, 0.06e8);
        assertEq(ex.getOrder(better).owner, address(0), "better price first");
        assertEq(ex.getOrder(first).filled, 0.05e8, "then time priority");
        assertEq(ex.getOrder(second).filled, 0, "later order untouched");
        uint256[] memory ids = ex.getLevelOrders(BTC, Side.Sell, P, 10);
        assertEq(ids.length, 2, "two left");
        assertEq(ids[0], first, "fifo head");
        assertEq(ids[1], second, "fifo tail");
    }

    function test_ioc_partialFillCancelsRemainder() public {
        postAsk(alice, BTC, P, 0.1e8);
        vm.expectEmit(true, true, false, true, address(ex));
        emit IPerpEvents.OrderCancelled(2, bob, 0.2e8, CancelReason.Unfilled);
        (uint256 id, uint256 filled) = ioc(bob, BTC, Side.Buy, P + 100e8, 0.3e8);
        assertEq(id, 2, "id");
        assertEq(filled, 0.1e8, "filled");
        assertEq(ex.getOrder(id).owner, address(0), "ioc never rests");
        (uint256 bp,,,) = ex.bestBidAsk(BTC);
        assertEq(bp, 0, "no bid rests");
    }

    function test_ioc_emptyBook() public {
        (, uint256 filled) = ioc(bob, BTC, Side.Sell, 0, 0.3e8);
        assertEq(filled, 0, "nothing");
        assertEq(sizeOf(bob, BTC), 0, "flat");
    }

    function test_ioc_limitRoundsConservatively() public {
        postAsk(alice, BTC, P, 0.1e8);
        postBid(alice, BTC, P - 2 * TICK, 0.1e8);
        // buy limit 1 unit below P: rounds down to P - TICK, does not reach the ask
        (, uint256 f1) = ioc(bob, BTC, Side.Buy, P - 1, 0.1e8);
        assertEq(f1, 0, "buy limit rounded down");
        (, uint256 f2) = ioc(bob, BTC, Side.Buy, P + TICK / 2, 0.1e8);
        assertEq(f2, 0.1e8, "buy limit above P fills");
        // sell limit 1 unit above the bid rounds up to the next tick: no fill
        (, uint256 f3) = ioc(bob, BTC, Side.Sell, P - 2 * TICK + 1, 0.1e8);
        assertEq(f3, 0, "sell limit rounded up");
        // sell with limit 0 = market sell
        (, uint256 f4) = ioc(bob, BTC, Side.Sell, 0, 0.1e8);
        assertEq(f4, 0.1e8, "market sell");
    }

    function test_selfTradePrevention_cancelsRestingMaker() public {
        uint256 own = postAsk(alice, BTC, P, 0.1e8);
        uint256 other = postAsk(carol, BTC, P + TICK, 0.1e8);
        vm.expectEmit(true, true, false, true, address(ex));
        emit IPerpEvents.OrderCancelled(own, alice, 0.1e8, CancelReason.SelfTrade);
        (, uint256 filled) = ioc(alice, BTC, Side.Buy, P + TICK, 0.1e8);
        assertEq(filled, 0.1e8, "filled against carol");
        assertEq(ex.getOrder(own).owner, address(0), "own maker cancelled");
        assertEq(ex.getOrder(other).owner, address(0), "carol filled");
        assertEq(sizeOf(alice, BTC), 0.1e8, "alice long");
        assertEq(ex.getPosition(alice, BTC).openSellSize, 0, "open lots released");
    }

    function test_expiredOrdersNeverFill() public {
        vm.prank(alice);
        uint256 exp = ex.place(BTC, Side.Sell, P, 0.1e8, true, false, uint32(block.timestamp + 100), 0);
        uint256 live = postAsk(carol, BTC, P + TICK, 0.1e8);
        assertFalse(ex.getOrder(exp).expired, "not yet");
        warpTo(block.timestamp + 100);
        assertTrue(ex.getOrder(exp).expired, "expired flag");
        vm.expectEmit(true, true, false, true, address(ex));
        emit IPerpEvents.OrderCancelled(exp, alice, 0.1e8, CancelReason.Expired);
        (, uint256 filled) = ioc(bob, BTC, Side.Buy, P + TICK, 0.2e8);
        assertEq(filled, 0.1e8, "only the live order");
        assertEq(sizeOf(alice, BTC), 0, "expired maker untouched");
        assertEq(ex.getOrder(live).owner, address(0), "live filled");
        assertEq(ex.getPosition(alice, BTC).openSellSize, 0, "released");
    }

    function test_postOnly_purgesExpiredCrossingOrders() public {
        vm.prank(alice);
        uint256 exp = ex.place(BTC, Side.Sell, P, 0.1e8, true, false, uint32(block.timestamp + 10), 0);
        warpTo(block.timestamp + 10);
        uint256 b = postBid(bob, BTC, P, 0.1e8);
        assertEq(ex.getOrder(exp).owner, address(0), "expired purged");
        (uint256 bp,, uint256 ap,) = ex.bestBidAsk(BTC);
        assertEq(bp, P, "bid rests");
        assertEq(ap, 0, "no ask");
        assertEq(ex.getOrder(b).owner, bob, "bob order");
    }

    function test_purgeExpired() public {
        vm.startPrank(alice);
        ex.place(BTC, Side.Sell, P, 0.1e8, true, false, uint32(block.timestamp + 10), 0);
        ex.place(BTC, Side.Sell, P + TICK, 0.1e8, true, false, uint32(block.timestamp + 10), 0);
        ex.place(BTC, Side.Buy, P - TICK, 0.1e8, true, false, uint32(block.timestamp + 10), 0);
        ex.place(BTC, Side.Buy, P - 2 * TICK, 0.1e8, true, false, 0, 0);
        vm.stopPrank();
        warpTo(block.timestamp + 11);
        uint256 removed = ex.purgeExpired(BTC, 10);
        assertEq(removed, 3, "three expired");
        (uint256 bp,, uint256 ap,) = ex.bestBidAsk(BTC);
        assertEq(bp, P - 2 * TICK, "live bid stays");
        assertEq(ap, 0, "asks gone");
        assertEq(ex.getPosition(alice, BTC).openSellSize, 0, "released");
    }


    function test_reduceOnly() public {
        postAsk(carol, BTC, P, 0.2e8);
        ioc(alice, BTC, Side.Buy, P, 0.2e8); // alice long 0.2
        vm.startPrank(alice);
        vm.expectRevert(IPerpEvents.ReduceOnlyViolation.selector);
        ex.place(BTC, Side.Sell, P + TICK, 0.3e8, false, true, 0, 0);
        vm.expectRevert(IPerpEvents.ReduceOnlyViolation.selector);
        ex.place(BTC, Side.Buy, P - TICK, 0.1e8, false, true, 0, 0); // same side never reduces
        uint256 ro = ex.place(BTC, Side.Sell, P + TICK, 0.2e8, false, true, 0, 0);
        vm.stopPrank();
        assertTrue(ex.getOrder(ro).reduceOnly, "flag");
        // alice reduces by 0.15 elsewhere: only 0.05 of the resting RO order may still fill
        postBid(carol, BTC, P - 5 * TICK, 0.15e8);
        ioc(alice, BTC, Side.Sell, 0, 0.15e8);
        assertEq(sizeOf(alice, BTC), 0.05e8, "alice long 0.05");
        vm.expectEmit(true, true, false, true, address(ex));
        emit IPerpEvents.OrderCancelled(ro, alice, 0.15e8, CancelReason.ReduceOnly);
        (, uint256 filled) = ioc(bob, BTC, Side.Buy, P + TICK, 0.2e8);
        assertEq(filled, 0.05e8, "clipped");
        assertEq(sizeOf(alice, BTC), 0, "flat, never flipped");
        // reduce-only IOC on a flat account reverts
        vm.prank(alice);
        vm.expectRevert(IPerpEvents.ReduceOnlyViolation.selector);
        ex.placeIOC(BTC, Side.Sell, 0, 0.01e8, true, 0);
    }

    function test_reduceOnlyMaker_cancelledWhenPositionGone() public {
        postAsk(carol, BTC, P, 0.1e8);
        ioc(alice, BTC, Side.Buy, P, 0.1e8);
        vm.prank(alice);
        uint256 ro = ex.place(BTC, Side.Sell, P + TICK, 0.1e8, true, true, 0, 0);
        postBid(carol, BTC, P - TICK, 0.1e8);
        ioc(alice, BTC, Side.Sell, 0, 0.1e8); // flat
        postAsk(carol, BTC, P + 2 * TICK, 0.1e8);
        vm.expectEmit(true, true, false, true, address(ex));
        emit IPerpEvents.OrderCancelled(ro, alice, 0.1e8, CancelReason.ReduceOnly);
        (, uint256 filled) = ioc(bob, BTC, Side.Buy, P + 2 * TICK, 0.1e8);
        assertEq(filled, 0.1e8, "filled by carol instead");
        assertEq(sizeOf(alice, BTC), 0, "alice still flat");
    }

    // ------------------------------------------------------------------ cancel
    function test_cancel() public {
        uint256 a = postBid(alice, BTC, P - TICK, 0.1e8);
        uint256 b = postBid(carol, BTC, P - TICK, 0.1e8);
        uint256 c = postBid(alice, BTC, P - TICK, 0.1e8);
        uint256 d = postBid(alice, BTC, P - 2 * TICK, 0.1e8);
        vm.expectEmit(true, true, false, true, address(ex));
        emit IPerpEvents.OrderCancelled(b, carol, 0.1e8, CancelReason.User);
        vm.prank(carol);
        ex.cancel(b); // middle of the FIFO
        uint256[] memory ids = ex.getLevelOrders(BTC, Side.Buy, P - TICK, 10);
        assertEq(ids.length, 2, "two left");
        assertEq(ids[0], a, "head");
        assertEq(ids[1], c, "tail");
        vm.startPrank(alice);
        ex.cancel(c); // tail
        ex.cancel(a); // head, level empties
        (uint256 bp, uint256 bs,,) = ex.bestBidAsk(BTC);
        assertEq(bp, P - 2 * TICK, "next best");
        assertEq(bs, 0.1e8, "size");
        ex.cancel(d);
        (bp,,,) = ex.bestBidAsk(BTC);
        assertEq(bp, 0, "empty");
        assertEq(uint256(ex.getAccount(alice).marketMask), 0, "mask cleared");
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.UnknownOrder.selector, d));
        ex.cancel(d);
        vm.stopPrank();
        uint256 e = postBid(carol, BTC, P - TICK, 0.1e8);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.NotOrderOwner.selector, e, alice));
        ex.cancel(e);
    }

    // ------------------------------------------------------------------ replace
    function test_replace_samePriceSmallerKeepsPriority() public {
        uint256 a = postBid(alice, BTC, P - TICK, 0.2e8);
        uint256 c = postBid(carol, BTC, P - TICK, 0.1e8);
        vm.expectEmit(true, true, false, true, address(ex));
        emit IPerpEvents.OrderReplaced(a, alice, P - TICK, 0.1e8);
        vm.prank(alice);
        ex.replace(a, P - TICK, 0.1e8);
        uint256[] memory ids = ex.getLevelOrders(BTC, Side.Buy, P - TICK, 10);
        assertEq(ids[0], a, "still first");
        (, uint256 bs,,) = ex.bestBidAsk(BTC);
        assertEq(bs, 0.2e8, "level size");
        assertEq(ex.getPosition(alice, BTC).openBuySize, 0.1e8, "open lots");
        // larger size at the same price re-queues behind carol
        vm.prank(alice);
        ex.replace(a, P - TICK, 0.3e8);
        ids = ex.getLevelOrders(BTC, Side.Buy, P - TICK, 10);
        assertEq(ids[0], c, "carol first now");
        assertEq(ids[1], a, "alice last");
        (, bs,,) = ex.bestBidAsk(BTC);
        assertEq(bs, 0.4e8, "level size 2");
    }

    function test_replace_movesPriceAndBest() public {
        uint256 a = postBid(alice, BTC, P - TICK, 0.2e8);
        postBid(alice, BTC, P - 3 * TICK, 0.2e8);
        vm.prank(alice);
        ex.replace(a, P - 2 * TICK, 0.2e8); // worse: best falls to the new price
        (uint256 bp,,,) = ex.bestBidAsk(BTC);
        assertEq(bp, P - 2 * TICK, "best moved down");
        vm.prank(alice);
        ex.replace(a, P - 4 * TICK, 0.2e8); // below the other order
        (bp,,,) = ex.bestBidAsk(BTC);
        assertEq(bp, P - 3 * TICK, "other order is best");
        vm.prank(alice);
        ex.replace(a, P, 0.2e8); // better
        (bp,,,) = ex.bestBidAsk(BTC);
        assertEq(bp, P, "best moved up");
        assertEq(ex.getOrder(a).price, P, "order price");
        (uint256[] memory prices,, uint256[] memory counts) = ex.getBookLevels(BTC, Side.Buy, 5);
        assertEq(prices.length, 2, "two levels");
        assertEq(prices[1], P - 3 * TICK, "second level");
        assertEq(counts[0], 1, "count");
    }

    function test_replace_asks() public {
        uint256 a = postAsk(alice, BTC, P + TICK, 0.2e8);
        postAsk(carol, BTC, P + 5 * TICK, 0.2e8);
        vm.prank(alice);
        ex.replace(a, P + 7 * TICK, 0.2e8);
        (,, uint256 ap,) = ex.bestBidAsk(BTC);
        assertEq(ap, P + 5 * TICK, "carol best");
        vm.prank(alice);
        ex.replace(a, P + 2 * TICK, 0.1e8);
        (,, ap,) = ex.bestBidAsk(BTC);
        assertEq(ap, P + 2 * TICK, "alice best again");
    }

    function test_replace_afterPartialFillResets() public {
        uint256 a = postAsk(alice, BTC, P, 0.2e8);
        ioc(bob, BTC, Side.Buy, P, 0.05e8);
        assertEq(ex.getOrder(a).filled, 0.05e8, "partial");
        vm.prank(alice);
        ex.replace(a, P + TICK, 0.3e8);
        OrderView memory o = ex.getOrder(a);
        assertEq(o.size, 0.3e8, "new size");
        assertEq(o.filled, 0, "filled reset");
        assertEq(ex.getPosition(alice, BTC).openSellSize, 0.3e8, "open lots");
    }

    function test_replace_reverts() public {
        uint256 a = postBid(alice, BTC, P - TICK, 0.1e8);
        postAsk(carol, BTC, P, 0.1e8);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.UnknownOrder.selector, 999));
        ex.replace(999, P, 0.1e8);
        vm.expectRevert(IPerpEvents.WouldCross.selector);
        ex.replace(a, P, 0.1e8);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InvalidPrice.selector, P - 1));
        ex.replace(a, P - 1, 0.1e8);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InvalidSize.selector, 0));
        ex.replace(a, P - TICK, 0);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InvalidSize.selector, 1e4));
        ex.replace(a, P - TICK, 1e4); // 0.0001 BTC is not a whole lot
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.BelowMinNotional.selector, 5e6, 10e6));
        ex.replace(a, 5_000e8, 1e5); // 0.001 BTC @ 5,000 = $5
        vm.stopPrank();
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.NotOrderOwner.selector, a, bob));
        ex.replace(a, P - 2 * TICK, 0.1e8);
    }

    function test_replace_expiredReverts() public {
        vm.prank(alice);
        uint256 a = ex.place(BTC, Side.Buy, P - TICK, 0.1e8, true, false, uint32(block.timestamp + 5), 0);
        warpTo(block.timestamp + 5);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.OrderExpired.selector, a));
        ex.replace(a, P - 2 * TICK, 0.1e8);
    }

    function test_replace_largerSizeNeedsMargin() public {
        fund(dave, 1_000); // 10x: up to ~10,000 notional
        uint256 a = postBid(dave, BTC, P - TICK, 0.1e8);
        vm.prank(dave);
        ex.replace(a, P - TICK, 0.2e8); // exactly 1,000 IM at mark 50,000
        vm.prank(dave);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InsufficientMargin.selector, int256(1_000e6), 1_005e6));
        ex.replace(a, P - TICK, 0.201e8);
    }

    // ------------------------------------------------------------------ batch
    function test_batch() public {
        uint256 a = postBid(alice, BTC, P - TICK, 0.1e8);
        uint256 b = postBid(alice, BTC, P - 2 * TICK, 0.1e8);
        vm.prank(alice);
        ex.cancel(b); // b is dead: the batch skips it
        uint256[] memory cancels = new uint256[](1);
        cancels[0] = b;
        ReplaceParams[] memory reps = new ReplaceParams[](1);
        reps[0] = ReplaceParams(a, P - 3 * TICK, 0.2e8);
        PlaceParams[] memory places = new PlaceParams[](2);
        places[0] = PlaceParams(BTC, Side.Sell, P + TICK, 0.1e8, true, false, 0, 11);
        places[1] = PlaceParams(ETH, Side.Buy, 2_999e8, 1e8, true, false, 0, 12);
        vm.prank(alice);
        uint256[] memory ids = ex.batch(cancels, reps, places);
        assertEq(ids.length, 2, "ids");
        assertEq(ex.getOrder(ids[0]).price, P + TICK, "btc ask");
        assertEq(ex.getOrder(ids[1]).market, ETH, "eth bid");
        assertEq(ex.getOrder(a).price, P - 3 * TICK, "replaced");
        assertEq(uint256(ex.getAccount(alice).marketMask), 3, "both markets");
    }

    function test_batch_marginCheckedOnceAtEnd() public {
        fund(dave, 1_000);
        uint256 big = postBid(dave, BTC, P - TICK, 0.2e8); // uses all initial margin
        uint256[] memory cancels = new uint256[](1);
        cancels[0] = big;
        PlaceParams[] memory places = new PlaceParams[](1);
        places[0] = PlaceParams(BTC, Side.Buy, P - 2 * TICK, 0.2e8, true, false, 0, 0);
        vm.prank(dave);
        ex.batch(cancels, new ReplaceParams[](0), places); // cancel frees margin before the place
        places[0].size = 0.3e8;
        cancels = new uint256[](0);
        vm.prank(dave);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InsufficientMargin.selector, int256(1_000e6), 2_500e6));
        ex.batch(cancels, new ReplaceParams[](0), places);
    }

    function test_batch_revertsOnForeignCancel() public {
        uint256 c = postBid(carol, BTC, P - TICK, 0.1e8);
        uint256[] memory cancels = new uint256[](1);
        cancels[0] = c;
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.NotOrderOwner.selector, c, alice));
        ex.batch(cancels, new ReplaceParams[](0), new PlaceParams[](0));
    }

    // ------------------------------------------------------------------ views
    function test_bookLevels() public {
        postAsk(alice, BTC, P + TICK, 0.1e8);
        postAsk(carol, BTC, P + TICK, 0.2e8);
        postAsk(alice, BTC, P + 300 * TICK, 0.1e8); // other bitmap word
        postAsk(alice, BTC, P + 70_000 * TICK, 0.1e8); // other mid word
        (uint256[] memory prices, uint256[] memory sizes, uint256[] memory counts) = ex.getBookLevels(BTC, Side.Sell, 10);
        assertEq(prices.length, 3, "levels");
        assertEq(prices[0], P + TICK, "l0");
        assertEq(sizes[0], 0.3e8, "s0");
        assertEq(counts[0], 2, "c0");
        assertEq(prices[1], P + 300 * TICK, "l1");
        assertEq(prices[2], P + 70_000 * TICK, "l2");
        (prices,,) = ex.getBookLevels(BTC, Side.Sell, 1);
        assertEq(prices.length, 1, "depth 1");
        (prices,,) = ex.getBookLevels(BTC, Side.Buy, 5);
        assertEq(prices.length, 0, "no bids");
        assertEq(ex.getLevelOrders(BTC, Side.Sell, P + 1, 5).length, 0, "off-grid price");
        assertEq(ex.getOrder(12345).owner, address(0), "unknown order");
    }
}
