// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title TickBitmap
/// @notice Three-level bitmap over 24-bit ticks (1 .. 2^24-1) for one side of one order book.
/// @dev    leaf[w] bit k  <=> tick (w << 8 | k) has at least one resting order;
///         mid[m]  bit j  <=> leaf[m << 8 | j] != 0;
///         root    bit m  <=> mid[m] != 0.
///         A best-price lookup touches at most 3 words (root, mid, leaf); an update touches the
///         leaf word and only climbs when a word flips between zero and non-zero.
///         Tick 0 is never stored, so 0 is returned for "none".
library TickBitmap {
    struct Bitmap {
        uint256 root;
        mapping(uint256 => uint256) mid;
        mapping(uint256 => uint256) leaf;
    }

    function set(Bitmap storage b, uint256 tick) internal {
        uint256 w = tick >> 8;
        uint256 leafWord = b.leaf[w];
        if (leafWord == 0) {
            uint256 m = tick >> 16;
            uint256 midWord = b.mid[m];
            if (midWord == 0) b.root |= 1 << m;
            b.mid[m] = midWord | (1 << (w & 0xff));
        }
        b.leaf[w] = leafWord | (1 << (tick & 0xff));
    }

    function clear(Bitmap storage b, uint256 tick) internal {
        uint256 w = tick >> 8;
        uint256 leafWord = b.leaf[w] & ~(1 << (tick & 0xff));
        b.leaf[w] = leafWord;
        if (leafWord == 0) {
            uint256 m = tick >> 16;
            uint256 midWord = b.mid[m] & ~(1 << (w & 0xff));
            b.mid[m] = midWord;
            if (midWord == 0) b.root &= ~(1 << m);
        }
    }

    function isSet(Bitmap storage b, uint256 tick) internal view returns (bool) {
        return b.leaf[tick >> 8] & (1 << (tick & 0xff)) != 0;
    }

    /// @return the highest set tick <= `tick`, or 0 when there is none.
    function highestAtOrBelow(Bitmap storage b, uint256 tick) internal view returns (uint256) {
        uint256 w = tick >> 8;
        uint256 bits = b.leaf[w] & _maskAtOrBelow(tick & 0xff);
        if (bits != 0) return (w << 8) | msb(bits);
        uint256 m = tick >> 16;
        bits = b.mid[m] & ((1 << (w & 0xff)) - 1); // leaves strictly below w under the same mid word
        if (bits == 0) {
            bits = b.root & ((1 << m) - 1);
            if (bits == 0) return 0;
            m = msb(bits);
            bits = b.mid[m];
        }
        w = (m << 8) | msb(bits);
        return (w << 8) | msb(b.leaf[w]);
    }

    /// @return the lowest set tick >= `tick`, or 0 when there is none.
    function lowestAtOrAbove(Bitmap storage b, uint256 tick) internal view returns (uint256) {
        uint256 w = tick >> 8;
        uint256 bits = b.leaf[w] & ~((1 << (tick & 0xff)) - 1);
        if (bits != 0) return (w << 8) | lsb(bits);
        uint256 m = tick >> 16;
        bits = b.mid[m] & ~_maskAtOrBelow(w & 0xff); // leaves strictly above w under the same mid word
        if (bits == 0) {
            bits = b.root & ~_maskAtOrBelow(m);
            if (bits == 0) return 0;
            m = lsb(bits);
            bits = b.mid[m];
        }
        w = (m << 8) | lsb(bits);
        return (w << 8) | lsb(b.leaf[w]);
    }

    function _maskAtOrBelow(uint256 bit) private pure returns (uint256) {
        return bit == 255 ? type(uint256).max : (1 << (bit + 1)) - 1;
    }

    /// @dev index of the most significant set bit; x must be non-zero.
    function msb(uint256 x) internal pure returns (uint256 r) {
        if (x >= 1 << 128) { x >>= 128; r += 128; }
        if (x >= 1 << 64) { x >>= 64; r += 64; }
        if (x >= 1 << 32) { x >>= 32; r += 32; }
        if (x >= 1 << 16) { x >>= 16; r += 16; }
        if (x >= 1 << 8) { x >>= 8; r += 8; }
        if (x >= 1 << 4) { x >>= 4; r += 4; }
        if (x >= 1 << 2) { x >>= 2; r += 2; }
        if (x >= 1 << 1) r += 1;
    }

    /// @dev index of the least significant set bit; x must be non-zero.
    function lsb(uint256 x) internal pure returns (uint256) {
        unchecked {
            return msb(x & (~x + 1));
        }
    }
}
