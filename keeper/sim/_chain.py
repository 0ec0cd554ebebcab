"""The contract venue's block-inclusion model: our transactions in a fee auction, one block at a time.

Our batches are transactions from one key (nonce order). A transaction enters block b when its max fee
covers the base fee and its effective tip clears the block's auction (`clearing_tip`: 0 when the block has
room). Fees come from the keeper's own rules (`keeper.core.fees`: first attempt from the gas oracle's
state, cancels tip ×1.5, same-nonce replacement after `replace_after_s` with a ≥ 12.5 % bump, never over
the cap), fed by the same `GasSpikeDetector` the live keeper runs, so the simulator prices gas as live.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from keeper.core.fees import FeePolicy, Fees, TxUrgency, initial_fees, replacement_fees
from keeper.core.gas import GasSpikeDetector, GasState
from keeper.sim._paths import GWEI, Blocks
from keeper.sim._scenario import ChainSection

WEI_PER_NATIVE = 10**18


class SimTx:
    __slots__ = ("attempt_s", "attempts", "fees", "gas", "payload", "sent_s")

    def __init__(self, payload: Any, gas: int, fees: Fees, sent_s: float) -> None:
        self.payload = payload
        self.gas = gas
        self.fees = fees
        self.sent_s = sent_s
        self.attempt_s = sent_s
        self.attempts = 1


class ChainModel:
    """Pending transactions of our key, the gas oracle's view, and inclusion at each block."""

    def __init__(self, chain: ChainSection, blocks: Blocks) -> None:
        self.chain = chain
        self.blocks = blocks
        self.policy = FeePolicy(
            cap_wei=int(chain.fee_cap_gwei * GWEI),
            bump_bps=round(chain.bump_pct * 100),
            replace_after_s=chain.replace_after_s,
            confirmations=1,
            gas_limit_buffer_bps=0,
            cancel_tip_multiplier_bps=15_000,
            at_cap="wait",
        )
        self.detector = GasSpikeDetector()
        self._tips: deque[int] = deque(maxlen=chain.tip_percentile_blocks)
        self.pending: deque[SimTx] = deque()
        self.state: GasState = self.observe(0)

    def observe(self, b: int) -> GasState:
        """The gas oracle after block b: next base fee from its fullness, tip at the recent median."""
        blocks = self.blocks
        self._tips.append(blocks.typical_tip[b])
        tips = sorted(self._tips)
        tip = tips[len(tips) // 2]
        self.state = self.detector.observe(
            b, blocks.base_fee[b], blocks.gas_used[b], self.chain.gas_limit, tip
        )
        return self.state

    def send(self, payload: Any, gas: int, urgency: TxUrgency, now_s: float) -> SimTx:
        tx = SimTx(payload, gas, initial_fees(self.state, self.policy, urgency), now_s)
        self.pending.append(tx)
        return tx

    def include(self, b: int) -> list[tuple[SimTx, int]]:
        """Our transactions in block b, in nonce order, with the wei each paid; a stuck one holds the rest."""
        base = self.blocks.base_fee[b]
        clearing = self.blocks.clearing_tip[b]
        included: list[tuple[SimTx, int]] = []
        while self.pending:
            tx = self.pending[0]
            tip = min(tx.fees.max_priority_fee_per_gas, tx.fees.max_fee_per_gas - base)
            if tx.fees.max_fee_per_gas < base or tip < clearing:
                break
            self.pending.popleft()
            included.append((tx, tx.gas * (base + tip)))
        return included

    def escalate(self, now_s: float) -> None:
        """Same-nonce replacements for attempts pending over replace_after_s (at the cap: wait)."""
        for tx in self.pending:
            if now_s - tx.attempt_s < self.policy.replace_after_s:
                continue
            fresh = initial_fees(self.state, self.policy, TxUrgency.NORMAL)
            bumped = replacement_fees(tx.fees, fresh, self.policy)
            if bumped is not None:
                tx.fees = bumped
                tx.attempt_s = now_s
                tx.attempts += 1

    def arbitrage_tip(self, b: int) -> int:
        """What an arbitrageur racing for a stale quote tips in block b: above a full block's auction,
        otherwise the network's typical tip of that block."""
        return max(self.blocks.typical_tip[b], self.blocks.clearing_tip[b])

    def quote_cost(self, wei: int) -> float:
        return wei / WEI_PER_NATIVE * self.chain.native_price_quote
