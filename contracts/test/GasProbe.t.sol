// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;
import {GasTest} from "./Gas.t.sol";
import "../exchange/PerpTypes.sol";
contract GasProbe is GasTest {
    function test_probe_existing_alice() public {
        vm.prank(alice);
        uint256 g0 = gasleft();
        ex.place(BTC, Side.Buy, P - 10 * TICK, SZ, true, false, 0, 0);
        _log("alice joins own level", g0 - gasleft());
    }
    function test_probe_new_carol() public {
        vm.prank(carol);
        uint256 g0 = gasleft();
        ex.place(BTC, Side.Buy, P - 7 * TICK, SZ, true, false, 0, 0);
        _log("carol new level", g0 - gasleft());
    }
}
