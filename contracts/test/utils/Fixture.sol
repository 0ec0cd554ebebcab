// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TestBase} from "./TestBase.sol";
import {USDToken} from "../../USDToken.sol";
import {PushOracle} from "../../PushOracle.sol";
import {PerpExchange} from "../../PerpExchange.sol";
import {PerpExchangeModule} from "../../PerpExchangeModule.sol";
import {PerpExchangeViews} from "../../PerpExchangeViews.sol";
import {IPerpExchange} from "../../interfaces/IPerpExchange.sol";
import {IPriceFeed} from "../../interfaces/IPriceFeed.sol";
import {IERC20} from "../../interfaces/IERC20.sol";
import "../../exchange/PerpTypes.sol";

/// @notice Deploys token, oracle and the three exchange components; two markets (BTC id 0, ETH id 1).
abstract contract Fixture is TestBase {
    USDToken internal usd;
    PushOracle internal oracle;
    PerpExchange internal core;
    PerpExchangeModule internal module;
    PerpExchangeViews internal viewsImpl;
    IPerpExchange internal ex; // the exchange address with the full ABI

    address internal admin = address(this);
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);
    address internal carol = address(0xCA401);
    address internal dave = address(0xDA7E);

    uint8 internal constant BTC = 0;
    uint8 internal constant ETH = 1;
    uint32 internal constant BTC_FEED = 1;
    uint32 internal constant ETH_FEED = 2;

    uint80 internal roundId;
    uint256 internal constant T0 = 1_700_000_000; // 2023-11-14 22:13:20 UTC

    function setUp() public virtual {
        vm.warp(T0);
        usd = new USDToken(true, admin, 0);
        oracle = new PushOracle(admin);
        oracle.setUpdater(admin, true);
        viewsImpl = new PerpExchangeViews(admin, IERC20(address(usd)), IPriceFeed(address(oracle)));
        module = new PerpExchangeModule(admin, IERC20(address(usd)), IPriceFeed(address(oracle)), address(viewsImpl));
        core = new PerpExchange(admin, IERC20(address(usd)), IPriceFeed(address(oracle)), address(module));
        ex = IPerpExchange(address(core));
        vm.label(address(core), "exchange");
        vm.label(alice, "alice");
        vm.label(bob, "bob");
        vm.label(carol, "carol");
        vm.label(dave, "dave");

        setPrice(BTC, 50_000);
        setPrice(ETH, 3_000);
        ex.addMarket(btcParams());
        ex.addMarket(ethParams());
    }

    // ---------------------------------------------------------------- params
    function btcParams() internal pure returns (MarketParams memory p) {
        p.symbol = "BTC-PERP";
        p.feedId = BTC_FEED;
        p.maxOracleAge = 120;
        p.tickSize = 1e7; // $0.10
        p.lotSize = 1e5; // 0.001 BTC
        p.minNotional = 10e6; // $10
        p.imr = 0.1e18; // 10x
        p.mmr = 0.05e18;
        p.makerFee = -0.0001e18; // -1 bp rebate
        p.takerFee = 0.0005e18; // 5 bp
        p.liquidationFee = 0.01e18;
        p.interestRate = 0.0000125e18; // 0.00125 % per hour
        p.maxFundingRate = 0.04e18; // 4 % per hour
        p.premiumBound = 0.005e18; // 0.5 %
        p.sampleInterval = 60;
        p.keeperReward = 1e6; // $1
    }

    function ethParams() internal pure returns (MarketParams memory p) {
        p = btcParams();
        p.symbol = "ETH-PERP";
        p.feedId = ETH_FEED;
        p.tickSize = 1e6; // $0.01
        p.lotSize = 1e6; // 0.01 ETH
        p.imr = 0.05e18; // 20x
        p.mmr = 0.025e18;
        p.liquidationFee = 0.005e18;
    }

    // ---------------------------------------------------------------- helpers
    /// @dev whole dollars -> price units (8 dec)
    function usdPrice(uint256 dollars) internal pure returns (uint256) {
        return dollars * 1e8;
    }

    function feedOf(uint8 market) internal pure returns (uint32) {
        return market == BTC ? BTC_FEED : ETH_FEED;
    }

    function setPrice(uint8 market, uint256 dollars) internal {
        setPriceRaw(market, dollars * 1e8);
    }

    function setPriceRaw(uint8 market, uint256 price) internal {
        roundId++;
        oracle.postPrice(feedOf(market), int256(price), block.timestamp, roundId);
    }

    function fund(address who, uint256 dollars) internal {
        uint256 amount = dollars * 1e6;
        usd.mint(who, amount);
        vm.startPrank(who);
        usd.approve(address(ex), type(uint256).max);
        ex.deposit(amount);
        vm.stopPrank();
    }

    function bid(address who, uint8 market, uint256 price, uint256 size) internal returns (uint256) {
        vm.prank(who);
        return ex.place(market, Side.Buy, price, size, false, false, 0, 0);
    }

    function ask(address who, uint8 market, uint256 price, uint256 size) internal returns (uint256) {
        vm.prank(who);
        return ex.place(market, Side.Sell, price, size, false, false, 0, 0);
    }

    function postBid(address who, uint8 market, uint256 price, uint256 size) internal returns (uint256) {
        vm.prank(who);
        return ex.place(market, Side.Buy, price, size, true, false, 0, 0);
    }

    function postAsk(address who, uint8 market, uint256 price, uint256 size) internal returns (uint256) {
        vm.prank(who);
        return ex.place(market, Side.Sell, price, size, true, false, 0, 0);
    }

    function ioc(address who, uint8 market, Side side, uint256 limitPrice, uint256 size)
        internal
        returns (uint256 id, uint256 filled)
    {
        vm.prank(who);
        return ex.placeIOC(market, side, limitPrice, size, false, 0);
    }

    function sizeOf(address who, uint8 market) internal view returns (int256) {
        return ex.getPosition(who, market).size;
    }

    function equityOf(address who) internal view returns (int256) {
        return ex.getAccount(who).equity;
    }

    function collateralOf(address who) internal view returns (int256) {
        return ex.getAccount(who).collateral;
    }

    /// @dev refresh both oracle feeds at the current timestamp (keeps them fresh after warps)
    function refreshPrices() internal {
        (, int256 b,,,) = oracle.latestRoundData(BTC_FEED);
        (, int256 e,,,) = oracle.latestRoundData(ETH_FEED);
        setPriceRaw(BTC, uint256(b));
        setPriceRaw(ETH, uint256(e));
    }

    function warpTo(uint256 t) internal {
        vm.warp(t);
        refreshPrices();
    }
}
