"""Work inside an activity, with heartbeats while it runs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio import activity

HEARTBEAT_EVERY_S = 2.0
T = TypeVar("T")


async def with_heartbeats(work: Callable[[], T]) -> T:
    """Run blocking ``work`` in a thread, heartbeating while it runs."""
    task = asyncio.ensure_future(asyncio.to_thread(work))
    while True:
        done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY_S)
        if done:
            return task.result()
        activity.heartbeat()


async def heartbeating(work: Awaitable[T]) -> T:
    """Await ``work`` on the activity's own loop, heartbeating while it runs."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY_S)
            if done:
                return task.result()
            activity.heartbeat()
    finally:
        if not task.done():
            task.cancel()  # the activity was cancelled: stop writing, close the requests
