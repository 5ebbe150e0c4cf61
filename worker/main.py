"""Worker: a process polling the task queues of ``settings.worker_queues``.

- ``agents``: the workflows and their agent, scoring and export activities on
  ``settings.task_queue``. Any number of these run side by side.
- ``memory``: project memory's activities on their own queue
  (``workflows.memory.memory_task_queue``). With Qdrant's local mode (no QDRANT_URL) only
  one process may open the store, so exactly one memory worker runs.
- ``all`` (the default): both, in one process; agent steps then recall memory in-process
  instead of through the memory queue.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Self

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.export import ExportActivities
from activities.memory import INDEX_THREADS, MemoryActivities, RemoteMemory
from activities.quality import QualityActivities
from activities.steps import StepActivities
from docflow import temporal
from docflow.memory.embedding import shared_local_embedder
from docflow.memory.runtime import close_clients
from docflow.quality import readability
from docflow.quotas import Quotas
from docflow.settings import Settings
from docflow.startup import check_offline_writer, load_settings, preflight
from docflow.storage.db import make_engine
from docflow.telemetry import setup_tracing
from workflows.memory import IndexVersions, PurgeMemory, SearchMemory, memory_task_queue
from workflows.project_flow import ExportPackage, ProjectFlow

log = logging.getLogger("docflow.worker")


def activity_functions(
    engine: AsyncEngine, settings: Settings, client: Client | None = None
) -> Sequence[Callable[..., Any]]:
    """Every activity, its dependencies wired. An ``agents`` worker (given its ``client``)
    recalls memory through the memory queue; any other searches the store in-process."""
    # Timeouts: an unresponsive Valkey fails a call in seconds (drafts and usage counts are
    # best effort; a quota check is retried), instead of stalling an activity.
    redis = (
        Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
        if settings.redis_url
        else None
    )
    quotas = Quotas(redis, settings) if redis is not None else None
    memory = MemoryActivities(engine, settings, quotas=quotas)
    recall = (
        RemoteMemory(client, settings).search
        if client is not None and settings.worker_queues == "agents"
        else memory.search_here
    )
    steps = StepActivities(engine, settings, memory=recall, quotas=quotas, redis=redis)
    export = ExportActivities(engine, settings)
    quality = QualityActivities(engine, settings)
    return [
        steps.write_step,
        steps.save_edit,
        steps.accept_step,
        quality.score_versions,
        memory.index_versions,
        memory.search_memory,
        memory.purge_memory,
        export.export_package,
    ]


# Activity slots per kind of work, from bench/speed.py's load run: agent steps wait on an
# LLM (I/O), so many share the process; memory embeds on the CPU, two at a time at most.
AGENT_SLOTS = 8
MEMORY_SLOTS = INDEX_THREADS  # one index thread per slot (activities.memory)


def is_memory_activity(function: Callable[..., Any]) -> bool:
    return isinstance(getattr(function, "__self__", None), MemoryActivities)


class Workers:
    """The process's two workers, started and stopped together (``async with``)."""

    def __init__(self, workers: Sequence[Worker]) -> None:
        self.workers = list(workers)
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        for worker in self.workers:
            await self._stack.enter_async_context(worker)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self._stack.__aexit__(kind, error, trace)


def build_worker(
    client: Client,
    engine: AsyncEngine,
    settings: Settings,
    activities: Sequence[Callable[..., Any]] | None = None,
) -> Workers:
    functions = activities or activity_functions(engine, settings, client)
    workers: list[Worker] = []
    if settings.worker_queues in ("all", "agents"):
        workers.append(_flows_worker(client, settings, functions))
    if settings.worker_queues in ("all", "memory"):
        workers.append(_memory_worker(client, settings, functions))
    return Workers(workers)


def _flows_worker(
    client: Client, settings: Settings, functions: Sequence[Callable[..., Any]]
) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[ProjectFlow, ExportPackage, SearchMemory, PurgeMemory, IndexVersions],
        activities=[function for function in functions if not is_memory_activity(function)],
        max_concurrent_activities=AGENT_SLOTS,
        # OpenTelemetry is loaded by the tracing interceptor: pass it through the sandbox
        # instead of re-importing it per workflow run.
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("opentelemetry")
        ),
    )


def _memory_worker(
    client: Client, settings: Settings, functions: Sequence[Callable[..., Any]]
) -> Worker:
    return Worker(
        client,
        task_queue=memory_task_queue(settings.task_queue),
        activities=[function for function in functions if is_memory_activity(function)],
        max_concurrent_activities=MEMORY_SLOTS,
    )


def warm_up(settings: Settings) -> None:
    """Load, in the calling thread, what the first activities would otherwise load while a
    person waits: the readability dictionary and the local embedding model. A failure
    is logged: the activity that needs the part reports it properly."""
    try:
        readability.warm_up()
        if settings.embedding_provider == "local" and settings.worker_queues != "agents":
            shared_local_embedder().load()
    except Exception as error:
        log.warning("warm-up failed (the first activity will retry): %s", error)


async def run_worker(settings: Settings) -> None:
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set: start the stack with `docflow dev`")
    setup_tracing(settings, "worker")
    client = await temporal.connect(settings)
    engine = make_engine(settings.database_url, settings.db_pool_size)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, stop.set)
    warming = asyncio.create_task(asyncio.to_thread(warm_up, settings))
    try:
        async with build_worker(client, engine, settings):
            log.info(
                "worker (%s queues) polling %s on %s",
                settings.worker_queues,
                settings.task_queue,
                settings.temporal_target,
            )
            await stop.wait()
            log.info("worker stopping: finishing in-flight tasks")
    finally:
        await warming
        close_clients()  # releases Qdrant's local folder for the next worker
        await engine.dispose()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = load_settings()
    preflight(settings, redis=settings.redis_url is not None)
    if settings.llm_provider == "offline" and settings.worker_queues != "memory":
        check_offline_writer()
    asyncio.run(run_worker(settings))
    log.info("worker stopped")


if __name__ == "__main__":
    main()
