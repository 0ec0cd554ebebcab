"""The simulated venue's answers in the venue interface's own types, so every simulated decision goes
through the trading core and the order ledger exactly as live: sends are answered `Resting`,
`Executed`, `Rejected` (in the venue's words) or `Canceled`; fills arrive as `OrderFilled` with trade
ids; reconciliation reads a `VenueSnapshot` and targeted `order_status` queries.

Sizes at the venue are exact: each order's remaining size is kept as a Decimal next to the float book
(`OurBook` works in floats for speed), and a partial fill is rounded to whole lots, so the ledger and
the venue agree to the last unit.
"""

from __future__ import annotations

from decimal import Decimal

from keeper.core.types import Side
from keeper.core.venue import (
    MarginReport,
    NotFound,
    OrderFilled,
    OrderReport,
    OrderRequest,
    OrderState,
    PositionReport,
    VenueSnapshot,
)
from keeper.sim._book import Fill, OurBook

POST_ONLY_CROSS = "Post only order would have immediately matched"
NOT_RESTING = "Order was never placed, already canceled, or filled."
CANNOT_MODIFY = "Cannot modify canceled or filled order"
IOC_NO_MATCH = "Order could not immediately match against any resting orders."


class SimVenueState:
    """What the venue knows beyond the float book: exact remaining sizes, originals, fills to report."""

    def __init__(self, market: str, lot: Decimal, start_position: Decimal) -> None:
        self.market = market
        self.lot = lot
        self._lot_f = float(lot)
        self.position = start_position  # exact, from the fills (the engine keeps a float twin)
        self.remaining: dict[str, Decimal] = {}
        self.requests: dict[str, OrderRequest] = {}
        self.unreported: list[OrderFilled] = []  # fills since the last snapshot
        self._trades = 0

    def rested(self, request: OrderRequest) -> None:
        self.remaining[request.client_id] = request.size
        self.requests[request.client_id] = request

    def gone(self, client_id: str) -> None:
        self.remaining.pop(client_id, None)
        self.requests.pop(client_id, None)

    def fill_event(self, fill: Fill, book: OurBook, fee_rate: float, ts_ms: int) -> OrderFilled | None:
        """The exact fill of one book fill; None when it rounds below a lot (the float residue)."""
        left = self.remaining.get(fill.order_id)
        if left is None:
            return None
        if fill.order_id in book.orders:
            size = min(left, Decimal(round(fill.size / self._lot_f)) * self.lot)
        else:
            size = left  # the book took all of it
        if size <= 0:
            return None
        request = self.requests[fill.order_id]
        if size >= left:
            self.gone(fill.order_id)
        else:
            self.remaining[fill.order_id] = left - size
        return self.trade(
            fill.order_id, request.side, request.price, size, fee_rate=fee_rate, ts_ms=ts_ms, maker=True
        )

    def trade(
        self,
        client_id: str | None,
        side: Side,
        price: Decimal,
        size: Decimal,
        *,
        fee_rate: float,
        ts_ms: int,
        maker: bool,
    ) -> OrderFilled:
        self._trades += 1
        self.position += side.sign * size
        event = OrderFilled(
            client_id=client_id,
            venue_order_id=client_id or "venue",
            trade_id=f"t{self._trades}",
            market=self.market,
            side=side,
            price=price,
            size=size,
            fee=Decimal(repr(round(float(size * price) * fee_rate, 8))),
            maker=maker,
            ts_ms=ts_ms,
        )
        self.unreported.append(event)
        return event

    def snapshot(self, book: OurBook, equity: float, ts_ms: int) -> VenueSnapshot:
        """Everything as it is now (a simulated venue answers instantly and completely)."""
        reports = tuple(self._report(o.order_id, ts_ms) for o in book if o.order_id in self.remaining)
        fills, self.unreported = tuple(self.unreported), []
        positions = (PositionReport(market=self.market, size=self.position),) if self.position else ()
        return VenueSnapshot(
            ts_ms=ts_ms,
            open_orders=reports,
            positions=positions,
            margin=MarginReport(equity=Decimal(repr(round(equity, 6))), margin_used=Decimal(0)),
            fills=fills,
        )

    def order_status(self, client_id: str, ts_ms: int) -> OrderReport | NotFound:
        if client_id in self.remaining:
            return self._report(client_id, ts_ms)
        return NotFound(final=True)  # the simulated venue knows every request it ever processed

    def _report(self, client_id: str, ts_ms: int) -> OrderReport:
        request = self.requests[client_id]
        left = self.remaining[client_id]
        return OrderReport(
            client_id=client_id,
            venue_order_id=client_id,
            market=self.market,
            side=request.side,
            price=request.price,
            size=left,
            original_size=request.size,
            state=OrderState.PARTIALLY_FILLED if left < request.size else OrderState.ACCEPTED,
            ts_ms=ts_ms,
        )
