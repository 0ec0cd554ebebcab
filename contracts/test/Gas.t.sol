// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import "../exchange/PerpTypes.sol";

/// @notice Gas of the keeper's hot paths. Each test prepares state, then measures ONE call with a
///         gasleft() delta kept in a local variable and logs it (`emit log_named_uint`). Run as real
///         transactions with:
///           forge test --match-contract GasTest --isolate -vv
///         (--isolate executes every top-level call as its own transaction: cold storage, 21,000 base and
///         calldata included). contracts/test/gas/anvil_gas.sh cross-checks with receipts on anvil.
///         Without --isolate the numbers are execution-only with warm slots: do not quote them.
contract GasTest is Fixture {
    uint256 internal constant P = 50_000e8;
    uint256 internal constant TICK = 1e7;
    uint256 internal constant SZ = 0.1e8;

    function setUp() public override {
        super.setUp();
        fund(alice, 1_000_000); // market maker
        fund(bob, 1_000_000); // hedger / taker
        fund(carol, 1_000_000); // other makers
        fund(dave, 1_000_000); // liquidator / keeper
        // every account already holds a position (trades away from the ladder, so STP touches nothing)
        postAsk(carol, BTC, P + 100 * TICK, SZ);
        ioc(bob, BTC, Side.Buy, P + 100 * TICK, SZ / 10);
        postBid(carol, BTC, P - 100 * TICK, SZ);
        ioc(dave, BTC, Side.Sell, P - 100 * TICK, SZ / 10);
        postBid(bob, BTC, P - 100 * TICK, SZ);
        ioc(alice, BTC, Side.Sell, P - 100 * TICK, SZ / 10);
        // steady state: the market maker quotes a 5-level ladder on each side
        for (uint256 i = 1; i <= 5; ++i) {
            postBid(alice, BTC, P - i * 10 * TICK, SZ);
            postAsk(alice, BTC, P + i * 10 * TICK, SZ);
        }
    }

    function _log(string memory what, uint256 used) internal {
        emit log_named_uint(what, used);
    }

    // ------------------------------------------------------------------ place
    function test_gas_place_newLevel() public {
        vm.prank(alice);
        uint256 g0 = gasleft();
        ex.place(BTC, Side.Buy, P - 7 * TICK, SZ, true, false, 0, 0); // tick never used before
        _log("place post-only, new price level (fresh slot)", g0 - gasleft());
    }

    function test_gas_place_existingLevel() public {
        vm.prank(carol);
        uint256 g0 = gasleft();
        ex.place(BTC, Side.Buy, P - 10 * TICK, SZ, true, false, 0, 0); // joins alice's level
        _log("place post-only, existing level (2nd in queue)", g0 - gasleft());
    }

    function test_gas_place_reopenedLevel() public {
        uint256 id = postBid(alice, BTC, P - 7 * TICK, SZ);
        vm.prank(alice);
        ex.cancel(id);
        vm.prank(alice);
        uint256 g0 = gasleft();
        ex.place(BTC, Side.Buy, P - 7 * TICK, SZ, true, false, 0, 0); // level slot used before, now empty
        _log("place post-only, re-opened (previously used) level", g0 - gasleft());
    }

    // ------------------------------------------------------------------ cancel
    function test_gas_cancel_onlyOrderAtLevel() public {
        uint256 id = postBid(alice, BTC, P - 7 * TICK, SZ);
        vm.prank(alice);
        uint256 g0 = gasleft();
        ex.cancel(id);
        _log("cancel, only order at its level", g0 - gasleft());
    }

    function test_gas_cancel_middleOfQueue() public {
        postBid(carol, BTC, P - 10 * TICK, SZ);
        uint256 id = postBid(bob, BTC, P - 10 * TICK, SZ);
        postBid(carol, BTC, P - 10 * TICK, SZ);
        vm.prank(bob);
        uint256 g0 = gasleft();
        ex.cancel(id);
        _log("cancel, middle of a 4-order queue", g0 - gasleft());
    }

    // ------------------------------------------------------------------ replace
    /// steady-state requote: the best bid moves by one tick to a tick it used before, same size
    function test_gas_replace_moveBest() public {
        uint256 id = postBid(alice, BTC, P - 5 * TICK, SZ); // best bid
        vm.startPrank(alice);
        ex.replace(id, P - 4 * TICK, SZ);
        ex.replace(id, P - 5 * TICK, SZ);
        vm.stopPrank();
        vm.prank(alice);
        uint256 g0 = gasleft();
        ex.replace(id, P - 4 * TICK, SZ);
        _log("replace best bid 1 tick up, same size (ticks used before)", g0 - gasleft());
    }

    function test_gas_replace_moveInsideLadder() public {
        uint256 id = postBid(alice, BTC, P - 25 * TICK, SZ);
        vm.startPrank(alice);
        ex.replace(id, P - 26 * TICK, SZ);
        ex.replace(id, P - 25 * TICK, SZ);
        vm.stopPrank();
        vm.prank(alice);
        uint256 g0 = gasleft();
        ex.replace(id, P - 26 * TICK, SZ);
        _log("replace non-best order 1 tick, same size (ticks used before)", g0 - gasleft());
    }

    function test_gas_replace_samePriceSmaller() public {
        uint256 id = postBid(alice, BTC, P - 5 * TICK, SZ);
        vm.prank(alice);
        uint256 g0 = gasleft();
        ex.replace(id, P - 5 * TICK, SZ / 2);
        _log("replace same price, smaller size (keeps priority)", g0 - gasleft());
    }

    function test_gas_replace_toFreshTick() public {
        uint256 id = postBid(alice, BTC, P - 5 * TICK, SZ);
        vm.prank(alice);
        uint256 g0 = gasleft();
        ex.replace(id, P - 3 * TICK, SZ);
        _log("replace to a never-used tick (fresh level slot)", g0 - gasleft());
    }

    function test_gas_replace_largerSize() public {
        uint256 id = postBid(alice, BTC, P - 5 * TICK, SZ);
        vm.prank(alice);
        ex.replace(id, P - 4 * TICK, SZ);
        vm.prank(alice);
        uint256 g0 = gasleft();
        ex.replace(id, P - 5 * TICK, 2 * SZ);
        _log("replace 1 tick + larger size (margin check, oracle read)", g0 - gasleft());
    }

    function test_gas_replace_sharedLevel() public {
        postBid(carol, BTC, P - 5 * TICK, SZ);
        uint256 id = postBid(alice, BTC, P - 5 * TICK, SZ);
        postBid(carol, BTC, P - 5 * TICK, SZ);
        postBid(carol, BTC, P - 6 * TICK, SZ);
        vm.prank(alice);
        uint256 g0 = gasleft();
        ex.replace(id, P - 6 * TICK, SZ);
        _log("replace from middle of a queue to the tail of another", g0 - gasleft());
    }

    // ------------------------------------------------------------------ IOC through k levels
    function _iocLevels(uint256 k) internal {
        for (uint256 i; i < k; ++i) {
            postAsk(carol, BTC, P + (1 + i) * TICK, SZ);
        }
        vm.prank(bob);
        uint256 g0 = gasleft();
        ex.placeIOC(BTC, Side.Buy, P + k * TICK, k * SZ, false, 0);
        _log(string.concat("IOC buy through ", toString(k), " level(s), 1 maker order each"), g0 - gasleft());
    }

    function test_gas_ioc_1level() public {
        _iocLevels(1);
    }

    function test_gas_ioc_3levels() public {
        _iocLevels(3);
    }

    function test_gas_ioc_5levels() public {
        _iocLevels(5);
    }

    function test_gas_ioc_5levels_distinctMakers() public {
        address[5] memory makers = [alice, carol, dave, address(0x1111), address(0x2222)];
        fund(makers[3], 100_000);
        fund(makers[4], 100_000);
        for (uint256 i; i < 5; ++i) {
            postAsk(makers[i], BTC, P + (1 + i) * TICK, SZ);
        }
        vm.prank(bob);
        uint256 g0 = gasleft();
        ex.placeIOC(BTC, Side.Buy, P + 5 * TICK, 5 * SZ, false, 0);
        _log("IOC buy through 5 levels, 5 distinct makers", g0 - gasleft());
    }

    // ------------------------------------------------------------------ funding / liquidation
    function test_gas_pokeFunding() public {
        vm.prank(dave);
        uint256 g0 = gasleft();
        ex.pokeFunding(BTC);
        _log("pokeFunding (one premium sample)", g0 - gasleft());
    }

    function test_gas_settleFunding() public {
        ex.pokeFunding(BTC);
        warpTo(ex.nextFundingTime(BTC));
        vm.prank(dave);
        uint256 g0 = gasleft();
        ex.settleFunding(BTC);
        _log("settleFunding (incl. keeper reward)", g0 - gasleft());
    }

    function test_gas_liquidate() public {
        address lev = address(0x1E7);
        fund(lev, 5_500);
        postAsk(carol, BTC, P + TICK, 1e8);
        ioc(lev, BTC, Side.Buy, P + TICK, 1e8);
        setPrice(BTC, 46_000);
        vm.prank(dave);
        uint256 g0 = gasleft();
        ex.liquidate(lev, BTC, 1e8);
        _log("liquidate full position (transfer to liquidator)", g0 - gasleft());
    }

    function test_gas_deposit() public {
        usd.mint(alice, 1_000e6);
        vm.prank(alice);
        uint256 g0 = gasleft();
        ex.deposit(1_000e6);
        _log("deposit (existing account)", g0 - gasleft());
    }

    function test_gas_withdraw() public {
        vm.prank(alice);
        uint256 g0 = gasleft();
        ex.withdraw(1_000e6);
        _log("withdraw (account with positions/orders: margin check)", g0 - gasleft());
    }
}
