// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Order, Level, BookHot, Position} from "../exchange/PerpTypes.sol";

/// @title Packing
/// @notice Single-SSTORE writes of the packed storage structs. Solidity's legacy code generator copies a
///         memory struct into storage member by member (one read-modify-write per member, ~100-200 gas
///         each); these helpers build the word once. The bit layout is exactly Solidity's own packing for
///         the struct (first member in the lowest bits), so reads still use plain `x = map[key]` and
///         off-chain `eth_getStorageAt` decoding follows the struct declarations in PerpTypes.sol.
library Packing {
    function store(Order storage s, Order memory o) internal {
        uint256 w = uint256(o.prev) | (uint256(o.next) << 40) | (uint256(o.account) << 80) | (uint256(o.size) << 112)
            | (uint256(o.filled) << 144) | (uint256(o.expiry) << 176) | (uint256(o.tick) << 208)
            | (uint256(o.flags) << 232);
        assembly ("memory-safe") {
            sstore(s.slot, w)
        }
    }

    function store(Level storage s, Level memory l) internal {
        uint256 w = uint256(l.head) | (uint256(l.tail) << 40) | (uint256(l.lots) << 80) | (uint256(l.count) << 144)
            | (l.used ? uint256(1) << 176 : 0);
        assembly ("memory-safe") {
            sstore(s.slot, w)
        }
    }

    function store(BookHot storage s, BookHot memory h) internal {
        uint256 w = uint256(h.bestBid) | (uint256(h.bestAsk) << 24) | (uint256(h.nextSeq) << 48)
            | (uint256(h.tickSize) << 88) | (uint256(h.lotSize) << 128) | (uint256(h.minNotional) << 168)
            | (h.active ? uint256(1) << 208 : 0) | (h.exists ? uint256(1) << 216 : 0);
        assembly ("memory-safe") {
            sstore(s.slot, w)
        }
    }

    /// @dev writes both slots of a Position (slot 2 = fundingSnapshot)
    function store(Position storage s, Position memory p) internal {
        uint256 w = uint256(uint64(p.lots)) | (uint256(uint128(p.openNotional)) << 64)
            | (uint256(p.openBuyLots) << 192) | (uint256(p.openSellLots) << 224);
        uint256 f = uint256(uint128(p.fundingSnapshot));
        assembly ("memory-safe") {
            sstore(s.slot, w)
            sstore(add(s.slot, 1), f)
        }
    }
}
