"""Readiness probes of the services the API depends on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import httpx
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from docflow.settings import Settings

Probe = Callable[[], Awaitable[None]]
PROBE_TIMEOUT_S = 2.0


async def check_postgres(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("select 1"))


async def check_redis(client: Redis) -> None:
    await client.ping()


async def check_temporal(client: Client) -> None:
    if not await client.service_client.check_health():
        raise RuntimeError("Temporal reports not serving")


async def check_worker(client: Client, task_queue: str) -> None:
    """A worker polls the task queue: without one, runs start and never move."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    response = await client.workflow_service.describe_task_queue(request)
    if not response.pollers:
        raise RuntimeError(f"no worker polls the task queue {task_queue!r}")


async def check_qdrant(settings: Settings) -> None:
    if settings.qdrant_url:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S) as http:
            (await http.get(f"{settings.qdrant_url.rstrip('/')}/readyz")).raise_for_status()
        return
    path = settings.qdrant_local_path
    if not await asyncio.to_thread(path.is_dir):
        raise RuntimeError(f"Qdrant local storage {path} does not exist")


async def run_probes(probes: Mapping[str, Probe]) -> dict[str, str]:
    async def run(probe: Probe) -> str:
        try:
            await asyncio.wait_for(probe(), PROBE_TIMEOUT_S)
        except Exception as error:  # a probe reports any failure as text, never raises
            return f"error: {type(error).__name__}: {error}"[:300]
        return "ok"

    names = list(probes)
    results = await asyncio.gather(*(run(probes[name]) for name in names))
    return dict(zip(names, results, strict=True))
