// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FixedMath} from "../libraries/FixedMath.sol";
import {TickBitmap} from "../libraries/TickBitmap.sol";
import {Packing} from "../libraries/Packing.sol";
import {ExchangeBase} from "./ExchangeBase.sol";
import "./PerpTypes.sol";

/// @title OrderBook
/// @notice On-chain central limit order book with price-time priority, one per market.
/// @dev Storage layout (per market m, side s in {0 buy, 1 sell}, bookKey = m << 1 | s):
///        _orders[m << 40 | seq]   one slot per order (see Order): owner account, size/filled lots, tick,
///                                 expiry, flags and the prev/next links of its tick FIFO
///        _levels[bookKey][tick]   one slot per price level: head/tail seq, total lots, order count
///        _bitmaps[bookKey]        3-level bitmap of non-empty ticks (best-price search <= 3 words)
///        _hot[m]                  best bid/ask ticks + order sequence + tick/lot size in one slot
///      Matching walks the best level's FIFO from its head; every visited order is filled or removed
///      (expired, self-trade, reduce-only, failed maker margin), so the loop always progresses.
///      Fills happen at the maker's price. Self-trade prevention: the RESTING order of the taker's own
///      account is cancelled (reason SelfTrade) and matching continues with the next order.
abstract contract OrderBook is ExchangeBase {
    using TickBitmap for TickBitmap.Bitmap;
    using FixedMath for uint256;

    uint256 internal constant SEQ_MASK = (1 << 40) - 1;

    mapping(uint256 => Order) internal _orders;
    mapping(uint256 => mapping(uint256 => Level)) internal _levels;
    mapping(uint256 => TickBitmap.Bitmap) internal _bitmaps;

    struct Taker {
        uint32 acct;
        address owner;
        uint256 market;
        uint256 side;
        uint256 limitTick;
        uint256 remaining; // lots
        uint256 orderId;
        uint256 markPrice;
        int256 eqDelta; // sum over fills of the taker's equity change at mark (incl. fees)
        uint256 tickSize;
        uint256 lotSize;
        int256 makerFeeRate;
        int256 takerFeeRate;
        uint256 imr;
    }

    struct Fill {
        uint256 lots;
        uint256 price;
        uint256 notional;
        int256 makerFee;
        int256 takerFee;
        int256 makerDir; // +1 maker buys, -1 maker sells
        int256 buyerGain; // value at mark minus notional paid, for the buyer
    }

    // ------------------------------------------------------------------ conversions

    function _tickOf(uint256 price, uint256 tickSize) internal pure returns (uint256 tick) {
        tick = price / tickSize;
        if (tick == 0 || tick > MAX_TICK || tick * tickSize != price) revert InvalidPrice(price);
    }

    /// @dev IOC limit prices need not be on the grid: a buy limit rounds down, a sell limit rounds up
    ///      (never worse than asked); a buy limit above the grid is clamped to the top tick.
    function _iocTick(uint256 price, uint256 tickSize, uint256 side) internal pure returns (uint256 tick) {
        tick = price / tickSize;
        if (side == BUY) {
            if (tick > MAX_TICK) tick = MAX_TICK;
            if (tick == 0) revert InvalidPrice(price);
        } else {
            if (tick * tickSize != price || tick == 0) tick += 1;
            if (tick > MAX_TICK) revert InvalidPrice(price);
        }
    }

    function _lotsOf(uint256 size, uint256 lotSize) internal pure returns (uint256 lots) {
        lots = size / lotSize;
        if (lots == 0 || lots > MAX_LOTS || lots * lotSize != size) revert InvalidSize(size);
    }

    function _checkMinNotional(uint256 lots, uint256 tick, BookHot memory hot) internal pure {
        uint256 n = _notional(lots, hot.lotSize, tick * hot.tickSize);
        if (n < hot.minNotional) revert BelowMinNotional(n, hot.minNotional);
    }

    /// @dev lots an order of `side` may fill while only reducing a position of `posLots`
    function _reducible(int256 posLots, uint256 side) internal pure returns (uint256) {
        if (side == SELL) return posLots > 0 ? uint256(posLots) : 0;
        return posLots < 0 ? uint256(-posLots) : 0;
    }

    function _isExpired(Order memory o) internal view returns (bool) {
        return o.expiry != 0 && o.expiry <= block.timestamp;
    }

    function _crosses(BookHot memory hot, uint256 side, uint256 tick) internal pure returns (bool) {
        if (side == BUY) return hot.bestAsk != 0 && hot.bestAsk <= tick;
        return hot.bestBid != 0 && hot.bestBid >= tick;
    }

    // ------------------------------------------------------------------ FIFO / bitmap maintenance

    /// @dev Appends `o` (already filled in except prev/next) to the tail of its level and stores it.
    function _linkTail(BookHot memory hot, uint256 m, uint256 seq, Order memory o) internal {
        uint256 side = o.flags & FLAG_SELL;
        uint256 key = (m << 1) | side;
        Level memory l = _levels[key][o.tick];
        o.next = 0;
        if (l.count == 0) {
            o.prev = 0;
            l.head = uint40(seq);
            _bitmaps[key].set(o.tick);
            if (side == BUY) {
                if (o.tick > hot.bestBid) hot.bestBid = o.tick;
            } else if (hot.bestAsk == 0 || o.tick < hot.bestAsk) {
                hot.bestAsk = o.tick;
            }
        } else {
            o.prev = l.tail;
            _orders[(m << 40) | l.tail].next = uint40(seq);
        }
        l.tail = uint40(seq);
        l.count += 1;
        l.lots += uint64(o.size - o.filled);
        l.used = true;
        Packing.store(_levels[key][o.tick], l);
        Packing.store(_orders[(m << 40) | seq], o);
    }

    /// @dev Unlinks `o` from its level (the order slot itself is left to the caller). A popped head leaves
    ///      a stale `prev` in the new head, which is never read (`prev` is only used for non-heads).
    function _unlink(BookHot memory hot, uint256 m, uint256 seq, Order memory o) internal {
        uint256 side = o.flags & FLAG_SELL;
        uint256 key = (m << 1) | side;
        Level memory l = _levels[key][o.tick];
        if (l.head == seq) {
            l.head = o.next;
            if (l.tail == seq) l.tail = 0;
        } else {
            _orders[(m << 40) | o.prev].next = o.next;
            if (l.tail == seq) l.tail = o.prev;
            else _orders[(m << 40) | o.next].prev = o.prev;
        }
        l.count -= 1;
        l.lots -= uint64(o.size - o.filled);
        Packing.store(_levels[key][o.tick], l);
        if (l.count == 0) {
            TickBitmap.Bitmap storage bm = _bitmaps[key];
            bm.clear(o.tick);
            if (side == BUY) {
                if (hot.bestBid == o.tick) hot.bestBid = uint24(bm.highestAtOrBelow(o.tick));
            } else if (hot.bestAsk == o.tick) {
                hot.bestAsk = uint24(bm.lowestAtOrAbove(o.tick));
            }
        }
    }

    /// @dev Removes a resting order entirely: unlink, release its open lots, delete, emit.
    function _removeOrder(BookHot memory hot, uint256 m, uint256 seq, Order memory o, address owner_, CancelReason reason)
        internal
    {
        _unlink(hot, m, seq, o);
        uint256 open = o.size - o.filled;
        _releaseOpenLots(o.account, m, o.flags & FLAG_SELL, open);
        delete _orders[(m << 40) | seq];
        emit OrderCancelled((m << 40) | seq, owner_, open * hot.lotSize, reason);
    }

    function _addOpenLots(uint32 acct, uint256 m, uint256 side, uint256 lots) internal {
        Position storage p = _positions[acct][m];
        if (side == BUY) {
            uint256 v = p.openBuyLots + lots;
            if (v > MAX_LOTS) revert TooManyOpenLots();
            p.openBuyLots = uint32(v);
        } else {
            uint256 v = p.openSellLots + lots;
            if (v > MAX_LOTS) revert TooManyOpenLots();
            p.openSellLots = uint32(v);
        }
        _setMarketBit(acct, m);
    }

    function _releaseOpenLots(uint32 acct, uint256 m, uint256 side, uint256 lots) internal {
        Position storage p = _positions[acct][m];
        if (side == BUY) p.openBuyLots -= uint32(lots);
        else p.openSellLots -= uint32(lots);
        if (p.lots == 0 && p.openBuyLots == 0 && p.openSellLots == 0) _clearMarketBit(acct, m);
    }

    /// @dev position lots and exposure incl. orders (reads only the first position slot)
    function _riskOf(uint32 acct, uint256 m) internal view returns (uint256 absLots, uint256 exposure) {
        Position storage p = _positions[acct][m];
        int256 q = p.lots;
        absLots = FixedMath.abs(q);
        exposure = FixedMath.max(FixedMath.abs(q + int256(uint256(p.openBuyLots))), FixedMath.abs(q - int256(uint256(p.openSellLots))));
    }

    /// @dev Removes expired orders sitting at the head of the opposite best level while it crosses `tick`.
    /// @return true when a live opposite order still crosses.
    function _crossesLive(BookHot memory hot, uint256 m, uint256 side, uint256 tick) internal returns (bool) {
        while (_crosses(hot, side, tick)) {
            uint256 best = side == BUY ? hot.bestAsk : hot.bestBid;
            uint256 seq = _levels[(m << 1) | (side ^ 1)][best].head;
            Order memory o = _orders[(m << 40) | seq];
            if (!_isExpired(o)) return true;
            _removeOrder(hot, m, seq, o, _accountOwner[o.account], CancelReason.Expired);
        }
        return false;
    }

    // ------------------------------------------------------------------ place / cancel / replace

    struct PlaceState {
        uint256 m;
        uint256 side;
        uint256 tick;
        uint256 lots;
        uint256 remaining;
        uint256 absBefore;
        uint256 expBefore;
        uint8 flags;
    }

    /// @return orderId the new order id
    /// @return filledLots lots filled immediately
    /// @return checks CHECK_* flags the caller must run for the account
    function _place(uint32 acct, PlaceParams memory p, bool ioc)
        internal
        returns (uint256 orderId, uint256 filledLots, uint8 checks)
    {
        PlaceState memory st;
        st.m = p.market;
        BookHot memory hot = _activeHot(st.m);
        st.side = uint256(p.side);
        st.tick = ioc ? _iocTick(p.price, hot.tickSize, st.side) : _tickOf(p.price, hot.tickSize);
        st.lots = _lotsOf(p.size, hot.lotSize);
        if (!ioc) {
            if (p.expiry != 0 && p.expiry <= block.timestamp) revert InvalidExpiry(p.expiry);
            if (!p.reduceOnly) _checkMinNotional(st.lots, st.tick, hot);
        } else {
            p.expiry = 0;
            p.postOnly = false;
        }
        (st.absBefore, st.expBefore) = _riskOf(acct, st.m);
        if (p.reduceOnly && st.lots > _reducible(_positions[acct][st.m].lots, st.side)) revert ReduceOnlyViolation();
        orderId = (st.m << 40) | hot.nextSeq;
        hot.nextSeq += 1;
        st.flags = uint8(st.side) | (p.postOnly ? FLAG_POST_ONLY : 0) | (p.reduceOnly ? FLAG_REDUCE_ONLY : 0)
            | (ioc ? FLAG_IOC : 0);
        _emitPlaced(orderId, p, st.tick * hot.tickSize, st.flags);

        st.remaining = st.lots;
        if (p.postOnly) {
            if (_crossesLive(hot, st.m, st.side, st.tick)) revert WouldCross();
        } else if (_crosses(hot, st.side, st.tick)) {
            Taker memory t = _newTaker(acct, st.m, hot);
            t.side = st.side;
            t.limitTick = st.tick;
            t.remaining = st.lots;
            t.orderId = orderId;
            _match(hot, t);
            st.remaining = t.remaining;
            if (t.eqDelta < 0) checks = CHECK_SOLVENT;
        }
        filledLots = st.lots - st.remaining;
        if (st.remaining != 0) {
            if (ioc) {
                emit OrderCancelled(orderId, msg.sender, st.remaining * hot.lotSize, CancelReason.Unfilled);
            } else {
                // matching consumed every crossing order, so the remainder rests without crossing
                Order memory o = Order({
                    prev: 0,
                    next: 0,
                    account: acct,
                    size: uint32(st.lots),
                    filled: uint32(filledLots),
                    expiry: p.expiry,
                    tick: uint24(st.tick),
                    flags: st.flags
                });
                _linkTail(hot, st.m, orderId & SEQ_MASK, o);
                _addOpenLots(acct, st.m, st.side, st.remaining);
            }
        }
        Packing.store(_hot[st.m], hot);
        (uint256 absAfter, uint256 expAfter) = _riskOf(acct, st.m);
        if (absAfter > st.absBefore || expAfter > st.expBefore) checks |= CHECK_IM;
    }

    function _emitPlaced(uint256 orderId, PlaceParams memory p, uint256 price, uint8 flags) internal {
        emit OrderPlaced(orderId, msg.sender, p.market, p.side, price, p.size, flags, p.expiry, p.clientOrderId);
    }

    function _newTaker(uint32 acct, uint256 m, BookHot memory hot) internal view returns (Taker memory t) {
        RiskParams memory r = _risk[m];
        t.acct = acct;
        t.owner = msg.sender;
        t.market = m;
        t.markPrice = _markPrice(m);
        t.tickSize = hot.tickSize;
        t.lotSize = hot.lotSize;
        t.makerFeeRate = r.makerFee;
        t.takerFeeRate = r.takerFee;
        t.imr = r.imr;
    }

    /// @dev Cancels a live order of `acct`; with `strict == false` an id that is no longer live is skipped.
    function _cancel(uint32 acct, uint256 orderId, bool strict) internal {
        Order memory o = _orders[orderId];
        if (o.size == 0) {
            if (strict) revert UnknownOrder(orderId);
            return;
        }
        if (o.account != acct) revert NotOrderOwner(orderId, msg.sender);
        uint256 m = orderId >> 40;
        BookHot memory hot = _hot[m];
        _removeOrder(hot, m, orderId & SEQ_MASK, o, msg.sender, CancelReason.User);
        Packing.store(_hot[m], hot);
    }

    /// @dev Atomic amend. Same price and not larger: amended in place, keeps time priority. Otherwise the
    ///      order moves to the tail of the new level (post-only semantics: reverts WouldCross if the new
    ///      price would trade). The order keeps its id, flags and expiry; size/filled restart at newSize/0.
    /// @return riskUp true when resting exposure increased (caller runs the initial-margin check)
    function _replace(uint32 acct, uint256 orderId, uint256 newPrice, uint256 newSize) internal returns (bool riskUp) {
        Order memory o = _orders[orderId];
        if (o.size == 0) revert UnknownOrder(orderId);
        if (o.account != acct) revert NotOrderOwner(orderId, msg.sender);
        if (_isExpired(o)) revert OrderExpired(orderId);
        uint256 m = orderId >> 40;
        BookHot memory hot = _activeHot(m);
        uint256 newTick = _tickOf(newPrice, hot.tickSize);
        uint256 newLots = _lotsOf(newSize, hot.lotSize);
        if (o.flags & FLAG_REDUCE_ONLY == 0) _checkMinNotional(newLots, newTick, hot);
        uint256 oldOpen = o.size - o.filled;
        uint256 oldTick = o.tick;
        uint256 side = o.flags & FLAG_SELL;
        emit OrderReplaced(orderId, msg.sender, newPrice, newSize);
        if (newTick == oldTick && newLots <= oldOpen) {
            if (newLots != oldOpen) _levels[(m << 1) | side][oldTick].lots -= uint64(oldOpen - newLots);
            o.size = uint32(newLots);
            o.filled = 0;
            Packing.store(_orders[orderId], o);
        } else {
            if (_crossesLive(hot, m, side, newTick)) revert WouldCross();
            _moveOrder(hot, m, orderId & SEQ_MASK, o, newTick, newLots);
            Packing.store(_hot[m], hot);
        }
        if (newLots != oldOpen) riskUp = _resizeOpenLots(acct, m, o.flags, oldOpen, newLots);
    }

    /// @dev Moves a resting order to the tail of `newTick` with a fresh size (filled restarts at 0).
    function _moveOrder(BookHot memory hot, uint256 m, uint256 seq, Order memory o, uint256 newTick, uint256 newLots)
        internal
    {
        Order memory moved = Order({
            prev: 0,
            next: 0,
            account: o.account,
            size: uint32(newLots),
            filled: 0,
            expiry: o.expiry,
            tick: uint24(newTick),
            flags: o.flags
        });
        if (newTick == o.tick) {
            _unlink(hot, m, seq, o); // same price, larger size: re-queue at the tail
            _linkTail(hot, m, seq, moved);
        } else {
            // Link first, then unlink the old copy: bitmap words stay non-zero (no upper-level churn) and
            // the best-price search after unlinking finds the new tick at worst.
            _linkTail(hot, m, seq, moved);
            _unlink(hot, m, seq, o);
        }
    }

    function _resizeOpenLots(uint32 acct, uint256 m, uint8 flags, uint256 oldOpen, uint256 newLots)
        internal
        returns (bool riskUp)
    {
        (, uint256 expBefore) = _riskOf(acct, m);
        uint256 side = flags & FLAG_SELL;
        if (newLots > oldOpen) {
            if (flags & FLAG_REDUCE_ONLY != 0 && newLots > _reducible(_positions[acct][m].lots, side)) {
                revert ReduceOnlyViolation();
            }
            _addOpenLots(acct, m, side, newLots - oldOpen);
        } else {
            _releaseOpenLots(acct, m, side, oldOpen - newLots);
        }
        (, uint256 expAfter) = _riskOf(acct, m);
        riskUp = expAfter > expBefore;
    }

    // ------------------------------------------------------------------ matching

    function _match(BookHot memory hot, Taker memory t) internal {
        _settleFundingIfDue(t.market, t.markPrice);
        uint256 makerSide = t.side ^ 1;
        mapping(uint256 => Level) storage levels = _levels[(t.market << 1) | makerSide];
        while (t.remaining != 0) {
            uint256 tick = makerSide == SELL ? hot.bestAsk : hot.bestBid;
            if (tick == 0 || (makerSide == SELL ? tick > t.limitTick : tick < t.limitTick)) break;
            uint256 seq = levels[tick].head;
            _matchOrder(hot, t, seq, _orders[(t.market << 40) | seq]);
        }
    }

    /// @dev Fills or removes the head order `o` of the best opposite level.
    function _matchOrder(BookHot memory hot, Taker memory t, uint256 seq, Order memory o) internal {
        uint256 m = t.market;
        address maker = _accountOwner[o.account];
        if (_isExpired(o)) return _removeOrder(hot, m, seq, o, maker, CancelReason.Expired);
        if (o.account == t.acct) return _removeOrder(hot, m, seq, o, maker, CancelReason.SelfTrade);
        int256 makerLots = _positions[o.account][m].lots;
        Fill memory f;
        f.lots = FixedMath.min(o.size - o.filled, t.remaining);
        if (o.flags & FLAG_REDUCE_ONLY != 0) {
            uint256 reducible = _reducible(makerLots, o.flags & FLAG_SELL);
            if (reducible == 0) return _removeOrder(hot, m, seq, o, maker, CancelReason.ReduceOnly);
            f.lots = FixedMath.min(f.lots, reducible);
        }
        f.price = uint256(o.tick) * t.tickSize;
        f.notional = _notional(f.lots, t.lotSize, f.price);
        f.makerFee = _fee(f.notional, t.makerFeeRate);
        f.takerFee = _fee(f.notional, t.takerFeeRate);
        f.makerDir = t.side == BUY ? int256(-1) : int256(1);
        f.buyerGain = int256(_notional(f.lots, t.lotSize, t.markPrice)) - int256(f.notional);
        if (!_makerCanFill(o.account, makerLots, f, t)) return _removeOrder(hot, m, seq, o, maker, CancelReason.Margin);

        _applyFill(o.account, m, f.makerDir * int256(f.lots), f.notional, f.makerFee, f.lots);
        _applyFill(t.acct, m, -f.makerDir * int256(f.lots), f.notional, f.takerFee, 0);
        _feePool = uint256(int256(_feePool) + f.makerFee + f.takerFee);
        t.remaining -= f.lots;
        t.eqDelta += -f.makerDir * f.buyerGain - f.takerFee;
        emit OrderFilled(
            uint8(m), (m << 40) | seq, t.orderId, maker, t.owner, Side(t.side), f.price, f.lots * t.lotSize, f.makerFee, f.takerFee
        );

        _levels[(m << 1) | (o.flags & FLAG_SELL)][o.tick].lots -= uint64(f.lots);
        o.filled += uint32(f.lots);
        if (o.filled == o.size) {
            _unlink(hot, m, seq, o);
            delete _orders[(m << 40) | seq];
        } else if (o.flags & FLAG_REDUCE_ONLY != 0 && _positions[o.account][m].lots == 0) {
            _removeOrder(hot, m, seq, o, maker, CancelReason.ReduceOnly);
        } else {
            Packing.store(_orders[(m << 40) | seq], o);
        }
        _coverShortfall(o.account);
    }

    /// @dev Maker fill check at the fill: a fill that increases |position| needs equity >= position IM
    ///      after the fill; any other fill that lowers equity (at mark, incl. fee) needs equity >= 0 after.
    function _makerCanFill(uint32 acct, int256 oldLots, Fill memory f, Taker memory t) internal view returns (bool) {
        int256 newLots = oldLots + f.makerDir * int256(f.lots);
        int256 eqDelta = f.makerDir * f.buyerGain - f.makerFee;
        bool increases = FixedMath.abs(newLots) > FixedMath.abs(oldLots);
        if (!increases && eqDelta >= 0) return true;
        (bool ok, Margin memory mg) = _computeMargin(acct, false);
        if (!ok) return false;
        int256 eqAfter = mg.equity + eqDelta;
        if (!increases) return eqAfter >= 0;
        uint256 imAfter = mg.im - _requirement(FixedMath.abs(oldLots), t.lotSize, t.markPrice, t.imr)
            + _requirement(FixedMath.abs(newLots), t.lotSize, t.markPrice, t.imr);
        return eqAfter >= int256(imAfter);
    }

    /// @dev Removes expired orders at the head of the best level of `side`, up to `budget` orders.
    function _purgeTop(BookHot memory hot, uint256 m, uint256 side, uint256 budget) internal returns (uint256 removed) {
        while (removed < budget) {
            uint256 best = side == BUY ? hot.bestBid : hot.bestAsk;
            if (best == 0) break;
            uint256 seq = _levels[(m << 1) | side][best].head;
            Order memory o = _orders[(m << 40) | seq];
            if (!_isExpired(o)) break;
            _removeOrder(hot, m, seq, o, _accountOwner[o.account], CancelReason.Expired);
            ++removed;
        }
    }
}
