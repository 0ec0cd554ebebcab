"""The gas oracle: `eth_feeHistory` plus new heads in, a typed `GasState` out, one per block.

Fee history is read once at start (a window of `fee_history_blocks`) and then one block per head, so
the oracle costs one small RPC call per block. Listeners get each new state; the latest is kept.
`on_head` never raises for a node's failure: the head is skipped (None) and the outage logged once.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

import msgspec

from keeper.chain._head_tracker import ChainNotice, Reorg
from keeper.chain._heads_codec import BlockHeader, MalformedMessageError, quantity
from keeper.chain._outage import Outage, count_malformed
from keeper.chain._rpc import JsonRpc
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
        oldest = quantity(wire.oldestBlock)
        blocks = []
        for i, ratio in enumerate(wire.gasUsedRatio):
            rewards = tuple(quantity(r) for r in wire.reward[i]) if i < len(wire.reward) else ()
            blocks.append(FeeHistoryBlock(oldest + i, quantity(wire.baseFeePerGas[i]), ratio, rewards))
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
        self.listener_errors = 0
        self._health = Outage(log, "eth_feeHistory")

    def add_listener(self, listener: Callable[[GasState], None]) -> None:
        self._listeners.append(listener)

    def set_priority_percentile(self, percentile: float) -> None:
        """Apply a reloaded gas policy; the next head uses it (the window is refetched)."""
        if percentile != self._percentile:
            self._percentile = percentile
            self._window.clear()

    def on_chain_notice(self, notice: ChainNotice) -> None:
        """A reorg drops the replaced blocks from the fee window; a chain reset drops all of it."""
        if isinstance(notice, Reorg):
            while self._window and self._window[-1].number >= notice.number:
                self._window.pop()
        else:
            self._window.clear()

    async def on_head(self, head: BlockHeader) -> GasState | None:
        """Update from a new head; returns the new state (None if no usable reply: skip this head).

        Never raises for a node's failure: every error is counted (`malformed`, `outages` /
        `failures`) and the next head retries.
        """
        try:
            return await self._update(head)
        except MalformedMessageError as exc:
            self.malformed += 1
            count_malformed(log, "fee history", self.malformed, exc)
        except Exception as exc:
            # Every endpoint failed, the node refused (e.g. a lagging node without this block yet), or
            # anything unexpected: skip this head rather than stop following; the next head retries.
            self._health.fail(exc, then="skipping heads until it answers")
        return None

    async def _update(self, head: BlockHeader) -> GasState:
        if self._window and head.number < self._window[-1].number:
            self._window.clear()  # the chain went back (a reset nobody told us about): refetch
        count = 1 if self._window else self._window.maxlen or 1
        result = await self._rpc.request("eth_feeHistory", [hex(count), hex(head.number), [self._percentile]])
        blocks = decode_fee_history(result)
        self._health.ok()
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
            try:
                listener(state)
            except Exception:
                self.listener_errors += 1
                log.exception("gas state listener failed")
        return state

    @property
    def outages(self) -> int:
        return self._health.outages

    @property
    def failures(self) -> int:
        return self._health.failures
