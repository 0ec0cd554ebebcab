"""The venue interface both venue kinds implement: requests, outcomes, events, reconciliation reports.

Pure types plus one `Venue` protocol. The API venue (Hyperliquid) and the contract venue (the reference
perp DEX) sit behind it; the quoting loop, the order ledger and the simulator speak only these types.

Order outcome policy (NautilusTrader's): a request is `Rejected` only on definitive evidence from the
venue (a per-order error string, a revert decoded to a known reason). Timeouts, transport errors,
rate limits, 5xx, a reply without a per-order status: `Unknown`. An unknown order stays UNKNOWN in the
ledger until a fill, an order update or reconciliation settles it; nothing turns it into a reject by
waiting.

Ids: `client_id` is ours (the maker's `o17`); the venue maps it to its own client-order id (a
Hyperliquid cloid, an on-chain order id) and reports both back. `venue_order_id` is the venue's id as
a string. Times are Unix milliseconds as the venue stamps them; the ledger takes "now" as an argument.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Protocol

import msgspec

from keeper.core.quote import SettlementModel
from keeper.core.types import Side

ZERO = Decimal(0)


class TimeInForce(enum.Enum):
    """GTC rests; POST_ONLY (Hyperliquid "Alo") is refused rather than crossing; IOC never rests."""

    GTC = "gtc"
    POST_ONLY = "post_only"
    IOC = "ioc"


class _Msg(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the interface's value types."""


# --- requests -----------------------------------------------------------------------------------


class OrderRequest(_Msg, frozen=True, kw_only=True):
    """A limit order. Price and size are already on the market's tick and lot."""

    client_id: str
    market: str
    side: Side
    price: Decimal
    size: Decimal
    tif: TimeInForce = TimeInForce.POST_ONLY
    reduce_only: bool = False

    def __post_init__(self) -> None:
        if self.price <= 0 or self.size <= 0:
            raise ValueError(f"order {self.client_id}: price and size must be > 0")


class CancelRequest(_Msg, frozen=True, kw_only=True):
    """`venue_order_id` (when known) lets the venue cancel an order another process sent (adopted)."""

    client_id: str
    market: str
    venue_order_id: str | None = None


class ReplaceRequest(_Msg, frozen=True, kw_only=True):
    """Swap a resting order for `new` in one venue operation (Hyperliquid modify). The replacement has
    its own client id: an outcome or fill always names exactly one order."""

    client_id: str
    new: OrderRequest
    venue_order_id: str | None = None  # of the old order, as for a cancel


# --- outcomes of a send (one per request, in request order) -------------------------------------


class Resting(_Msg, frozen=True, kw_only=True, tag="resting"):
    """The order rests on the book."""

    venue_order_id: str


class Executed(_Msg, frozen=True, kw_only=True, tag="executed"):
    """Filled on arrival, fully or (IOC) partly; the fills themselves arrive as `OrderFilled` events."""

    venue_order_id: str
    filled_size: Decimal
    avg_price: Decimal


class Rejected(_Msg, frozen=True, kw_only=True, tag="rejected"):
    """Definitive refusal by the venue; `reason` is its own words."""

    reason: str


class Unknown(_Msg, frozen=True, kw_only=True, tag="unknown"):
    """Not provable either way. `unsent`: provably never reached the venue (safe to resend)."""

    reason: str
    unsent: bool = False


class Canceled(_Msg, frozen=True, kw_only=True, tag="canceled"):
    """The cancel took effect."""


SubmitOutcome = Resting | Executed | Rejected | Unknown
CancelOutcome = Canceled | Rejected | Unknown


# --- events (streamed by the venue, or inferred in reconciliation) -------------------------------


class OrderAccepted(_Msg, frozen=True, kw_only=True, tag="accepted"):
    client_id: str | None
    venue_order_id: str
    market: str
    ts_ms: int


class OrderCanceled(_Msg, frozen=True, kw_only=True, tag="order_canceled"):
    """Closed without (further) fills: by us, by the dead-man switch, or by the venue (margin, ALO)."""

    client_id: str | None
    venue_order_id: str
    market: str
    ts_ms: int
    reason: str = "canceled"


class OrderRejected(_Msg, frozen=True, kw_only=True, tag="order_rejected"):
    """A rejection the venue reports asynchronously (the synchronous one is the `Rejected` outcome)."""

    client_id: str | None
    venue_order_id: str | None
    market: str
    ts_ms: int
    reason: str


class OrderFilled(_Msg, frozen=True, kw_only=True, tag="filled"):
    """One fill of one of our orders. `trade_id` is unique per venue (fills are de-duplicated by it);
    `fee` is paid in quote currency (negative: a rebate)."""

    client_id: str | None
    venue_order_id: str
    trade_id: str
    market: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    maker: bool
    ts_ms: int


class FundingPaid(_Msg, frozen=True, kw_only=True, tag="funding"):
    """A funding settlement on our position: `amount` is the cash flow to us (negative: we paid)."""

    market: str
    amount: Decimal
    rate: Decimal
    position: Decimal
    ts_ms: int


class BookTop(_Msg, frozen=True, kw_only=True, tag="book_top"):
    """Best bid and ask (None: that side is empty)."""

    market: str
    bid: Decimal | None
    ask: Decimal | None
    bid_size: Decimal = ZERO
    ask_size: Decimal = ZERO
    ts_ms: int


class MarketContext(_Msg, frozen=True, kw_only=True, tag="market_context"):
    """Mark, oracle and the predicted funding rate per interval (> 0: longs pay)."""

    market: str
    mark: Decimal
    oracle: Decimal
    funding_rate: Decimal
    ts_ms: int
    next_funding_ms: int | None = None  # the next snapshot; None: unknown (the market spec's cadence)


class StreamGap(_Msg, frozen=True, kw_only=True, tag="stream_gap"):
    """The event stream was interrupted (reconnect); events may be missing: reconcile now."""

    reason: str
    ts_ms: int


VenueEvent = (
    OrderAccepted
    | OrderCanceled
    | OrderRejected
    | OrderFilled
    | FundingPaid
    | BookTop
    | MarketContext
    | StreamGap
)


# --- reconciliation reports ---------------------------------------------------------------------


class OrderState(enum.Enum):
    """Where an order stands, as we know it. UNKNOWN is not a terminal state."""

    SUBMITTED = "submitted"  # sent, no answer yet
    ACCEPTED = "accepted"  # resting, nothing filled
    PARTIALLY_FILLED = "partially_filled"  # resting, some filled
    PENDING_CANCEL = "pending_cancel"  # a cancel or replace is in flight
    UNKNOWN = "unknown"  # the send's outcome could not be proven
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def maybe_live(self) -> bool:
        """Could rest on the venue's book right now (UNKNOWN counts: worst case)."""
        return not self.terminal


_TERMINAL = frozenset({OrderState.FILLED, OrderState.CANCELED, OrderState.REJECTED})


class OrderReport(_Msg, frozen=True, kw_only=True):
    """An order as the venue lists it. `size` is what remains; `state` is the venue's verdict."""

    client_id: str | None
    venue_order_id: str
    market: str
    side: Side
    price: Decimal
    size: Decimal
    original_size: Decimal
    state: OrderState
    ts_ms: int


class NotFound(_Msg, frozen=True, kw_only=True):
    """The venue has no order under this id. `final`: it provably never will (the request expired
    unprocessed); otherwise the request may still land and the order stays UNKNOWN."""

    final: bool


class PositionReport(_Msg, frozen=True, kw_only=True):
    market: str
    size: Decimal  # signed: > 0 long
    entry_price: Decimal | None = None
    mark_price: Decimal | None = None
    liquidation_price: Decimal | None = None
    unrealized_pnl: Decimal = ZERO


class MarginReport(_Msg, frozen=True, kw_only=True):
    equity: Decimal  # account value including unrealised PnL
    margin_used: Decimal
    maintenance_margin: Decimal = ZERO
    withdrawable: Decimal = ZERO


class VenueSnapshot(_Msg, frozen=True, kw_only=True):
    """Everything reconciliation needs, read at `ts_ms`: open orders, positions, margin, recent fills."""

    ts_ms: int
    open_orders: tuple[OrderReport, ...]
    positions: tuple[PositionReport, ...]
    margin: MarginReport
    fills: tuple[OrderFilled, ...] = ()

    def position(self, market: str) -> Decimal:
        return next((p.size for p in self.positions if p.market == market), ZERO)


class MarketSpec(_Msg, frozen=True, kw_only=True):
    """What quoting needs to know about one market: tick and lot, and the funding cadence."""

    market: str
    tick: Decimal
    lot: Decimal
    min_notional: Decimal = ZERO
    funding_interval_s: float = 3600.0


# --- the interface ------------------------------------------------------------------------------


class Venue(Protocol):
    """One venue account. Every send returns one outcome per request, in request order, and never raises
    for a venue or transport failure (those are `Rejected` / `Unknown`)."""

    @property
    def name(self) -> str: ...

    async def connect(self) -> None:
        """Load markets, open the streams, subscribe; return once the first snapshot can be read."""

    async def close(self) -> None:
        """Stop the streams; leave resting orders as they are (the caller cancels first if it wants).
        A dead-man switch stays armed (it fires on its own) unless `allow_disarm` was called."""

    def allow_disarm(self) -> None:
        """The caller confirmed nothing of ours rests: `close` may clear the dead-man switch."""

    def market(self, market: str) -> MarketSpec: ...

    def settlement_model(self) -> SettlementModel:
        """What one order operation costs and how long it takes to take effect (τ as observed)."""

    async def submit(self, orders: Sequence[OrderRequest]) -> list[SubmitOutcome]:
        """Place orders in one venue operation where the venue batches (IOC is a time in force)."""

    async def cancel(self, cancels: Sequence[CancelRequest]) -> list[CancelOutcome]: ...

    async def replace(self, replaces: Sequence[ReplaceRequest]) -> list[SubmitOutcome]:
        """Outcomes are those of the replacement orders; a `Rejected` leaves the old order as it was."""

    async def cancel_all(self, market: str | None = None) -> None:
        """Best effort: every open order of the account (on `market`) is asked to cancel."""

    def events(self) -> AsyncIterator[VenueEvent]:
        """The event stream (market data for the connected markets, our orders, fills, funding)."""

    def stream_healthy(self) -> bool:
        """True while the event stream is connected with every subscription acknowledged. Says nothing
        about whether data is flowing: staleness is judged by the content's receive times."""

    def force_reconnect(self, reason: str) -> None:
        """Replace the stream's connection now (a silent feed); a `StreamGap` follows."""

    def clock_offset_ms(self) -> float | None:
        """Our clock minus the venue's, estimated from the venue's own timestamps; None: not known."""

    async def snapshot(self) -> VenueSnapshot:
        """Open orders, positions, margin and recent fills, read now."""

    async def order_status(self, client_id: str, market: str) -> OrderReport | NotFound:
        """One targeted query: asked before reconciliation declares an order gone."""


__all__ = [
    "BookTop",
    "CancelOutcome",
    "CancelRequest",
    "Canceled",
    "Executed",
    "FundingPaid",
    "MarginReport",
    "MarketContext",
    "MarketSpec",
    "NotFound",
    "OrderAccepted",
    "OrderCanceled",
    "OrderFilled",
    "OrderRejected",
    "OrderReport",
    "OrderRequest",
    "OrderState",
    "PositionReport",
    "Rejected",
    "ReplaceRequest",
    "Resting",
    "StreamGap",
    "SubmitOutcome",
    "TimeInForce",
    "Unknown",
    "Venue",
    "VenueEvent",
    "VenueSnapshot",
]
