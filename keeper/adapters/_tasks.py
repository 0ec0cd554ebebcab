"""Task helpers shared by the adapters' background loops (generic asyncio, no venue in them)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar


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


_A = TypeVar("_A")
_B = TypeVar("_B")
_C = TypeVar("_C")


async def gather_or_cancel(a: Awaitable[_A], b: Awaitable[_B], c: Awaitable[_C]) -> tuple[_A, _B, _C]:
    """Await three reads concurrently; the first failure cancels the others and is raised as itself.
    (Not a TaskGroup: on 3.11 a failing child leaves the parent task marked as cancelling.)"""
    fa, fb, fc = asyncio.ensure_future(a), asyncio.ensure_future(b), asyncio.ensure_future(c)
    try:
        return await asyncio.gather(fa, fb, fc)
    except BaseException:
        for future in (fa, fb, fc):
            future.cancel()
        await asyncio.gather(fa, fb, fc, return_exceptions=True)
        raise
