"""Typed ``POST /info`` request bodies and responses of the Hyperliquid venue (doc §3.1).

Builders return JSON-ready dicts with the venue's field names, optional fields omitted (not null).
:func:`decode_info` decodes a response body into msgspec Structs: numbers the venue sends as
strings decode to ``Decimal``, oids and ms timestamps stay ``int``. Unknown extra fields are
ignored (the venue keeps adding fields); a missing required field raises :class:`InfoDecodeError`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Literal, overload

import msgspec

from keeper.codecs.hyperliquid.errors import HyperliquidCodecError


class InfoDecodeError(HyperliquidCodecError):
    """An ``/info`` response body does not match the expected shape (or the type name is unknown)."""


class InfoRequestError(HyperliquidCodecError):
    """An ``/info`` request builder got an invalid argument (address, cloid, time range...)."""


class _Info(msgspec.Struct, frozen=True, rename="camel"):
    """Common config: immutable, camelCase wire keys, unknown fields tolerated (msgspec default)."""


# --- meta / metaAndAssetCtxs ------------------------------------------------------------------


class AssetMeta(_Info, frozen=True):
    """One ``meta.universe`` entry; the perp asset id is its list index (delisted ones stay listed)."""

    name: str
    sz_decimals: int
    max_leverage: int
    margin_table_id: int | None = None
    only_isolated: bool = False
    is_delisted: bool = False
    margin_mode: str | None = None


class MarginTier(_Info, frozen=True):
    """Leverage tier: ``maxLeverage`` applies from position notional ``lowerBound`` up."""

    lower_bound: Decimal
    max_leverage: int


class MarginTable(_Info, frozen=True):
    """Body of one ``[id, table]`` pair of ``meta.marginTables``."""

    description: str = ""
    margin_tiers: list[MarginTier] = []


class Meta(_Info, frozen=True):
    """``meta``: the perp universe plus margin tables."""

    universe: list[AssetMeta]
    margin_tables: list[tuple[int, MarginTable]] = []
    collateral_token: int | None = None


class AssetCtx(_Info, frozen=True):
    """Per-perp market context (``metaAndAssetCtxs`` and WS ``activeAssetCtx``)."""

    funding: Decimal
    open_interest: Decimal
    prev_day_px: Decimal
    day_ntl_vlm: Decimal
    oracle_px: Decimal
    mark_px: Decimal
    premium: Decimal | None = None
    mid_px: Decimal | None = None
    impact_pxs: tuple[Decimal, Decimal] | None = None
    day_base_vlm: Decimal | None = None


class MetaAndAssetCtxs(_Info, frozen=True, array_like=True):
    """``[meta, [ctx...]]``: parallel arrays, ``asset_ctxs[i]`` belongs to ``meta.universe[i]``."""

    meta: Meta
    asset_ctxs: list[AssetCtx]


class L2Level(_Info, frozen=True):
    """One aggregated price level: ``n`` is the number of orders at it."""

    px: Decimal
    sz: Decimal
    n: int


class L2Book(_Info, frozen=True):
    """Full book snapshot: ``levels[0]`` bids best-first (descending), ``levels[1]`` asks ascending."""

    coin: str
    time: int
    levels: tuple[list[L2Level], list[L2Level]]


class Leverage(_Info, frozen=True):
    """``{"type": "cross"|"isolated", "value", "rawUsd"?}``; ``raw_usd`` only for isolated."""

    type: str
    value: int
    raw_usd: Decimal | None = None


class CumFunding(_Info, frozen=True):
    """Cumulative funding of the position: all time, since opened, since its size last changed."""

    all_time: Decimal
    since_open: Decimal
    since_change: Decimal


class PositionInfo(_Info, frozen=True):
    """A perp position; ``szi`` is signed (negative = short)."""

    coin: str
    szi: Decimal
    leverage: Leverage
    margin_used: Decimal
    position_value: Decimal
    unrealized_pnl: Decimal
    return_on_equity: Decimal
    entry_px: Decimal | None = None
    liquidation_px: Decimal | None = None
    max_leverage: int | None = None
    cum_funding: CumFunding | None = None


class AssetPosition(_Info, frozen=True):
    """Wrapper ``{"type": "oneWay", "position": {...}}``."""

    position: PositionInfo
    type: str = "oneWay"


class MarginSummary(_Info, frozen=True):
    """Account value and margin totals (cross or overall)."""

    account_value: Decimal
    total_ntl_pos: Decimal
    total_raw_usd: Decimal
    total_margin_used: Decimal


class ClearinghouseState(_Info, frozen=True):
    """``clearinghouseState``: perp positions and margin of one user (query the master address)."""

    asset_positions: list[AssetPosition]
    margin_summary: MarginSummary
    cross_margin_summary: MarginSummary
    withdrawable: Decimal
    time: int
    cross_maintenance_margin_used: Decimal | None = None


class OpenOrder(_Info, frozen=True):
    """``openOrders`` row. ``side`` "B" = bid/buy, "A" = ask/sell; ``sz`` is the remaining size."""

    coin: str
    side: Literal["B", "A"]
    limit_px: Decimal
    sz: Decimal
    oid: int
    timestamp: int
    orig_sz: Decimal | None = None  # absent in 2023 responses
    cloid: str | None = None
    reduce_only: bool = False


class FrontendOpenOrder(OpenOrder, frozen=True):
    """``frontendOpenOrders`` row (also the order inside ``orderStatus``): adds trigger/TIF details."""

    is_trigger: bool = False
    trigger_px: Decimal | None = None
    trigger_condition: str | None = None
    is_position_tpsl: bool = False
    order_type: str | None = None
    tif: str | None = None
    children: list[FrontendOpenOrder] = []


class OrderStatusDetail(_Info, frozen=True):
    """``{"order": <frontend order>, "status": "open"|"filled"|..., "statusTimestamp"}``."""

    order: FrontendOpenOrder
    status: str
    status_timestamp: int


class OrderStatusResponse(_Info, frozen=True):
    """``orderStatus``: ``status`` is "order" (``order`` set) or "unknownOid" (``order`` None)."""

    status: str
    order: OrderStatusDetail | None = None


class FillLiquidation(_Info, frozen=True):
    """Liquidation details attached to a fill that was part of one."""

    liquidated_user: str | None = None
    mark_px: Decimal | None = None
    method: str | None = None


class Fill(_Info, frozen=True):
    """One fill (``userFills``, ``userFillsByTime``, WS ``userFills``/``user``). ``crossed`` = taker."""

    coin: str
    px: Decimal
    sz: Decimal
    side: Literal["B", "A"]
    time: int
    oid: int
    tid: int
    hash: str
    crossed: bool
    fee: Decimal
    start_position: Decimal | None = None
    dir: str | None = None
    closed_pnl: Decimal | None = None
    fee_token: str | None = None
    builder_fee: Decimal | None = None
    cloid: str | None = None
    liquidation: FillLiquidation | None = None
    twap_id: int | None = None


class FundingHistoryEntry(_Info, frozen=True):
    """``fundingHistory`` row: the market's funding rate at one settlement."""

    coin: str
    funding_rate: Decimal
    premium: Decimal
    time: int


class FundingDelta(_Info, frozen=True):
    """The funding payment: ``usdc`` is the signed cash flow to the user."""

    coin: str
    usdc: Decimal
    szi: Decimal
    funding_rate: Decimal
    type: str = "funding"
    n_samples: int | None = None


class UserFundingEntry(_Info, frozen=True):
    """``userFunding`` row: one payment of one user; ``time`` is on the hour."""

    time: int
    hash: str
    delta: FundingDelta


class PredictedFunding(_Info, frozen=True):
    """Predicted next funding of one venue for one coin."""

    funding_rate: Decimal
    next_funding_time: int
    funding_interval_hours: int | None = None


class PredictedFundingVenue(_Info, frozen=True, array_like=True):
    """``[venue, prediction|null]`` with venue e.g. "HlPerp", "BinPerp", "BybitPerp"."""

    venue: str
    prediction: PredictedFunding | None


class PredictedFundingAsset(_Info, frozen=True, array_like=True):
    """``[coin, [[venue, prediction], ...]]``."""

    coin: str
    venues: list[PredictedFundingVenue]


class UserRateLimit(_Info, frozen=True):
    """Address-based action budget: ``n_requests_cap`` grows with cumulative volume."""

    cum_vlm: Decimal
    n_requests_used: int
    n_requests_cap: int


# --- decoding ---------------------------------------------------------------------------------

# One Decoder per type, built once: Decoder construction is far slower than decoding.
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "meta": msgspec.json.Decoder(Meta),
    "metaAndAssetCtxs": msgspec.json.Decoder(MetaAndAssetCtxs),
    "l2Book": msgspec.json.Decoder(L2Book | None),  # null for an unknown market
    "clearinghouseState": msgspec.json.Decoder(ClearinghouseState),
    "openOrders": msgspec.json.Decoder(list[OpenOrder]),
    "frontendOpenOrders": msgspec.json.Decoder(list[FrontendOpenOrder]),
    "userFills": msgspec.json.Decoder(list[Fill]),
    "userFillsByTime": msgspec.json.Decoder(list[Fill]),
    "fundingHistory": msgspec.json.Decoder(list[FundingHistoryEntry]),
    "userFunding": msgspec.json.Decoder(list[UserFundingEntry]),
    "predictedFundings": msgspec.json.Decoder(list[PredictedFundingAsset]),
    "orderStatus": msgspec.json.Decoder(OrderStatusResponse),
    "userRateLimit": msgspec.json.Decoder(UserRateLimit),
    "allMids": msgspec.json.Decoder(dict[str, Decimal]),
}
INFO_TYPES: frozenset[str] = frozenset(_DECODERS)


@overload
def decode_info(type_name: Literal["meta"], raw: bytes | str) -> Meta: ...
@overload
def decode_info(type_name: Literal["metaAndAssetCtxs"], raw: bytes | str) -> MetaAndAssetCtxs: ...
@overload
def decode_info(type_name: Literal["l2Book"], raw: bytes | str) -> L2Book | None: ...
@overload
def decode_info(type_name: Literal["clearinghouseState"], raw: bytes | str) -> ClearinghouseState: ...
@overload
def decode_info(type_name: Literal["openOrders"], raw: bytes | str) -> list[OpenOrder]: ...
@overload
def decode_info(type_name: Literal["frontendOpenOrders"], raw: bytes | str) -> list[FrontendOpenOrder]: ...
@overload
def decode_info(type_name: Literal["userFills", "userFillsByTime"], raw: bytes | str) -> list[Fill]: ...
@overload
def decode_info(type_name: Literal["fundingHistory"], raw: bytes | str) -> list[FundingHistoryEntry]: ...
@overload
def decode_info(type_name: Literal["userFunding"], raw: bytes | str) -> list[UserFundingEntry]: ...
@overload
def decode_info(type_name: Literal["predictedFundings"], raw: bytes | str) -> list[PredictedFundingAsset]: ...
@overload
def decode_info(type_name: Literal["orderStatus"], raw: bytes | str) -> OrderStatusResponse: ...
@overload
def decode_info(type_name: Literal["userRateLimit"], raw: bytes | str) -> UserRateLimit: ...
@overload
def decode_info(type_name: Literal["allMids"], raw: bytes | str) -> dict[str, Decimal]: ...
@overload
def decode_info(type_name: str, raw: bytes | str) -> object: ...
def decode_info(type_name: str, raw: bytes | str) -> object:
    """Decode the body of an ``/info`` response of request ``type_name``.

    Raises :class:`InfoDecodeError` for an unknown type name, invalid JSON, nesting too deep to decode
    or a shape mismatch (and nothing else).
    ``raw`` may also be a WS post reply payload (``bytes(PostResponse.payload)``).
    """
    decoder = _DECODERS.get(type_name)
    if decoder is None:
        raise InfoDecodeError(f"unsupported info type {type_name!r}")
    try:
        return decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError) as exc:  # RecursionError: nesting too deep to decode
        raise InfoDecodeError(f"{type_name}: {exc}") from exc


# --- request bodies ---------------------------------------------------------------------------

InfoRequest = dict[str, str | int | bool]

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_CLOID = re.compile(r"0x[0-9a-fA-F]{32}")


def _body(type_name: str, **fields: str | int | bool | None) -> InfoRequest:
    # Optional fields are omitted, not sent as null (the venue's serde schemas expect absence).
    body: InfoRequest = {"type": type_name}
    body.update({key: value for key, value in fields.items() if value is not None})
    return body


def _user(user: str) -> str:
    # Lowercased so equal addresses give equal bodies (cache keys, logs); the venue accepts both.
    if not isinstance(user, str) or _ADDRESS.fullmatch(user) is None:
        raise InfoRequestError(f"user must be a 0x-prefixed 20-byte hex address, got {user!r}")
    return user.lower()


def _coin(coin: str) -> str:
    if not isinstance(coin, str) or not coin:
        raise InfoRequestError(f"coin must be a non-empty string, got {coin!r}")
    return coin


def _range(start: int, end: int | None) -> dict[str, int]:
    # Times are ints of ms; the optional end must not precede the start.
    times = {"startTime": start} if end is None else {"startTime": start, "endTime": end}
    if any(isinstance(t, bool) or not isinstance(t, int) or t < 0 for t in times.values()) or (
        end is not None and end < start
    ):
        raise InfoRequestError(f"bad time range: startTime={start!r} endTime={end!r}")
    return times


def meta_request(dex: str | None = None) -> InfoRequest:
    """``{"type": "meta"[, "dex"]}``."""
    return _body("meta", dex=dex)


def meta_and_asset_ctxs_request() -> InfoRequest:
    """``{"type": "metaAndAssetCtxs"}``."""
    return _body("metaAndAssetCtxs")


def all_mids_request(dex: str | None = None) -> InfoRequest:
    """``{"type": "allMids"[, "dex"]}``."""
    return _body("allMids", dex=dex)


def l2_book_request(coin: str, n_sig_figs: int | None = None, mantissa: int | None = None) -> InfoRequest:
    """``{"type": "l2Book", "coin"[, "nSigFigs"[, "mantissa"]]}``; no nSigFigs = full precision."""
    if n_sig_figs not in (None, 2, 3, 4, 5):
        raise InfoRequestError(f"nSigFigs must be 2..5, got {n_sig_figs!r}")
    if mantissa is not None and (n_sig_figs != 5 or mantissa not in (1, 2, 5)):
        raise InfoRequestError("mantissa (1, 2 or 5) is only allowed with nSigFigs=5")
    return _body("l2Book", coin=_coin(coin), nSigFigs=n_sig_figs, mantissa=mantissa)


def clearinghouse_state_request(user: str, dex: str | None = None) -> InfoRequest:
    """``{"type": "clearinghouseState", "user"[, "dex"]}`` -- user = master/sub-account, not agent."""
    return _body("clearinghouseState", user=_user(user), dex=dex)


def open_orders_request(user: str, dex: str | None = None) -> InfoRequest:
    """``{"type": "openOrders", "user"[, "dex"]}``."""
    return _body("openOrders", user=_user(user), dex=dex)


def frontend_open_orders_request(user: str, dex: str | None = None) -> InfoRequest:
    """``{"type": "frontendOpenOrders", "user"[, "dex"]}``."""
    return _body("frontendOpenOrders", user=_user(user), dex=dex)


def user_fills_request(user: str, aggregate_by_time: bool | None = None) -> InfoRequest:
    """``{"type": "userFills", "user"[, "aggregateByTime"]}`` (at most the 2000 most recent fills)."""
    return _body("userFills", user=_user(user), aggregateByTime=aggregate_by_time)


def user_fills_by_time_request(
    user: str, start_time: int, end_time: int | None = None, aggregate_by_time: bool | None = None
) -> InfoRequest:
    """``{"type": "userFillsByTime", "user", "startTime"[, "endTime", "aggregateByTime"]}``."""
    times = _range(start_time, end_time)
    return _body("userFillsByTime", user=_user(user), aggregateByTime=aggregate_by_time, **times)


def funding_history_request(coin: str, start_time: int, end_time: int | None = None) -> InfoRequest:
    """``{"type": "fundingHistory", "coin", "startTime"[, "endTime"]}``; ≤500 rows, page on time."""
    return _body("fundingHistory", coin=_coin(coin), **_range(start_time, end_time))


def user_funding_request(user: str, start_time: int, end_time: int | None = None) -> InfoRequest:
    """``{"type": "userFunding", "user", "startTime"[, "endTime"]}``; ≤500 rows, page on time."""
    return _body("userFunding", user=_user(user), **_range(start_time, end_time))


def predicted_fundings_request() -> InfoRequest:
    """``{"type": "predictedFundings"}``."""
    return _body("predictedFundings")


def order_status_request(user: str, oid: int | str) -> InfoRequest:
    """``{"type": "orderStatus", "user", "oid"}`` with an int oid or a ``0x`` + 32 hex cloid."""
    if isinstance(oid, str):
        if _CLOID.fullmatch(oid) is None:
            raise InfoRequestError(f"cloid must be 0x followed by 32 hex digits, got {oid!r}")
        oid = oid.lower()
    elif isinstance(oid, bool) or not isinstance(oid, int) or oid < 0:
        raise InfoRequestError(f"oid must be a non-negative int or a cloid string, got {oid!r}")
    return _body("orderStatus", user=_user(user), oid=oid)


def user_rate_limit_request(user: str) -> InfoRequest:
    """``{"type": "userRateLimit", "user"}``."""
    return _body("userRateLimit", user=_user(user))
