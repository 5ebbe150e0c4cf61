"""Short workflows through which the API reaches project memory (held by the worker)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from docflow.contracts import TenantScope
    from docflow.memory.contracts import IndexInput, IndexOutput, SearchInput, SearchOutput

SEARCH_RETRY = RetryPolicy(maximum_attempts=2, non_retryable_error_types=["InvalidInput"])
UNTIL_DONE = RetryPolicy(maximum_interval=timedelta(minutes=1))
# Runs started before memory had a task queue of its own replay on the workflow's queue.
MEMORY_QUEUE_PATCH = "memory-task-queue-1"


def memory_task_queue(task_queue: str) -> str:
    """Project memory's activities have a queue of their own next to the workflow's, with
    its own worker slots: a burst of indexing never holds the slots agent steps need."""
    return f"{task_queue}-memory"


def memory_queue() -> str | None:
    """The memory queue of the running workflow (None: its own, for histories from before
    ``MEMORY_QUEUE_PATCH``)."""
    if not workflow.patched(MEMORY_QUEUE_PATCH):
        return None
    return memory_task_queue(workflow.info().task_queue)


async def index_versions(index: IndexInput, retry_policy: RetryPolicy) -> IndexOutput:
    """The ``index_versions`` activity, as ProjectFlow and IndexVersions both run it."""
    result: IndexOutput = await workflow.execute_activity(
        "index_versions",
        index,
        task_queue=memory_queue(),
        result_type=IndexOutput,
        start_to_close_timeout=timedelta(minutes=10),
        schedule_to_close_timeout=timedelta(minutes=25),  # ten minutes' work, ridden out
        heartbeat_timeout=timedelta(seconds=10),
        retry_policy=retry_policy,
    )
    return result


@workflow.defn(name="SearchMemory")
class SearchMemory:
    @workflow.run
    async def run(self, search: SearchInput) -> SearchOutput:
        result: SearchOutput = await workflow.execute_activity(
            "search_memory",
            search,
            task_queue=memory_queue(),
            result_type=SearchOutput,
            start_to_close_timeout=timedelta(seconds=20),
            retry_policy=SEARCH_RETRY,
        )
        return result


@workflow.defn(name="PurgeMemory")
class PurgeMemory:
    """A deleted project's passages leave memory (retried until they have)."""

    @workflow.run
    async def run(self, scope: TenantScope) -> int:
        removed: int = await workflow.execute_activity(
            "purge_memory",
            scope,
            task_queue=memory_queue(),
            result_type=int,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=UNTIL_DONE,
        )
        return removed


@workflow.defn(name="IndexVersions")
class IndexVersions:
    """Accepted versions replace theirs in memory: a run's accepted step (a child of
    ProjectFlow that outlives it) or a version made accepted again (a rollback)."""

    @workflow.run
    async def run(self, index: IndexInput) -> IndexOutput:
        return await index_versions(index, UNTIL_DONE)
