"""The quoting loop's record in the durable store: orders, outcomes, state changes, fills, funding,
positions, and the risk state that must survive a restart (high-water mark, latched halt, resumes).

A store that fails to write is logged (once a minute) and counted, never raised into the loop: the
venue stays the book of record for orders and positions, and the cancels must go out whatever the
disk does. The risk latch is also held in memory, so a failed write never un-halts anything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from typing import TypeVar

from keeper.app._store_schema import RequestKind, RiskRecord
from keeper.app.store import Store, StoreError
from keeper.core.order_ledger import OrderChange
from keeper.core.strategy import MarketMaker
from keeper.core.venue import (
    CancelOutcome,
    FundingPaid,
    OrderFilled,
    OrderRequest,
    SubmitOutcome,
    Unknown,
    VenueSnapshot,
)

log = logging.getLogger("keeper.journal")
ZERO = Decimal(0)
_T = TypeVar("_T")


class Journal:
    """Writes of one account to `store`; every method swallows (and counts) store errors."""

    def __init__(self, store: Store, account: str, *, hwm_every_s: float = 1.0) -> None:
        self.store = store
        self.account = account
        self.errors = 0
        self._hwm_every_s = hwm_every_s
        self._saved_hwm: Decimal | None = None
        self._saved_at = -1e18
        self._latch_saved = False
        self._warned_at = -1e18

    # ---- orders and fills ----

    def order(self, request: OrderRequest, ts_ms: int) -> None:
        self._write(lambda: self.store.record_order(request, self.account, ts_ms=ts_ms))

    def outcome(
        self,
        client_id: str,
        outcome: SubmitOutcome | CancelOutcome | Unknown,
        ts_ms: int,
        request: RequestKind,
    ) -> None:
        self._write(
            lambda: self.store.record_outcome(outcome, self.account, client_id, ts_ms, request=request)
        )

    def changes(self, changes: Sequence[OrderChange], ts_ms: int) -> None:
        for change in changes:
            self._write(partial(self.store.update_order, self.account, change.client_id, change.state, ts_ms))

    def fill(self, fill: OrderFilled) -> None:
        self._write(lambda: self.store.record_fill(fill, self.account))

    def funding(self, payment: FundingPaid) -> None:
        self._write(lambda: self.store.record_funding(payment, self.account))

    def snapshot(self, snapshot: VenueSnapshot) -> None:
        """The venue's positions and its fill records, as read by reconciliation."""
        for position in snapshot.positions:
            self._write(
                partial(
                    self.store.record_position, position, self.account, ts_ms=snapshot.ts_ms, source="venue"
                )
            )
        for fill in snapshot.fills:
            self.fill(fill)

    # ---- risk state ----

    def restore(self, maker: MarketMaker, ts_ms: int) -> None:
        """Start-up: the high-water mark and a latched halt of an earlier process; then any resume an
        operator wrote while no keeper ran."""
        record = self._read(lambda: self.store.load_risk(self.account))
        if record is not None:
            if record.high_water_mark is not None:
                maker.high_water = record.high_water_mark
                self._saved_hwm = record.high_water_mark
            if record.halted:
                maker.gate.restore(True, record.halt_reason)
                self._latch_saved = True
                log.error(
                    "restored a latched halt (%s, since %s): quoting stays halted until `keeper resume`",
                    record.halt_reason,
                    record.halted_at_ms,
                )
            log.info("risk state restored: high-water mark %s", record.high_water_mark)
        self.poll_resume(maker, ts_ms)

    def after_decision(self, maker: MarketMaker, ts_ms: int) -> None:
        """Persist a new latch at once; the high-water mark when it moved, at most once per interval."""
        gate = maker.gate
        if gate.latched and not self._latch_saved:
            reason = gate.latch_reason or "drawdown_halt"
            self._latch_saved = self._write(lambda: self.store.latch_halt(self.account, reason, ts_ms))
        hwm = maker.high_water
        now = time.monotonic()
        if hwm > 0 and hwm != self._saved_hwm and now - self._saved_at >= self._hwm_every_s:
            record = RiskRecord(
                high_water_mark=hwm,
                halted=gate.latched,
                halt_reason=gate.latch_reason,
                halted_at_ms=ts_ms if gate.latched else None,
                updated_ms=ts_ms,
            )
            if gate.latched:  # keep the first latch's reason and time: only the mark moves
                saved = self._read(lambda: self.store.load_risk(self.account))
                if saved is not None and saved.halted:
                    record = RiskRecord(
                        high_water_mark=hwm,
                        halted=True,
                        halt_reason=saved.halt_reason,
                        halted_at_ms=saved.halted_at_ms,
                        updated_ms=ts_ms,
                    )
            if self._write(lambda: self.store.save_risk(self.account, record)):
                self._saved_hwm, self._saved_at = hwm, now

    def poll_resume(self, maker: MarketMaker, ts_ms: int) -> bool:
        """Apply a `keeper resume` another process recorded: clear the latch, restart the drawdown
        budget from the next equity reading. True when one was applied."""
        taken = self._read(lambda: self.store.take_resume(self.account, ts_ms))
        if taken is None:
            return False
        maker.gate.reset_halt()
        maker.high_water = ZERO
        self._latch_saved = False
        self._saved_hwm = None
        log.warning(
            "resumed by %s (%s): latch %s cleared, drawdown budget restarts from the next equity",
            taken.who,
            taken.reason,
            taken.cleared_reason,
        )
        return True

    # ---- internals ----

    def record(self, write: Callable[[], object]) -> bool:
        """Any other store write, with the same error handling (False: it failed and was logged)."""
        return self._write(write)

    def _write(self, write: Callable[[], object]) -> bool:
        try:
            write()
        except (StoreError, OSError) as exc:
            self._failed(exc)
            return False
        return True

    def _read(self, read: Callable[[], _T | None]) -> _T | None:
        try:
            return read()
        except (StoreError, OSError) as exc:
            self._failed(exc)
            return None

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        now = time.monotonic()
        if now - self._warned_at >= 60.0:
            self._warned_at = now
            log.error("store %s: %s (%d failed writes so far)", self.store.path, exc, self.errors)
