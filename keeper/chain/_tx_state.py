"""The life of one transaction send, as a state machine callers can watch and await.

    built -> sent -> pending -> mined -> confirmed
                 \\-> unknown (no reply) -> pending | mined   (resolved by lookups, never guessed)
    pending -> dropped (fell out of the pool) -> pending (re-broadcast)
    pending -> replaced (our cancel or another sender took the nonce)
    mined -> pending (its block left the canonical chain)
    sent -> dropped (a re-send the node refused while the pool holds nothing for the nonce)
    built/sent -> rejected (refused for good before reaching any mempool; the nonce went back)

A handle holds every signed attempt (replace-by-fee keeps the nonce and changes the hash); the
receipt of whichever attempt is mined decides the outcome.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Collection

import msgspec

from keeper.chain._fillers import TxRequest
from keeper.core.fees import Fees, TxUrgency

log = logging.getLogger("keeper.chain.tx")


class TxStatus(enum.Enum):
    BUILT = "built"
    SENT = "sent"
    PENDING = "pending"
    MINED = "mined"
    CONFIRMED = "confirmed"
    REPLACED = "replaced"
    DROPPED = "dropped"
    UNKNOWN = "unknown"
    REJECTED = "rejected"


TERMINAL = frozenset({TxStatus.CONFIRMED, TxStatus.REPLACED, TxStatus.REJECTED})

_ALLOWED: dict[TxStatus, frozenset[TxStatus]] = {
    TxStatus.BUILT: frozenset({TxStatus.SENT, TxStatus.REJECTED}),
    TxStatus.SENT: frozenset(
        {
            TxStatus.PENDING,
            TxStatus.UNKNOWN,
            TxStatus.REJECTED,
            TxStatus.MINED,
            TxStatus.REPLACED,
            TxStatus.DROPPED,
        }
    ),
    TxStatus.UNKNOWN: frozenset(
        {TxStatus.PENDING, TxStatus.MINED, TxStatus.REPLACED, TxStatus.DROPPED, TxStatus.UNKNOWN}
    ),
    TxStatus.PENDING: frozenset(
        {TxStatus.MINED, TxStatus.REPLACED, TxStatus.DROPPED, TxStatus.UNKNOWN, TxStatus.SENT}
    ),
    TxStatus.DROPPED: frozenset({TxStatus.SENT, TxStatus.PENDING, TxStatus.MINED, TxStatus.REPLACED}),
    TxStatus.MINED: frozenset({TxStatus.CONFIRMED, TxStatus.PENDING}),
    TxStatus.CONFIRMED: frozenset(),
    TxStatus.REPLACED: frozenset(),
    TxStatus.REJECTED: frozenset(),
}


class InvalidTransitionError(RuntimeError):
    """A bug: the manager tried a move the state machine does not have."""


class Attempt(msgspec.Struct, frozen=True):
    """One signed version of the transaction (same nonce, its own fees and hash)."""

    tx_hash: str
    raw: bytes
    fees: Fees
    sent_at: float  # the manager's monotonic clock
    is_cancel: bool = False  # a zero-value self-send that takes the nonce back


class Receipt(msgspec.Struct, frozen=True):
    """What the manager keeps of a receipt."""

    tx_hash: str
    block_number: int
    block_hash: str
    status: int  # 1 success, 0 reverted
    gas_used: int
    effective_gas_price: int

    @property
    def reverted(self) -> bool:
        return self.status == 0


class TxHandle:
    """One send: its nonce, attempts, receipt and status history. Await `wait()` or add a listener."""

    def __init__(self, handle_id: int, request: TxRequest, label: str) -> None:
        assert request.nonce is not None, "handles are made for filled requests"
        self.id = handle_id
        self.request = request
        self.sender = request.sender
        self.nonce: int = request.nonce
        self.urgency: TxUrgency = request.urgency
        self.label = label
        self.reprices = 0  # re-priced after a node said the fee was too low
        self.next_check_at = 0.0  # the manager's clock: when to look at this tx again
        self.recheck_pool = False  # look for it in the node's pool at the next tick (after a reorg)
        self.status = TxStatus.BUILT
        self.history: list[TxStatus] = [TxStatus.BUILT]
        self.attempts: list[Attempt] = []
        self.receipt: Receipt | None = None
        self.error: str | None = None
        self.cancel_requested = False
        self._listeners: list[Callable[[TxHandle], None]] = []
        self._changed = asyncio.Event()

    def __repr__(self) -> str:
        return (
            f"TxHandle(#{self.id} {self.label} {self.sender[:10]}… nonce={self.nonce} "
            f"{self.status.value} attempts={len(self.attempts)})"
        )

    @property
    def tx_hash(self) -> str | None:
        """The hash of the latest attempt (or of the mined one once there is a receipt)."""
        if self.receipt is not None:
            return self.receipt.tx_hash
        return self.attempts[-1].tx_hash if self.attempts else None

    @property
    def hashes(self) -> tuple[str, ...]:
        return tuple(a.tx_hash for a in self.attempts)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def add_listener(self, listener: Callable[[TxHandle], None]) -> None:
        self._listeners.append(listener)

    def move(self, status: TxStatus, error: str | None = None) -> None:
        """Advance the state machine (the manager's job); listeners see every move."""
        if status not in _ALLOWED[self.status]:
            raise InvalidTransitionError(f"{self!r}: {self.status.value} -> {status.value}")
        if error is not None:
            self.error = error
        if status is self.status:
            return
        self.status = status
        self.history.append(status)
        self._changed.set()
        self._changed = asyncio.Event()
        for listener in self._listeners:
            try:
                listener(self)
            except Exception:  # a listener's bug must not break the manager
                log.exception("tx listener failed for %r", self)

    async def wait(
        self, statuses: Collection[TxStatus] = TERMINAL, timeout_s: float | None = None
    ) -> TxStatus:
        """Wait until the status is one of `statuses` (or terminal); returns it."""

        async def _until() -> TxStatus:
            while self.status not in statuses and self.status not in TERMINAL:
                await self._changed.wait()
            return self.status

        async with asyncio.timeout(timeout_s):
            return await _until()
