// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import {IPerpEvents} from "../exchange/IPerpEvents.sol";
import {IPerpExchange} from "../interfaces/IPerpExchange.sol";
import {ReentrancyGuard} from "../utils/ReentrancyGuard.sol";
import {PerpExchange} from "../PerpExchange.sol";
import {PerpExchangeModule} from "../PerpExchangeModule.sol";
import {PerpExchangeViews} from "../PerpExchangeViews.sol";
import {IERC20} from "../interfaces/IERC20.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import "../exchange/PerpTypes.sol";

/// @dev ERC20 whose transferFrom re-enters the exchange and records what happened.
contract ReenteringToken {
    IPerpExchange public target;
    bytes4 public innerError;

    function setTarget(IPerpExchange t) external {
        target = t;
    }

    function transferFrom(address, address, uint256) external returns (bool) {
        try target.withdraw(1) {
            innerError = bytes4(0);
        } catch (bytes memory reason) {
            innerError = bytes4(reason);
        }
        return true;
    }

    function transfer(address, uint256) external pure returns (bool) {
        return true;
    }
}

/// @notice Limits and guards that the main suites do not reach.
contract ExchangeEdgeTest is Fixture {
    function test_deposit_amountTooLarge() public {
        vm.prank(alice);
        vm.expectRevert(IPerpEvents.AmountTooLarge.selector);
        ex.deposit(uint256(1) << 127);
    }

    function test_tooManyOpenLots() public {
        MarketParams memory p = ethParams();
        p.feedId = 3;
        p.tickSize = 1e6; // $0.01
        p.lotSize = 1; // 1e-8 units
        p.minNotional = 0;
        roundId++;
        oracle.postPrice(3, 1e8, block.timestamp, roundId); // $1
        uint8 m = ex.addMarket(p);
        fund(alice, 100);
        uint256 maxLots = type(uint32).max;
        vm.startPrank(alice);
        ex.place(m, Side.Buy, 0.99e8, maxLots, true, false, 0, 0); // 42.9 units, $42.5 notional
        vm.expectRevert(IPerpEvents.TooManyOpenLots.selector);
        ex.place(m, Side.Buy, 0.98e8, 1, true, false, 0, 0);
        vm.stopPrank();
    }

    function test_reentrancyGuardBlocksCallbacks() public {
        ReenteringToken bad = new ReenteringToken();
        PerpExchangeViews v = new PerpExchangeViews(admin, IERC20(address(bad)), IPriceFeed(address(oracle)));
        PerpExchangeModule mo = new PerpExchangeModule(admin, IERC20(address(bad)), IPriceFeed(address(oracle)), address(v));
        IPerpExchange x =
            IPerpExchange(address(new PerpExchange(admin, IERC20(address(bad)), IPriceFeed(address(oracle)), address(mo))));
        bad.setTarget(x);
        vm.prank(alice);
        x.deposit(5e6);
        assertEq(bad.innerError(), ReentrancyGuard.Reentrancy.selector, "re-entry rejected");
        assertEq(x.getAccount(alice).collateral, 5e6, "outer deposit completed");
    }

    function test_viewsOnUnknownAccountAndMarket() public view {
        AccountView memory a = ex.getAccount(address(0xDEAD));
        assertEq(a.accountId, 0, "no account");
        assertFalse(ex.isLiquidatable(address(0xDEAD)), "not liquidatable");
        PositionView memory p = ex.getPosition(address(0xDEAD), BTC);
        assertEq(p.size, 0, "no position");
        assertEq(ex.nextFundingTime(9), 0, "unknown market");
    }

    function test_getMarket_unknownReverts() public {
        vm.expectRevert(abi.encodeWithSelector(IPerpEvents.UnknownMarket.selector, 9));
        ex.getMarket(9);
    }
}
