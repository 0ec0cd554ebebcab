"""Build L1 action Structs from exact numbers, enforcing the venue's wire rules on the way.

These are the safe constructors: prices and sizes go through :mod:`wire_numbers` (refusing values
that would need rounding), cloids and addresses are validated, USD amounts become integer
micro-USD. The Structs in :mod:`wire_types` can also be built directly from wire strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from keeper.codecs.hyperliquid.errors import ActionValidationError
from keeper.codecs.hyperliquid.wire_numbers import Number, price_to_wire, size_to_wire, usd_to_micro_int
from keeper.codecs.hyperliquid.wire_types import (
    BatchModifyAction,
    BuilderFee,
    CancelAction,
    CancelByCloidAction,
    CancelByCloidWire,
    CancelWire,
    Grouping,
    LimitSpec,
    ModifyAction,
    ModifyWire,
    OrderAction,
    OrderType,
    OrderWire,
    ScheduleCancelAction,
    Tif,
    Tpsl,
    TriggerSpec,
    UpdateIsolatedMarginAction,
    UpdateLeverageAction,
)

_CLOID = re.compile(r"0x[0-9a-f]{32}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_CLOID_MAX = 2**128 - 1
_TIFS = ("Alo", "Ioc", "Gtc")

# Shared immutable order types: most orders reuse one of these.
LIMIT_ALO = OrderType(limit=LimitSpec("Alo"))
LIMIT_IOC = OrderType(limit=LimitSpec("Ioc"))
LIMIT_GTC = OrderType(limit=LimitSpec("Gtc"))
_LIMIT_TYPES: dict[str, OrderType] = {"Alo": LIMIT_ALO, "Ioc": LIMIT_IOC, "Gtc": LIMIT_GTC}


def cloid_from_int(value: int) -> str:
    """Client order id from a 128-bit integer: ``0x`` + 32 lowercase hex digits."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _CLOID_MAX:
        raise ActionValidationError(f"cloid integer must be in 0..2^128-1, got {value!r}")
    return f"0x{value:032x}"


def checked_cloid(cloid: str) -> str:
    """Return ``cloid`` if it is ``0x`` + 32 lowercase hex digits, else raise ActionValidationError."""
    if not isinstance(cloid, str) or _CLOID.fullmatch(cloid) is None:
        raise ActionValidationError(f"cloid must be 0x followed by 32 lowercase hex digits, got {cloid!r}")
    return cloid


def _checked_asset(asset: int) -> int:
    if isinstance(asset, bool) or not isinstance(asset, int) or not 0 <= asset < 2**32:
        raise ActionValidationError(f"asset must be a non-negative int, got {asset!r}")
    return asset


def _checked_oid(oid: int | str) -> int | str:
    if isinstance(oid, str):
        return checked_cloid(oid)
    if isinstance(oid, bool) or not isinstance(oid, int) or not 0 <= oid < 2**64:
        raise ActionValidationError(f"oid must be a uint64 or a cloid string, got {oid!r}")
    return oid


def limit_order(
    *,
    asset: int,
    is_buy: bool,
    price: Number,
    size: Number,
    sz_decimals: int,
    tif: Tif = "Gtc",
    reduce_only: bool = False,
    cloid: str | None = None,
    is_spot: bool = False,
) -> OrderWire:
    """Limit order (Alo = post-only, Ioc, Gtc) with price/size checked against the wire rules."""
    order_type = _LIMIT_TYPES.get(tif)
    if order_type is None:
        raise ActionValidationError(f"tif must be one of {_TIFS}, got {tif!r}")
    return OrderWire(
        _checked_asset(asset),
        bool(is_buy),
        price_to_wire(price, sz_decimals, is_spot=is_spot),
        size_to_wire(size, sz_decimals),
        bool(reduce_only),
        order_type,
        None if cloid is None else checked_cloid(cloid),
    )


def trigger_order(
    *,
    asset: int,
    is_buy: bool,
    price: Number,
    size: Number,
    sz_decimals: int,
    trigger_price: Number,
    tpsl: Tpsl,
    is_market: bool = True,
    reduce_only: bool = False,
    cloid: str | None = None,
    is_spot: bool = False,
) -> OrderWire:
    """TP/SL trigger order; ``price`` is the limit price used once triggered (``is_market=False``)."""
    if tpsl not in ("tp", "sl"):
        raise ActionValidationError(f"tpsl must be 'tp' or 'sl', got {tpsl!r}")
    trigger = TriggerSpec(bool(is_market), price_to_wire(trigger_price, sz_decimals, is_spot=is_spot), tpsl)
    return OrderWire(
        _checked_asset(asset),
        bool(is_buy),
        price_to_wire(price, sz_decimals, is_spot=is_spot),
        size_to_wire(size, sz_decimals),
        bool(reduce_only),
        OrderType(trigger=trigger),
        None if cloid is None else checked_cloid(cloid),
    )


def builder_fee(address: str, fee_tenths_bp: int) -> BuilderFee:
    """Builder code for an order action; the address is lowercased as the venue expects."""
    if not isinstance(address, str) or _ADDRESS.fullmatch(address) is None:
        raise ActionValidationError(f"builder address must be 0x + 40 hex digits, got {address!r}")
    if isinstance(fee_tenths_bp, bool) or not isinstance(fee_tenths_bp, int) or fee_tenths_bp < 0:
        raise ActionValidationError(
            f"builder fee must be a non-negative int (tenths of a bp), got {fee_tenths_bp!r}"
        )
    return BuilderFee(address.lower(), fee_tenths_bp)


def order_action(
    orders: Iterable[OrderWire], grouping: Grouping = "na", builder: BuilderFee | None = None
) -> OrderAction:
    """Order batch; ``grouping`` "normalTpsl" / "positionTpsl" for attached TP/SL orders."""
    if grouping not in ("na", "normalTpsl", "positionTpsl"):
        raise ActionValidationError(f"unknown grouping {grouping!r}")
    batch = tuple(orders)
    if not batch:
        raise ActionValidationError("an order action needs at least one order")
    return OrderAction(batch, grouping, builder)


def cancel_action(cancels: Iterable[tuple[int, int]]) -> CancelAction:
    """Cancel by (asset, oid) pairs."""
    wires = tuple(CancelWire(_checked_asset(asset), int(_checked_oid(oid))) for asset, oid in cancels)
    if not wires:
        raise ActionValidationError("a cancel action needs at least one cancel")
    return CancelAction(wires)


def cancel_by_cloid_action(cancels: Iterable[tuple[int, str]]) -> CancelByCloidAction:
    """Cancel by (asset, cloid) pairs."""
    wires = tuple(CancelByCloidWire(_checked_asset(asset), checked_cloid(cloid)) for asset, cloid in cancels)
    if not wires:
        raise ActionValidationError("a cancelByCloid action needs at least one cancel")
    return CancelByCloidAction(wires)


def modify_action(oid: int | str, order: OrderWire) -> ModifyAction:
    """Replace one order, identified by oid or cloid."""
    return ModifyAction(_checked_oid(oid), order)


def batch_modify_action(modifies: Iterable[tuple[int | str, OrderWire]]) -> BatchModifyAction:
    """Replace several orders, each identified by oid or cloid."""
    wires = tuple(ModifyWire(_checked_oid(oid), order) for oid, order in modifies)
    if not wires:
        raise ActionValidationError("a batchModify action needs at least one modify")
    return BatchModifyAction(wires)


def schedule_cancel_action(time_ms: int | None) -> ScheduleCancelAction:
    """Arm the dead-man switch at UTC ms ``time_ms`` (venue requires >= now + 5 s); None disarms it."""
    if time_ms is not None and (
        isinstance(time_ms, bool) or not isinstance(time_ms, int) or not 0 <= time_ms < 2**64
    ):
        raise ActionValidationError(f"scheduleCancel time must be a uint64 ms timestamp, got {time_ms!r}")
    return ScheduleCancelAction(time_ms)


def update_leverage_action(asset: int, leverage: int, *, is_cross: bool) -> UpdateLeverageAction:
    """Set integer leverage and cross (True) or isolated (False) margin for an asset."""
    if isinstance(leverage, bool) or not isinstance(leverage, int) or leverage < 1:
        raise ActionValidationError(f"leverage must be an int >= 1, got {leverage!r}")
    return UpdateLeverageAction(_checked_asset(asset), bool(is_cross), leverage)


def update_isolated_margin_action(asset: int, usd: Number) -> UpdateIsolatedMarginAction:
    """Add (usd > 0) or remove (usd < 0) isolated margin; ``isBuy`` is always true, as in the SDK."""
    ntli = usd_to_micro_int(usd)
    if not -(2**63) <= ntli < 2**63:
        raise ActionValidationError(f"isolated margin change out of int64 range: {usd}")
    return UpdateIsolatedMarginAction(_checked_asset(asset), True, ntli)
