"""Hyperliquid behind the core :class:`~keeper.core.venue.Venue` interface.

One account: actions are signed by ``signer`` (the master key or an approved agent) while user
streams and every read use the **master** address (an agent has no orders or fills of its own).
Each ``submit`` / ``cancel`` / ``replace`` is one ``/exchange`` action (order, cancelByCloid,
batchModify) returning one core outcome per request, in order; a venue or transport failure is an
outcome (``Rejected`` only on the venue's own error string, otherwise ``Unknown``), never an
exception. Requests that cannot be expressed on the wire (market not connected, price off tick,
size off lot, a replace or cancel of a client id this session never sent) are not sent and come
back ``Rejected`` with a reason starting "not sent:".

Every action carries ``expiresAfter = now + expires_after_ms``: once that time has passed the
venue can no longer execute it, which is what lets :meth:`HyperliquidVenue.order_status` call a
missing order final. Reads (``snapshot``, ``order_status``, the ``cancel_all`` listing) raise the
REST client's errors (and the codec's ``InfoDecodeError`` for a reply with a NaN or absurd number);
the caller retries them.

Market data is checked before use (:mod:`keeper.core.md_guard`, counters in ``md_stats``): a bad book
top or context is dropped, so data goes stale rather than wrong. Currency is judged by content:
:meth:`HyperliquidVenue.last_market_data_ms` / :meth:`~HyperliquidVenue.last_oracle_ms` are the local
receive times of the last valid messages, :meth:`~HyperliquidVenue.force_reconnect` replaces a socket
that is open but silent, and :meth:`~HyperliquidVenue.clock_offset_ms` compares our clock with the
venue's timestamps (an action stamped with a skewed clock expires or is refused).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from decimal import Decimal
from typing import TypeVar

from keeper.adapters._clock import Clock, WallClock
from keeper.adapters.hyperliquid._deadman import DeadManSwitch
from keeper.adapters.hyperliquid._errors import HyperliquidAdapterError
from keeper.adapters.hyperliquid._rest import HyperliquidRestClient
from keeper.adapters.hyperliquid._venue_reads import FILL_OVERLAP_MS, read_account
from keeper.adapters.hyperliquid._venue_streams import VenueEventStream
from keeper.adapters.hyperliquid._ws import EventHandler, HyperliquidWsClient, ReconnectHook
from keeper.codecs.hyperliquid import (
    Accepted,
    CancelOutcome,
    HttpOutcome,
    HyperliquidCodecError,
    OrderOutcome,
    OrderWire,
    PrivateKeySigner,
    Unknown,
    active_asset_ctx_subscription,
    batch_modify_action,
    bbo_subscription,
    cancel_action,
    cancel_by_cloid_action,
    order_action,
)
from keeper.codecs.hyperliquid import Canceled as HlCanceled
from keeper.codecs.hyperliquid.venue_events import MappingStats, VenueEventMapper, fill_event
from keeper.codecs.hyperliquid.venue_mapping import (
    CloidMap,
    HlMarket,
    account_reports,
    cancel_outcome,
    markets_from_meta,
    open_order_reports,
    order_status_report,
    order_wire,
    submit_outcome,
)
from keeper.core.md_guard import ClockOffsetEstimator, GuardConfig, GuardStats, MarketDataGuard
from keeper.core.quote import SettlementModel
from keeper.core.venue import CancelOutcome as CoreCancelOutcome
from keeper.core.venue import (
    CancelRequest,
    MarketSpec,
    NotFound,
    OrderReport,
    OrderRequest,
    Rejected,
    ReplaceRequest,
    SubmitOutcome,
    Venue,
    VenueEvent,
    VenueSnapshot,
)
from keeper.core.venue import Unknown as CoreUnknown

_log = logging.getLogger(__name__)

WsFactory = Callable[[EventHandler, ReconnectHook], HyperliquidWsClient]
DEFAULT_TAU_S = 0.2  # settlement delay assumed before the first round trip is measured
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_O = TypeVar("_O", OrderOutcome, CancelOutcome)
_Outcome = TypeVar("_Outcome", SubmitOutcome, CoreCancelOutcome)


def new_cloid_prefix() -> str:
    """A random 8-byte session prefix for cloids (16 hex digits)."""
    return secrets.token_hex(8)


def _ordered(slots: list[_Outcome | None]) -> list[_Outcome]:
    outcomes = [o for o in slots if o is not None]
    assert len(outcomes) == len(slots), "every request gets exactly one outcome"
    return outcomes


class HyperliquidVenue:
    """The Hyperliquid adapter of the core venue interface.

    **Parameters:** ``rest`` (closed by :meth:`close`), ``ws_url`` (or ``ws_factory`` building the
    WS client from the handler and the reconnect hook), ``signer`` (master or agent key),
    ``master_address``, ``markets`` (coin names), ``clock`` (expiresAfter, event stamps, the dead-man
    switch), ``cloid_prefix`` (16 hex digits; random by default), ``expires_after_ms``,
    ``expiry_grace_ms`` (clock skew allowance before an expired request counts as gone),
    ``dead_man_s`` (scheduleCancel window; None: off), ``asset_ctx`` (subscribe activeAssetCtx),
    ``max_batch`` (advertised in the settlement model), ``max_queue`` (event queue bound),
    ``md_guard`` (market-data limits: jump band, rebase rule, price bounds),
    ``clock_offset_window`` (samples in the clock-offset median).
    """

    def __init__(
        self,
        rest: HyperliquidRestClient,
        ws_url: str,
        signer: PrivateKeySigner,
        master_address: str,
        markets: Sequence[str],
        *,
        clock: Clock | None = None,
        cloid_prefix: str | None = None,
        expires_after_ms: int = 10_000,
        expiry_grace_ms: int = 1_000,
        dead_man_s: float | None = None,
        asset_ctx: bool = True,
        ws_factory: WsFactory | None = None,
        max_batch: int = 20,
        max_queue: int = 10_000,
        connect_timeout_s: float = 10.0,
        latency_alpha: float = 0.2,
        monotonic: Callable[[], float] = time.perf_counter,
        md_guard: GuardConfig | None = None,
        clock_offset_window: int = 64,
    ) -> None:
        if _ADDRESS.fullmatch(master_address) is None:
            raise ValueError(f"master_address must be 0x + 40 hex digits, got {master_address!r}")
        if not markets:
            raise ValueError("at least one market is needed")
        if expires_after_ms <= 0 or expiry_grace_ms < 0 or max_batch < 1 or not 0 < latency_alpha <= 1:
            raise ValueError("expires_after_ms > 0, expiry_grace_ms >= 0, max_batch >= 1, alpha in (0, 1]")
        self._rest = rest
        self._ws_url = ws_url
        self._signer = signer
        self._master = master_address.lower()
        self._coins = tuple(dict.fromkeys(markets))
        self._clock: Clock = clock if clock is not None else WallClock()
        self._cloids = CloidMap(cloid_prefix if cloid_prefix is not None else new_cloid_prefix())
        self._expires_after_ms = expires_after_ms
        self._grace_ms = expiry_grace_ms
        self._dead_man_s = dead_man_s
        self._last_snapshot_ms: int | None = None
        self._asset_ctx = asset_ctx
        self._ws_factory = ws_factory
        self._max_batch = max_batch
        self._connect_timeout_s = connect_timeout_s
        self._alpha = latency_alpha
        self._monotonic = monotonic
        self._stream = VenueEventStream(
            VenueEventMapper(self._cloids, self._coins),
            self._clock.now_ms,
            max_queue=max_queue,
            guard=MarketDataGuard(md_guard),
            clock_offset=ClockOffsetEstimator(clock_offset_window),
        )
        self._disarm_allowed = False
        self._markets: dict[str, HlMarket] = {}
        self._universe: dict[str, int] = {}  # every perp coin -> asset id (cancel_all of any market)
        self._sends: OrderedDict[str, tuple[int, bool]] = OrderedDict()  # client id -> (expiresAfter, unsent)
        self._ws: HyperliquidWsClient | None = None
        self._dead_man: DeadManSwitch | None = None
        self._latency_s: float | None = None

    # ---- introspection ----

    @property
    def name(self) -> str:
        return "hyperliquid"

    @property
    def master_address(self) -> str:
        return self._master

    @property
    def cloids(self) -> CloidMap:
        return self._cloids

    @property
    def ws(self) -> HyperliquidWsClient | None:
        return self._ws

    @property
    def dead_man(self) -> DeadManSwitch | None:
        return self._dead_man

    @property
    def event_stats(self) -> MappingStats:
        return self._stream.mapper.stats

    @property
    def dropped_events(self) -> int:
        return self._stream.dropped

    @property
    def md_stats(self) -> GuardStats:
        """Market data accepted and rejected (per reason), and rebases."""
        return self._stream.guard.stats

    @property
    def latency_s(self) -> float | None:
        """EWMA of action round trips (None before the first reply)."""
        return self._latency_s

    # ---- lifecycle ----

    async def connect(self) -> None:
        """Load meta, open the WS with bbo (+ activeAssetCtx) per market and the master's user streams,
        start the dead-man switch if configured."""
        if self._ws is not None:
            raise RuntimeError("already connected")
        meta = await self._rest.info("meta")
        self._markets = markets_from_meta(meta, self._coins)
        self._universe = {asset.name: i for i, asset in enumerate(meta.universe)}
        mids = await self._rest.info("allMids")  # the first price step, before any book arrives
        for coin in self._coins:
            if coin in mids:
                self._stream.seed_mid(coin, mids[coin])  # a NaN or absurd mid is refused and logged
        ws = self._make_ws(self._stream.on_ws_event, self._stream.on_reconnected)
        for coin in self._coins:  # stored now, sent (and acked) by start()
            await ws.subscribe(bbo_subscription(coin))
            if self._asset_ctx:
                await ws.subscribe(active_asset_ctx_subscription(coin))
        await ws.subscribe_user(self._master)
        await ws.start(self._connect_timeout_s)
        self._ws = ws
        if self._dead_man_s is not None:
            self._dead_man = DeadManSwitch(
                self._rest,
                self._signer,
                window_s=self._dead_man_s,
                now_ms=self._clock.now_ms,
                sleep=self._clock.sleep,
            )
            outcome = await self._dead_man.start()
            if not isinstance(outcome, Accepted):
                _log.warning("dead-man switch not armed yet (%r); it keeps retrying", outcome)

    def _make_ws(self, on_event: EventHandler, on_reconnected: ReconnectHook) -> HyperliquidWsClient:
        if self._ws_factory is not None:
            return self._ws_factory(on_event, on_reconnected)
        return HyperliquidWsClient(self._ws_url, on_event=on_event, on_reconnected=on_reconnected)

    def allow_disarm(self) -> None:
        """The caller confirmed that nothing of ours rests: :meth:`close` may clear the dead-man switch."""
        self._disarm_allowed = True

    async def close(self) -> None:
        """Stop the dead-man switch (cleared on the venue only after :meth:`allow_disarm`, else left
        armed to fire on its own), close the WS and the REST client, end :meth:`events`."""
        dead_man, self._dead_man = self._dead_man, None
        if dead_man is not None:
            try:
                if self._disarm_allowed:
                    await dead_man.stop()
                else:
                    await dead_man.halt()
            except Exception:  # closing must go on: the switch then fires on its own
                _log.exception("dead-man switch could not be stopped cleanly")
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        await self._rest.close()
        self._stream.close()

    def market(self, market: str) -> MarketSpec:
        """The spec with the price step at the latest mid (the venue's tick depends on the price)."""
        found = self._markets.get(market)
        if found is None:
            raise KeyError(f"market {market!r} is not connected")
        return found.spec(self._stream.last_px.get(market))

    def settlement_model(self) -> SettlementModel:
        """No gas or per-operation fee; τ is the measured action round trip."""
        return SettlementModel(
            tau_s=DEFAULT_TAU_S if self._latency_s is None else self._latency_s,
            place_gas=0,
            cancel_gas=0,
            replace_gas=0,
            op_fee_quote=0.0,
            max_batch=self._max_batch,
        )

    # ---- sends ----

    def _prepare(self, request: OrderRequest) -> OrderWire | str:
        """The wire order, or why it cannot be sent."""
        market = self._markets.get(request.market)
        if market is None:
            return f"not sent: market {request.market!r} is not connected"
        try:
            return order_wire(request, market, self._cloids.cloid_for(request.client_id))
        except ValueError as exc:
            return f"not sent: {exc}"

    def _remember(self, client_id: str, expires_after: int, *, unsent: bool = False) -> None:
        self._sends[client_id] = (expires_after, unsent)
        self._sends.move_to_end(client_id)
        while len(self._sends) > 100_000:
            self._sends.popitem(last=False)

    async def _timed(self, send: Awaitable[HttpOutcome[_O]], n_items: int) -> tuple[_O, ...]:
        """Await one action, measure its round trip; an unexpected error is Unknown for every item."""
        started = self._monotonic()
        try:
            reply = await send
        except Exception as exc:
            _log.exception("hyperliquid action failed before an outcome was known")
            return (Unknown(f"send failed: {exc!r}"),) * n_items
        if reply.http_status is not None:
            elapsed = self._monotonic() - started
            previous = self._latency_s
            self._latency_s = elapsed if previous is None else previous + self._alpha * (elapsed - previous)
        return reply.outcomes

    def _expiry(self) -> int:
        return self._clock.now_ms() + self._expires_after_ms

    async def _send_orders(
        self, client_ids: list[str], send: Callable[[int], Awaitable[HttpOutcome[OrderOutcome]]]
    ) -> list[SubmitOutcome]:
        expires = self._expiry()
        for client_id in client_ids:  # before sending: a cancelled send still has a known expiry
            self._remember(client_id, expires)
        results = await self._timed(send(expires), len(client_ids))
        outcomes = [submit_outcome(r) for r in results]
        for client_id, outcome in zip(client_ids, outcomes, strict=True):
            if isinstance(outcome, CoreUnknown) and outcome.unsent:
                self._remember(client_id, expires, unsent=True)
        return outcomes

    async def submit(self, orders: Sequence[OrderRequest]) -> list[SubmitOutcome]:
        """One order action for all sendable orders."""
        slots: list[SubmitOutcome | None] = [None] * len(orders)
        wires: list[OrderWire] = []
        sent: list[int] = []
        for i, request in enumerate(orders):
            prepared = self._prepare(request)
            if isinstance(prepared, str):
                slots[i] = Rejected(reason=prepared)
            else:
                wires.append(prepared)
                sent.append(i)
        if wires:
            action = order_action(wires)
            outcomes = await self._send_orders(
                [orders[i].client_id for i in sent],
                lambda expires: self._rest.exchange(action, self._signer, expires_after=expires),
            )
            for i, outcome in zip(sent, outcomes, strict=True):
                slots[i] = outcome
        return _ordered(slots)

    async def replace(self, replaces: Sequence[ReplaceRequest]) -> list[SubmitOutcome]:
        """One batchModify: the old order named by its cloid, the new one under its own cloid."""
        slots: list[SubmitOutcome | None] = [None] * len(replaces)
        modifies: list[tuple[int | str, OrderWire]] = []
        sent: list[int] = []
        for i, replace in enumerate(replaces):
            old: int | str | None = self._cloids.cloid_of(replace.client_id)
            if old is None and replace.venue_order_id is not None and replace.venue_order_id.isdigit():
                old = int(replace.venue_order_id)  # an order of another session (adopted): by oid
            prepared = self._prepare(replace.new)
            if old is None:
                slots[i] = Rejected(
                    reason=f"not sent: client id {replace.client_id!r} unknown to this session"
                )
            elif isinstance(prepared, str):
                slots[i] = Rejected(reason=prepared)
            else:
                modifies.append((old, prepared))
                sent.append(i)
        if modifies:
            action = batch_modify_action(modifies)
            outcomes = await self._send_orders(
                [replaces[i].new.client_id for i in sent],
                lambda expires: self._rest.exchange(action, self._signer, expires_after=expires),
            )
            for i, outcome in zip(sent, outcomes, strict=True):
                slots[i] = outcome
        return _ordered(slots)

    async def cancel(self, cancels: Sequence[CancelRequest]) -> list[CoreCancelOutcome]:
        """One cancelByCloid action; orders of another session (adopted, no cloid of ours) go in one
        cancel-by-oid action beside it."""
        slots: list[CoreCancelOutcome | None] = [None] * len(cancels)
        by_cloid: list[tuple[int, str]] = []
        by_cloid_at: list[int] = []
        by_oid: list[tuple[int, int]] = []
        by_oid_at: list[int] = []
        for i, request in enumerate(cancels):
            market = self._markets.get(request.market)
            cloid = self._cloids.cloid_of(request.client_id)
            oid = request.venue_order_id
            if market is None:
                slots[i] = Rejected(reason=f"not sent: market {request.market!r} is not connected")
            elif cloid is not None:
                by_cloid.append((market.asset, cloid))
                by_cloid_at.append(i)
            elif oid is not None and oid.isdigit():
                by_oid.append((market.asset, int(oid)))
                by_oid_at.append(i)
            else:
                slots[i] = Rejected(
                    reason=f"not sent: client id {request.client_id!r} unknown to this session"
                )
        if by_cloid:
            send = self._rest.exchange(
                cancel_by_cloid_action(by_cloid), self._signer, expires_after=self._expiry()
            )
            for i, result in zip(by_cloid_at, await self._timed(send, len(by_cloid)), strict=True):
                slots[i] = cancel_outcome(result)
        if by_oid:
            send = self._rest.exchange(cancel_action(by_oid), self._signer, expires_after=self._expiry())
            for i, result in zip(by_oid_at, await self._timed(send, len(by_oid)), strict=True):
                slots[i] = cancel_outcome(result)
        return _ordered(slots)

    async def cancel_all(self, market: str | None = None) -> None:
        """Cancel (by oid) every open order of the master account, or those on ``market``. Best effort:
        a failed listing or cancel is logged, not raised (the dead-man switch is the backstop)."""
        try:
            open_orders = await self._rest.open_orders(self._master)
        except (HyperliquidAdapterError, HyperliquidCodecError) as exc:
            _log.error("cancel_all: cannot list open orders: %s", exc)
            return
        items: list[tuple[int, int]] = []
        for order in open_orders:
            asset = self._universe.get(order.coin)
            if market is not None and order.coin != market:
                continue
            if asset is None:
                _log.warning("cancel_all: no asset id for %s order %d; left open", order.coin, order.oid)
                continue
            items.append((asset, order.oid))
        if not items:
            return
        send = self._rest.exchange(cancel_action(items), self._signer, expires_after=self._expiry())
        outcomes = await self._timed(send, len(items))
        failed = [
            (oid, o) for (_, oid), o in zip(items, outcomes, strict=True) if not isinstance(o, HlCanceled)
        ]
        if failed:
            _log.warning(
                "cancel_all: %d of %d cancels not confirmed: %r", len(failed), len(items), failed[:5]
            )

    # ---- reads ----

    def events(self) -> AsyncIterator[VenueEvent]:
        return self._stream.events()

    def last_price(self, market: str) -> Decimal | None:
        """The latest mid seen for ``market`` (allMids at connect, then the book), or None."""
        return self._stream.last_px.get(market)

    def stream_healthy(self) -> bool:
        """Connected and resubscribed (the WS client answers pings; a missing pong reconnects). Not a
        claim that data is current: a socket can be up with nothing pushed (see last_market_data_ms)."""
        return self._ws is not None and self._ws.connected

    def last_market_data_ms(self, market: str) -> int | None:
        """Local receive time (the adapter's clock) of the latest valid book top or market context of
        ``market``; None before the first. The context is pushed about every block even when nothing
        changed, the book top only on a change."""
        return self._stream.guard.last_valid_ms(market)

    def last_book_ms(self, market: str) -> int | None:
        """Local receive time of the latest valid book top of ``market`` (None: none yet)."""
        return self._stream.guard.last_valid_ms(market, "book")

    def last_oracle_ms(self, market: str) -> int | None:
        """Local receive time of the latest valid market context (oracle, mark, funding) of ``market``."""
        return self._stream.guard.last_valid_ms(market, "context")

    def force_reconnect(self, reason: str) -> None:
        """Replace the WS connection now (e.g. open but silent); after the resubscribe a ``StreamGap``
        naming ``reason`` is queued. Nothing happens while a (re)connection is already under way."""
        ws = self._ws
        if ws is None:
            return
        self._stream.expect_reconnect(f"forced reconnect: {reason}")
        if not ws.force_reconnect(reason):
            self._stream.expect_reconnect(None)

    def clock_offset_ms(self) -> float | None:
        """Our clock minus the venue's in ms (> 0: ours is ahead), the median over recent venue
        timestamps (book, order-update and fill times, clearinghouseState time) against their local
        receive times; biased up by the network delay (a few ms). None before the first sample."""
        return self._stream.clock_offset.offset_ms()

    async def snapshot(self) -> VenueSnapshot:
        """Open orders, positions, margin and recent fills of the master account (orders and fills of
        the connected markets only). Stamped before the reads: anything older is in it."""
        ts_ms = self._clock.now_ms()
        since = (self._last_snapshot_ms if self._last_snapshot_ms is not None else ts_ms) - FILL_OVERLAP_MS
        orders, state, fills = await read_account(self._rest, self._master, since)
        self._stream.clock_offset.add(self._clock.now_ms(), state.time)  # the venue's time of the read
        self._last_snapshot_ms = ts_ms
        positions, margin = account_reports(state)
        return VenueSnapshot(
            ts_ms=ts_ms,
            open_orders=tuple(open_order_reports(orders, self._cloids, self._markets)),
            positions=tuple(positions),
            margin=margin,
            fills=tuple(fill_event(f, self._cloids) for f in fills if f.coin in self._markets),
        )

    async def order_status(self, client_id: str, market: str) -> OrderReport | NotFound:
        """orderStatus by cloid. Not found is final only when the request provably can never land:
        it never reached the venue, or its expiresAfter (+ grace) passed before this query."""
        cloid = self._cloids.cloid_of(client_id)
        if cloid is None:
            return NotFound(final=False)  # not sent by this session: nothing can be proven
        gone = self._provably_gone(client_id, self._clock.now_ms())
        response = await self._rest.order_status(self._master, cloid)
        return order_status_report(response, self._cloids, final=gone)

    def _provably_gone(self, client_id: str, now_ms: int) -> bool:
        sent = self._sends.get(client_id)
        if sent is None:
            return False
        expires_after, unsent = sent
        return unsent or now_ms > expires_after + self._grace_ms


def _implements_the_protocol(venue: HyperliquidVenue) -> Venue:
    return venue  # mypy checks HyperliquidVenue against the Venue protocol here


__all__ = ["DEFAULT_TAU_S", "HyperliquidVenue", "WsFactory", "new_cloid_prefix"]
