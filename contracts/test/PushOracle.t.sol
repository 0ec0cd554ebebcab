// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TestBase} from "./utils/TestBase.sol";
import {PushOracle} from "../PushOracle.sol";
import {OwnedState} from "../utils/Owned.sol";

contract PushOracleTest is TestBase {
    PushOracle internal oracle;
    address internal updater = address(0x0DA7A);
    address internal stranger = address(0x5757);

    event PriceUpdated(uint256 indexed feedId, uint80 indexed roundId, int256 answer, uint256 updatedAt, address updater);
    event UpdaterSet(address indexed updater, bool enabled);

    function setUp() public {
        vm.warp(1_700_000_000);
        oracle = new PushOracle(address(this));
        oracle.setUpdater(updater, true);
    }

    function test_decimals() public view {
        assertEq(oracle.decimals(), 8, "decimals");
    }

    function test_postPrice_andRead() public {
        vm.expectEmit(true, true, false, true, address(oracle));
        emit PriceUpdated(1, 1, 50_000e8, block.timestamp - 2, updater);
        vm.prank(updater);
        oracle.postPrice(1, 50_000e8, block.timestamp - 2, 1);
        (uint80 r, int256 a, uint256 s, uint256 u, uint80 ar) = oracle.latestRoundData(1);
        assertEq(uint256(r), 1, "round");
        assertEq(a, 50_000e8, "answer");
        assertEq(s, block.timestamp - 2, "startedAt");
        assertEq(u, block.timestamp - 2, "updatedAt");
        assertEq(uint256(ar), 1, "answeredInRound");
    }

    function test_latestRoundData_emptyFeedIsZero() public view {
        (uint80 r, int256 a,, uint256 u,) = oracle.latestRoundData(42);
        assertEq(uint256(r), 0, "round");
        assertEq(a, 0, "answer");
        assertEq(u, 0, "updatedAt");
    }

    function test_postPrice_revertsForNonUpdater() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PushOracle.NotUpdater.selector, stranger));
        oracle.postPrice(1, 1e8, block.timestamp, 1);
    }

    function test_postPrice_revertsOnBadAnswer() public {
        vm.startPrank(updater);
        vm.expectRevert(abi.encodeWithSelector(PushOracle.InvalidAnswer.selector, 1, int256(0)));
        oracle.postPrice(1, 0, block.timestamp, 1);
        vm.expectRevert(abi.encodeWithSelector(PushOracle.InvalidAnswer.selector, 1, int256(-5)));
        oracle.postPrice(1, -5, block.timestamp, 1);
        vm.stopPrank();
    }

    function test_postPrice_revertsOnFutureTimestamp() public {
        vm.prank(updater);
        vm.expectRevert(abi.encodeWithSelector(PushOracle.TimestampInFuture.selector, 1, block.timestamp + 1));
        oracle.postPrice(1, 1e8, block.timestamp + 1, 1);
    }

    function test_postPrice_revertsOnNonIncreasingRound() public {
        vm.startPrank(updater);
        oracle.postPrice(1, 1e8, block.timestamp, 5);
        vm.expectRevert(abi.encodeWithSelector(PushOracle.RoundNotIncreasing.selector, 1, uint80(5), uint80(5)));
        oracle.postPrice(1, 2e8, block.timestamp, 5);
        vm.stopPrank();
    }

    function test_postPrice_revertsOnOlderTimestamp() public {
        vm.startPrank(updater);
        oracle.postPrice(1, 1e8, block.timestamp, 1);
        vm.expectRevert(
            abi.encodeWithSelector(PushOracle.TimestampNotIncreasing.selector, 1, block.timestamp - 1, block.timestamp)
        );
        oracle.postPrice(1, 2e8, block.timestamp - 1, 2);
        vm.stopPrank();
    }

    function test_postPrices_batch() public {
        uint256[] memory ids = new uint256[](2);
        int256[] memory answers = new int256[](2);
        uint256[] memory ts = new uint256[](2);
        uint80[] memory rounds = new uint80[](2);
        ids[0] = 1;
        ids[1] = 2;
        answers[0] = 50_000e8;
        answers[1] = 3_000e8;
        ts[0] = block.timestamp;
        ts[1] = block.timestamp;
        rounds[0] = 1;
        rounds[1] = 1;
        vm.prank(updater);
        oracle.postPrices(ids, answers, ts, rounds);
        (, int256 a2,,,) = oracle.latestRoundData(2);
        assertEq(a2, 3_000e8, "feed 2");
    }

    function test_postPrices_revertsOnLengthMismatch() public {
        vm.prank(updater);
        vm.expectRevert(PushOracle.LengthMismatch.selector);
        oracle.postPrices(new uint256[](2), new int256[](1), new uint256[](2), new uint80[](2));
    }

    function test_priceNoOlderThan() public {
        vm.prank(updater);
        oracle.postPrice(1, 7e8, block.timestamp, 1);
        vm.warp(block.timestamp + 60);
        (uint256 p,) = oracle.priceNoOlderThan(1, 60);
        assertEq(p, 7e8, "fresh");
        vm.warp(block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(PushOracle.StalePrice.selector, 1, block.timestamp - 61, 60));
        oracle.priceNoOlderThan(1, 60);
        vm.expectRevert(abi.encodeWithSelector(PushOracle.NoData.selector, 9));
        oracle.priceNoOlderThan(9, 60);
    }

    function test_setUpdater_onlyOwner() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(OwnedState.Unauthorized.selector, stranger));
        oracle.setUpdater(stranger, true);
        vm.expectEmit(true, false, false, true, address(oracle));
        emit UpdaterSet(updater, false);
        oracle.setUpdater(updater, false);
        assertFalse(oracle.isUpdater(updater), "revoked");
        vm.expectRevert(OwnedState.ZeroAddress.selector);
        oracle.setUpdater(address(0), true);
    }

    function test_ownership_twoStep() public {
        oracle.transferOwnership(stranger);
        assertEq(oracle.owner(), address(this), "not yet");
        vm.expectRevert(abi.encodeWithSelector(OwnedState.Unauthorized.selector, updater));
        vm.prank(updater);
        oracle.acceptOwnership();
        vm.prank(stranger);
        oracle.acceptOwnership();
        assertEq(oracle.owner(), stranger, "new owner");
        assertEq(oracle.pendingOwner(), address(0), "cleared");
    }

    function testFuzz_roundsStrictlyIncrease(uint80 r1, uint80 r2) public {
        vm.assume(r1 > 0);
        vm.startPrank(updater);
        oracle.postPrice(3, 1e8, block.timestamp, r1);
        if (r2 <= r1) vm.expectRevert(abi.encodeWithSelector(PushOracle.RoundNotIncreasing.selector, 3, r2, r1));
        oracle.postPrice(3, 2e8, block.timestamp, r2);
        vm.stopPrank();
    }
}
