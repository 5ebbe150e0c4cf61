"""Work inside an activity, with heartbeats while it runs.

Every activity heartbeats (``heartbeats`` on its method) and every one is scheduled with
a heartbeat timeout (``workflows.project_flow.HEARTBEAT``): when a worker dies, Temporal
gives its activities to another worker after that timeout, not after their whole
start-to-close timeout.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from temporalio import activity

HEARTBEAT_EVERY_S = 2.0
T = TypeVar("T")
P = ParamSpec("P")


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


def heartbeats(method: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """An activity method that heartbeats every ``HEARTBEAT_EVERY_S`` while it runs."""

    @functools.wraps(method)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return await heartbeating(method(*args, **kwargs))

    return run
