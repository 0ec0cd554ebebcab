"""Typed outcomes of ``POST /exchange`` responses, one per order / cancel of the action.

Policy (NautilusTrader-style, as the design brief asks): an order is ``Refused`` only when the venue
gave a definitive error string for it -- a per-order ``{"error": "..."}`` status, or a
whole-response ``{"status": "err", "response": "..."}`` which rejects every item of the action.
Anything else the keeper cannot prove (missing or surplus statuses, unexpected shapes, HTTP 5xx,
timeouts, 429) is ``Unknown``: the order may or may not exist, so the caller must reconcile
(``orderStatus`` / ``openOrders`` / the ``orderUpdates`` stream) instead of assuming it is gone.
Treating an unknown as a reject would leave live orphan orders on the book.

Response shapes (doc §3.2, RS ``exchange_responses.rs``, NK ``order.ts``/``cancel.ts``)::

    {"status":"ok","response":{"type":"order","data":{"statuses":[
        {"resting":{"oid":77738308}}, {"filled":{"totalSz":"0.02","avgPx":"1891.4","oid":77747314}},
        {"error":"Order must have minimum value of $10."}, "waitingForFill"]}}}
    {"status":"ok","response":{"type":"cancel","data":{"statuses":["success",{"error":"..."}]}}}
    {"status":"ok","response":{"type":"default"}}
    {"status":"err","response":"Invalid nonce: duplicate nonce 1741107452532"}
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, Literal, TypeVar, overload

import msgspec

from keeper.core.md_guard import sane_number


class Resting(msgspec.Struct, frozen=True):
    """The order rests on the book under ``oid``."""

    oid: int
    cloid: str | None = None


class Filled(msgspec.Struct, frozen=True):
    """The order filled immediately (IOC or crossing GTC): ``total_sz`` at average ``avg_px``."""

    oid: int
    total_sz: Decimal
    avg_px: Decimal
    cloid: str | None = None


class Refused(msgspec.Struct, frozen=True):
    """Definitive venue error. ``action_level``: the whole action was refused (e.g. bad nonce)."""

    message: str
    action_level: bool = False


class Unknown(msgspec.Struct, frozen=True):
    """Outcome not provable. ``retryable``: the request was not processed (429), resending is safe."""

    reason: str
    retryable: bool = False


class Canceled(msgspec.Struct, frozen=True):
    """A cancel status ``"success"``."""


class Accepted(msgspec.Struct, frozen=True):
    """A ``{"type": "default"}`` response (updateLeverage, scheduleCancel, modify, noop...)."""


OrderOutcome = Resting | Filled | Refused | Unknown
CancelOutcome = Canceled | Refused | Unknown
DefaultOutcome = Accepted | Refused | Unknown
ActionKind = Literal["order", "cancel", "default"]
_Outcome = TypeVar("_Outcome", OrderOutcome, CancelOutcome, DefaultOutcome)


# --- wire shapes (lenient: unknown fields ignored, every item decoded on its own) ----------------


class _Envelope(msgspec.Struct, frozen=True):
    status: str
    response: msgspec.Raw = msgspec.Raw()  # empty = absent


class _Data(msgspec.Struct, frozen=True):
    statuses: list[msgspec.Raw]


class _OkBody(msgspec.Struct, frozen=True):
    type: str
    data: _Data | None = None


class _RestingWire(msgspec.Struct, frozen=True):
    oid: int
    cloid: str | None = None


class _FilledWire(msgspec.Struct, frozen=True, rename="camel"):
    total_sz: Decimal
    avg_px: Decimal
    oid: int
    cloid: str | None = None


class _StatusWire(msgspec.Struct, frozen=True):
    resting: _RestingWire | None = None
    filled: _FilledWire | None = None
    error: str | None = None


# msgspec raises RecursionError on nesting deeper than the interpreter's limit (even in skipped fields):
# such a body proves nothing, like any other undecodable one.
_DECODE_ERRORS = (msgspec.DecodeError, RecursionError)
_ENVELOPE = msgspec.json.Decoder(_Envelope)
_OK_BODY = msgspec.json.Decoder(_OkBody)
_ERR_MESSAGE = msgspec.json.Decoder(str)
_STATUS: msgspec.json.Decoder[str | _StatusWire] = msgspec.json.Decoder(str | _StatusWire)

Body = bytes | str | memoryview | msgspec.Raw  # msgspec.Raw: a WS post reply payload


def _check_count(n_items: int) -> None:
    if isinstance(n_items, bool) or not isinstance(n_items, int) or n_items < 1:
        raise ValueError(f"n_items must be a positive int, got {n_items!r}")


def _unwrap_body(raw: Body) -> msgspec.Raw | Refused | Unknown:
    """The ``response`` of an ok envelope, or the outcome every item of the action shares."""
    try:
        envelope = _ENVELOPE.decode(raw)
    except _DECODE_ERRORS as exc:
        return Unknown(f"undecodable response: {exc}")
    if envelope.status == "ok":
        return envelope.response
    if envelope.status != "err":
        return Unknown(f"unexpected status {envelope.status!r}")
    try:
        message = _ERR_MESSAGE.decode(envelope.response) if envelope.response else ""
    except _DECODE_ERRORS:
        message = bytes(envelope.response).decode("utf-8", "replace")  # still a definitive refusal
    return Refused(message or "<no message>", action_level=True)


def _statuses(raw: Body, expected_type: str, n_items: int) -> list[msgspec.Raw] | Refused | Unknown:
    """The per-item raw statuses, or the outcome every item shares."""
    response = _unwrap_body(raw)
    if not isinstance(response, msgspec.Raw):
        return response
    try:
        body = _OK_BODY.decode(response)
    except _DECODE_ERRORS as exc:
        return Unknown(f"malformed ok response: {exc}")
    if body.type != expected_type or body.data is None:
        return Unknown(f"expected a {expected_type!r} response with statuses, got type {body.type!r}")
    if len(body.data.statuses) != n_items:
        # Statuses are positional; with a count mismatch no status can be tied to its item.
        return Unknown(f"{len(body.data.statuses)} statuses for {n_items} items")
    return body.data.statuses


def _status(raw: msgspec.Raw) -> str | _StatusWire | Unknown:
    try:
        return _STATUS.decode(raw)
    except _DECODE_ERRORS as exc:
        return Unknown(f"malformed status: {exc}")


def _error_or_unknown(status: _StatusWire) -> Refused | Unknown:
    if status.error:  # a non-empty venue error string is the only per-item proof of rejection
        return Refused(status.error)
    return Unknown(f"unrecognized status {msgspec.json.encode(status).decode()}")


def decode_order_response(raw: Body, n_orders: int) -> tuple[OrderOutcome, ...]:
    """Outcomes of an ``order`` or ``batchModify`` action with ``n_orders`` orders, in request order.

    ``"waitingForFill"`` / ``"waitingForTrigger"`` (accepted but not yet resting or filled, no oid)
    are ``Unknown``: the order exists only if it later shows up in order updates.
    """
    _check_count(n_orders)
    statuses = _statuses(raw, "order", n_orders)
    if not isinstance(statuses, list):
        return (statuses,) * n_orders
    outcomes: list[OrderOutcome] = []
    for item in statuses:
        status = _status(item)
        if isinstance(status, Unknown):
            outcomes.append(status)
        elif isinstance(status, str):
            outcomes.append(Unknown(f"pending status {status!r}"))
        elif (status.resting is None) + (status.filled is None) + (status.error is None) != 2:
            outcomes.append(Unknown("status has none or several of resting/filled/error"))
        elif status.resting is not None:
            outcomes.append(Resting(status.resting.oid, status.resting.cloid))
        elif status.filled is not None:
            f = status.filled
            if sane_number(f.total_sz) and sane_number(f.avg_px):
                outcomes.append(Filled(f.oid, f.total_sz, f.avg_px, f.cloid))
            else:  # filled, but by how much is garbage: reconciliation reads the real fills
                outcomes.append(Unknown("filled status with a size or price not finite or absurd"))
        else:
            outcomes.append(_error_or_unknown(status))
    return tuple(outcomes)


def decode_cancel_response(raw: Body, n_cancels: int) -> tuple[CancelOutcome, ...]:
    """Outcomes of a ``cancel`` / ``cancelByCloid`` action with ``n_cancels`` cancels, in order.

    ``Refused`` typically carries "Order was never placed, already canceled, or filled." -- the
    cancel failed, which says nothing definitive about a fill; reconcile before assuming one.
    """
    _check_count(n_cancels)
    statuses = _statuses(raw, "cancel", n_cancels)
    if not isinstance(statuses, list):
        return (statuses,) * n_cancels
    outcomes: list[CancelOutcome] = []
    for item in statuses:
        status = _status(item)
        if isinstance(status, Unknown):
            outcomes.append(status)
        elif status == "success":
            outcomes.append(Canceled())
        elif isinstance(status, str):
            outcomes.append(Unknown(f"unexpected cancel status {status!r}"))
        elif status.resting is not None or status.filled is not None:
            outcomes.append(Unknown("order-style status in a cancel response"))
        else:
            outcomes.append(_error_or_unknown(status))
    return tuple(outcomes)


def decode_default_response(raw: Body) -> DefaultOutcome:
    """Outcome of an action answered with ``{"type": "default"}`` (leverage, scheduleCancel, noop...)."""
    response = _unwrap_body(raw)
    if not isinstance(response, msgspec.Raw):
        return response
    try:
        response_type = _OK_BODY.decode(response).type
    except _DECODE_ERRORS as exc:
        return Unknown(f"malformed ok response: {exc}")
    return (
        Accepted() if response_type == "default" else Unknown(f"unexpected response type {response_type!r}")
    )


@dataclass(frozen=True, slots=True)
class HttpOutcome(Generic[_Outcome]):
    """Per-item outcomes of one ``/exchange`` HTTP exchange plus whether it hit the rate limit."""

    outcomes: tuple[_Outcome, ...]
    http_status: int | None
    rate_limited: bool = False


@overload
def classify_http(
    kind: Literal["order"], http_status: int | None, body: Body | None, n_items: int = 1
) -> HttpOutcome[OrderOutcome]: ...
@overload
def classify_http(
    kind: Literal["cancel"], http_status: int | None, body: Body | None, n_items: int = 1
) -> HttpOutcome[CancelOutcome]: ...
@overload
def classify_http(
    kind: Literal["default"], http_status: int | None, body: Body | None, n_items: int = 1
) -> HttpOutcome[DefaultOutcome]: ...
def classify_http(
    kind: ActionKind, http_status: int | None, body: Body | None, n_items: int = 1
) -> HttpOutcome[OrderOutcome] | HttpOutcome[CancelOutcome] | HttpOutcome[DefaultOutcome]:
    """Classify an HTTP-level result of a request that *was sent*.

    ``http_status`` None = no response (timeout, connection dropped after sending). 2xx -> decode
    the body; 429 -> ``Unknown(retryable=True)`` and ``rate_limited`` (the venue refused before
    processing, so resending the identical signed body is safe); 5xx, other 4xx, timeouts ->
    ``Unknown`` (the action may have executed). The venue reports business errors with HTTP 200.
    """
    _check_count(n_items)
    if http_status is not None and 200 <= http_status < 300 and body is not None:
        if kind == "order":
            return HttpOutcome(decode_order_response(body, n_items), http_status)
        if kind == "cancel":
            return HttpOutcome(decode_cancel_response(body, n_items), http_status)
        if n_items != 1:
            raise ValueError("a default-response action has exactly one outcome")
        return HttpOutcome((decode_default_response(body),), http_status)
    if http_status == 429:
        unknown = Unknown("rate limited (HTTP 429)", retryable=True)
        return HttpOutcome((unknown,) * n_items, http_status, rate_limited=True)
    if http_status is None:
        unknown = Unknown("no HTTP response (timeout or transport error)")
    elif 200 <= http_status < 300:
        unknown = Unknown(f"HTTP {http_status} without a body")
    else:
        unknown = Unknown(f"HTTP {http_status}")
    return HttpOutcome((unknown,) * n_items, http_status)
