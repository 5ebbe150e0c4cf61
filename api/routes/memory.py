"""Search the project's memory: passages of its accepted documents, scored."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, Query
from pydantic import AfterValidator
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError

from api.deps import ProjectAccess, ProjectForViewer, StateDep
from api.schemas import refuse_unstorable
from api.state import AppState
from docflow.contracts import MemoryChunk
from docflow.memory.contracts import IndexInput, SearchInput
from docflow.temporal import scope_attributes
from workflows.memory import IndexVersions, PurgeMemory, SearchMemory

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["memory"])
SEARCH_TIMEOUT = timedelta(seconds=30)


@router.get("/search", summary="Passages of the accepted documents most relevant to a query")
async def search(
    access: ProjectForViewer,
    state: StateDep,
    q: Annotated[
        str,
        Query(min_length=1, max_length=2_000, examples=["who books the plots?"]),
        AfterValidator(refuse_unstorable),
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> list[MemoryChunk]:
    # Project memory lives with the worker (Qdrant's local mode admits one process), so the
    # search runs there, as a short workflow.
    try:
        result = await state.temporal.execute_workflow(
            SearchMemory.run,
            SearchInput(scope=access.scope, query=q, limit=limit),
            id=f"docflow-search-{access.project.id}-{uuid4()}",
            task_queue=state.settings.task_queue,
            execution_timeout=SEARCH_TIMEOUT,
            search_attributes=scope_attributes(access.scope),
        )
    except (WorkflowFailureError, RPCError) as error:
        raise HTTPException(
            503, detail="project memory is unavailable right now (is a worker running?)"
        ) from error
    return result.hits


async def forget_project(state: AppState, access: ProjectAccess) -> None:
    """Start removing the project's passages from memory (Temporal retries until done)."""
    await state.temporal.start_workflow(
        PurgeMemory.run,
        access.scope,
        id=f"docflow-purge-{access.project.id}",
        task_queue=state.settings.task_queue,
        search_attributes=scope_attributes(access.scope),
    )


async def remember_rollback(state: AppState, access: ProjectAccess, version_id: UUID) -> None:
    """A rolled-back document's accepted version replaces the newer one in memory."""
    await state.temporal.start_workflow(
        IndexVersions.run,
        IndexInput(scope=access.scope, version_ids=[version_id], rollback=True),
        id=f"docflow-reindex-{access.project.id}-{uuid4()}",
        task_queue=state.settings.task_queue,
        search_attributes=scope_attributes(access.scope),
    )
