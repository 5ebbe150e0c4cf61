"""Project memory activities: index accepted versions, search, purge (worker only: Qdrant's
local mode allows one client per folder, and the worker process holds it)."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import cache, partial
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.client import Client

from activities.errors import not_found
from activities.heartbeats import heartbeats
from docflow.contracts import MemoryChunk, TenantScope
from docflow.memory.contracts import IndexInput, IndexOutput, SearchInput, SearchOutput
from docflow.memory.pipeline import index_version
from docflow.memory.runtime import open_store
from docflow.memory.store import Hit, MemoryStore, describe
from docflow.quotas import Meter, Quotas
from docflow.settings import Settings
from docflow.storage.db import tenant_session
from docflow.storage.repositories import NotFoundError, TenantRepository, version_ref
from docflow.telemetry import tracer
from docflow.temporal import scope_attributes
from workflows.memory import SearchMemory

CHARS_PER_TOKEN = 4
INDEX_THREADS = 2  # the worker's memory slots are as many (worker.main.MEMORY_SLOTS)
RECALL_TIMEOUT = timedelta(seconds=30)
BACKGROUND_NICENESS = 10  # added to the process's: the next agent step comes first


def _lower_this_threads_priority() -> None:
    """Linux schedules threads one by one: a thread's niceness is its own."""
    if sys.platform == "linux":
        here = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, here, os.getpriority(os.PRIO_PROCESS, here) + BACKGROUND_NICENESS
        )


@cache
def background_executor() -> ThreadPoolExecutor:
    """The threads that index project memory, at a lower CPU priority than the rest of the
    worker: memory catches up beside the next agent step without slowing it (ADR-014)."""
    return ThreadPoolExecutor(
        INDEX_THREADS, "docflow-memory-index", initializer=_lower_this_threads_priority
    )


def memory_chunk(hit: Hit) -> MemoryChunk:
    return MemoryChunk(
        score=hit.score,
        text=hit.text,
        path=hit.path,
        kind=hit.kind,
        version=hit.version,
        document_id=hit.document_id,
        version_id=hit.version_id,
        heading=hit.heading,
        chunk_index=hit.chunk_index,
    )


class RemoteMemory:
    """An agent step's recall in a worker without the store: the ``SearchMemory``
    workflow, whose activity the memory worker runs. A failure fails the step's attempt,
    which Temporal retries."""

    def __init__(self, client: Client, settings: Settings) -> None:
        self._client = client
        self._task_queue = settings.task_queue

    async def search(self, scope: TenantScope, query: str, limit: int) -> list[MemoryChunk]:
        result = await self._client.execute_workflow(
            SearchMemory.run,
            SearchInput(scope=scope, query=query, limit=limit),
            id=f"docflow-recall-{scope.project_id}-{uuid4()}",
            task_queue=self._task_queue,
            execution_timeout=RECALL_TIMEOUT,
            search_attributes=scope_attributes(scope),
        )
        return result.hits


class MemoryActivities:
    def __init__(
        self, engine: AsyncEngine, settings: Settings, quotas: Quotas | None = None
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._quotas = quotas
        self._store: MemoryStore | None = None
        self._tracer = tracer(__name__)

    @property
    def store(self) -> MemoryStore:
        if self._store is None:
            self._store = open_store(self._settings)
        return self._store

    def search(self, scope: TenantScope, query: str, limit: int) -> list[MemoryChunk]:
        return [memory_chunk(hit) for hit in self.store.search(scope, query, limit)]

    async def search_here(self, scope: TenantScope, query: str, limit: int) -> list[MemoryChunk]:
        """An agent step's recall in a worker that holds the store itself."""
        return await asyncio.to_thread(self.search, scope, query, limit)

    @activity.defn(name="index_versions")
    @heartbeats
    async def index_versions(self, task: IndexInput) -> IndexOutput:
        attributes = {
            "tenant_id": str(task.scope.tenant_id),
            "project_id": str(task.scope.project_id),
        }
        with self._tracer.start_as_current_span("docflow.index_versions", attributes=attributes):
            rows = []
            async with tenant_session(self._engine, task.scope.tenant_id) as session:
                repo = TenantRepository(task.scope.tenant_id, session)
                for version_id in task.version_ids:
                    try:
                        rows.append(await repo.get_version(version_id))
                    except NotFoundError as error:
                        raise not_found(error) from error
            reports = []
            loop = asyncio.get_running_loop()
            for document, version in rows:
                memory_document, memory_version = describe(version_ref(document, version))
                index = partial(
                    index_version,
                    self.store,
                    task.scope,
                    memory_document,
                    memory_version,
                    version.content_md,
                    rollback=task.rollback,
                )
                reports.append(await loop.run_in_executor(background_executor(), index))
                activity.heartbeat()
            await self._forget_if_deleted(task.scope)
        if self._quotas is not None:  # ~4 characters a token, as the embedder's tokenizer
            characters = sum(report.chars for report in reports)
            await self._quotas.record(
                task.scope.tenant_id, Meter.EMBEDDING_TOKENS, characters // CHARS_PER_TOKEN
            )
        return IndexOutput(
            documents=len(reports),
            chunks=sum(report.indexed for report in reports),
            superseded=sum(1 for report in reports if report.superseded),
            embedded=sum(report.embedded for report in reports),
        )

    async def _forget_if_deleted(self, scope: TenantScope) -> None:
        """A project deleted while its versions were being indexed has been purged already,
        perhaps before these points were written: purge again, so none outlive it."""
        async with tenant_session(self._engine, scope.tenant_id) as session:
            try:
                await TenantRepository(scope.tenant_id, session).get_project(scope.project_id)
                return
            except NotFoundError as error:
                gone = error
        await asyncio.to_thread(self.store.purge_project, scope)
        raise not_found(gone)

    @activity.defn(name="search_memory")
    @heartbeats
    async def search_memory(self, task: SearchInput) -> SearchOutput:
        hits = await asyncio.to_thread(self.search, task.scope, task.query, task.limit)
        return SearchOutput(hits=hits)

    @activity.defn(name="purge_memory")
    @heartbeats
    async def purge_memory(self, scope: TenantScope) -> int:
        return await asyncio.to_thread(self.store.purge_project, scope)
