"""``/info`` request types, in the venue's response shapes (hyperliquid-api.md §3.1).

Unknown types and missing or mistyped fields answer :class:`BadRequest` (the venue's HTTP 422).
History queries return at most 2000 fills / 500 funding rows; ``userFills`` is newest first, the
time-ranged queries oldest first (paginate with the last timestamp as the next ``startTime``).
Only perps exist here: ``spotMeta`` and ``spotClearinghouseState`` answer empty so SDK clients
that fetch them at start-up work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from keeper.localvenue._accounts import clearinghouse_state
from keeper.localvenue._auth import AgentRegistry
from keeper.localvenue._config import LocalVenueConfig
from keeper.localvenue._events import WsEvent
from keeper.localvenue._funding import Funding
from keeper.localvenue._matching import Market
from keeper.localvenue._orders import RestingOrder
from keeper.localvenue._wire import (
    PX_PLACES,
    BadRequest,
    JsonDict,
    fmt,
    fmt_usd,
    parse_address,
    parse_cloid,
    parse_int,
)

InfoResponse = JsonDict | list[Any] | None | BadRequest
MAX_FILLS = 2000
MAX_FUNDING_ROWS = 500
INITIAL_REQUEST_BUFFER = 10_000
_BAD = BadRequest("Failed to deserialize the JSON body into the target type")


class InfoContext(NamedTuple):
    """What the info handlers read."""

    config: LocalVenueConfig
    market: Market
    funding: Funding
    agents: AgentRegistry
    next_funding_ms: int


def active_asset_ctx(ctx: InfoContext, asset: int, now_ms: int) -> WsEvent:
    """The ``activeAssetCtx`` frame of one perp: the same context ``metaAndAssetCtxs`` lists."""
    coin = ctx.config.assets[asset].name
    return WsEvent("activeAssetCtx", {"coin": coin, "ctx": _asset_ctx(ctx, asset, now_ms)}, coin=coin)


def _meta(ctx: InfoContext) -> JsonDict:
    universe = [
        {
            "name": a.name,
            "szDecimals": a.sz_decimals,
            "maxLeverage": a.max_leverage,
            "marginTableId": a.max_leverage,
        }
        for a in ctx.config.assets
    ]
    tables = {
        a.max_leverage: {
            "description": "",
            "marginTiers": [{"lowerBound": "0.0", "maxLeverage": a.max_leverage}],
        }
        for a in ctx.config.assets
    }
    return {
        "universe": universe,
        "marginTables": [[k, v] for k, v in sorted(tables.items())],
        "collateralToken": 0,
    }


def _asset_ctx(ctx: InfoContext, asset: int, now_ms: int) -> JsonDict:
    market, funding = ctx.market, ctx.funding
    prev_px, ntl, base = market.day_stats(asset, now_ms)
    mid = market.books[asset].mid()
    impact_bid, impact_ask = funding.impact_pxs(asset)
    premium = funding.last_premium[asset]
    return {
        "funding": fmt(funding.predicted_rate(asset)),
        "openInterest": fmt(market.open_interest(asset)),
        "prevDayPx": fmt(prev_px),
        "dayNtlVlm": fmt_usd(ntl),
        "premium": None if premium is None else fmt(premium),
        "oraclePx": fmt(market.oracle[asset]),
        "markPx": fmt(market.mark(asset)),
        "midPx": None if mid is None else fmt(mid),
        "impactPxs": None
        if impact_bid is None or impact_ask is None
        else [fmt(impact_bid, PX_PLACES), fmt(impact_ask, PX_PLACES)],
        "dayBaseVlm": fmt(base),
    }


def _user(body: Mapping[str, Any]) -> str | None:
    return parse_address(body.get("user"))


def _time_range(body: Mapping[str, Any], now_ms: int) -> tuple[int, int] | None:
    start = parse_int(body.get("startTime"))
    end = body.get("endTime")
    end_ms = now_ms if end is None else parse_int(end)
    if start is None or end_ms is None:
        return None
    return start, end_ms


def _open_orders(ctx: InfoContext, user: str) -> list[RestingOrder]:
    return sorted(ctx.market.orders.of_user(user), key=lambda order: order.oid, reverse=True)


def _h_meta(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    return _meta(ctx)


def _h_meta_ctxs(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    return [_meta(ctx), [_asset_ctx(ctx, asset, now_ms) for asset in range(len(ctx.config.assets))]]


def _h_l2(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    coin, sig_figs = body.get("coin"), body.get("nSigFigs")
    if not isinstance(coin, str) or (sig_figs is not None and parse_int(sig_figs) not in (2, 3, 4, 5)):
        return _BAD
    asset = ctx.config.asset_id(coin)
    return None if asset is None else ctx.market.l2_book(asset, now_ms, parse_int(sig_figs))


def _h_all_mids(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    return ctx.market.all_mids()


def _h_clearinghouse(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    user = _user(body)
    if user is None:
        return _BAD
    market = ctx.market
    account = market.accounts.get(user)
    return clearinghouse_state(
        account, ctx.config.assets, market.marks(), ctx.config.default_leverage, now_ms
    )


def _h_open_orders(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    user = _user(body)
    return _BAD if user is None else [order.wire() for order in _open_orders(ctx, user)]


def _h_frontend_orders(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    user = _user(body)
    return _BAD if user is None else [order.frontend() for order in _open_orders(ctx, user)]


def _h_user_fills(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    user = _user(body)
    if user is None:
        return _BAD
    fills = list(ctx.market.fills.get(user, ()))
    return [fill.wire() for fill in reversed(fills[-MAX_FILLS:])]


def _h_user_fills_by_time(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    user, window = _user(body), _time_range(body, now_ms)
    if user is None or window is None:
        return _BAD
    start, end = window
    fills = [fill.wire() for fill in ctx.market.fills.get(user, ()) if start <= fill.time <= end]
    return fills[:MAX_FILLS]


def _h_funding_history(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    coin, window = body.get("coin"), _time_range(body, now_ms)
    if not isinstance(coin, str) or window is None:
        return _BAD
    start, end = window
    rows = [row.wire() for row in ctx.funding.history.get(coin, ()) if start <= row.time <= end]
    return rows[:MAX_FUNDING_ROWS]


def _h_user_funding(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    user, window = _user(body), _time_range(body, now_ms)
    if user is None or window is None:
        return _BAD
    start, end = window
    rows = [row.wire() for row in ctx.funding.payments.get(user, ()) if start <= row.time <= end]
    return rows[:MAX_FUNDING_ROWS]


def _h_predicted(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    hours = ctx.config.funding.interval_ms // 3_600_000 or 1
    return [
        [
            asset.name,
            [
                [
                    "HlPerp",
                    {
                        "fundingRate": fmt(ctx.funding.predicted_rate(index)),
                        "nextFundingTime": ctx.next_funding_ms,
                        "fundingIntervalHours": hours,
                    },
                ]
            ],
        ]
        for index, asset in enumerate(ctx.config.assets)
    ]


def _h_order_status(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    user, raw_oid = _user(body), body.get("oid")
    oid = parse_int(raw_oid)
    cloid = parse_cloid(raw_oid)
    if user is None or (oid is None and cloid is None):
        return _BAD
    if cloid is not None:
        oid = ctx.market.orders.oid_of(user, cloid)
    found = None if oid is None else ctx.market.orders.lookup(user, oid)
    if found is None:
        return {"status": "unknownOid"}
    order, status, status_ts = found
    return {
        "status": "order",
        "order": {"order": order.frontend(), "status": status, "statusTimestamp": status_ts},
    }


def _h_rate_limit(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    user = _user(body)
    if user is None:
        return _BAD
    account = ctx.market.accounts.get(user)
    if account is None:
        return {"cumVlm": "0.0", "nRequestsUsed": 0, "nRequestsCap": INITIAL_REQUEST_BUFFER}
    return {
        "cumVlm": fmt_usd(account.cum_volume),
        "nRequestsUsed": account.n_requests,
        "nRequestsCap": INITIAL_REQUEST_BUFFER + int(account.cum_volume),
    }


def _h_extra_agents(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    user = _user(body)
    if user is None:
        return _BAD
    return [
        {"name": a.name, "address": a.address, "validUntil": a.valid_until}
        for a in ctx.agents.of_master(user)
    ]


def _h_spot_meta(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    return {"universe": [], "tokens": []}


def _h_spot_state(ctx: InfoContext, body: Mapping[str, Any], now_ms: int) -> InfoResponse:
    return _BAD if _user(body) is None else {"balances": []}


_Handler = Callable[[InfoContext, Mapping[str, Any], int], InfoResponse]
_HANDLERS: dict[str, _Handler] = {
    "meta": _h_meta,
    "metaAndAssetCtxs": _h_meta_ctxs,
    "l2Book": _h_l2,
    "allMids": _h_all_mids,
    "clearinghouseState": _h_clearinghouse,
    "openOrders": _h_open_orders,
    "frontendOpenOrders": _h_frontend_orders,
    "userFills": _h_user_fills,
    "userFillsByTime": _h_user_fills_by_time,
    "fundingHistory": _h_funding_history,
    "userFunding": _h_user_funding,
    "predictedFundings": _h_predicted,
    "orderStatus": _h_order_status,
    "userRateLimit": _h_rate_limit,
    "extraAgents": _h_extra_agents,
    "spotMeta": _h_spot_meta,
    "spotClearinghouseState": _h_spot_state,
}


def handle_info(ctx: InfoContext, body: object, now_ms: int) -> InfoResponse:
    """Answer one ``/info`` body."""
    if not isinstance(body, Mapping):
        return _BAD
    info_type = body.get("type")
    handler = _HANDLERS.get(info_type) if isinstance(info_type, str) else None
    return _BAD if handler is None else handler(ctx, body, now_ms)


def subscription_snapshot(ctx: InfoContext, subscription: object, now_ms: int) -> WsEvent | None:
    """First message after subscribing, where the venue sends one (l2Book, bbo, allMids,
    activeAssetCtx, userFills, userFundings); None for the others or for a malformed subscription."""
    if not isinstance(subscription, Mapping):
        return None
    kind, coin, user = subscription.get("type"), subscription.get("coin"), _user(subscription)
    asset = ctx.config.asset_id(coin) if isinstance(coin, str) else None
    if kind == "allMids":
        return WsEvent("allMids", {"mids": ctx.market.all_mids()})
    if kind in ("l2Book", "bbo") and asset is not None:
        book = ctx.market.l2_book(asset, now_ms)
        if kind == "l2Book":
            return WsEvent("l2Book", book, coin=book["coin"])
        bbo = [side[0] if side else None for side in book["levels"]]
        return WsEvent("bbo", {"coin": book["coin"], "time": now_ms, "bbo": bbo}, coin=book["coin"])
    if kind == "activeAssetCtx" and asset is not None:
        return active_asset_ctx(ctx, asset, now_ms)
    if kind == "userFills" and user is not None:
        fills = _h_user_fills(ctx, {"user": user}, now_ms)
        return WsEvent("userFills", {"user": user, "isSnapshot": True, "fills": fills}, user=user)
    if kind == "userFundings" and user is not None:
        rows = [row.ws() for row in ctx.funding.payments.get(user, ())]
        return WsEvent("userFundings", {"user": user, "isSnapshot": True, "fundings": rows}, user=user)
    return None
