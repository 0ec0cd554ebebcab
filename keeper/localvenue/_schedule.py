"""scheduleCancel (dead-man switch): arm at T >= now + 5 s, clear, fire, 10 triggers per UTC day.

The cap is checked when arming (an account that already used its 10 triggers today cannot arm);
a trigger counts on the UTC day of its scheduled time, so the count resets at 00:00 UTC.
"""

from __future__ import annotations

from keeper.localvenue import _wire as w

DAY_MS = 86_400_000
MIN_DELAY_MS = 5_000
MAX_TRIGGERS_PER_DAY = 10


class ScheduledCancels:
    """Armed times and daily trigger counts per account."""

    def __init__(self) -> None:
        self._armed: dict[str, int] = {}
        self._triggers: dict[str, tuple[int, int]] = {}  # user -> (UTC day, count)

    def triggers_today(self, user: str, now_ms: int) -> int:
        """Triggers fired on the UTC day of ``now_ms``."""
        day, count = self._triggers.get(user, (-1, 0))
        return count if day == now_ms // DAY_MS else 0

    def arm(self, user: str, time_ms: int | None, now_ms: int) -> str | None:
        """Arm (``time_ms``) or clear (None); error string if refused."""
        if time_ms is None:
            self._armed.pop(user, None)
            return None
        if time_ms < now_ms + MIN_DELAY_MS:
            return w.SCHEDULE_TOO_EARLY
        if self.triggers_today(user, now_ms) >= MAX_TRIGGERS_PER_DAY:
            return w.SCHEDULE_CAP
        self._armed[user] = time_ms
        return None

    def armed(self, user: str) -> int | None:
        """The armed time, if any."""
        return self._armed.get(user)

    def next_time(self) -> int | None:
        """Earliest armed time across accounts."""
        return min(self._armed.values(), default=None)

    def pop_due(self, now_ms: int) -> list[tuple[int, str]]:
        """Disarm and count every switch due at or before ``now_ms``: (time, user), time order."""
        due = sorted((time_ms, user) for user, time_ms in self._armed.items() if time_ms <= now_ms)
        for time_ms, user in due:
            del self._armed[user]
            day = time_ms // DAY_MS
            self._triggers[user] = (day, self.triggers_today(user, time_ms) + 1)
        return due
