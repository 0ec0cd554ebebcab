"""Sans-I/O codec of the Hyperliquid WebSocket API (doc §4): outgoing messages and typed events.

Outgoing messages are returned as ``str`` because the venue speaks JSON in *text* frames (most WS
clients send ``bytes`` as binary frames). Incoming frames go through :func:`parse_ws_message`,
which never raises: malformed JSON, unexpected shapes, nesting too deep for the decoder
(``RecursionError``) and unknown channels become :class:`Malformed` and are counted in a
:class:`WsDecodeStats`, so one bad frame cannot kill the reader task. The plain-text greeting
``Websocket connection established.`` yields ``None``.

User streams (``orderUpdates``, ``userEvents``, ``userFills``, ``userFundings``) must be
subscribed with the **master or sub-account address**, never the agent (API wallet) address: the
agent has no orders or fills of its own and the stream stays silent (doc §1.6, §7.6). Their
messages do not say which user they belong to (except userFills/userFundings), so use one
connection per account. ``userEvents`` messages arrive on channel **``user``**.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import msgspec

from keeper.codecs.hyperliquid.info_types import AssetCtx, Fill, L2Book, L2Level, OpenOrder

Subscription = dict[str, str | int | bool]

CONNECTION_GREETING = "Websocket connection established."

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


# --- outgoing ---------------------------------------------------------------------------------


def _user(user: str) -> str:
    if not isinstance(user, str) or _ADDRESS.fullmatch(user) is None:
        raise ValueError(f"user must be a 0x-prefixed 20-byte hex address (the master), got {user!r}")
    return user.lower()  # unsubscribe must repeat the subscribe object exactly; one canonical form


def _coin(coin: str) -> str:
    if not isinstance(coin, str) or not coin:
        raise ValueError(f"coin must be a non-empty string, got {coin!r}")
    return coin


def all_mids_subscription(dex: str | None = None) -> Subscription:
    """``{"type": "allMids"[, "dex"]}`` -> :class:`AllMids` events."""
    return {"type": "allMids"} if dex is None else {"type": "allMids", "dex": dex}


def l2_book_subscription(
    coin: str, n_sig_figs: int | None = None, mantissa: int | None = None
) -> Subscription:
    """``{"type": "l2Book", "coin"[, "nSigFigs", "mantissa"]}`` -> full :class:`L2Book` snapshots."""
    sub: Subscription = {"type": "l2Book", "coin": _coin(coin)}
    if n_sig_figs is not None:
        sub["nSigFigs"] = n_sig_figs
    if mantissa is not None:
        sub["mantissa"] = mantissa
    return sub


def trades_subscription(coin: str) -> Subscription:
    """``{"type": "trades", "coin"}`` -> :class:`Trades` events."""
    return {"type": "trades", "coin": _coin(coin)}


def bbo_subscription(coin: str) -> Subscription:
    """``{"type": "bbo", "coin"}`` -> :class:`Bbo` events."""
    return {"type": "bbo", "coin": _coin(coin)}


def active_asset_ctx_subscription(coin: str) -> Subscription:
    """``{"type": "activeAssetCtx", "coin"}`` -> :class:`ActiveAssetCtx` (spot: ActiveSpotAssetCtx)."""
    return {"type": "activeAssetCtx", "coin": _coin(coin)}


def order_updates_subscription(user: str) -> Subscription:
    """``{"type": "orderUpdates", "user"}`` (master address) -> :class:`OrderUpdates` events."""
    return {"type": "orderUpdates", "user": _user(user)}


def user_events_subscription(user: str) -> Subscription:
    """``{"type": "userEvents", "user"}`` (master address) -> :class:`UserEvents` on channel "user"."""
    return {"type": "userEvents", "user": _user(user)}


def user_fills_subscription(user: str, aggregate_by_time: bool | None = None) -> Subscription:
    """``{"type": "userFills", "user"[, "aggregateByTime"]}`` -> :class:`UserFills` (snapshot first)."""
    sub: Subscription = {"type": "userFills", "user": _user(user)}
    if aggregate_by_time is not None:
        sub["aggregateByTime"] = aggregate_by_time
    return sub


def user_fundings_subscription(user: str) -> Subscription:
    """``{"type": "userFundings", "user"}`` (master address) -> :class:`UserFundings` events."""
    return {"type": "userFundings", "user": _user(user)}


def subscribe_message(subscription: Subscription) -> str:
    """``{"method": "subscribe", "subscription": {...}}``."""
    return msgspec.json.encode({"method": "subscribe", "subscription": subscription}).decode()


def unsubscribe_message(subscription: Subscription) -> str:
    """``{"method": "unsubscribe", "subscription": {...}}`` -- the same object as subscribed."""
    return msgspec.json.encode({"method": "unsubscribe", "subscription": subscription}).decode()


def ping_message() -> str:
    """``{"method": "ping"}``; send at least every 50 s (the venue drops a connection silent ~60 s)."""
    return '{"method":"ping"}'


def post_message(request_id: int, kind: Literal["info", "action"], payload: object) -> str:
    """``{"method": "post", "id", "request": {"type": kind, "payload"}}``.

    ``payload`` is an ``/info`` body or the full signed ``/exchange`` body (a dict, a msgspec
    Struct, or ``msgspec.Raw`` of already-encoded JSON -- embedded verbatim, so the signed bytes are
    sent unchanged). ``request_id`` must be unique among in-flight posts: the reply carries it.
    """
    if isinstance(request_id, bool) or not isinstance(request_id, int) or not 0 <= request_id < 2**63:
        raise ValueError(f"request_id must be a non-negative int, got {request_id!r}")
    if kind not in ("info", "action"):
        raise ValueError(f"post kind must be 'info' or 'action', got {kind!r}")
    message = {"method": "post", "id": request_id, "request": {"type": kind, "payload": payload}}
    return msgspec.json.encode(message).decode()


# --- incoming events --------------------------------------------------------------------------


class _Ws(msgspec.Struct, frozen=True, rename="camel"):
    """Common config: immutable, camelCase keys, unknown fields tolerated."""


class SubscriptionAck(_Ws, frozen=True):
    """``subscriptionResponse``: the venue echoes the (un)subscribe request it accepted."""

    method: str
    subscription: dict[str, Any]


class Pong(_Ws, frozen=True):
    """``pong``: answer to :func:`ping_message`."""


class PostResponse(_Ws, frozen=True):
    """``post`` reply. ``payload`` is raw JSON: for "info" feed ``bytes(payload)`` to ``decode_info``;
    for "action" to the ``exchange_responses`` decoders; "error" carries an error string."""

    id: int
    type: str
    payload: msgspec.Raw


class Trade(_Ws, frozen=True):
    """One public trade; ``users`` = [buyer, seller]; ``tid`` is unique across assets."""

    coin: str
    side: Literal["B", "A"]
    px: Decimal
    sz: Decimal
    time: int
    hash: str
    tid: int
    users: tuple[str, str] | None = None


class Trades(_Ws, frozen=True):
    """``trades`` message."""

    trades: list[Trade]


class Bbo(_Ws, frozen=True):
    """``bbo``: best bid and ask; either side is None when empty."""

    coin: str
    time: int
    bbo: tuple[L2Level | None, L2Level | None]


class AllMids(_Ws, frozen=True):
    """``allMids``: mid price per coin."""

    mids: dict[str, Decimal]


class ActiveAssetCtx(_Ws, frozen=True):
    """``activeAssetCtx`` (perp)."""

    coin: str
    ctx: AssetCtx


class SpotAssetCtx(_Ws, frozen=True):
    """Spot market context of ``activeSpotAssetCtx``."""

    mark_px: Decimal
    prev_day_px: Decimal
    day_ntl_vlm: Decimal
    mid_px: Decimal | None = None
    circulating_supply: Decimal | None = None
    day_base_vlm: Decimal | None = None


class ActiveSpotAssetCtx(_Ws, frozen=True):
    """``activeSpotAssetCtx``: what an ``activeAssetCtx`` subscription on a spot coin delivers."""

    coin: str
    ctx: SpotAssetCtx


class OrderUpdate(_Ws, frozen=True):
    """One order transition: ``status`` e.g. "open", "filled", "canceled", "badAloPxRejected"."""

    order: OpenOrder
    status: str
    status_timestamp: int


class OrderUpdates(_Ws, frozen=True):
    """``orderUpdates`` message."""

    updates: list[OrderUpdate]


class WsFunding(_Ws, frozen=True):
    """A funding payment of the user: ``usdc`` is the signed cash flow."""

    time: int
    coin: str
    usdc: Decimal
    szi: Decimal
    funding_rate: Decimal
    n_samples: int | None = None


class Liquidation(msgspec.Struct, frozen=True):
    """``liquidation`` user event; the venue uses snake_case keys here."""

    lid: int
    liquidator: str
    liquidated_user: str
    liquidated_ntl_pos: Decimal
    liquidated_account_value: Decimal


class NonUserCancel(_Ws, frozen=True):
    """An order the venue canceled (not the user), e.g. on margin."""

    coin: str
    oid: int


class UserEvents(_Ws, frozen=True):
    """A ``user`` channel message (``userEvents`` subscription): one of the fields is set."""

    fills: list[Fill] = []
    funding: WsFunding | None = None
    liquidation: Liquidation | None = None
    non_user_cancel: list[NonUserCancel] = []


class UserFills(_Ws, frozen=True):
    """``userFills``: the first message after subscribing is a snapshot (``is_snapshot``)."""

    user: str
    fills: list[Fill]
    is_snapshot: bool = False


class UserFundings(_Ws, frozen=True):
    """``userFundings``: a snapshot, then payments on the hour."""

    user: str
    fundings: list[WsFunding]
    is_snapshot: bool = False


class WsError(_Ws, frozen=True):
    """``error`` channel: the venue refused a message (e.g. an invalid subscription)."""

    message: str


class Malformed(_Ws, frozen=True):
    """A frame that could not be decoded (or an unknown channel); ``channel`` when known."""

    reason: str
    channel: str | None = None


WsEvent = (
    SubscriptionAck
    | Pong
    | PostResponse
    | L2Book
    | Trades
    | Bbo
    | AllMids
    | ActiveAssetCtx
    | ActiveSpotAssetCtx
    | OrderUpdates
    | UserEvents
    | UserFills
    | UserFundings
    | WsError
    | Malformed
)


@dataclass(slots=True)
class WsDecodeStats:
    """Counters of :func:`parse_ws_message` outcomes; expose them as metrics."""

    events: int = 0
    malformed: int = 0
    unknown_channel: int = 0
    ignored: int = 0


class _Envelope(msgspec.Struct, frozen=True):
    channel: str
    data: msgspec.Raw = msgspec.Raw()  # empty = absent


class _PostReply(_Ws, frozen=True):
    type: str
    payload: msgspec.Raw = msgspec.Raw()


class _PostData(_Ws, frozen=True):
    id: int
    response: _PostReply


# msgspec raises RecursionError (not DecodeError) on nesting deeper than the interpreter's limit, even
# inside a skipped or Raw field: a hostile frame of 10,000 brackets must still be just malformed.
DECODE_ERRORS = (msgspec.DecodeError, RecursionError)
_ENVELOPE = msgspec.json.Decoder(_Envelope)
_POST = msgspec.json.Decoder(_PostData)
_ERROR_TEXT = msgspec.json.Decoder(str)
_TRADES = msgspec.json.Decoder(list[Trade])
_ORDER_UPDATES = msgspec.json.Decoder(list[OrderUpdate])
_USER_EVENTS = msgspec.json.Decoder(UserEvents)


def _post(data: msgspec.Raw) -> PostResponse:
    post = _POST.decode(data)
    return PostResponse(post.id, post.response.type, post.response.payload)


def _error(data: msgspec.Raw) -> WsError:
    try:
        return WsError(_ERROR_TEXT.decode(data))
    except DECODE_ERRORS:  # not a JSON string: keep the raw text rather than lose it
        return WsError(bytes(data).decode("utf-8", "replace"))


def _user_events(data: msgspec.Raw) -> UserEvents:
    event = _USER_EVENTS.decode(data)
    if not (event.fills or event.funding or event.liquidation or event.non_user_cancel):
        raise msgspec.ValidationError("user event without fills, funding, liquidation or nonUserCancel")
    return event


# Channel -> decoder of its ``data``. Decoders are built once: decoding is the hot path.
_CHANNELS: dict[str, Callable[[msgspec.Raw], WsEvent]] = {
    "subscriptionResponse": msgspec.json.Decoder(SubscriptionAck).decode,
    "pong": lambda _data: Pong(),
    "post": _post,
    "error": _error,
    "l2Book": msgspec.json.Decoder(L2Book).decode,
    "trades": lambda data: Trades(_TRADES.decode(data)),
    "bbo": msgspec.json.Decoder(Bbo).decode,
    "allMids": msgspec.json.Decoder(AllMids).decode,
    "activeAssetCtx": msgspec.json.Decoder(ActiveAssetCtx).decode,
    "activeSpotAssetCtx": msgspec.json.Decoder(ActiveSpotAssetCtx).decode,
    "orderUpdates": lambda data: OrderUpdates(_ORDER_UPDATES.decode(data)),
    "user": _user_events,
    "userFills": msgspec.json.Decoder(UserFills).decode,
    "userFundings": msgspec.json.Decoder(UserFundings).decode,
}


def _is_greeting(raw: bytes | str) -> bool:
    text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
    return text.strip() == CONNECTION_GREETING


def parse_ws_message(raw: bytes | str, stats: WsDecodeStats | None = None) -> WsEvent | None:
    """Decode one incoming frame into an event; never raises.

    Returns None for the connection greeting, :class:`Malformed` for undecodable frames and
    unknown channels (candle, webData2, notification... are not modeled here).
    """
    stats = stats if stats is not None else WsDecodeStats()
    try:
        envelope = _ENVELOPE.decode(raw)
    except DECODE_ERRORS as exc:
        # Checked only after a failed decode: the greeting is once per connection, frames are many.
        if _is_greeting(raw):
            stats.ignored += 1
            return None
        stats.malformed += 1
        return Malformed(f"not a channel message: {exc}")
    channel = envelope.channel
    decode = _CHANNELS.get(channel)
    if decode is None:
        stats.unknown_channel += 1
        return Malformed("unknown channel", channel)
    try:
        event = decode(envelope.data)
    except DECODE_ERRORS as exc:
        stats.malformed += 1
        return Malformed(str(exc), channel)
    stats.events += 1
    return event
