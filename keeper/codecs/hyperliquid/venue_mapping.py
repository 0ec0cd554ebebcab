"""Mapping between the core venue interface (:mod:`keeper.core.venue`) and Hyperliquid wire types.

Pure: no I/O, clock or randomness (times and the session's cloid prefix are inputs), so the adapter,
the simulator and the tests share it.

- Ids: :class:`CloidMap` gives every client id a deterministic cloid ``0x`` + 8-byte session prefix +
  8-byte counter and maps cloids back; a cloid of another session (or one forgotten) maps to None.
- Orders: :func:`order_wire` (POST_ONLY -> Alo, IOC -> Ioc, GTC -> Gtc). The request must already be
  on the market's tick (``10**-(6 - szDecimals)``) and lot (``10**-szDecimals``), else ValueError;
  the venue's 5-significant-figure rule is then applied by rounding away from the book (bids down,
  asks up), so the rounding only ever widens a quote.
- Outcomes: Resting -> Resting, Filled -> Executed, Refused -> Rejected, Unknown -> Unknown
  (``unsent`` = the venue provably did not process it).
- Order statuses: :func:`status_family` sorts the venue's status strings into open / filled /
  canceled / rejected / triggered / unknown (an unknown status is never taken for a reject).
- Events: WS events -> core events live in :mod:`keeper.codecs.hyperliquid.venue_events`.
- Reports: open orders, clearinghouse state and ``orderStatus`` replies for reconciliation. A
  report number that is not finite or absurdly large (:func:`~keeper.core.md_guard.sane_number`)
  raises :class:`InfoDecodeError`: reconciliation must not take a NaN position or order size.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Container, Iterable
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Literal

import msgspec

from keeper.codecs.hyperliquid import exchange_responses as hl
from keeper.codecs.hyperliquid.info_types import (
    ClearinghouseState,
    InfoDecodeError,
    Meta,
    OpenOrder,
    OrderStatusResponse,
)
from keeper.codecs.hyperliquid.order_builders import limit_order
from keeper.codecs.hyperliquid.wire_numbers import MAX_PRICE_SIG_FIGS, PERP_MAX_DECIMALS, round_price
from keeper.codecs.hyperliquid.wire_types import OrderWire, Tif
from keeper.core import venue as core
from keeper.core.md_guard import sane_number
from keeper.core.types import Side

HOUR_MS = 3_600_000
MIN_ORDER_NOTIONAL = Decimal(10)  # the venue refuses orders under $10 ("MinTradeNtl")
_PREFIX = re.compile(r"(?:0x)?([0-9a-fA-F]{16})")
_COUNTER_MAX = 2**64 - 1
_TIFS: dict[core.TimeInForce, Tif] = {
    core.TimeInForce.POST_ONLY: "Alo",
    core.TimeInForce.IOC: "Ioc",
    core.TimeInForce.GTC: "Gtc",
}

# ---- ids ---------------------------------------------------------------------------------------


class CloidMap:
    """Client id <-> cloid for one session: ``0x`` + 16 hex prefix digits + 16 hex counter digits.

    Deterministic: the n-th new client id gets counter ``start + n``. Bounded: beyond ``capacity``
    the oldest pairs are forgotten (their cloids then map to None, like another session's).
    """

    def __init__(self, session_prefix: str, *, capacity: int = 100_000, start: int = 0) -> None:
        match = _PREFIX.fullmatch(session_prefix) if isinstance(session_prefix, str) else None
        if match is None:
            raise ValueError(f"session prefix must be 8 bytes of hex (16 digits), got {session_prefix!r}")
        if capacity < 1 or not 0 <= start <= _COUNTER_MAX:
            raise ValueError("capacity must be >= 1 and start a uint64")
        self.prefix = match.group(1).lower()
        self._head = "0x" + self.prefix
        self._capacity = capacity
        self._next = start
        self._by_client: OrderedDict[str, str] = OrderedDict()
        self._by_cloid: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._by_client)

    def cloid_for(self, client_id: str) -> str:
        """The cloid of ``client_id``, assigning the next one on first use."""
        cloid = self._by_client.get(client_id)
        if cloid is not None:
            return cloid
        if self._next > _COUNTER_MAX:
            raise ValueError("cloid counter exhausted for this session prefix")
        cloid = f"{self._head}{self._next:016x}"
        self._next += 1
        self._by_client[client_id] = cloid
        self._by_cloid[cloid] = client_id
        while len(self._by_client) > self._capacity:
            _, old = self._by_client.popitem(last=False)
            self._by_cloid.pop(old, None)
        return cloid

    def cloid_of(self, client_id: str) -> str | None:
        """The cloid already assigned to ``client_id`` (None: never sent, or forgotten)."""
        return self._by_client.get(client_id)

    def client_id_of(self, cloid: str | None) -> str | None:
        """Our client id of ``cloid``; None for no cloid, another session's, or a forgotten one."""
        if cloid is None:
            return None
        cloid = cloid.lower()
        if not cloid.startswith(self._head):
            return None
        return self._by_cloid.get(cloid)


# ---- markets and orders ------------------------------------------------------------------------


def price_step(price: Decimal, sz_decimals: int) -> Decimal:
    """The perp price step at ``price``: the ``6 - szDecimals`` decimals tick, coarsened by the
    5-significant-figure rule (at 2,000: 0.1; at 20,000: 1), never coarser than 1 (integer prices are
    always valid)."""
    tick = Decimal(1).scaleb(-(PERP_MAX_DECIMALS - sz_decimals))
    if not price.is_finite() or price <= 0:
        return tick
    sig_fig_step = Decimal(1).scaleb(price.adjusted() - (MAX_PRICE_SIG_FIGS - 1))
    return max(tick, min(Decimal(1), sig_fig_step))


class HlMarket(msgspec.Struct, frozen=True, kw_only=True):
    """One perp market as the adapter trades it: asset id (meta index) and szDecimals."""

    coin: str
    asset: int
    sz_decimals: int

    @property
    def tick(self) -> Decimal:
        """The finest price step the venue allows at any price (``6 - szDecimals`` decimals)."""
        return Decimal(1).scaleb(-(PERP_MAX_DECIMALS - self.sz_decimals))

    @property
    def lot(self) -> Decimal:
        return Decimal(1).scaleb(-self.sz_decimals)

    def tick_at(self, price: Decimal) -> Decimal:
        """The price step at ``price`` (see :func:`price_step`)."""
        return price_step(price, self.sz_decimals)

    def spec(self, price: Decimal | None = None) -> core.MarketSpec:
        """The core spec; its tick is :meth:`tick_at` the given price (the decimals tick without one).
        The quoting loop re-reads it as the price moves: crossing a power of ten changes the step."""
        return core.MarketSpec(
            market=self.coin,
            tick=self.tick if price is None else self.tick_at(price),
            lot=self.lot,
            min_notional=MIN_ORDER_NOTIONAL,
            funding_interval_s=HOUR_MS / 1000,
        )


def markets_from_meta(meta: Meta, coins: Iterable[str]) -> dict[str, HlMarket]:
    """The markets ``coins`` from ``meta`` (asset id = universe index); ValueError if one is missing,
    delisted or has a szDecimals outside the perp range (0..6: the tick would make no sense)."""
    index = {asset.name: (i, asset) for i, asset in enumerate(meta.universe)}
    markets: dict[str, HlMarket] = {}
    for coin in coins:
        found = index.get(coin)
        if found is None:
            raise ValueError(f"market {coin!r} is not in the venue's meta universe")
        asset_id, asset = found
        if asset.is_delisted:
            raise ValueError(f"market {coin!r} is delisted")
        if not 0 <= asset.sz_decimals <= PERP_MAX_DECIMALS:
            raise ValueError(
                f"market {coin!r} has szDecimals {asset.sz_decimals} outside 0..{PERP_MAX_DECIMALS}"
            )
        markets[coin] = HlMarket(coin=coin, asset=asset_id, sz_decimals=asset.sz_decimals)
    return markets


def wire_price(price: Decimal, sz_decimals: int) -> Decimal:
    """``price`` checked against the venue's price rules; ValueError if it would have to be rounded
    (off the ``10**-(6 - szDecimals)`` tick, or more than 5 significant figures and not an integer).

    Nothing is rounded here: the order the ledger records must be the order that rests. The caller
    quotes on :meth:`HlMarket.tick_at` the current price, which satisfies both rules.
    """
    tick = Decimal(1).scaleb(-(PERP_MAX_DECIMALS - sz_decimals))
    try:
        on_tick = price.is_finite() and price > 0 and price % tick == 0
    except InvalidOperation:  # too many digits for the decimal context: no venue price anyway
        on_tick = False
    if not on_tick:
        raise ValueError(
            f"price {price} is not a positive multiple of the tick {tick} (szDecimals={sz_decimals})"
        )
    if price != round_price(price, sz_decimals, rounding=ROUND_FLOOR):
        raise ValueError(
            f"price {price} has more than {MAX_PRICE_SIG_FIGS} significant figures; the step at this price "
            f"is {price_step(price, sz_decimals)}"
        )
    return price


def order_wire(request: core.OrderRequest, market: HlMarket, cloid: str) -> OrderWire:
    """The wire order of ``request`` under ``cloid``; ValueError if its price is off tick or its size
    off lot or breaks the 5-significant-figure rule (nothing is rounded, see :func:`wire_price`)."""
    if request.market != market.coin:
        raise ValueError(f"order {request.client_id}: market {request.market!r} is not {market.coin!r}")
    try:
        return limit_order(
            asset=market.asset,
            is_buy=request.side is Side.BUY,
            price=wire_price(request.price, market.sz_decimals),
            size=request.size,
            sz_decimals=market.sz_decimals,
            tif=_TIFS[request.tif],
            reduce_only=request.reduce_only,
            cloid=cloid,
        )
    except ValueError as exc:
        raise ValueError(f"order {request.client_id}: {exc}") from exc


# ---- outcomes ----------------------------------------------------------------------------------


def submit_outcome(outcome: hl.OrderOutcome) -> core.SubmitOutcome:
    """Core outcome of one order (or batchModify) item."""
    if isinstance(outcome, hl.Resting):
        return core.Resting(venue_order_id=str(outcome.oid))
    if isinstance(outcome, hl.Filled):
        return core.Executed(
            venue_order_id=str(outcome.oid), filled_size=outcome.total_sz, avg_price=outcome.avg_px
        )
    if isinstance(outcome, hl.Refused):
        return core.Rejected(reason=outcome.message)
    return core.Unknown(reason=outcome.reason, unsent=outcome.retryable)


def cancel_outcome(outcome: hl.CancelOutcome) -> core.CancelOutcome:
    """Core outcome of one cancel item."""
    if isinstance(outcome, hl.Canceled):
        return core.Canceled()
    if isinstance(outcome, hl.Refused):
        return core.Rejected(reason=outcome.message)
    return core.Unknown(reason=outcome.reason, unsent=outcome.retryable)


# ---- order statuses ----------------------------------------------------------------------------

StatusFamily = Literal["open", "filled", "canceled", "rejected", "triggered", "unknown"]
# Cancels that do not follow the "*Canceled" naming (hyperliquid-api.md §3.1 status list).
_CANCEL_STATUSES = frozenset({"canceled", "scheduledCancel", "internalCancel"})
_PLAIN_STATUSES: dict[str, StatusFamily] = {"open": "open", "filled": "filled", "triggered": "triggered"}


def status_family(status: str) -> StatusFamily:
    """Which kind of order status the venue reports: e.g. "marginCanceled" -> canceled,
    "badAloPxRejected" -> rejected; anything unrecognised -> unknown (never a reject)."""
    plain = _PLAIN_STATUSES.get(status)
    if plain is not None:
        return plain
    if status in _CANCEL_STATUSES or status.endswith("Canceled"):
        return "canceled"
    if status == "rejected" or status.endswith("Rejected"):
        return "rejected"
    return "unknown"


_STATES: dict[StatusFamily, core.OrderState] = {
    "filled": core.OrderState.FILLED,
    "canceled": core.OrderState.CANCELED,
    "rejected": core.OrderState.REJECTED,
    "unknown": core.OrderState.UNKNOWN,
}


def side_of(side: str) -> Side:
    """The venue's "B" (bid, buy) / "A" (ask, sell)."""
    return Side.BUY if side == "B" else Side.SELL


# ---- reports -----------------------------------------------------------------------------------


def require_sane(what: str, *values: Decimal | None) -> None:
    """InfoDecodeError unless every given number is finite and of a sane magnitude (None: absent)."""
    for value in values:
        if value is not None and not sane_number(value):
            raise InfoDecodeError(f"{what}: number out of range or not finite: {value}")


def order_report(
    order: OpenOrder, cloids: CloidMap, *, status: str = "open", ts_ms: int | None = None
) -> core.OrderReport:
    """An ``openOrders`` / ``frontendOpenOrders`` row (or an ``orderStatus`` order) as a report.

    ``sz`` is what remains; ``origSz`` (absent in old replies) defaults to it. An open order with
    something filled is PARTIALLY_FILLED; a "triggered" order counts as open.
    """
    require_sane(f"order {order.oid}", order.limit_px, order.sz, order.orig_sz)
    original = order.orig_sz if order.orig_sz is not None else order.sz
    family = status_family(status)
    if family in ("open", "triggered"):
        state = core.OrderState.PARTIALLY_FILLED if order.sz < original else core.OrderState.ACCEPTED
    else:
        state = _STATES[family]
    return core.OrderReport(
        client_id=cloids.client_id_of(order.cloid),
        venue_order_id=str(order.oid),
        market=order.coin,
        side=side_of(order.side),
        price=order.limit_px,
        size=order.sz,
        original_size=original,
        state=state,
        ts_ms=order.timestamp if ts_ms is None else ts_ms,
    )


def order_status_report(
    response: OrderStatusResponse, cloids: CloidMap, *, final: bool
) -> core.OrderReport | core.NotFound:
    """An ``orderStatus`` reply: the order with its status, or NotFound (``final`` is the caller's
    proof that the request can no longer land, e.g. its expiresAfter passed)."""
    detail = response.order
    if response.status != "order" or detail is None:
        return core.NotFound(final=final)
    return order_report(detail.order, cloids, status=detail.status, ts_ms=detail.status_timestamp)


def account_reports(state: ClearinghouseState) -> tuple[list[core.PositionReport], core.MarginReport]:
    """Non-zero positions and the account's margin. The mark is positionValue / |szi| (the venue
    values positions at the mark and does not report it per position)."""
    positions = []
    for asset_position in state.asset_positions:
        p = asset_position.position
        require_sane(
            f"position {p.coin}", p.szi, p.entry_px, p.position_value, p.liquidation_px, p.unrealized_pnl
        )
        if p.szi == 0:
            continue
        positions.append(
            core.PositionReport(
                market=p.coin,
                size=p.szi,
                entry_price=p.entry_px,
                mark_price=p.position_value / abs(p.szi),
                liquidation_price=p.liquidation_px,
                unrealized_pnl=p.unrealized_pnl,
            )
        )
    summary = state.margin_summary
    require_sane(
        "margin",
        summary.account_value,
        summary.total_margin_used,
        state.cross_maintenance_margin_used,
        state.withdrawable,
    )
    margin = core.MarginReport(
        equity=summary.account_value,
        margin_used=summary.total_margin_used,
        maintenance_margin=state.cross_maintenance_margin_used or Decimal(0),
        withdrawable=state.withdrawable,
    )
    return positions, margin


def open_order_reports(
    orders: Iterable[OpenOrder], cloids: CloidMap, markets: Container[str]
) -> list[core.OrderReport]:
    """Reports of the open orders on ``markets`` (other markets are not ours to reconcile)."""
    return [order_report(o, cloids) for o in orders if o.coin in markets]


__all__ = [
    "HOUR_MS",
    "MIN_ORDER_NOTIONAL",
    "CloidMap",
    "HlMarket",
    "StatusFamily",
    "account_reports",
    "cancel_outcome",
    "markets_from_meta",
    "open_order_reports",
    "order_report",
    "order_status_report",
    "order_wire",
    "price_step",
    "require_sane",
    "side_of",
    "status_family",
    "submit_outcome",
    "wire_price",
]
