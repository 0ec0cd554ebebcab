// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import {IPerpExchange} from "../interfaces/IPerpExchange.sol";
import {IPerpEvents} from "../exchange/IPerpEvents.sol";
import {OwnedState} from "../utils/Owned.sol";
import {PerpExchange} from "../PerpExchange.sol";
import {PerpExchangeModule} from "../PerpExchangeModule.sol";
import {PerpExchangeViews} from "../PerpExchangeViews.sol";
import {ExchangeBase} from "../exchange/ExchangeBase.sol";
import {IERC20} from "../interfaces/IERC20.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import "../exchange/PerpTypes.sol";

/// @notice Collateral, admin, wiring and access-control tests.
contract ExchangeAdminTest is Fixture {
    event Deposit(address indexed account, uint256 amount);
    event Withdraw(address indexed account, uint256 amount);
    event AccountCreated(address indexed owner, uint32 accountId);
    event MarketAdded(uint8 indexed market, bytes16 symbol, uint32 feedId);
    event MarketActiveSet(uint8 indexed market, bool active);

    // ------------------------------------------------------------------ wiring
    function test_wiringAndGetters() public view {
        assertEq(ex.module(), address(module), "module");
        assertEq(ex.views(), address(viewsImpl), "views");
        assertEq(ex.collateralToken(), address(usd), "token");
        assertEq(ex.oracle(), address(oracle), "oracle");
        assertEq(ex.owner(), admin, "owner");
        assertEq(ex.marketCount(), 2, "markets");
        (address t, address o) = ex.wiring();
        assertEq(t, address(usd), "wiring token");
        assertEq(o, address(oracle), "wiring oracle");
    }

    function test_constructor_revertsOnWiringMismatch() public {
        PerpExchangeViews otherViews = new PerpExchangeViews(admin, IERC20(address(0xBEEF)), IPriceFeed(address(oracle)));
        vm.expectRevert(IPerpEvents.WiringMismatch.selector);
        new PerpExchangeModule(admin, IERC20(address(usd)), IPriceFeed(address(oracle)), address(otherViews));
        vm.expectRevert(IPerpEvents.WiringMismatch.selector);
        new PerpExchange(admin, IERC20(address(usd)), IPriceFeed(address(0xBEEF)), address(module));
    }

    function test_module_directCallsRevert() public {
        vm.expectRevert(PerpExchangeModule.NotDelegated.selector);
        module.addMarket(btcParams());
        vm.expectRevert(PerpExchangeModule.NotDelegated.selector);
        module.deposit(1);
        vm.expectRevert(PerpExchangeModule.NotDelegated.selector);
        module.settleFunding(BTC);
    }

    function test_unknownSelectorReverts() public {
        (bool ok,) = address(ex).call(abi.encodeWithSignature("doesNotExist()"));
        assertFalse(ok, "unknown selector");
    }

    // ------------------------------------------------------------------ collateral
    function test_deposit_createsAccount() public {
        usd.mint(alice, 1_000e6);
        vm.startPrank(alice);
        usd.approve(address(ex), 1_000e6);
        vm.expectEmit(true, false, false, true, address(ex));
        emit AccountCreated(alice, 1);
        vm.expectEmit(true, false, false, true, address(ex));
        emit Deposit(alice, 600e6);
        ex.deposit(600e6);
        vm.stopPrank();
        assertEq(ex.accountIdOf(alice), 1, "id");
        assertEq(ex.accountOwner(1), alice, "owner");
        assertEq(ex.accountCount(), 1, "count");
        assertEq(collateralOf(alice), 600e6, "collateral");
        assertEq(usd.balanceOf(address(ex)), 600e6, "exchange balance");
        assertEq(usd.balanceOf(alice), 400e6, "alice balance");
    }

    function test_deposit_revertsOnZero() public {
        vm.prank(alice);
        vm.expectRevert(IPerpEvents.ZeroAmount.selector);
        ex.deposit(0);
    }

    function test_deposit_revertsWithoutAllowance() public {
        usd.mint(alice, 10e6);
        vm.prank(alice);
        vm.expectRevert(IPerpEvents.TransferFailed.selector);
        ex.deposit(10e6);
    }

    function test_withdraw() public {
        fund(alice, 1_000);
        vm.expectEmit(true, false, false, true, address(ex));
        emit Withdraw(alice, 250e6);
        vm.prank(alice);
        ex.withdraw(250e6);
        assertEq(collateralOf(alice), 750e6, "collateral");
        assertEq(usd.balanceOf(alice), 250e6, "paid out");
    }

    function test_withdraw_reverts() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.NoAccount.selector, alice));
        ex.withdraw(1);
        fund(alice, 100);
        vm.startPrank(alice);
        vm.expectRevert(IPerpEvents.ZeroAmount.selector);
        ex.withdraw(0);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InsufficientCollateral.selector, int256(100e6), 101e6));
        ex.withdraw(101e6);
        vm.stopPrank();
    }

    function test_withdraw_revertsWhenInitialMarginBreaks() public {
        fund(alice, 1_000);
        // resting bid of 0.1 BTC @ 50k: notional 5,000, IM 10 % = 500
        postBid(alice, BTC, usdPrice(50_000) - 1e7, 0.1e8);
        vm.prank(alice);
        ex.withdraw(499e6); // leaves 501 >= 499.99..
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InsufficientMargin.selector, int256(499e6), 500e6));
        ex.withdraw(2e6);
    }

    function test_depositInsurance() public {
        usd.mint(carol, 50e6);
        vm.startPrank(carol);
        usd.approve(address(ex), 50e6);
        ex.depositInsurance(50e6);
        vm.expectRevert(IPerpEvents.ZeroAmount.selector);
        ex.depositInsurance(0);
        vm.stopPrank();
        assertEq(ex.insuranceFund(), 50e6, "insurance");
    }

    function test_withdrawFees() public {
        fund(alice, 10_000);
        fund(bob, 10_000);
        postAsk(alice, BTC, usdPrice(50_000), 0.1e8);
        ioc(bob, BTC, Side.Buy, usdPrice(50_000), 0.1e8);
        // taker 5 bp of 5,000 = 2.5; maker rebate 1 bp = 0.5  -> pool 2.0
        assertEq(ex.feePool(), 2e6, "fee pool");
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InsufficientFees.selector, 2e6, 3e6));
        ex.withdrawFees(dave, 3e6);
        vm.prank(dave);
        vm.expectRevert(abi.encodeWithSelector(OwnedState.Unauthorized.selector, dave));
        ex.withdrawFees(dave, 1e6);
        vm.expectRevert(OwnedState.ZeroAddress.selector);
        ex.withdrawFees(address(0), 1e6);
        ex.withdrawFees(dave, 2e6);
        assertEq(usd.balanceOf(dave), 2e6, "paid");
        assertEq(ex.feePool(), 0, "empty");
    }

    // ------------------------------------------------------------------ markets
    function test_addMarket_andGetMarket() public {
        MarketParams memory p = ethParams();
        p.symbol = "SOL-PERP";
        p.feedId = 7;
        vm.expectEmit(true, false, false, true, address(ex));
        emit MarketAdded(2, "SOL-PERP", 7);
        uint8 id = ex.addMarket(p);
        assertEq(id, 2, "id");
        MarketView memory v = ex.getMarket(BTC);
        assertEq(v.tickSize, 1e7, "tick");
        assertEq(v.lotSize, 1e5, "lot");
        assertEq(v.minNotional, 10e6, "minNotional");
        assertEq(v.imr, 0.1e18, "imr");
        assertEq(v.maxLeverage, 10e18, "max leverage");
        assertEq(v.makerFee, -0.0001e18, "maker");
        assertEq(v.takerFee, 0.0005e18, "taker");
        assertEq(v.maxPrice, ((1 << 24) - 1) * 1e7, "max price");
        assertTrue(v.active, "active");
        assertEq(ex.nextFundingTime(BTC), (T0 / 3600 + 1) * 3600, "next funding");
    }

    function test_addMarket_onlyOwner() public {
        MarketParams memory p = btcParams();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(OwnedState.Unauthorized.selector, alice));
        ex.addMarket(p);
    }

    function test_addMarket_validation() public {
        MarketParams memory p;
        p = btcParams();
        p.tickSize = 0;
        _expectInvalid(p, "tickSize");
        p = btcParams();
        p.lotSize = 1 << 40;
        _expectInvalid(p, "lotSize");
        p = btcParams();
        p.minNotional = 1 << 40;
        _expectInvalid(p, "minNotional");
        p = btcParams();
        p.mmr = p.imr;
        _expectInvalid(p, "margin ratios");
        p = btcParams();
        p.imr = 2e18;
        _expectInvalid(p, "margin ratios");
        p = btcParams();
        p.takerFee = -1;
        _expectInvalid(p, "takerFee");
        p = btcParams();
        p.makerFee = -p.takerFee - 1;
        _expectInvalid(p, "makerFee");
        p = btcParams();
        p.liquidationFee = p.mmr + 1;
        _expectInvalid(p, "liquidationFee");
        p = btcParams();
        p.maxFundingRate = 0.05e18;
        _expectInvalid(p, "maxFundingRate");
        p = btcParams();
        p.interestRate = -int256(p.maxFundingRate) - 1;
        _expectInvalid(p, "interestRate");
        p = btcParams();
        p.premiumBound = 0;
        _expectInvalid(p, "premiumBound");
        p = btcParams();
        p.sampleInterval = 3601;
        _expectInvalid(p, "sampleInterval");
        p = btcParams();
        p.keeperReward = 1 << 32;
        _expectInvalid(p, "keeperReward");
        p = btcParams();
        p.maxOracleAge = 0;
        _expectInvalid(p, "maxOracleAge");
    }

    function _expectInvalid(MarketParams memory p, string memory what) internal {
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InvalidMarketParams.selector, what));
        ex.addMarket(p);
    }

    function test_addMarket_tooMany() public {
        for (uint256 i = 2; i < 64; ++i) {
            ex.addMarket(ethParams());
        }
        vm.expectRevert(IPerpEvents.TooManyMarkets.selector);
        ex.addMarket(ethParams());
    }

    function test_updateMarket() public {
        MarketParams memory p = btcParams();
        p.takerFee = 0.001e18;
        p.minNotional = 20e6;
        ex.updateMarket(BTC, p);
        MarketView memory v = ex.getMarket(BTC);
        assertEq(v.takerFee, 0.001e18, "fee updated");
        assertEq(v.minNotional, 20e6, "min notional updated");
        p.tickSize = 2e7;
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.InvalidMarketParams.selector, "tick/lot fixed"));
        ex.updateMarket(BTC, p);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.UnknownMarket.selector, 9));
        ex.updateMarket(9, btcParams());
    }

    function test_setMarketActive() public {
        fund(alice, 10_000);
        uint256 id = postBid(alice, BTC, usdPrice(49_000), 0.01e8);
        vm.expectEmit(true, false, false, true, address(ex));
        emit MarketActiveSet(BTC, false);
        ex.setMarketActive(BTC, false);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.MarketInactive.selector, BTC));
        ex.place(BTC, Side.Buy, usdPrice(49_000), 0.01e8, false, false, 0, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.MarketInactive.selector, BTC));
        ex.replace(id, usdPrice(48_000), 0.01e8);
        vm.prank(alice);
        ex.cancel(id); // cancels still work
        ex.setMarketActive(BTC, true);
        postBid(alice, BTC, usdPrice(49_000), 0.01e8);
    }

    function test_ownership_viaModule() public {
        ex.transferOwnership(carol);
        vm.prank(carol);
        ex.acceptOwnership();
        assertEq(ex.owner(), carol, "owner");
        vm.expectRevert(abi.encodeWithSelector(OwnedState.Unauthorized.selector, admin));
        ex.setMarketActive(BTC, false);
    }
}
