"""Benchmark: this codec vs the official SDK (``hyperliquid-python-sdk``), in the same process.

Called by ``keeper bench``. The SDK is a dev-only dependency, imported lazily here and nowhere
else in ``keeper/``. Both sides sign the same pre-built action with a fresh nonce per call; the
SDK side starts from the equivalent JSON dict (its native input). Timings are the best of
``_REPEATS`` runs of the mean per-call time (the usual timeit convention: the minimum is the
least noise-disturbed estimate; timeit also pauses GC for both sides). Signatures of both sides
are checked equal before timing.

It lives outside the pure codec layer because it reads a clock (through ``timeit``).
"""

from __future__ import annotations

import importlib
import itertools
import timeit
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from keeper.codecs.hyperliquid.order_builders import cloid_from_int, limit_order, order_action
from keeper.codecs.hyperliquid.signing import PrivateKeySigner, sign_l1_action
from keeper.codecs.hyperliquid.wire_types import OrderAction, Signature

# A throwaway, publicly known test key (the SDK's own test vectors use it); never funded.
BENCH_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
BENCH_NONCE = 1_700_000_000_000
BATCH_SIZE = 20
_REPEATS = 5
# The SDK is ~100x slower; fewer iterations keep `keeper bench` quick without biasing the mean.
_SDK_ITERATION_DIVISOR = 10


class SdkUnavailableError(RuntimeError):
    """The official SDK (test/bench-only dependency) is not installed."""


def _load_sdk() -> tuple[Any, Any]:
    try:
        sdk_signing = importlib.import_module("hyperliquid.utils.signing")
        eth_account = importlib.import_module("eth_account")
    except ImportError as exc:
        raise SdkUnavailableError(
            "the benchmark needs the official SDK as a peer: install the dev extras "
            "(pip install -e '.[dev]', which pins hyperliquid-python-sdk==0.24.0)"
        ) from exc
    return sdk_signing, eth_account.Account


def _bench_orders(count: int) -> OrderAction:
    """A realistic quote batch: post-only orders with cloids, alternating sides and prices."""
    orders = [
        limit_order(
            asset=4,
            is_buy=index % 2 == 0,
            price=Decimal("3500.5") + Decimal(index) * Decimal("0.1") * (1 if index % 2 else -1),
            size=Decimal("0.0147"),
            sz_decimals=4,
            tif="Alo",
            cloid=cloid_from_int(index + 1),
        )
        for index in range(count)
    ]
    return order_action(orders)


def _per_call_us(sign_one: Callable[[int], object], iterations: int) -> float:
    nonces = itertools.count(BENCH_NONCE)  # a fresh nonce per call, as in live trading
    timer = timeit.Timer(lambda: sign_one(next(nonces)))
    return min(timer.repeat(repeat=_REPEATS, number=iterations)) / iterations * 1e6


def run_bench(iterations: int) -> dict[str, float]:
    """Time signing one order and a 20-order batch, ours vs the SDK; values in microseconds per call.

    Keys: ``hl_sign_single_us``, ``sdk_sign_single_us``, ``hl_sign_batch20_us``,
    ``sdk_sign_batch20_us``, ``sdk_over_hl_single``, ``sdk_over_hl_batch20`` (speed-up factors),
    and ``hl_build_sign_single_us`` (ours including Decimal -> wire conversion and Struct building).
    Raises :class:`SdkUnavailableError` if the SDK is not installed.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a positive int, got {iterations!r}")
    sdk_signing, account = _load_sdk()
    sdk_iterations = max(1, iterations // _SDK_ITERATION_DIVISOR)
    signer = PrivateKeySigner(BENCH_KEY)
    wallet = account.from_key(BENCH_KEY)
    single, batch = _bench_orders(1), _bench_orders(BATCH_SIZE)
    # The SDK's native input: plain JSON dicts/lists with the same key order.
    single_dict = msgspec.json.decode(msgspec.json.encode(single))
    batch_dict = msgspec.json.decode(msgspec.json.encode(batch))

    def ours(action: OrderAction) -> Callable[[int], object]:
        return lambda nonce: sign_l1_action(signer, action, nonce, is_mainnet=True)

    def sdk(action: object) -> Callable[[int], object]:
        return lambda nonce: sdk_signing.sign_l1_action(wallet, action, None, nonce, None, True)

    for action, action_dict in ((single, single_dict), (batch, batch_dict)):
        mine, theirs = ours(action)(BENCH_NONCE), sdk(action_dict)(BENCH_NONCE)
        assert isinstance(mine, Signature)
        assert isinstance(theirs, dict)
        if (int(mine.r, 16), int(mine.s, 16), mine.v) != (
            int(theirs["r"], 16),
            int(theirs["s"], 16),
            theirs["v"],
        ):
            raise AssertionError("benchmark sanity check failed: codec and SDK signatures differ")

    price, size = Decimal("3500.5"), Decimal("0.0147")

    def build_and_sign(nonce: int) -> object:
        order = limit_order(
            asset=4,
            is_buy=True,
            price=price,
            size=size,
            sz_decimals=4,
            tif="Alo",
            cloid=cloid_from_int(nonce),
        )
        return sign_l1_action(signer, order_action([order]), nonce)

    result = {
        "hl_sign_single_us": _per_call_us(ours(single), iterations),
        "sdk_sign_single_us": _per_call_us(sdk(single_dict), sdk_iterations),
        "hl_sign_batch20_us": _per_call_us(ours(batch), iterations),
        "sdk_sign_batch20_us": _per_call_us(sdk(batch_dict), sdk_iterations),
        "hl_build_sign_single_us": _per_call_us(build_and_sign, iterations),
    }
    result["sdk_over_hl_single"] = result["sdk_sign_single_us"] / result["hl_sign_single_us"]
    result["sdk_over_hl_batch20"] = result["sdk_sign_batch20_us"] / result["hl_sign_batch20_us"]
    return result
