"""Dead-man switch: keep the venue's ``scheduleCancel`` armed so a dead keeper's orders die too.

Arms ``scheduleCancel(time = now + window)`` and re-arms every ``window / 2``; if the process
stalls or loses connectivity for longer than the window, the venue cancels every open order.
:meth:`DeadManSwitch.stop` clears the switch (``scheduleCancel`` without ``time``) on a clean
shutdown. The venue allows at most 10 triggers per UTC day (reset 00:00 UTC) and refuses to arm
beyond that, so triggers are counted: a deadline that passed before the next successful re-arm
is taken as a trigger (conservative when a re-arm's outcome was unknown), and callers that see
``scheduledCancel`` order updates can report them with :meth:`note_trigger`.
"""

from __future__ import annotations

import asyncio
import logging

from keeper.adapters._clock import NowMs, Sleep, wall_ms
from keeper.adapters._tasks import cancel_and_wait
from keeper.adapters.hyperliquid._rest import HyperliquidRestClient
from keeper.codecs.hyperliquid import Accepted, DefaultOutcome, PrivateKeySigner, schedule_cancel_action

_log = logging.getLogger(__name__)

DAY_MS = 86_400_000
MAX_TRIGGERS_PER_DAY = 10
MIN_LEAD_MS = 5_000  # the venue refuses a time earlier than now + 5 s


class DeadManSwitch:
    """Keeps ``scheduleCancel`` at ``now + window_s`` for the account ``signer`` trades.

    ``retry_s``: delay before retrying after a failed re-arm (kept well inside the window).
    """

    def __init__(
        self,
        rest: HyperliquidRestClient,
        signer: PrivateKeySigner,
        *,
        window_s: float = 60.0,
        retry_s: float = 1.0,
        vault_address: str | None = None,
        now_ms: NowMs = wall_ms,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        window_ms = round(window_s * 1000)
        if window_ms < 2 * MIN_LEAD_MS:
            # Re-arming at half the window must still land at least 5 s ahead of the venue's clock.
            raise ValueError(f"window_s must be at least {2 * MIN_LEAD_MS / 1000} s")
        self._rest = rest
        self._signer = signer
        self._window_ms = window_ms
        self._retry_s = retry_s
        self._vault = vault_address
        self._now_ms = now_ms
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self._triggers: tuple[int, int] = (-1, 0)  # (UTC day, count)
        self.armed_until: int | None = None  # deadline the venue last accepted (None: not armed)
        self.arms = 0
        self.failures = 0

    # ---- trigger accounting ----

    def triggers_today(self) -> int:
        """Triggers counted on the current UTC day."""
        day, count = self._triggers
        return count if day == self._now_ms() // DAY_MS else 0

    @property
    def cap_reached(self) -> bool:
        """True when the venue will refuse to arm again before 00:00 UTC."""
        return self.triggers_today() >= MAX_TRIGGERS_PER_DAY

    def note_trigger(self, time_ms: int) -> None:
        """Count a trigger that fired at ``time_ms`` (on that UTC day)."""
        day = time_ms // DAY_MS
        previous_day, count = self._triggers
        self._triggers = (day, count + 1 if previous_day == day else 1)
        _log.warning("dead-man switch fired at %d (%d today)", time_ms, self._triggers[1])

    # ---- arming ----

    async def arm(self) -> DefaultOutcome:
        """Arm once at ``now + window``; returns the venue outcome."""
        now = self._now_ms()
        if self.armed_until is not None and now >= self.armed_until:
            # The deadline passed before this re-arm: the venue has fired and cancelled everything.
            self.note_trigger(self.armed_until)
            self.armed_until = None
        target = now + self._window_ms
        reply = await self._rest.exchange(
            schedule_cancel_action(target), self._signer, vault_address=self._vault
        )
        outcome = reply.outcomes[0]
        if isinstance(outcome, Accepted):
            self.armed_until = target
            self.arms += 1
        else:
            # Unknown: it may be armed at target or still at the old deadline; keep the earlier one.
            self.failures += 1
            _log.warning("dead-man switch arm failed: %r (cap reached: %s)", outcome, self.cap_reached)
        return outcome

    async def start(self) -> DefaultOutcome:
        """Arm now and keep re-arming in the background; returns the first arm's outcome."""
        if self._task is not None:
            raise RuntimeError("dead-man switch already running")
        started = self._now_ms()
        outcome = await self.arm()
        # Deadlines are absolute (not "sleep N after the task starts") so neither task start-up
        # nor the time an arm takes delays the next one.
        next_due = started + self._rearm_delay_ms(isinstance(outcome, Accepted))
        self._task = asyncio.create_task(self._loop(next_due), name="dead-man-switch")
        return outcome

    def _rearm_delay_ms(self, ok: bool) -> int:
        return self._window_ms // 2 if ok else round(self._retry_s * 1000)

    async def _loop(self, next_due: int) -> None:
        while True:
            await self._sleep(max(0.0, (next_due - self._now_ms()) / 1000))
            started = self._now_ms()
            try:
                ok = isinstance(await self.arm(), Accepted)
            except Exception:  # keep trying: a missed re-arm is what this loop exists to prevent
                self.failures += 1
                ok = False
                _log.exception("dead-man switch re-arm raised")
            next_due = started + self._rearm_delay_ms(ok)

    async def halt(self) -> None:
        """Stop re-arming but leave the switch armed (it fires at ``armed_until``)."""
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait(task)

    async def stop(self) -> DefaultOutcome:
        """Clean shutdown: stop re-arming and clear the switch on the venue."""
        await self.halt()
        reply = await self._rest.exchange(
            schedule_cancel_action(None), self._signer, vault_address=self._vault
        )
        outcome = reply.outcomes[0]
        if isinstance(outcome, Accepted):
            self.armed_until = None
        else:
            _log.error("dead-man switch could not be cleared (%r): it may still fire", outcome)
        return outcome
