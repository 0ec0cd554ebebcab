"""Task helpers shared by the adapter's background loops."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has finished.

    Its CancelledError is absorbed, but a cancellation aimed at the *caller* is re-raised:
    a blanket ``suppress(CancelledError)`` would swallow it and leave the caller running.
    """
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
