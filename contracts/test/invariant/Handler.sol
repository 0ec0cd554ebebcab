// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Vm} from "../utils/Vm.sol";
import {IPerpExchange} from "../../interfaces/IPerpExchange.sol";
import {PushOracle} from "../../PushOracle.sol";
import {USDToken} from "../../USDToken.sol";
import "../../exchange/PerpTypes.sol";

/// @notice Drives the exchange with bounded random actions from a fixed set of actors and keeps ghost
///         state for the invariants (deposits, withdrawals, the size each order was placed/replaced with).
contract Handler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    IPerpExchange public immutable ex;
    PushOracle public immutable oracle;
    USDToken public immutable usd;

    address[] public actors;
    uint256[] public orderIds; // every order id that ever rested
    mapping(uint256 => uint256) public ghostSize; // size at placement / last replace
    mapping(uint256 => address) public ghostOwner;

    uint256 public deposited;
    uint256 public withdrawn;
    uint256 public insuranceDeposited;
    uint80 internal round = 1_000;
    uint256 public calls;
    mapping(bytes32 => uint256) public okCalls;

    uint8[2] internal markets = [0, 1];
    uint32[2] internal feeds = [1, 2];

    constructor(IPerpExchange ex_, PushOracle oracle_, USDToken usd_, address[] memory actors_) {
        ex = ex_;
        oracle = oracle_;
        usd = usd_;
        actors = actors_;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function orderCount() external view returns (uint256) {
        return orderIds.length;
    }

    // ------------------------------------------------------------------ helpers
    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + x % (hi - lo + 1);
    }

    function _oracleTick(uint8 m) internal view returns (uint256 tick, uint256 tickSize) {
        tickSize = m == 0 ? 1e7 : 1e6;
        (, int256 p,,,) = oracle.latestRoundData(feeds[m]);
        tick = uint256(p) / tickSize;
    }

    function _track(uint256 id, address owner, uint256 size) internal {
        if (ghostOwner[id] == address(0)) orderIds.push(id);
        ghostOwner[id] = owner;
        ghostSize[id] = size;
    }

    function _ok(string memory what) internal {
        ++okCalls[keccak256(bytes(what))];
    }

    // ------------------------------------------------------------------ actions
    function deposit(uint256 actorSeed, uint256 amount) external {
        address a = _actor(actorSeed);
        amount = _bound(amount, 1e6, 5_000e6);
        vm.prank(a);
        ex.deposit(amount);
        deposited += amount;
        _ok("deposit");
    }

    function withdraw(uint256 actorSeed, uint256 amount) external {
        address a = _actor(actorSeed);
        int256 c = ex.getAccount(a).collateral;
        if (c <= 0) return;
        amount = _bound(amount, 1, uint256(c));
        vm.prank(a);
        ex.withdraw(amount);
        withdrawn += amount;
        _ok("withdraw");
    }

    function depositInsurance(uint256 amount) external {
        amount = _bound(amount, 1e6, 5_000e6);
        address a = actors[0];
        vm.prank(a);
        ex.depositInsurance(amount);
        insuranceDeposited += amount;
        _ok("insurance");
    }

    function placeLimit(
        uint256 actorSeed,
        uint256 marketSeed,
        bool buy,
        uint256 offset,
        uint256 lots,
        uint256 flags,
        uint256 expirySeed
    ) external {
        PlaceParams memory p;
        p.market = markets[marketSeed % 2];
        p.side = buy ? Side.Buy : Side.Sell;
        (uint256 tick, uint256 tickSize) = _oracleTick(p.market);
        // buys mostly below the oracle, sells mostly above, with some crossing
        uint256 off = _bound(offset, 0, 60);
        p.price = (buy ? tick + 10 - off : tick - 10 + off) * tickSize;
        p.size = _bound(lots, 1, 300) * (p.market == 0 ? 1e5 : 1e6);
        p.expiry = expirySeed % 4 == 0 ? uint32(block.timestamp + _bound(expirySeed >> 8, 1, 1800)) : 0;
        p.postOnly = flags % 3 == 0;
        p.reduceOnly = flags % 5 == 0;
        _placeLimit(_actor(actorSeed), p);
    }

    function _placeLimit(address a, PlaceParams memory p) internal {
        vm.prank(a);
        uint256 id = ex.place(p.market, p.side, p.price, p.size, p.postOnly, p.reduceOnly, p.expiry, 0);
        if (ex.getOrder(id).owner != address(0)) _track(id, a, p.size);
        _ok("place");
    }

    function placeIOC(uint256 actorSeed, uint256 marketSeed, bool buy, uint256 offset, uint256 lots, bool reduceOnly)
        external
    {
        address a = _actor(actorSeed);
        uint8 m = markets[marketSeed % 2];
        (uint256 tick, uint256 tickSize) = _oracleTick(m);
        uint256 off = _bound(offset, 0, 40);
        uint256 t = buy ? tick + off : tick - off;
        uint256 lotSize = m == 0 ? 1e5 : 1e6;
        vm.prank(a);
        ex.placeIOC(m, buy ? Side.Buy : Side.Sell, t * tickSize, _bound(lots, 1, 300) * lotSize, reduceOnly, 0);
        _ok("ioc");
    }

    /// @dev dave (actors[3]) takes a position using ~90 % of his free margin, so that price moves can make
    ///      him liquidatable; alice provides the liquidity one tick through the oracle.
    function leverUp(uint256 marketSeed, bool buy) external {
        address d = actors[3];
        uint8 m = markets[marketSeed % 2];
        AccountView memory v = ex.getAccount(d);
        if (v.equity <= int256(v.initialMarginWithOrders)) return;
        uint256 free = uint256(v.equity) - v.initialMarginWithOrders;
        (uint256 tick, uint256 tickSize) = _oracleTick(m);
        uint256 lotSize = m == 0 ? 1e5 : 1e6;
        uint256 imr = m == 0 ? 0.1e18 : 0.05e18;
        uint256 lots = free * 1e18 / imr * 9 / 10 * 1e10 / (tick * tickSize * lotSize);
        if (lots == 0) return;
        if (lots > 5_000) lots = 5_000;
        uint256 price = (buy ? tick + 1 : tick - 1) * tickSize;
        vm.prank(actors[0]);
        uint256 id = ex.place(m, buy ? Side.Sell : Side.Buy, price, lots * lotSize, false, false, 0, 0);
        if (ex.getOrder(id).owner != address(0)) _track(id, actors[0], lots * lotSize);
        vm.prank(d);
        ex.placeIOC(m, buy ? Side.Buy : Side.Sell, price, lots * lotSize, false, 0);
        _ok("leverUp");
    }

    function cancel(uint256 orderSeed) external {
        if (orderIds.length == 0) return;
        uint256 id = orderIds[orderSeed % orderIds.length];
        OrderView memory o = ex.getOrder(id);
        if (o.owner == address(0)) return;
        vm.prank(o.owner);
        ex.cancel(id);
        _ok("cancel");
    }

    function replace(uint256 orderSeed, uint256 offset, uint256 lots) external {
        if (orderIds.length == 0) return;
        uint256 id = orderIds[orderSeed % orderIds.length];
        OrderView memory o = ex.getOrder(id);
        if (o.owner == address(0) || o.expired) return;
        (uint256 tick, uint256 tickSize) = _oracleTick(o.market);
        uint256 off = _bound(offset, 0, 60);
        uint256 t = o.side == Side.Buy ? tick + 10 - off : tick - 10 + off;
        uint256 size = _bound(lots, 1, 300) * (o.market == 0 ? 1e5 : 1e6);
        vm.prank(o.owner);
        ex.replace(id, t * tickSize, size);
        ghostSize[id] = size;
        _ok("replace");
    }

    function batch(uint256 actorSeed, uint256 orderSeed, uint256 offset, uint256 lots) external {
        address a = _actor(actorSeed);
        uint256[] memory cancels = new uint256[](orderIds.length == 0 ? 0 : 1);
        if (cancels.length == 1) {
            uint256 id = orderIds[orderSeed % orderIds.length];
            if (ghostOwner[id] != a) cancels = new uint256[](0);
            else cancels[0] = id;
        }
        (uint256 tick, uint256 tickSize) = _oracleTick(0);
        PlaceParams[] memory places = new PlaceParams[](2);
        uint256 size = _bound(lots, 1, 200) * 1e5;
        uint256 off = _bound(offset, 1, 30);
        places[0] = PlaceParams(0, Side.Buy, (tick - off) * tickSize, size, true, false, 0, 1);
        places[1] = PlaceParams(0, Side.Sell, (tick + off) * tickSize, size, true, false, 0, 2);
        vm.prank(a);
        uint256[] memory ids = ex.batch(cancels, new ReplaceParams[](0), places);
        _track(ids[0], a, size);
        _track(ids[1], a, size);
        _ok("batch");
    }

    function movePrice(uint256 marketSeed, uint256 bps) external {
        uint8 m = markets[marketSeed % 2];
        (, int256 p,,,) = oracle.latestRoundData(feeds[m]);
        int256 move = int256(_bound(bps, 0, 1000)) - 500; // +-5 %
        int256 np = p + p * move / 10_000;
        round++;
        oracle.postPrice(feeds[m], np, block.timestamp, round);
        _ok("price");
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + _bound(secs, 1, 900));
        for (uint256 i; i < 2; ++i) {
            (, int256 p,,,) = oracle.latestRoundData(feeds[i]);
            round++;
            oracle.postPrice(feeds[i], p, block.timestamp, round);
        }
        _ok("warp");
    }

    function funding(uint256 actorSeed, uint256 marketSeed) external {
        uint8 m = markets[marketSeed % 2];
        address keeper = _actor(actorSeed); // the reward must land in a tracked account
        if (block.timestamp >= ex.nextFundingTime(m)) {
            vm.prank(keeper);
            ex.settleFunding(m);
            _ok("settle");
        } else if (block.timestamp >= ex.getFunding(m).nextSampleTime) {
            vm.prank(keeper);
            ex.pokeFunding(m);
            _ok("poke");
        }
    }

    function purge(uint256 marketSeed) external {
        ex.purgeExpired(markets[marketSeed % 2], 5);
        _ok("purge");
    }

    function liquidate(uint256 liqSeed, uint256 targetSeed, uint256 marketSeed, uint256 fraction) external {
        address target = _actor(targetSeed);
        address liq = _actor(liqSeed);
        if (liq == target || !ex.isLiquidatable(target)) return;
        uint8 m = markets[marketSeed % 2];
        int256 s = ex.getPosition(target, m).size;
        if (s == 0) return;
        uint256 lotSize = m == 0 ? 1e5 : 1e6;
        uint256 lots = uint256(s > 0 ? s : -s) / lotSize;
        uint256 take = _bound(fraction, 1, lots);
        vm.prank(liq);
        ex.liquidate(target, m, take * lotSize);
        _ok("liquidate");
    }
}
