"""Pending transactions to the reference perp DEX, decoded into typed events for the mempool watcher.

`DexPendingDecoder` is a `MempoolWatcher` decoder for the exchange and oracle addresses: it dispatches
on (address, selector) with selectors and argument types taken from the ABIs in `abis/`, decodes the
arguments with eth_abi and builds one of the events below. Every event carries the `PendingTx` (hash,
sender, nonce, fees) and the watcher's `own` flag. Prices and sizes are the contract's integer units
(8 decimals, see `_units`); the oracle update also has its price as an exact Decimal. Calldata that
does not decode (or an out-of-range enum) yields no event: the transaction would revert anyway.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import function_signature_to_4byte_selector

from keeper.adapters.dex._abi import ABI_DIR, _canonical_type, exchange_abi, load_abi
from keeper.adapters.dex._units import PRICE_SCALE
from keeper.chain._pending_codec import PendingEvent, PendingTx

if TYPE_CHECKING:  # the watcher's I/O stack is not needed to decode
    from keeper.chain._mempool import MempoolWatcher

_PRICE_EXPONENT = -(len(str(PRICE_SCALE)) - 1)
_EXACT = decimal.Context(prec=100)  # wide enough for any int256 answer: no rounding


def oracle_price(answer: int) -> Decimal:
    """An oracle answer (8 decimals) as an exact Decimal."""
    return Decimal(answer).scaleb(_PRICE_EXPONENT, context=_EXACT)


class OraclePrice(msgspec.Struct, frozen=True, kw_only=True):
    """One feed's new round as posted to PushOracle; `price` is `answer` / 1e8, exact."""

    feed_id: int
    answer: int
    price: Decimal
    timestamp: int
    round_id: int


class PendingOracleUpdate(PendingEvent, frozen=True, kw_only=True):
    """`PushOracle.postPrice`: the next oracle price of one feed, before it is mined."""

    feed_id: int
    answer: int
    price: Decimal
    timestamp: int
    round_id: int


class PendingOracleUpdates(PendingEvent, frozen=True, kw_only=True):
    """`PushOracle.postPrices`: several feeds in one transaction (all or nothing)."""

    prices: tuple[OraclePrice, ...]


class PendingTakerOrder(PendingEvent, frozen=True, kw_only=True):
    """`placeIOC`: an immediate-or-cancel order that will take liquidity up to `limit_price`."""

    market: int
    is_buy: bool
    limit_price: int
    size: int
    reduce_only: bool
    client_order_id: int


class OrderPlacement(msgspec.Struct, frozen=True, kw_only=True):
    """A limit order as `place` and `batch` take it (contract units)."""

    market: int
    is_buy: bool
    price: int
    size: int
    post_only: bool
    reduce_only: bool
    expiry: int
    client_order_id: int


class OrderReplacement(msgspec.Struct, frozen=True, kw_only=True):
    order_id: int
    new_price: int
    new_size: int


class PendingOrderPlace(PendingEvent, frozen=True, kw_only=True):
    """`place`: a limit order (its crossing part trades at once, the rest rests)."""

    order: OrderPlacement


class PendingOrderCancel(PendingEvent, frozen=True, kw_only=True):
    order_id: int


class PendingOrderReplace(PendingEvent, frozen=True, kw_only=True):
    replacement: OrderReplacement


class PendingBatch(PendingEvent, frozen=True, kw_only=True):
    """`batch`: cancels, then replaces, then places, in one transaction."""

    cancels: tuple[int, ...]
    replaces: tuple[OrderReplacement, ...]
    places: tuple[OrderPlacement, ...]


class PendingLiquidation(PendingEvent, frozen=True, kw_only=True):
    """`liquidate`: `size` (0: as much as allowed, per the contract) of `account`'s position in `market`."""

    account: str
    market: int
    size: int


class PendingFundingSettle(PendingEvent, frozen=True, kw_only=True):
    """`settleFunding` (settle=True) or `pokeFunding` (settle=False, a premium sample) of a market."""

    market: int
    settle: bool


class PendingContractCall(PendingEvent, frozen=True, kw_only=True):
    """Any other state-changing function of the exchange or oracle (deposit, admin, ...)."""

    selector: bytes
    name: str


_Builder = Callable[[PendingTx, tuple[Any, ...]], PendingEvent]


class _Call(msgspec.Struct, frozen=True):
    name: str
    types: tuple[str, ...]
    build: _Builder | None


def _is_buy(side: int) -> bool:
    if side not in (0, 1):
        raise ValueError(f"side {side} is not a Side")  # the contract would revert
    return side == 0


def _placement(args: tuple[Any, ...]) -> OrderPlacement:
    market, side, price, size, post_only, reduce_only, expiry, client_order_id = args
    return OrderPlacement(
        market=market,
        is_buy=_is_buy(side),
        price=price,
        size=size,
        post_only=post_only,
        reduce_only=reduce_only,
        expiry=expiry,
        client_order_id=client_order_id,
    )


def _replacement(args: tuple[Any, ...]) -> OrderReplacement:
    order_id, new_price, new_size = args
    return OrderReplacement(order_id=order_id, new_price=new_price, new_size=new_size)


def _post_price(tx: PendingTx, a: tuple[Any, ...]) -> PendingEvent:
    feed_id, answer, timestamp, round_id = a
    price = oracle_price(answer)
    return PendingOracleUpdate(
        tx=tx, feed_id=feed_id, answer=answer, price=price, timestamp=timestamp, round_id=round_id
    )


def _post_prices(tx: PendingTx, a: tuple[Any, ...]) -> PendingEvent:
    feed_ids, answers, timestamps, round_ids = a
    if not len(feed_ids) == len(answers) == len(timestamps) == len(round_ids):
        raise ValueError("postPrices with arrays of different lengths")  # reverts LengthMismatch
    prices = tuple(
        OraclePrice(feed_id=f, answer=p, price=oracle_price(p), timestamp=t, round_id=r)
        for f, p, t, r in zip(feed_ids, answers, timestamps, round_ids, strict=True)
    )
    return PendingOracleUpdates(tx=tx, prices=prices)


def _place_ioc(tx: PendingTx, a: tuple[Any, ...]) -> PendingEvent:
    market, side, limit_price, size, reduce_only, client_order_id = a
    return PendingTakerOrder(
        tx=tx,
        market=market,
        is_buy=_is_buy(side),
        limit_price=limit_price,
        size=size,
        reduce_only=reduce_only,
        client_order_id=client_order_id,
    )


def _batch(tx: PendingTx, a: tuple[Any, ...]) -> PendingEvent:
    cancels, replaces, places = a
    return PendingBatch(
        tx=tx,
        cancels=tuple(cancels),
        replaces=tuple(_replacement(r) for r in replaces),
        places=tuple(_placement(p) for p in places),
    )


_EXCHANGE_BUILDERS: dict[str, _Builder] = {
    "placeIOC": _place_ioc,
    "place": lambda tx, a: PendingOrderPlace(tx=tx, order=_placement(a)),
    "cancel": lambda tx, a: PendingOrderCancel(tx=tx, order_id=a[0]),
    "replace": lambda tx, a: PendingOrderReplace(tx=tx, replacement=_replacement(a)),
    "batch": _batch,
    "liquidate": lambda tx, a: PendingLiquidation(tx=tx, account=a[0].lower(), market=a[1], size=a[2]),
    "settleFunding": lambda tx, a: PendingFundingSettle(tx=tx, market=a[0], settle=True),
    "pokeFunding": lambda tx, a: PendingFundingSettle(tx=tx, market=a[0], settle=False),
}
_ORACLE_BUILDERS: dict[str, _Builder] = {"postPrice": _post_price, "postPrices": _post_prices}


def _calls(abi: tuple[dict[str, Any], ...], builders: dict[str, _Builder]) -> dict[bytes, _Call]:
    """Selector -> call, for the state-changing functions of `abi` (views are not sent as txs)."""
    calls: dict[bytes, _Call] = {}
    for entry in abi:
        if entry.get("type") != "function" or entry.get("stateMutability") in ("view", "pure"):
            continue
        types = tuple(_canonical_type(i) for i in entry.get("inputs", []))
        selector = bytes(function_signature_to_4byte_selector(f"{entry['name']}({','.join(types)})"))
        calls[selector] = _Call(entry["name"], types, builders.get(entry["name"]))
    return calls


class DexPendingDecoder:
    """Decodes pending transactions to one deployment's exchange and oracle; see the module docstring.

    Register it for both addresses (`attach(watcher)` does that); it returns None for anything else.
    """

    def __init__(self, exchange: str, oracle: str, abi_dir: Path = ABI_DIR) -> None:
        self.exchange = exchange.lower()
        self.oracle = oracle.lower()
        self._calls = {
            self.exchange: _calls(exchange_abi(abi_dir), _EXCHANGE_BUILDERS),
            self.oracle: _calls(load_abi("PushOracle", abi_dir), _ORACLE_BUILDERS),
        }

    @property
    def addresses(self) -> tuple[str, str]:
        return self.exchange, self.oracle

    def attach(self, watcher: MempoolWatcher) -> None:
        for address in self.addresses:
            watcher.register_decoder(address, self)

    def selectors(self, address: str) -> dict[bytes, str]:
        """Selector -> function name of the state-changing functions known at `address`."""
        return {s: c.name for s, c in self._calls.get(address.lower(), {}).items()}

    def __call__(self, tx: PendingTx) -> PendingEvent | None:
        calls = self._calls.get(tx.to) if tx.to is not None else None
        if calls is None:
            return None
        selector = tx.input[:4]
        call = calls.get(selector)
        if call is None:
            return None
        try:
            args = abi_decode(call.types, tx.input[4:])
            if call.build is None:
                return PendingContractCall(tx=tx, selector=selector, name=call.name)
            return call.build(tx, args)
        except (DecodingError, ValueError):
            return None
