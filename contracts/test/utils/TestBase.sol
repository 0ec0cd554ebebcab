// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Vm} from "./Vm.sol";

/// @notice In-house replacement for forge-std's Test: cheatcodes, assertions that revert with a message,
///         bound(), DSTest-style log events (printed by forge with -vv) and invariant target selection.
abstract contract TestBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    event log_string(string val);
    event log_named_uint(string key, uint256 val);
    event log_named_int(string key, int256 val);

    // ---------------------------------------------------------------- invariant targeting (forge ABI)
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetContracts;
    FuzzSelector[] private _targetSelectors;
    address[] private _targetSenders;

    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }

    function targetSenders() public view returns (address[] memory) {
        return _targetSenders;
    }

    function targetContract(address a) internal {
        _targetContracts.push(a);
    }

    function targetSelector(FuzzSelector memory s) internal {
        _targetSelectors.push(s);
    }

    function targetSender(address a) internal {
        _targetSenders.push(a);
    }

    // ---------------------------------------------------------------- assertions
    function fail(string memory message) internal pure {
        revert(message);
    }

    function assertTrue(bool c, string memory m) internal pure {
        if (!c) revert(m);
    }

    function assertFalse(bool c, string memory m) internal pure {
        if (c) revert(m);
    }

    function assertEq(uint256 a, uint256 b, string memory m) internal pure {
        if (a != b) revert(string.concat(m, ": ", toString(a), " != ", toString(b)));
    }

    function assertEq(int256 a, int256 b, string memory m) internal pure {
        if (a != b) revert(string.concat(m, ": ", toString(a), " != ", toString(b)));
    }

    function assertEq(address a, address b, string memory m) internal pure {
        if (a != b) revert(string.concat(m, ": address mismatch"));
    }

    function assertEq(bool a, bool b, string memory m) internal pure {
        if (a != b) revert(string.concat(m, ": bool mismatch"));
    }

    function assertEq(bytes32 a, bytes32 b, string memory m) internal pure {
        if (a != b) revert(string.concat(m, ": bytes32 mismatch"));
    }

    function assertGt(uint256 a, uint256 b, string memory m) internal pure {
        if (a <= b) revert(string.concat(m, ": ", toString(a), " <= ", toString(b)));
    }

    function assertGe(uint256 a, uint256 b, string memory m) internal pure {
        if (a < b) revert(string.concat(m, ": ", toString(a), " < ", toString(b)));
    }

    function assertLt(uint256 a, uint256 b, string memory m) internal pure {
        if (a >= b) revert(string.concat(m, ": ", toString(a), " >= ", toString(b)));
    }

    function assertLe(uint256 a, uint256 b, string memory m) internal pure {
        if (a > b) revert(string.concat(m, ": ", toString(a), " > ", toString(b)));
    }

    function assertGt(int256 a, int256 b, string memory m) internal pure {
        if (a <= b) revert(string.concat(m, ": ", toString(a), " <= ", toString(b)));
    }

    function assertGe(int256 a, int256 b, string memory m) internal pure {
        if (a < b) revert(string.concat(m, ": ", toString(a), " < ", toString(b)));
    }

    function assertLt(int256 a, int256 b, string memory m) internal pure {
        if (a >= b) revert(string.concat(m, ": ", toString(a), " >= ", toString(b)));
    }

    function assertLe(int256 a, int256 b, string memory m) internal pure {
        if (a > b) revert(string.concat(m, ": ", toString(a), " > ", toString(b)));
    }

    function assertApproxEqAbs(int256 a, int256 b, uint256 tol, string memory m) internal pure {
        uint256 d = a > b ? uint256(a - b) : uint256(b - a);
        if (d > tol) revert(string.concat(m, ": ", toString(a), " !~ ", toString(b)));
    }

    // ---------------------------------------------------------------- helpers
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (lo > hi) revert("bound: lo > hi");
        if (x >= lo && x <= hi) return x;
        uint256 span = hi - lo;
        if (span == type(uint256).max) return x;
        return lo + x % (span + 1);
    }

    function toString(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        uint256 len;
        for (uint256 t = v; t != 0; t /= 10) ++len;
        bytes memory b = new bytes(len);
        for (; v != 0; v /= 10) b[--len] = bytes1(uint8(48 + v % 10));
        return string(b);
    }

    function toString(int256 v) internal pure returns (string memory) {
        if (v >= 0) return toString(uint256(v));
        return string.concat("-", toString(uint256(-v)));
    }
}
