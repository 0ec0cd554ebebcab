// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Fixture} from "./utils/Fixture.sol";
import "../exchange/PerpTypes.sol";

contract SmokeTest is Fixture {
    function test_smoke_matchAtMakerPrice() public {
        fund(alice, 100_000);
        fund(bob, 100_000);
        uint256 id = postAsk(alice, BTC, usdPrice(50_010), 1e8);
        (uint256 bp, uint256 bs, uint256 ap, uint256 asz) = ex.bestBidAsk(BTC);
        assertEq(bp, 0, "no bid");
        assertEq(bs, 0, "no bid size");
        assertEq(ap, usdPrice(50_010), "ask");
        assertEq(asz, 1e8, "ask size");
        (, uint256 filled) = ioc(bob, BTC, Side.Buy, usdPrice(50_100), 0.4e8);
        assertEq(filled, 0.4e8, "filled");
        assertEq(sizeOf(bob, BTC), 0.4e8, "bob long");
        assertEq(sizeOf(alice, BTC), -0.4e8, "alice short");
        assertEq(ex.getOrder(id).filled, 0.4e8, "order filled");
    }
}
