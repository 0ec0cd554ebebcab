// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import "../exchange/PerpTypes.sol";

/// @notice Property-based tests of single flows (stateful properties live in invariant/).
contract ExchangeFuzzTest is Fixture {
    uint256 internal constant TICK = 1e7;
    uint256 internal constant LOT = 1e5;

    function setUp() public override {
        super.setUp();
        fund(alice, 1_000_000);
        fund(bob, 1_000_000);
        fund(carol, 1_000_000);
    }

    function _ceilFee(uint256 notional, uint256 bps) internal pure returns (uint256) {
        return (notional * bps + 9_999) / 10_000;
    }

    /// sum(equity) + feePool is conserved by a trade at any price, for any later mark price
    function testFuzz_tradeConservesValue(uint256 tickOff, uint256 lots, uint256 mark) public {
        uint256 price = (500_000 + bound(tickOff, 0, 10_000) - 5_000) * TICK; // 49,500 .. 50,500
        lots = bound(lots, 1, 10_000); // up to 10 BTC
        postAsk(bob, BTC, price, lots * LOT);
        ioc(alice, BTC, Side.Buy, price, lots * LOT);
        setPriceRaw(BTC, bound(mark, 45_000e8, 55_000e8));
        int256 total = equityOf(alice) + equityOf(bob) + equityOf(carol) + int256(ex.feePool());
        assertApproxEqAbs(total, 3_000_000e6, 2, "conserved up to floor rounding");
    }

    /// realised PnL of a round trip is exactly (exit - entry) notional minus fees
    function testFuzz_roundTripRealisedPnl(uint256 t1, uint256 t2, uint256 lots) public {
        uint256 p1 = bound(t1, 450_000, 550_000) * TICK;
        uint256 p2 = bound(t2, 450_000, 550_000) * TICK;
        lots = bound(lots, 1, 5_000);
        uint256 size = lots * LOT;
        setPriceRaw(BTC, p1);
        postAsk(bob, BTC, p1, size);
        ioc(alice, BTC, Side.Buy, p1, size);
        setPriceRaw(BTC, p2);
        postBid(carol, BTC, p2, size);
        ioc(alice, BTC, Side.Sell, p2, size);
        uint256 n1 = size * p1 / 1e10;
        uint256 n2 = size * p2 / 1e10;
        int256 expected = int256(n2) - int256(n1) - int256(_ceilFee(n1, 5)) - int256(_ceilFee(n2, 5));
        assertEq(collateralOf(alice) - 1_000_000e6, expected, "realised");
        assertEq(sizeOf(alice, BTC), 0, "flat");
        assertEq(ex.getPosition(alice, BTC).openNotional, 0, "cost basis cleared");
    }

    /// partial closes and flips keep collateral - openNotional moving by exactly the traded notional
    function testFuzz_partialCloseAndFlip(uint256 a, uint256 b, uint256 t) public {
        uint256 lotsA = bound(a, 1, 3_000);
        uint256 lotsB = bound(b, 1, 6_000);
        uint256 p2 = bound(t, 490_000, 510_000) * TICK;
        postAsk(bob, BTC, 50_000e8, lotsA * LOT);
        ioc(alice, BTC, Side.Buy, 50_000e8, lotsA * LOT);
        int256 cash0 = collateralOf(alice) - ex.getPosition(alice, BTC).openNotional;
        postBid(carol, BTC, p2, lotsB * LOT);
        ioc(alice, BTC, Side.Sell, p2, lotsB * LOT);
        uint256 n = lotsB * LOT * p2 / 1e10;
        int256 cash1 = collateralOf(alice) - ex.getPosition(alice, BTC).openNotional;
        assertEq(cash1 - cash0, int256(n) - int256(_ceilFee(n, 5)), "cash moves by notional - fee");
        assertEq(sizeOf(alice, BTC), int256(lotsA * LOT) - int256(lotsB * LOT), "size");
    }

    /// funding payment = size * rate * oracle price, long pays (rounded up), short receives (rounded down)
    function testFuzz_fundingPayment(uint256 premTicks, uint256 lots) public {
        lots = bound(lots, 1, 10_000);
        postAsk(bob, BTC, 50_000e8, lots * LOT);
        ioc(alice, BTC, Side.Buy, 50_000e8, lots * LOT);
        uint256 half = bound(premTicks, 1, 4_000); // quote around a shifted mid
        postBid(carol, BTC, 50_000e8 + half * TICK - TICK, LOT);
        postAsk(carol, BTC, 50_000e8 + half * TICK + TICK, LOT);
        int256 premium = ex.pokeFunding(BTC);
        warpTo(ex.nextFundingTime(BTC));
        int256 rate = ex.settleFunding(BTC);
        assertEq(rate, premium / 8 + 0.0000125e18, "rate");
        int256 dIndex = rate * 50_000;
        int256 raw = int256(lots * LOT) * dIndex;
        assertEq(ex.getPosition(alice, BTC).pendingFunding, (raw + 1e20 - 1) / 1e20, "long pays ceil");
        assertEq(ex.getPosition(bob, BTC).pendingFunding, -(raw / 1e20), "short receives floor");
    }

    /// a buy IOC never pays more than its limit; a sell IOC never receives less (alice starts flat, so the
    /// cost basis of her new position is exactly the traded notional)
    function testFuzz_iocRespectsLimit(uint256 limitOff, uint256 lots, bool buy) public {
        for (uint256 i; i < 5; ++i) {
            postAsk(bob, BTC, (500_001 + i * 3) * TICK, 100 * LOT);
            postBid(bob, BTC, (499_999 - i * 3) * TICK, 100 * LOT);
        }
        uint256 off = bound(limitOff, 0, 20);
        uint256 limit = buy ? (500_000 + off) * TICK : (500_000 - off) * TICK;
        lots = bound(lots, 1, 600);
        (, uint256 filled) = ioc(alice, BTC, buy ? Side.Buy : Side.Sell, limit, lots * LOT);
        int256 cost = ex.getPosition(alice, BTC).openNotional;
        assertEq(sizeOf(alice, BTC), buy ? int256(filled) : -int256(filled), "size");
        if (buy) assertLe(uint256(cost), filled * limit / 1e10, "paid above limit");
        else assertGe(uint256(-cost), filled * limit / 1e10, "received below limit");
    }

    /// whatever the price drop, a liquidated flat account is never left negative
    function testFuzz_liquidationLeavesNoNegativeFlatAccount(uint256 drop, uint256 lots) public {
        fund(dave, 2_000);
        lots = bound(lots, 100, 390); // 0.1 .. 0.39 BTC with 2,000 USD (max ~0.398 at 10x)
        postAsk(bob, BTC, 50_000e8, lots * LOT);
        ioc(dave, BTC, Side.Buy, 50_000e8, lots * LOT);
        setPriceRaw(BTC, 50_000e8 - bound(drop, 0, 25_000) * 1e8);
        if (!ex.isLiquidatable(dave)) return;
        vm.prank(carol);
        ex.liquidate(dave, BTC, lots * LOT);
        assertGe(collateralOf(dave), 0, "flat account non-negative");
        int256 total = equityOf(alice) + equityOf(bob) + equityOf(carol) + equityOf(dave) + int256(ex.feePool())
            + ex.insuranceFund();
        assertApproxEqAbs(total, 3_002_000e6, 4, "conserved incl. insurance");
    }
}
