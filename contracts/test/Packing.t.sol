// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TestBase} from "./utils/TestBase.sol";
import {Packing} from "../libraries/Packing.sol";
import "../exchange/PerpTypes.sol";

/// @dev Packing.store must produce exactly the word Solidity's own struct assignment produces.
contract PackingHarness {
    Order internal a;
    Order internal b;
    Level internal la;
    Level internal lb;
    BookHot internal ha;
    BookHot internal hb;
    Position internal pa;
    Position internal pb;

    function orders(Order memory o) external returns (bytes32 x, bytes32 y) {
        a = o;
        Packing.store(b, o);
        assembly {
            x := sload(a.slot)
            y := sload(b.slot)
        }
    }

    function levels(Level memory l) external returns (bytes32 x, bytes32 y) {
        la = l;
        Packing.store(lb, l);
        assembly {
            x := sload(la.slot)
            y := sload(lb.slot)
        }
    }

    function hots(BookHot memory h) external returns (bytes32 x, bytes32 y) {
        ha = h;
        Packing.store(hb, h);
        assembly {
            x := sload(ha.slot)
            y := sload(hb.slot)
        }
    }

    function positions(Position memory p) external returns (bytes32 x, bytes32 y, bytes32 x2, bytes32 y2) {
        pa = p;
        Packing.store(pb, p);
        assembly {
            x := sload(pa.slot)
            y := sload(pb.slot)
            x2 := sload(add(pa.slot, 1))
            y2 := sload(add(pb.slot, 1))
        }
    }
}

contract PackingTest is TestBase {
    PackingHarness internal h;

    function setUp() public {
        h = new PackingHarness();
    }

    function testFuzz_order(uint40 p, uint40 n, uint32 acc, uint32 s, uint32 f, uint32 e, uint24 t, uint8 fl) public {
        (bytes32 x, bytes32 y) = h.orders(Order(p, n, acc, s, f, e, t, fl));
        assertEq(x, y, "order word");
    }

    function testFuzz_level(uint40 hd, uint40 tl, uint64 lots, uint32 c, bool u) public {
        (bytes32 x, bytes32 y) = h.levels(Level(hd, tl, lots, c, u));
        assertEq(x, y, "level word");
    }

    function testFuzz_hot(uint24 b, uint24 a, uint40 s, uint40 t, uint40 l, uint40 mn, bool act, bool ex) public {
        (bytes32 x, bytes32 y) = h.hots(BookHot(b, a, s, t, l, mn, act, ex));
        assertEq(x, y, "hot word");
    }

    function testFuzz_position(int64 lots, int128 on, uint32 b, uint32 s, int128 f) public {
        (bytes32 x, bytes32 y, bytes32 x2, bytes32 y2) = h.positions(Position(lots, on, b, s, f));
        assertEq(x, y, "position slot 1");
        assertEq(x2, y2, "position slot 2");
    }
}
