"""Cross-margin accounts: USDC balance, one-way positions, fills, margin and clearinghouseState.

Conventions (perp-dex-facts.md §2.2): initial margin = |szi| * mark / leverage; maintenance margin
rate = 1 / (2 * maxLeverage); accountValue = usdc + unrealized pnl on mark; liquidation price from
the cross formula ``mark - side * available / |szi| / (1 - side / maintLeverage)``.
Balances hold realized pnl, fees and funding; unrealized pnl is computed on demand.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

import msgspec

from keeper.localvenue._config import AssetConfig
from keeper.localvenue._orders import RestingOrder
from keeper.localvenue._wire import PX_PLACES, ZERO, JsonDict, fmt, fmt_usd


class PerpPosition(msgspec.Struct, kw_only=True):
    """Signed size, entry price and funding paid (positive = paid) since open / last change."""

    szi: Decimal = ZERO
    entry_px: Decimal = ZERO
    funding_all: Decimal = ZERO
    funding_open: Decimal = ZERO
    funding_change: Decimal = ZERO


class Account(msgspec.Struct, kw_only=True):
    """A master account (agents sign for it but hold nothing)."""

    address: str
    usdc: Decimal
    positions: dict[int, PerpPosition] = msgspec.field(default_factory=dict)
    leverage: dict[int, int] = msgspec.field(default_factory=dict)
    cum_volume: Decimal = ZERO  # traded notional, for userRateLimit
    n_requests: int = 0  # address-limited requests (one per order / cancel in a batch)


class FillEffect(NamedTuple):
    """What a fill did to the position, for the fill record."""

    start_position: Decimal
    direction: str
    closed_pnl: Decimal


def apply_fill(
    account: Account, asset: int, *, is_buy: bool, px: Decimal, sz: Decimal, fee: Decimal
) -> FillEffect:
    """Book a fill: position, entry price, realized pnl and fee into the USDC balance."""
    position = account.positions.setdefault(asset, PerpPosition())
    old = position.szi
    new = old + (sz if is_buy else -sz)
    closed_pnl = ZERO
    if old == 0 or (old > 0) == is_buy:
        position.entry_px = (abs(old) * position.entry_px + sz * px) / abs(new)
        direction = "Open Long" if is_buy else "Open Short"
        if old == 0:
            position.funding_open = ZERO
    else:
        closing = min(sz, abs(old))
        closed_pnl = closing * (px - position.entry_px) * (1 if old > 0 else -1)
        if new != 0 and (new > 0) != (old > 0):
            direction = "Long > Short" if old > 0 else "Short > Long"
            position.entry_px = px
            position.funding_open = ZERO
        else:
            direction = "Close Long" if old > 0 else "Close Short"
            if new == 0:
                position.entry_px = ZERO
    position.szi = new
    position.funding_change = ZERO
    account.usdc += closed_pnl - fee
    account.cum_volume += px * sz
    if new == 0:
        # Keep all-time funding only while a position exists; a flat asset disappears from the state.
        del account.positions[asset]
    return FillEffect(old, direction, closed_pnl)


def leverage_of(account: Account, asset: int, assets: Sequence[AssetConfig], default: int) -> int:
    """Cross leverage in force for ``asset``."""
    return account.leverage.get(asset, min(default, assets[asset].max_leverage))


class MarginSummary(msgspec.Struct, frozen=True):
    """Account-level numbers of clearinghouseState."""

    account_value: Decimal
    total_ntl: Decimal
    total_raw_usd: Decimal
    margin_used: Decimal
    maintenance: Decimal

    def wire(self) -> JsonDict:
        """``marginSummary`` / ``crossMarginSummary`` shape."""
        return {
            "accountValue": fmt_usd(self.account_value),
            "totalNtlPos": fmt_usd(self.total_ntl),
            "totalRawUsd": fmt_usd(self.total_raw_usd),
            "totalMarginUsed": fmt_usd(self.margin_used),
        }


def summarize(
    account: Account, assets: Sequence[AssetConfig], marks: Sequence[Decimal], default_leverage: int
) -> MarginSummary:
    """Account value, notional, raw USD, initial and maintenance margin on current marks."""
    value = raw = account.usdc
    ntl = used = maintenance = ZERO
    for asset, position in account.positions.items():
        mark = marks[asset]
        notional = abs(position.szi) * mark
        value += position.szi * (mark - position.entry_px)
        raw -= position.szi * position.entry_px
        ntl += notional
        used += notional / leverage_of(account, asset, assets, default_leverage)
        maintenance += notional / (2 * assets[asset].max_leverage)
    return MarginSummary(value, ntl, raw, used, maintenance)


def order_margin(
    account: Account, order: RestingOrder, assets: Sequence[AssetConfig], default_leverage: int
) -> Decimal:
    """Initial margin an order reserves: only the part that would grow the position counts."""
    if order.reduce_only:
        return ZERO
    position = account.positions.get(order.asset)
    size = order.sz
    if position is not None and position.szi != 0 and (position.szi > 0) != order.is_buy:
        size = max(ZERO, size - abs(position.szi))
    return size * order.limit_px / leverage_of(account, order.asset, assets, default_leverage)


def has_margin_for(
    account: Account,
    orders: Iterable[RestingOrder],
    assets: Sequence[AssetConfig],
    marks: Sequence[Decimal],
    default_leverage: int,
) -> bool:
    """Account value covers position margin plus the margin of ``orders`` (open ones and the new one)."""
    summary = summarize(account, assets, marks, default_leverage)
    reserved = sum((order_margin(account, order, assets, default_leverage) for order in orders), ZERO)
    return summary.account_value >= summary.margin_used + reserved


def _liquidation_px(
    position: PerpPosition, mark: Decimal, max_leverage: int, summary: MarginSummary
) -> Decimal | None:
    side = 1 if position.szi > 0 else -1
    maintenance_rate = Decimal(1) / (2 * max_leverage)
    available = summary.account_value - summary.maintenance
    px = mark - side * available / abs(position.szi) / (1 - side * maintenance_rate)
    return px if px > 0 else None


def clearinghouse_state(
    account: Account | None,
    assets: Sequence[AssetConfig],
    marks: Sequence[Decimal],
    default_leverage: int,
    now_ms: int,
) -> JsonDict:
    """The ``clearinghouseState`` reply (an unknown user gets the all-zero state, as on the venue)."""
    if account is None:
        account = Account(address="", usdc=ZERO)
    summary = summarize(account, assets, marks, default_leverage)
    positions = []
    for asset, position in sorted(account.positions.items()):
        mark = marks[asset]
        leverage = leverage_of(account, asset, assets, default_leverage)
        upnl = position.szi * (mark - position.entry_px)
        entry_margin = abs(position.szi) * position.entry_px / leverage
        liquidation = _liquidation_px(position, mark, assets[asset].max_leverage, summary)
        positions.append(
            {
                "type": "oneWay",
                "position": {
                    "coin": assets[asset].name,
                    "szi": fmt(position.szi),
                    "leverage": {"type": "cross", "value": leverage},
                    "entryPx": fmt(position.entry_px, PX_PLACES),
                    "positionValue": fmt_usd(abs(position.szi) * mark),
                    "unrealizedPnl": fmt_usd(upnl),
                    "returnOnEquity": fmt(upnl / entry_margin, PX_PLACES),
                    "liquidationPx": None if liquidation is None else fmt(liquidation, PX_PLACES),
                    "marginUsed": fmt_usd(abs(position.szi) * mark / leverage),
                    "maxLeverage": assets[asset].max_leverage,
                    "cumFunding": {
                        "allTime": fmt_usd(position.funding_all),
                        "sinceOpen": fmt_usd(position.funding_open),
                        "sinceChange": fmt_usd(position.funding_change),
                    },
                },
            }
        )
    margin = summary.wire()
    return {
        "marginSummary": margin,
        "crossMarginSummary": dict(margin),
        "crossMaintenanceMarginUsed": fmt_usd(summary.maintenance),
        "withdrawable": fmt_usd(max(ZERO, summary.account_value - summary.margin_used)),
        "assetPositions": positions,
        "time": now_ms,
    }
