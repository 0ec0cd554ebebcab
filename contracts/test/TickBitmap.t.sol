// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TestBase} from "./utils/TestBase.sol";
import {TickBitmap} from "../libraries/TickBitmap.sol";

contract BitmapHarness {
    using TickBitmap for TickBitmap.Bitmap;

    TickBitmap.Bitmap internal bm;

    function set(uint256 t) external {
        bm.set(t);
    }

    function clear(uint256 t) external {
        bm.clear(t);
    }

    function isSet(uint256 t) external view returns (bool) {
        return bm.isSet(t);
    }

    function below(uint256 t) external view returns (uint256) {
        return bm.highestAtOrBelow(t);
    }

    function above(uint256 t) external view returns (uint256) {
        return bm.lowestAtOrAbove(t);
    }

    function root() external view returns (uint256) {
        return bm.root;
    }
}

contract TickBitmapTest is TestBase {
    BitmapHarness internal h;
    uint256 internal constant MAX = (1 << 24) - 1;

    function setUp() public {
        h = new BitmapHarness();
    }

    function test_emptySearchReturnsZero() public view {
        assertEq(h.below(MAX), 0, "below");
        assertEq(h.above(1), 0, "above");
    }

    function test_setClearAcrossWords() public {
        h.set(5);
        h.set(300); // another leaf word
        h.set(70_000); // another mid word
        h.set(MAX);
        assertEq(h.below(MAX), MAX, "top");
        assertEq(h.below(MAX - 1), 70_000, "below top");
        assertEq(h.below(69_999), 300, "across mid");
        assertEq(h.below(299), 5, "across leaf");
        assertEq(h.below(4), 0, "none below");
        assertEq(h.above(6), 300, "above 6");
        assertEq(h.above(301), 70_000, "above 301");
        assertEq(h.above(70_001), MAX, "above 70001");
        h.clear(300);
        assertFalse(h.isSet(300), "cleared");
        assertEq(h.above(6), 70_000, "skip cleared");
        h.clear(5);
        h.clear(70_000);
        h.clear(MAX);
        assertEq(h.root(), 0, "root cleared");
    }

    function test_msbLsb() public pure {
        assertEq(TickBitmap.msb(1), 0, "msb 1");
        assertEq(TickBitmap.msb(type(uint256).max), 255, "msb max");
        assertEq(TickBitmap.lsb(1 << 200), 200, "lsb");
        assertEq(TickBitmap.lsb(type(uint256).max), 0, "lsb max");
    }

    /// @dev random set/clear sequence against a brute-force reference over a small tick window
    function testFuzz_matchesReference(uint256 seed) public {
        uint256 base = bound(seed >> 128, 1, MAX - 1200);
        bool[1200] memory ref;
        for (uint256 i; i < 40; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 off = r % 1200;
            if ((r >> 20) % 3 == 0) {
                if (ref[off]) h.clear(base + off);
                ref[off] = false;
            } else {
                if (!ref[off]) h.set(base + off);
                ref[off] = true;
            }
            uint256 q = (r >> 40) % 1200;
            uint256 exp = 0;
            for (uint256 k = q + 1; k > 0; --k) {
                if (ref[k - 1]) {
                    exp = base + k - 1;
                    break;
                }
            }
            assertEq(h.below(base + q), exp, "below");
            exp = 0;
            for (uint256 k = q; k < 1200; ++k) {
                if (ref[k]) {
                    exp = base + k;
                    break;
                }
            }
            assertEq(h.above(base + q), exp, "above");
        }
    }
}
