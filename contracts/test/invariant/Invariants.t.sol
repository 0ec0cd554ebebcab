// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Fixture} from "../utils/Fixture.sol";
import {Handler} from "./Handler.sol";
import "../../exchange/PerpTypes.sol";

/// @notice Stateful invariants over random sequences of deposits, orders, cancels, replaces, batches,
///         IOCs, oracle moves, time warps, funding and liquidations.
contract InvariantsTest is Fixture {
    Handler internal handler;
    address[] internal actorList;
    // alice, bob, carol 20,000 each; dave only 1,500 so that he runs leveraged and gets liquidated
    uint256 internal constant INITIAL_DEPOSITS = 3 * 20_000e6 + 1_500e6;

    function setUp() public override {
        super.setUp();
        actorList.push(alice);
        actorList.push(bob);
        actorList.push(carol);
        actorList.push(dave);
        handler = new Handler(ex, oracle, usd, actorList);
        oracle.setUpdater(address(handler), true);
        for (uint256 i; i < actorList.length; ++i) {
            usd.mint(actorList[i], 10_000_000e6);
            vm.prank(actorList[i]);
            usd.approve(address(ex), type(uint256).max);
            vm.prank(actorList[i]);
            ex.deposit(actorList[i] == dave ? 1_500e6 : 20_000e6);
        }
        targetContract(address(handler));
        bytes4[] memory sel = new bytes4[](16);
        sel[0] = Handler.deposit.selector;
        sel[1] = Handler.withdraw.selector;
        sel[2] = Handler.placeLimit.selector;
        sel[3] = Handler.placeLimit.selector; // weight: placing is the common action
        sel[4] = Handler.placeIOC.selector;
        sel[5] = Handler.cancel.selector;
        sel[6] = Handler.replace.selector;
        sel[7] = Handler.batch.selector;
        sel[8] = Handler.movePrice.selector;
        sel[9] = Handler.warp.selector;
        sel[10] = Handler.funding.selector;
        sel[11] = Handler.purge.selector;
        sel[12] = Handler.liquidate.selector;
        sel[13] = Handler.depositInsurance.selector;
        sel[14] = Handler.leverUp.selector;
        sel[15] = Handler.liquidate.selector;
        targetSelector(FuzzSelector(address(handler), sel));
    }

    // ------------------------------------------------------------------ accounting
    /// collateral + PnL is conserved up to fees and insurance: sum(equity) + feePool + insuranceFund equals
    /// the exchange's token balance, minus funding rounding dust (payers round up).
    function invariant_valueConserved() public view {
        uint256 balance = usd.balanceOf(address(ex));
        assertEq(
            balance,
            INITIAL_DEPOSITS + handler.deposited() - handler.withdrawn() + handler.insuranceDeposited(),
            "token flows"
        );
        int256 value = int256(ex.feePool()) + ex.insuranceFund();
        for (uint256 i; i < actorList.length; ++i) {
            value += ex.getAccount(actorList[i]).equity;
        }
        assertLe(value, int256(balance) + int256(actorList.length), "value <= balance (+1 per position floor)");
        assertGe(value, int256(balance) - 100, "value >= balance - rounding dust");
    }

    /// no account is below zero except through the insurance fund: a flat account never has negative
    /// collateral (deficits of flattened accounts are moved to the insurance fund).
    function invariant_flatAccountsNonNegative() public view {
        for (uint256 i; i < actorList.length; ++i) {
            address a = actorList[i];
            if (sizeOf(a, BTC) == 0 && sizeOf(a, ETH) == 0) assertGe(collateralOf(a), 0, "flat account negative");
        }
    }

    // ------------------------------------------------------------------ book
    function invariant_bookNotCrossed() public view {
        for (uint8 m; m < 2; ++m) {
            (uint256 bp,, uint256 ap,) = ex.bestBidAsk(m);
            if (bp != 0 && ap != 0) assertLt(bp, ap, "best bid >= best ask");
        }
    }

    /// an order's filled + open size never exceeds its size (= the size it was placed / replaced with),
    /// and per account/market/side the open sizes add up to the account's resting exposure.
    function invariant_ordersConsistent() public view {
        uint256 n = handler.orderCount();
        uint256[2][2][4] memory openSum; // [actor][market][side]
        for (uint256 i; i < n; ++i) {
            uint256 id = handler.orderIds(i);
            OrderView memory o = ex.getOrder(id);
            if (o.owner == address(0)) continue;
            assertEq(o.owner, handler.ghostOwner(id), "owner");
            assertEq(o.size, handler.ghostSize(id), "size as placed/replaced");
            assertLe(o.filled + o.open, o.size, "filled + open <= size");
            assertGt(o.open, 0, "live order has open size");
            uint256 ai;
            for (; ai < actorList.length; ++ai) {
                if (actorList[ai] == o.owner) break;
            }
            openSum[ai][o.market][uint256(o.side)] += o.open;
        }
        for (uint256 ai; ai < actorList.length; ++ai) {
            for (uint8 m; m < 2; ++m) {
                PositionView memory p = ex.getPosition(actorList[ai], m);
                assertEq(p.openBuySize, openSum[ai][m][0], "open buy lots");
                assertEq(p.openSellSize, openSum[ai][m][1], "open sell lots");
            }
        }
    }

    /// every level's size equals the sum of its orders' open sizes (top 20 levels per side)
    function invariant_levelsConsistent() public view {
        for (uint8 m; m < 2; ++m) {
            for (uint256 s; s < 2; ++s) {
                (uint256[] memory prices, uint256[] memory sizes, uint256[] memory counts) =
                    ex.getBookLevels(m, Side(s), 20);
                for (uint256 i; i < prices.length; ++i) {
                    uint256[] memory ids = ex.getLevelOrders(m, Side(s), prices[i], 200);
                    assertEq(ids.length, counts[i], "count");
                    uint256 sum;
                    for (uint256 k; k < ids.length; ++k) {
                        sum += ex.getOrder(ids[k]).open;
                    }
                    assertEq(sum, sizes[i], "level size");
                    if (i > 0) assertTrue(s == 0 ? prices[i] < prices[i - 1] : prices[i] > prices[i - 1], "sorted");
                }
            }
        }
    }
}
