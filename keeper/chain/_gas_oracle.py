"""The gas oracle: `eth_feeHistory` plus new heads in, a typed `GasState` out, one per block.

Fee history is read once at start (a window of `fee_history_blocks`) and then one block per head, so
the oracle costs one small RPC call per block. Listeners get each new state; the latest is kept.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

import msgspec

from keeper.chain._heads_codec import BlockHeader, MalformedMessageError
from keeper.chain._rpc import JsonRpc, RpcError, RpcTransportError
from keeper.core import FeeHistoryBlock, GasSpikeDetector, GasState, reward_percentile

log = logging.getLogger("keeper.chain.gas")


class _WireFeeHistory(msgspec.Struct):
    oldestBlock: str  # noqa: N815 - JSON-RPC field names
    baseFeePerGas: list[str]  # noqa: N815
    gasUsedRatio: list[float]  # noqa: N815
    reward: list[list[str]] = []


def decode_fee_history(result: object) -> list[FeeHistoryBlock]:
    """Decode an `eth_feeHistory` result into one entry per block (the extra next-block base fee dropped)."""
    try:
        wire = msgspec.convert(result, _WireFeeHistory)
        oldest = int(wire.oldestBlock, 16)
        blocks = []
        for i, ratio in enumerate(wire.gasUsedRatio):
            rewards = tuple(int(r, 16) for r in wire.reward[i]) if i < len(wire.reward) else ()
            blocks.append(FeeHistoryBlock(oldest + i, int(wire.baseFeePerGas[i], 16), ratio, rewards))
        return blocks
    except (msgspec.ValidationError, ValueError, IndexError) as exc:
        raise MalformedMessageError(f"eth_feeHistory: {exc}") from exc


class GasOracle:
    """Turns heads into `GasState`s. Feed it heads with `on_head`; read `latest` or add a listener."""

    def __init__(
        self,
        rpc: JsonRpc,
        priority_percentile: float,
        window_blocks: int = 20,
        detector: GasSpikeDetector | None = None,
    ) -> None:
        self._rpc = rpc
        self._percentile = priority_percentile
        self._window: deque[FeeHistoryBlock] = deque(maxlen=window_blocks)
        self._detector = detector or GasSpikeDetector()
        self._listeners: list[Callable[[GasState], None]] = []
        self.latest: GasState | None = None
        self.malformed = 0

    def add_listener(self, listener: Callable[[GasState], None]) -> None:
        self._listeners.append(listener)

    def set_priority_percentile(self, percentile: float) -> None:
        """Apply a reloaded gas policy; the next head uses it (the window is refetched)."""
        if percentile != self._percentile:
            self._percentile = percentile
            self._window.clear()

    async def on_head(self, head: BlockHeader) -> GasState | None:
        """Update from a new head; returns the new state (None if no usable reply: skip this head)."""
        count = 1 if self._window else self._window.maxlen or 1
        try:
            result = await self._rpc.request(
                "eth_feeHistory", [hex(count), hex(head.number), [self._percentile]]
            )
            blocks = decode_fee_history(result)
        except ValueError as exc:  # MalformedMessageError, or a reply that was not even JSON
            self.malformed += 1
            log.warning("skipping malformed fee history (%d so far): %s", self.malformed, exc)
            return None
        except (RpcTransportError, RpcError) as exc:
            # Every endpoint failed, or the node refused (e.g. a lagging node without this block yet):
            # skip this head rather than stop following; the next head retries.
            log.warning("eth_feeHistory for block %d failed: %r", head.number, exc)
            return None
        for block in blocks:
            if not self._window or block.number > self._window[-1].number:
                self._window.append(block)
        base_fee = head.base_fee_per_gas if head.base_fee_per_gas is not None else 0
        state = self._detector.observe(
            head.number,
            base_fee,
            head.gas_used,
            head.gas_limit,
            max(1, reward_percentile(list(self._window), 0)),
        )
        self.latest = state
        for listener in self._listeners:
            listener(state)
        return state
