"""The trading core: books, accounts, order validation, price-time matching, fills, market data.

Signatures, nonces and action dispatch live in the engine; this module trusts its ``user``.
Validation order per order: asset, order type, price (tick), size (lot, zero), $10 minimum,
reduce-only, margin, post-only cross. Self-trades cancel the resting order (``selfTradeCanceled``).

Mark price = median(best bid, best ask, last trade) with the oracle standing in for any missing
value. There is no liquidation engine: ``liquidationPx`` is an estimate only.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

import msgspec

from keeper.codecs.hyperliquid import WireNumberError, price_to_wire, size_to_wire
from keeper.localvenue import _wire as w
from keeper.localvenue._accounts import Account, apply_fill, has_margin_for
from keeper.localvenue._book import Book, aggregate
from keeper.localvenue._config import LocalVenueConfig
from keeper.localvenue._events import EventLog
from keeper.localvenue._orders import Fill, OrderRecord, OrderStore, RestingOrder
from keeper.localvenue._wire import ZERO, JsonDict, fmt

MIN_NOTIONAL = Decimal(10)
HOUR_MS = 3_600_000
L2_LEVELS = 20
_NON_USER_CANCELS = frozenset({"scheduledCancel", "selfTradeCanceled", "reduceOnlyCanceled"})


class OrderRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One order as the engine receives it (wire strings kept until validated)."""

    asset: int
    is_buy: bool
    px: str
    sz: str
    reduce_only: bool = False
    tif: str | None = "Gtc"  # None: a trigger order
    cloid: str | None = None


class Market:
    """All books and accounts of the venue."""

    def __init__(self, config: LocalVenueConfig, events: EventLog) -> None:
        self.config = config
        self.assets = config.assets
        self.events = events
        self.books = [Book() for _ in self.assets]
        self.accounts: dict[str, Account] = {}
        self.orders = OrderStore(config.max_history)
        self.oracle = [asset.start_px for asset in self.assets]
        self.last_px: list[Decimal | None] = [None for _ in self.assets]
        self.fills: dict[str, deque[Fill]] = {}
        self._volume: list[dict[int, tuple[Decimal, Decimal]]] = [{} for _ in self.assets]
        self._hour_marks: list[dict[int, Decimal]] = [{} for _ in self.assets]
        self._next_oid = 1
        self._next_tid = 1
        self._dirty: set[int] = set(range(len(self.assets)))
        self._last_bbo: list[object] = [None for _ in self.assets]
        self._last_mids: dict[str, str] = {}

    # ---- accounts and prices ----

    def open_account(self, address: str, usdc: Decimal) -> Account:
        """Create (or top up) an account."""
        account = self.accounts.get(address)
        if account is None:
            account = self.accounts[address] = Account(address=address, usdc=usdc)
        else:
            account.usdc += usdc
        return account

    def mark(self, asset: int) -> Decimal:
        """Median of best bid, best ask and last trade, the oracle replacing missing values."""
        book, oracle = self.books[asset], self.oracle[asset]
        last = self.last_px[asset]
        values = sorted(
            (
                book.best_bid() or oracle,
                book.best_ask() or oracle,
                oracle if last is None else last,
            )
        )
        return values[1]

    def marks(self) -> list[Decimal]:
        """Mark of every asset, by asset id."""
        return [self.mark(asset) for asset in range(len(self.assets))]

    def set_oracle(self, asset: int, px: Decimal) -> None:
        """Move the oracle price (flow fair price, or set by the operator)."""
        self.oracle[asset] = px
        self._dirty.add(asset)

    # ---- orders ----

    def _check(
        self, user: str, req: OrderRequest, replacing: RestingOrder | None
    ) -> str | tuple[Decimal, Decimal]:
        if not 0 <= req.asset < len(self.assets):
            return w.unknown_asset(req.asset)
        if req.tif is None:
            return w.TRIGGER_UNSUPPORTED
        sz_decimals = self.assets[req.asset].sz_decimals
        px, sz = w.parse_decimal(req.px), w.parse_decimal(req.sz)
        if px is None or px <= 0:
            return w.INVALID_PRICE
        try:
            price_to_wire(px, sz_decimals)
        except WireNumberError:
            return w.TICK
        if sz is None or sz < 0:
            return w.INVALID_SIZE
        if sz == 0:
            return w.ZERO_SIZE
        try:
            size_to_wire(sz, sz_decimals)
        except WireNumberError:
            return w.INVALID_SIZE
        if px * sz < MIN_NOTIONAL:
            return w.MIN_NOTIONAL
        account = self.accounts[user]
        if req.reduce_only:
            position = account.positions.get(req.asset)
            szi = ZERO if position is None else position.szi
            if szi == 0 or (szi > 0) == req.is_buy:
                return w.REDUCE_ONLY
            sz = min(sz, abs(szi))  # never more than closes the position
        else:
            probe = self._new_order(user, req, px, sz, oid=0, now_ms=0, cloid=None)
            others = [o for o in self.orders.of_user(user) if replacing is None or o.oid != replacing.oid]
            if not has_margin_for(
                account, [*others, probe], self.assets, self.marks(), self.config.default_leverage
            ):
                return w.MARGIN
        book = self.books[req.asset]
        if req.tif == "Alo" and book.crosses(req.is_buy, px):
            return w.bad_alo(book.best_bid(), book.best_ask())
        return px, sz

    def _new_order(
        self,
        user: str,
        req: OrderRequest,
        px: Decimal,
        sz: Decimal,
        *,
        oid: int,
        now_ms: int,
        cloid: str | None,
    ) -> RestingOrder:
        return RestingOrder(
            oid=oid,
            user=user,
            asset=req.asset,
            coin=self.assets[req.asset].name,
            is_buy=req.is_buy,
            limit_px=px,
            sz=sz,
            orig_sz=sz,
            timestamp=now_ms,
            tif=req.tif or "Gtc",
            reduce_only=req.reduce_only,
            cloid=cloid,
        )

    def place(
        self, user: str, req: OrderRequest, now_ms: int, tx_hash: str, replacing: RestingOrder | None = None
    ) -> JsonDict:
        """Validate, match and rest one order; returns its venue status object."""
        checked = self._check(user, req, replacing)
        if isinstance(checked, str):
            return {"error": checked}
        px, sz = checked
        cloid = req.cloid
        if replacing is not None:
            cloid = cloid if cloid is not None else replacing.cloid
            self.close_order(replacing, "canceled", now_ms)
        order = self._new_order(user, req, px, sz, oid=self._next_oid, now_ms=now_ms, cloid=cloid)
        self._next_oid += 1
        self.orders.add(order)
        filled, notional = self._match(order, now_ms, tx_hash)
        ids: JsonDict = {"oid": order.oid} if cloid is None else {"oid": order.oid, "cloid": cloid}
        if order.sz == 0 or (order.tif == "Ioc" and filled > 0):
            self.close_order(order, "filled" if order.sz == 0 else "canceled", now_ms)
            status: JsonDict = {
                "filled": {"totalSz": fmt(filled), "avgPx": fmt(notional / filled, w.PX_PLACES), **ids}
            }
        elif order.tif == "Ioc":
            self.close_order(order, "iocCancelRejected", now_ms)
            status = {"error": w.IOC_CANCEL}
        else:
            self.books[order.asset].own_side(order.is_buy).add(order)
            self._dirty.add(order.asset)
            self.events.order_updates(user, [OrderRecord(order, "open", now_ms).update()])
            status = {"resting": ids}
        if filled > 0:
            self._sweep_reduce_only(user, order.asset, now_ms)
        return status

    def _crosses(self, order: RestingOrder, maker_px: Decimal) -> bool:
        return maker_px <= order.limit_px if order.is_buy else maker_px >= order.limit_px

    def _match(self, order: RestingOrder, now_ms: int, tx_hash: str) -> tuple[Decimal, Decimal]:
        opposite = self.books[order.asset].opposite(order.is_buy)
        fills: dict[str, list[JsonDict]] = {}
        trades: list[JsonDict] = []
        filled = notional = ZERO
        while order.sz > 0:
            maker = opposite.front()
            if maker is None or not self._crosses(order, maker.limit_px):
                break
            if maker.user == order.user:
                self.close_order(maker, "selfTradeCanceled", now_ms)
                continue
            qty = min(order.sz, maker.sz)
            tid = self._trade(order, maker, qty, now_ms=now_ms, tx_hash=tx_hash, fills=fills)
            trades.append(
                {
                    "coin": order.coin,
                    "side": "B" if order.is_buy else "A",
                    "px": fmt(maker.limit_px),
                    "sz": fmt(qty),
                    "hash": tx_hash,
                    "time": now_ms,
                    "tid": tid,
                    "users": [order.user, maker.user] if order.is_buy else [maker.user, order.user],
                }
            )
            filled += qty
            notional += qty * maker.limit_px
            self._sweep_reduce_only(maker.user, order.asset, now_ms)
        for user, user_fills in fills.items():
            self.events.fills(user, user_fills)
        if trades:
            self.events.market("trades", order.coin, trades)
        return filled, notional

    def _trade(
        self,
        taker: RestingOrder,
        maker: RestingOrder,
        qty: Decimal,
        *,
        now_ms: int,
        tx_hash: str,
        fills: dict[str, list[JsonDict]],
    ) -> int:
        """Book one match for both sides; returns the trade id."""
        px, asset = maker.limit_px, maker.asset
        tid = self._next_tid
        self._next_tid += 1
        fees = self.config.fees
        for order, rate, crossed in ((taker, fees.taker_rate, True), (maker, fees.maker_rate, False)):
            fee = w.micro(px * qty * rate)
            effect = apply_fill(self.accounts[order.user], asset, is_buy=order.is_buy, px=px, sz=qty, fee=fee)
            fill = Fill(
                coin=order.coin,
                px=px,
                sz=qty,
                is_buy=order.is_buy,
                time=now_ms,
                start_position=effect.start_position,
                direction=effect.direction,
                closed_pnl=effect.closed_pnl,
                hash=tx_hash,
                oid=order.oid,
                crossed=crossed,
                fee=fee,
                tid=tid,
                cloid=order.cloid,
            )
            history = self.fills.get(order.user)
            if history is None:
                history = self.fills[order.user] = deque(maxlen=self.config.max_history)
            history.append(fill)
            fills.setdefault(order.user, []).append(fill.wire())
        taker.sz -= qty
        maker.sz -= qty
        if maker.sz == 0:
            self.close_order(maker, "filled", now_ms)
        self.last_px[asset] = px
        hour = now_ms // HOUR_MS
        ntl, base = self._volume[asset].get(hour, (ZERO, ZERO))
        self._volume[asset][hour] = (ntl + px * qty, base + qty)
        self._dirty.add(asset)
        return tid

    def _sweep_reduce_only(self, user: str, asset: int, now_ms: int) -> None:
        """Shrink or cancel the user's resting reduce-only orders after their position changed."""
        position = self.accounts[user].positions.get(asset)
        szi = ZERO if position is None else position.szi
        for order in self.orders.of_user(user):
            if order.asset != asset or not order.reduce_only:
                continue
            if szi == 0 or (szi > 0) == order.is_buy:
                self.close_order(order, "reduceOnlyCanceled", now_ms)
            elif order.sz > abs(szi):
                order.sz = abs(szi)
                self._dirty.add(asset)

    def close_order(self, order: RestingOrder, status: str, now_ms: int) -> OrderRecord:
        """Take an order off the book with a final status and tell its owner."""
        self.books[order.asset].own_side(order.is_buy).remove(order)
        record = self.orders.close(order, status, now_ms)
        self.events.order_updates(order.user, [record.update()])
        if status in _NON_USER_CANCELS:
            self.events.non_user_cancel(order.user, [{"coin": order.coin, "oid": order.oid}])
        self._dirty.add(order.asset)
        return record

    def cancel(self, user: str, asset: int, oid: int, now_ms: int) -> bool:
        """User cancel of one open order; False if it is not the user's open order on ``asset``."""
        order = self.orders.open.get(oid)
        if order is None or order.user != user or order.asset != asset:
            return False
        self.close_order(order, "canceled", now_ms)
        return True

    def find_open(self, user: str, target: int | str) -> RestingOrder | None:
        """The user's open order with this oid or cloid."""
        oid = self.orders.oid_of(user, target) if isinstance(target, str) else target
        order = None if oid is None else self.orders.open.get(oid)
        return order if order is not None and order.user == user else None

    def cancel_all(self, user: str, status: str, now_ms: int) -> int:
        """Cancel every open order of the user with ``status``; returns how many."""
        orders = self.orders.of_user(user)
        for order in orders:
            self.close_order(order, status, now_ms)
        return len(orders)

    # ---- market data ----

    def l2_book(self, asset: int, now_ms: int, sig_figs: int | None = None) -> JsonDict:
        """``l2Book`` snapshot: up to 20 aggregated levels per side."""
        book = self.books[asset]
        sides = []
        for side in (book.bids, book.asks):
            levels = aggregate(side.levels(), sig_figs, is_bid=side.is_bid, limit=L2_LEVELS)
            sides.append([{"px": fmt(px), "sz": fmt(sz), "n": n} for px, sz, n in levels])
        return {"coin": self.assets[asset].name, "time": now_ms, "levels": sides}

    def all_mids(self) -> dict[str, str]:
        """Book mid per coin (mark when a side is empty)."""
        out = {}
        for asset, config in enumerate(self.assets):
            mid = self.books[asset].mid()
            out[config.name] = fmt(self.mark(asset) if mid is None else mid)
        return out

    def publish(self, now_ms: int) -> None:
        """Emit l2Book / bbo / allMids for assets that changed since the last publish."""
        for asset in sorted(self._dirty):
            coin = self.assets[asset].name
            snapshot = self.l2_book(asset, now_ms)
            self.events.market("l2Book", coin, snapshot)
            bbo = [side[0] if side else None for side in snapshot["levels"]]
            if bbo != self._last_bbo[asset]:
                self._last_bbo[asset] = bbo
                self.events.market("bbo", coin, {"coin": coin, "time": now_ms, "bbo": bbo})
        self._dirty.clear()
        mids = self.all_mids()
        if mids != self._last_mids:
            self._last_mids = mids
            self.events.all_mids(mids)

    def record_hour(self, now_ms: int) -> None:
        """Remember the hour's mark (for prevDayPx) and forget volume older than a day."""
        hour = now_ms // HOUR_MS
        for asset in range(len(self.assets)):
            self._hour_marks[asset][hour] = self.mark(asset)
            for table in (self._hour_marks[asset], self._volume[asset]):
                for old in [key for key in table if key < hour - 25]:
                    del table[old]

    def day_stats(self, asset: int, now_ms: int) -> tuple[Decimal, Decimal, Decimal]:
        """(prevDayPx, dayNtlVlm, dayBaseVlm) over the last 24 hours."""
        hour = now_ms // HOUR_MS
        marks = self._hour_marks[asset]
        prev = marks.get(hour - 24)
        if prev is None:
            prev = marks[min(marks)] if marks else self.assets[asset].start_px
        recent = [value for key, value in self._volume[asset].items() if key > hour - 24]
        return prev, sum((v[0] for v in recent), ZERO), sum((v[1] for v in recent), ZERO)

    def open_interest(self, asset: int) -> Decimal:
        """Sum of long sizes."""
        total = ZERO
        for account in self.accounts.values():
            position = account.positions.get(asset)
            if position is not None and position.szi > 0:
                total += position.szi
        return total
