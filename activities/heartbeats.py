"""Blocking work inside an activity, with heartbeats while it runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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
