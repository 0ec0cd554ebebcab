// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title FixedMath
/// @notice Rounding-explicit multiply/divide helpers. Operands in this protocol are far below 2^128,
///         so plain (checked) products cannot overflow; no 512-bit mulDiv is needed.
library FixedMath {
    function mulDivDown(uint256 a, uint256 b, uint256 d) internal pure returns (uint256) {
        return a * b / d;
    }

    function mulDivUp(uint256 a, uint256 b, uint256 d) internal pure returns (uint256) {
        uint256 p = a * b;
        return p == 0 ? 0 : (p - 1) / d + 1;
    }

    /// @dev floor(a * b / d) towards negative infinity; d > 0.
    function mulDivFloor(int256 a, int256 b, int256 d) internal pure returns (int256 q) {
        int256 p = a * b;
        q = p / d;
        if (p % d != 0 && p < 0) q -= 1;
    }

    /// @dev ceil(a * b / d) towards positive infinity; d > 0.
    function mulDivCeil(int256 a, int256 b, int256 d) internal pure returns (int256 q) {
        int256 p = a * b;
        q = p / d;
        if (p % d != 0 && p > 0) q += 1;
    }

    function abs(int256 x) internal pure returns (uint256) {
        return uint256(x >= 0 ? x : -x);
    }

    function max(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a : b;
    }

    function min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    function clamp(int256 x, int256 lo, int256 hi) internal pure returns (int256) {
        return x < lo ? lo : (x > hi ? hi : x);
    }
}
