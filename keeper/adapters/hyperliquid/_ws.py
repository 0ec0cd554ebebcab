"""WebSocket client of the Hyperliquid API: subscriptions, heartbeat, reconnect, posts.

One connection per account (orderUpdates/userEvents frames do not name their user). Frames are
decoded by the sans-I/O codec (:func:`parse_ws_message`); malformed ones are counted in
``stats`` and skipped, never fatal. Liveness: ``{"method":"ping"}`` every ``ping_interval_s``
(<= 50 s; the venue drops a connection silent for ~60 s), and a missing ``pong`` within
``pong_timeout_s`` counts as a dead connection. A drop reconnects with jittered backoff,
re-sends every subscription, waits for all acks, then awaits ``on_reconnected`` -- events
during the outage are lost, so the caller rebuilds its state from REST there.
:meth:`HyperliquidWsClient.force_reconnect` drops a connection that is up but no longer trusted
(e.g. a feed that stopped pushing) and reconnects at once, through the same path.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from keeper.adapters._clock import Sleep
from keeper.adapters._tasks import cancel_and_wait
from keeper.adapters.hyperliquid._errors import WsNotConnectedError
from keeper.adapters.hyperliquid._rest import ActionKind
from keeper.codecs.hyperliquid import (
    BackoffPolicy,
    HttpOutcome,
    Malformed,
    Pong,
    PostResponse,
    Subscription,
    SubscriptionAck,
    Unknown,
    WsDecodeStats,
    WsEvent,
    classify_http,
    order_updates_subscription,
    parse_ws_message,
    ping_message,
    post_message,
    subscribe_message,
    unsubscribe_message,
    user_events_subscription,
    user_fills_subscription,
)

_log = logging.getLogger(__name__)

EventHandler = Callable[[WsEvent], Awaitable[None]]
ReconnectHook = Callable[[], Awaitable[None]]
MAX_PING_INTERVAL_S = 50.0
_SINGLE_USER_STREAMS = ("orderUpdates", "userEvents")  # frames carry no user: one user per socket


def _key(subscription: Mapping[str, Any]) -> bytes:
    """Canonical form for matching acks: sorted keys, nulls dropped, user lowercased."""
    canonical = {
        key: value.lower() if key == "user" and isinstance(value, str) else value
        for key, value in sorted(subscription.items())
        if value is not None
    }
    return msgspec.json.encode(canonical)


def classify_post(kind: ActionKind, response: PostResponse, n_items: int = 1) -> HttpOutcome[Any]:
    """Per-item outcomes of an action sent with :meth:`HyperliquidWsClient.post`.

    An ``action`` reply carries the normal ``/exchange`` JSON; an ``error`` reply proves nothing
    about execution, so every item is ``Unknown``.
    """
    if response.type == "action":
        return classify_http(kind, 200, response.payload, n_items)
    unknown = Unknown(f"WS post {response.type} reply: {bytes(response.payload)[:200]!r}")
    return HttpOutcome((unknown,) * n_items, None)


class _DeadConnectionError(Exception):
    """The peer stopped answering pings."""


class HyperliquidWsClient:
    """Reconnecting WS client; events go to ``on_event`` or, without one, to the ``events`` queue.

    **Parameters:** ``on_reconnected`` runs after every reconnect once all subscriptions are
    acked; ``ping_interval_s`` / ``pong_timeout_s`` the heartbeat; ``backoff`` and ``uniform`` the
    jittered reconnect delays; ``sleep`` the waiting primitive (tests may inject a fake).
    """

    def __init__(
        self,
        url: str,
        *,
        on_event: EventHandler | None = None,
        on_reconnected: ReconnectHook | None = None,
        ping_interval_s: float = MAX_PING_INTERVAL_S,
        pong_timeout_s: float = 10.0,
        ack_timeout_s: float = 10.0,
        open_timeout_s: float = 10.0,
        backoff: BackoffPolicy | None = None,
        uniform: Callable[[], float] = random.random,
        sleep: Sleep = asyncio.sleep,
        max_queue: int = 10_000,
        max_inflight_posts: int = 100,
        proxy: str | None = None,
    ) -> None:
        if not 0 < ping_interval_s <= MAX_PING_INTERVAL_S:
            raise ValueError(f"ping_interval_s must be in (0, {MAX_PING_INTERVAL_S}]")
        self.url = url
        self.stats = WsDecodeStats()
        self.events: asyncio.Queue[WsEvent] = asyncio.Queue(max_queue)
        self.connections = 0  # successful (acked) connections so far
        self.reconnects = 0
        self.forced_reconnects = 0
        self.handler_errors = 0
        self._on_event = on_event
        self._on_reconnected = on_reconnected
        self._ping_interval_s = ping_interval_s
        self._pong_timeout_s = pong_timeout_s
        self._ack_timeout_s = ack_timeout_s
        self._open_timeout_s = open_timeout_s
        self._backoff = backoff if backoff is not None else BackoffPolicy(base_s=0.25, cap_s=5.0)
        self._uniform = uniform
        self._sleep = sleep
        self._proxy = proxy
        self._subs: dict[bytes, Subscription] = {}
        self._acks: dict[tuple[str, bytes], asyncio.Future[None]] = {}
        self._posts: dict[int, asyncio.Future[PostResponse]] = {}
        self._post_ids = itertools.count(1)
        self._post_slots = asyncio.Semaphore(max_inflight_posts)  # venue cap: 100 in-flight posts
        self._ws: ClientConnection | None = None
        self._ready = asyncio.Event()
        self._pong = asyncio.Event()
        self._kick = asyncio.Event()  # set by force_reconnect: drop this connection
        self._kicked = False  # the last connection was dropped on purpose: reconnect without backoff
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    # ---- lifecycle ----

    @property
    def connected(self) -> bool:
        """Connected with every subscription acked."""
        return self._ready.is_set()

    async def start(self, timeout_s: float = 10.0) -> None:
        """Start the connection task and wait for the first connection (TimeoutError: stopped)."""
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="hyperliquid-ws")
        try:
            await self.wait_connected(timeout_s)
        except TimeoutError:
            await self.close()
            raise

    async def wait_connected(self, timeout_s: float) -> None:
        """Wait until connected and resubscribed."""
        async with asyncio.timeout(timeout_s):
            await self._ready.wait()

    async def close(self) -> None:
        """Stop reconnecting and close the socket."""
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait(task)

    def force_reconnect(self, reason: str) -> bool:
        """Drop the current connection and reconnect at once (resubscribe, acks, ``on_reconnected``).

        False when no connection is up: one is being made already (or the client is closed)."""
        if self._task is None or self._closing or not self.connected:
            return False
        _log.warning("hyperliquid WS: forcing a reconnect: %s", reason)
        self.forced_reconnects += 1
        self._kick.set()
        return True

    async def __aenter__(self) -> HyperliquidWsClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- subscriptions ----

    async def subscribe(self, subscription: Subscription) -> None:
        """Subscribe now if connected (waits for the ack), and again after every reconnect."""
        kind = subscription.get("type")
        if kind in _SINGLE_USER_STREAMS:
            for other in self._subs.values():
                if other.get("type") == kind and _key(other) != _key(subscription):
                    raise ValueError(f"one {kind} user per connection: its frames do not name the user")
        key = _key(subscription)
        if key in self._subs:
            return
        self._subs[key] = subscription
        ws = self._ws
        if ws is not None and self.connected:
            await self._request(ws, "subscribe", key, subscribe_message(subscription))

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscription and unsubscribe if connected."""
        key = _key(subscription)
        if self._subs.pop(key, None) is not None and self._ws is not None and self.connected:
            await self._request(self._ws, "unsubscribe", key, unsubscribe_message(subscription))

    async def subscribe_user(self, master_address: str) -> None:
        """orderUpdates, userEvents and userFills of the **master** account (never the agent's)."""
        for subscription in (
            order_updates_subscription(master_address),
            user_events_subscription(master_address),
            user_fills_subscription(master_address),
        ):
            await self.subscribe(subscription)

    async def _request(self, ws: ClientConnection, method: str, key: bytes, message: str) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._acks[(method, key)] = future
        try:
            async with asyncio.timeout(self._ack_timeout_s):
                await ws.send(message)
                await future
        except ConnectionClosed as exc:
            raise WsNotConnectedError(f"connection closed during {method}") from exc
        finally:
            self._acks.pop((method, key), None)

    async def _resubscribe(self, ws: ClientConnection) -> None:
        sent: set[bytes] = set()
        while pending := [(key, sub) for key, sub in self._subs.items() if key not in sent]:
            # Concurrent subscribe() calls while not ready only store: loop until all are sent.
            await asyncio.gather(
                *(self._request(ws, "subscribe", key, subscribe_message(sub)) for key, sub in pending)
            )
            sent.update(key for key, _ in pending)

    # ---- posts ----

    async def post(
        self, kind: Literal["info", "action"], payload: object, timeout_s: float = 10.0
    ) -> PostResponse:
        """Send an ``/info`` body or a signed ``/exchange`` body over the socket, await its reply.

        Raises TimeoutError or :class:`WsNotConnectedError`; for an action either means the
        outcome is unknown (it may have executed).
        """
        async with self._post_slots:
            ws = self._ws
            if ws is None or not self.connected:
                raise WsNotConnectedError("WebSocket not connected")
            request_id = next(self._post_ids)
            future: asyncio.Future[PostResponse] = asyncio.get_running_loop().create_future()
            self._posts[request_id] = future
            try:
                async with asyncio.timeout(timeout_s):
                    await ws.send(post_message(request_id, kind, payload))
                    return await future
            except ConnectionClosed as exc:
                raise WsNotConnectedError("connection closed during post") from exc
            finally:
                self._posts.pop(request_id, None)

    # ---- connection loop ----

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            connections_before = self.connections
            try:
                # Protocol pings off: liveness is the venue's JSON ping/pong. A short close timeout
                # because a peer that stopped answering pings will not answer the close either.
                async with connect(
                    self.url,
                    ping_interval=None,
                    open_timeout=self._open_timeout_s,
                    close_timeout=2.0,
                    proxy=self._proxy,
                ) as ws:
                    await self._serve(ws)
            except (
                OSError,
                TimeoutError,
                WebSocketException,
                WsNotConnectedError,
                _DeadConnectionError,
            ) as exc:
                _log.warning("hyperliquid WS connection lost: %r", exc)
            except Exception:  # a bug must not end reconnection silently: log it and carry on
                _log.exception("hyperliquid WS connection failed unexpectedly")
            else:
                if not self._kicked:
                    _log.warning("hyperliquid WS connection closed by the peer")
            if self.connections > connections_before:
                attempt = 0  # the connection worked: start the backoff over
            if self._kicked:
                self._kicked = False
                continue  # dropped on purpose: the venue is reachable, reconnect now
            delay = self._backoff.delay(attempt, self._uniform())
            attempt += 1
            await self._sleep(delay)

    async def _serve(self, ws: ClientConnection) -> None:
        """Run one connection until it drops."""
        self._ws = ws
        self._kick.clear()  # a kick meant for an earlier connection
        reader = asyncio.create_task(self._read_loop(ws), name="hyperliquid-ws-reader")
        pinger: asyncio.Task[None] | None = None
        kick: asyncio.Task[None] | None = None
        try:
            await self._resubscribe(ws)
            pinger = asyncio.create_task(self._ping_loop(ws), name="hyperliquid-ws-pinger")
            kick = asyncio.create_task(self._kicked_wait(), name="hyperliquid-ws-kick")
            self.connections += 1
            self._ready.set()
            if self.connections > 1:
                self.reconnects += 1
                await self._reconnected_hook()
            done, _ = await asyncio.wait({reader, pinger, kick}, return_when=asyncio.FIRST_COMPLETED)
            if kick in done:
                self._kicked = True
                return
            for task in done:
                task.result()  # re-raise why the connection ended, if it failed
        finally:
            self._ready.clear()
            self._ws = None
            tasks = [t for t in (reader, pinger, kick) if t is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._fail_pending()

    async def _kicked_wait(self) -> None:
        await self._kick.wait()

    async def _reconnected_hook(self) -> None:
        if self._on_reconnected is None:
            return
        try:
            await self._on_reconnected()
        except Exception:
            self.handler_errors += 1
            _log.exception("on_reconnected hook failed")

    def _fail_pending(self) -> None:
        futures: list[asyncio.Future[Any]] = [*self._acks.values(), *self._posts.values()]
        for future in futures:
            if not future.done():
                future.set_exception(WsNotConnectedError("connection dropped"))

    async def _ping_loop(self, ws: ClientConnection) -> None:
        while True:
            await self._sleep(self._ping_interval_s)
            self._pong.clear()
            await ws.send(ping_message())
            try:
                async with asyncio.timeout(self._pong_timeout_s):
                    await self._pong.wait()
            except TimeoutError:
                raise _DeadConnectionError(f"no pong within {self._pong_timeout_s} s") from None

    async def _read_loop(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                await self.handle_frame(raw)
        finally:
            self._fail_pending()

    async def handle_frame(self, raw: str | bytes) -> None:
        """One received frame: decoded (a malformed one is counted in ``stats`` and skipped), pongs,
        acks and post replies settled here, the rest delivered. Raises nothing: a failing handler is
        counted in ``handler_errors``."""
        event = self._route(raw)
        if event is not None:
            await self._deliver(event)

    def _route(self, raw: str | bytes) -> WsEvent | None:
        """Settle pongs, acks and post replies here; return what goes to the consumer."""
        event = parse_ws_message(raw, self.stats)
        if event is None:
            return None
        if isinstance(event, Malformed):
            _log.debug("skipping malformed WS frame: %s", event.reason)
        elif isinstance(event, Pong):
            self._pong.set()
        elif isinstance(event, SubscriptionAck):
            try:
                key = _key(event.subscription)
            except RecursionError:  # nested deeper than we can re-encode: no subscription of ours
                return None
            future = self._acks.get((event.method, key))
            if future is not None and not future.done():
                future.set_result(None)
        elif isinstance(event, PostResponse):
            post = self._posts.get(event.id)
            if post is not None and not post.done():
                post.set_result(event)
        else:
            return event
        return None

    async def _deliver(self, event: WsEvent) -> None:
        if self._on_event is None:
            await self.events.put(event)  # a full queue applies backpressure to the reader
            return
        try:
            await self._on_event(event)
        except Exception:
            self.handler_errors += 1
            _log.exception("WS event handler failed on %s", type(event).__name__)
