"""aiohttp server around the pure :class:`~keeper.localvenue.LocalVenue` engine.

Serves the real venue's shapes: ``POST /info`` and ``POST /exchange`` (JSON; a ``BadRequest`` is
its HTTP status, 422, with plain text; a refused rate-limit charge, per client IP, is 429) and
``GET /ws`` (greeting, subscribe/unsubscribe with ``subscriptionResponse`` acks and snapshots,
pushes routed by user/coin, ``ping`` -> ``pong``, ``post`` for info and actions).

Time comes from a :class:`Clock`: real time by default, advanced by a background task every
``tick_ms``; with a :class:`ManualClock` the engine advances synchronously whenever the test moves
the clock. Test hooks: :meth:`LocalVenueServer.drop_ws_connections`, ``accept_ws``,
``answer_pings``, ``response_delay_s`` and :meth:`LocalVenueServer.inject_ws_frame`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Mapping
from typing import Any

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from keeper.adapters._clock import Clock, ManualClock, WallClock
from keeper.adapters._tasks import cancel_and_wait
from keeper.localvenue import (
    BadRequest,
    LocalVenue,
    LocalVenueConfig,
    RateLimiter,
    WsEvent,
    exchange_request_weight,
    info_request_weight,
)

_log = logging.getLogger(__name__)

GREETING = "Websocket connection established."
TOO_MANY_REQUESTS = "Too many requests"
_DESERIALIZE = "Failed to deserialize the JSON body into the target type"
_USER_SUBS = frozenset({"orderUpdates", "userFills", "userEvents", "userFundings"})
_COIN_SUBS = frozenset({"l2Book", "trades", "bbo", "activeAssetCtx"})
_SUBSCRIPTION_TYPES = _USER_SUBS | _COIN_SUBS | {"allMids"}
_encode = msgspec.json.encode


def _frame(channel: str, data: Any) -> str:
    return _encode({"channel": channel, "data": data}).decode()


def _subscription_error(sub: object) -> str | None:
    """Why a subscription object is refused, or None if it is acceptable."""
    if not isinstance(sub, Mapping) or not isinstance(sub.get("type"), str):
        return "subscription must be an object with a string 'type'"
    kind = sub["type"]
    if kind not in _SUBSCRIPTION_TYPES:
        return f"unsupported subscription type {kind!r}"
    if kind in _USER_SUBS and not isinstance(sub.get("user"), str):
        return f"{kind} needs a 'user'"
    if kind in _COIN_SUBS and not isinstance(sub.get("coin"), str):
        return f"{kind} needs a 'coin'"
    return None


def _matches(sub: Mapping[str, Any], event: WsEvent) -> bool:
    if sub["type"] != event.subscription:
        return False
    if event.user is not None and str(sub.get("user", "")).lower() != event.user:
        return False
    return event.coin is None or sub.get("coin") == event.coin


class _Connection:
    """One WS client: its subscriptions and an outbox drained by a writer task.

    The outbox decouples the engine (synchronous) from socket writes; a client too slow to keep
    up with ``max_queue`` frames is disconnected, as a real venue drops slow consumers.
    """

    def __init__(self, ws: web.WebSocketResponse, ip: str, max_queue: int) -> None:
        self.ws = ws
        self.ip = ip
        self.subs: list[dict[str, Any]] = []
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue(max_queue)
        self.closing = False

    def push(self, text: str) -> None:
        if self.closing:
            return
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            _log.warning("local venue: WS client %s too slow, disconnecting", self.ip)
            self.closing = True
            while not self.outbox.empty():
                self.outbox.get_nowait()
            self.outbox.put_nowait(None)  # tells the writer to close the socket

    async def write_loop(self) -> None:
        while True:
            text = await self.outbox.get()
            if text is None:
                await self.ws.close(code=WSCloseCode.POLICY_VIOLATION)
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):  # peer gone; the read loop ends on its own
                return


class LocalVenueServer:
    """A running local venue: ``url`` for REST, ``ws_url`` for WebSocket, ``engine`` to inspect."""

    def __init__(
        self, engine: LocalVenue, clock: Clock, limiter: RateLimiter, tick_ms: int, max_queue: int
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.limiter = limiter
        self.url = ""
        self.ws_url = ""
        self.accept_ws = True  # test hook: False answers new /ws requests with 503
        self.answer_pings = True  # test hook: False ignores {"method": "ping"}
        self.response_delay_s = 0.0  # test hook: real-time delay before handling REST requests
        self.mute_pushes = False  # test hook: True drops every pushed frame (a feed open but silent)
        self._tick_ms = tick_ms
        self._max_queue = max_queue
        self._connections: set[_Connection] = set()
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None

    # ---- lifecycle ----

    async def _start(self, host: str, port: int) -> None:
        app = web.Application()
        app.router.add_post("/info", self._http_info)
        app.router.add_post("/exchange", self._http_exchange)
        app.router.add_get("/ws", self._http_ws)
        # A short shutdown timeout: close() has already closed the WS handlers that could linger.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        # Bind our own socket so port 0 (an OS-leased port) is known before serving.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            bound_port = sock.getsockname()[1]
            await web.SockSite(self._runner, sock).start()
        except BaseException:
            sock.close()
            await self._runner.cleanup()
            raise
        self.url = f"http://{host}:{bound_port}"
        self.ws_url = f"ws://{host}:{bound_port}/ws"
        if isinstance(self.clock, ManualClock):
            self.clock.add_listener(self._on_time)
        else:
            self._ticker = asyncio.create_task(self._tick_loop(), name="local-venue-ticker")

    async def close(self) -> None:
        """Stop the ticker, close every WS connection and the HTTP server."""
        if isinstance(self.clock, ManualClock):
            self.clock.remove_listener(self._on_time)
        if self._ticker is not None:
            await cancel_and_wait(self._ticker)
            self._ticker = None
        await self.drop_ws_connections()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalVenueServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- time ----

    async def _tick_loop(self) -> None:
        while True:
            await self.clock.sleep(self._tick_ms / 1000)
            self.tick()

    def _on_time(self, now_ms: int) -> None:
        self.tick()

    def tick(self) -> None:
        """Advance the engine to the clock's time and push the resulting events."""
        self.engine.advance(self.clock.now_ms())
        self.flush()

    def flush(self) -> None:
        """Route drained engine events to the matching WS subscribers."""
        for event in self.engine.drain_events():
            if self.mute_pushes:
                continue
            text: str | None = None
            for connection in self._connections:
                if any(_matches(sub, event) for sub in connection.subs):
                    text = text if text is not None else _encode(event.message()).decode()
                    connection.push(text)

    # ---- test hooks ----

    async def drop_ws_connections(self) -> int:
        """Close every WS connection (clients see a drop); returns how many were open."""
        connections = list(self._connections)
        self._connections.clear()
        for connection in connections:
            with contextlib.suppress(Exception):  # a socket already failing may raise on close
                await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"dropped by test hook")
        return len(connections)

    def inject_ws_frame(self, text: str) -> None:
        """Send a raw text frame (e.g. malformed JSON) to every WS connection."""
        for connection in self._connections:
            connection.push(text)

    @property
    def ws_connection_count(self) -> int:
        """Open WS connections."""
        return len(self._connections)

    # ---- REST ----

    @staticmethod
    async def _json_body(request: web.Request) -> object:
        raw = await request.read()
        try:
            return msgspec.json.decode(raw)
        except msgspec.DecodeError:
            return BadRequest(_DESERIALIZE)

    @staticmethod
    def _reply(reply: object) -> web.Response:
        if isinstance(reply, BadRequest):
            return web.Response(status=reply.status, text=reply.message)
        return web.Response(body=_encode(reply), content_type="application/json")

    async def _http_info(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if self.response_delay_s > 0:
            await asyncio.sleep(self.response_delay_s)
        return self._reply(self._info(request.remote or "?", body))

    async def _http_exchange(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if self.response_delay_s > 0:
            await asyncio.sleep(self.response_delay_s)
        return self._reply(self._exchange(request.remote or "?", body))

    def _info(self, ip: str, body: object) -> object:
        if isinstance(body, BadRequest):
            return body
        now = self.clock.now_ms()
        weight = info_request_weight(body)
        if not self.limiter.charge(ip, weight, now):
            return BadRequest(TOO_MANY_REQUESTS, status=429)
        reply = self.engine.handle_info(body, now)
        if not isinstance(reply, BadRequest):
            # Per-item weight is only known after answering; the venue counts it either way.
            self.limiter.charge(ip, info_request_weight(body, reply) - weight, now)
        self.flush()
        return reply

    def _exchange(self, ip: str, body: object) -> object:
        if isinstance(body, BadRequest):
            return body
        now = self.clock.now_ms()
        if not self.limiter.charge(ip, exchange_request_weight(body), now):
            return BadRequest(TOO_MANY_REQUESTS, status=429)
        reply = self.engine.handle_exchange(body, now)
        self.flush()
        return reply

    # ---- WebSocket ----

    async def _http_ws(self, request: web.Request) -> web.StreamResponse:
        if not self.accept_ws:
            return web.Response(status=503, text="WebSocket connections are paused")
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        await ws.prepare(request)
        connection = _Connection(ws, request.remote or "?", self._max_queue)
        self._connections.add(connection)
        writer = asyncio.create_task(connection.write_loop(), name="local-venue-ws-writer")
        connection.push(GREETING)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_ws_text(connection, message.data)
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            self._connections.discard(connection)
            await cancel_and_wait(writer)
        return ws

    def _on_ws_text(self, connection: _Connection, text: str) -> None:
        try:
            message = msgspec.json.decode(text)
        except msgspec.DecodeError:
            message = None
        method = message.get("method") if isinstance(message, dict) else None
        if method == "ping":
            if self.answer_pings:
                connection.push('{"channel":"pong"}')
        elif method == "subscribe":
            self._subscribe(connection, message.get("subscription"))
        elif method == "unsubscribe":
            self._unsubscribe(connection, message.get("subscription"))
        elif method == "post":
            assert isinstance(message, dict)
            self._post(connection, message)
        else:
            connection.push(_frame("error", f"Error parsing JSON into valid websocket request: {text[:200]}"))

    def _subscribe(self, connection: _Connection, sub: object) -> None:
        error = _subscription_error(sub)
        if error is not None:
            connection.push(_frame("error", f"Invalid subscription: {error}"))
            return
        assert isinstance(sub, dict)
        if sub in connection.subs:
            connection.push(_frame("error", f"Already subscribed: {_encode(sub).decode()}"))
            return
        # Catch up and flush first: pending events predate the snapshot and must not repeat it.
        self.engine.advance(self.clock.now_ms())
        self.flush()
        connection.subs.append(sub)
        connection.push(_frame("subscriptionResponse", {"method": "subscribe", "subscription": sub}))
        snapshot = self.engine.subscription_snapshot(sub, self.clock.now_ms())
        if snapshot is not None:
            connection.push(_encode(snapshot.message()).decode())

    def _unsubscribe(self, connection: _Connection, sub: object) -> None:
        if not isinstance(sub, dict) or sub not in connection.subs:
            connection.push(_frame("error", f"Not subscribed: {_encode(sub).decode()}"))
            return
        connection.subs.remove(sub)
        connection.push(_frame("subscriptionResponse", {"method": "unsubscribe", "subscription": sub}))

    def _post(self, connection: _Connection, message: dict[str, Any]) -> None:
        request_id, request = message.get("id"), message.get("request")
        kind = request.get("type") if isinstance(request, dict) else None
        if not isinstance(request_id, int) or kind not in ("info", "action"):
            connection.push(_frame("error", "Invalid post request"))
            return
        assert isinstance(request, dict)
        payload = request.get("payload")
        reply = (
            self._info(connection.ip, payload) if kind == "info" else self._exchange(connection.ip, payload)
        )
        if isinstance(reply, BadRequest):
            response: dict[str, Any] = {"type": "error", "payload": reply.message}
        else:
            response = {"type": kind, "payload": reply}
        connection.push(_frame("post", {"id": request_id, "response": response}))


async def start_local_venue(
    config: LocalVenueConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Clock | None = None,
    *,
    weight_per_minute: int = 1200,
    tick_ms: int = 100,
    max_ws_queue: int = 10_000,
) -> LocalVenueServer:
    """Start a local venue on ``host:port`` (0 = an OS-leased port); close it with ``close()``.

    ``weight_per_minute`` is the per-IP REST budget (lower it to exercise 429s).
    """
    clock = clock if clock is not None else WallClock()
    engine = LocalVenue(config, clock.now_ms())
    server = LocalVenueServer(engine, clock, RateLimiter(weight_per_minute), tick_ms, max_ws_queue)
    await server._start(host, port)
    return server
