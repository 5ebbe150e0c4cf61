"""Projects: create, list, read, change, delete (scoped to the caller's tenant)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response, status
from pydantic import Field
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from api.deps import (
    Editor,
    ProjectForEditor,
    ProjectForOwner,
    ProjectForViewer,
    StateDep,
    Viewer,
    tenant_repository,
)
from api.routes.memory import forget_project
from api.schemas import RequestModel, ResponseModel
from docflow import temporal
from docflow.storage.db import tenant_session
from docflow.storage.repositories import TenantRepository

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])

Name = Annotated[str, Field(min_length=1, max_length=200, examples=["GardenShare"])]
Idea = Annotated[
    str,
    Field(
        min_length=10,
        max_length=20_000,
        examples=["A mobile app for community gardens to share tools and book plots."],
    ),
]
Constraints = Annotated[
    str, Field(max_length=5_000, examples=["Three volunteers, four months, EU hosting."])
]


class ProjectCreate(RequestModel):
    name: Name
    idea: Idea
    constraints: Constraints = ""


class ProjectUpdate(RequestModel):
    name: Name | None = None
    idea: Idea | None = None
    constraints: Constraints | None = None


class ProjectPublic(ResponseModel):
    id: UUID
    name: str
    slug: str
    idea: str
    constraints: str
    created_by: str
    created_at: datetime


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a project")
async def create_project(body: ProjectCreate, state: StateDep, caller: Editor) -> ProjectPublic:
    async with tenant_session(state.engine, caller.tenant_id) as session:
        project = await TenantRepository(caller.tenant_id, session).create_project(
            body.name, body.idea, body.constraints, created_by=caller.subject
        )
    return ProjectPublic.model_validate(project)


@router.get("", summary="List the tenant's projects")
async def list_projects(state: StateDep, caller: Viewer) -> list[ProjectPublic]:
    async with tenant_session(state.engine, caller.tenant_id) as session:
        projects = await TenantRepository(caller.tenant_id, session).list_projects()
    return [ProjectPublic.model_validate(project) for project in projects]


@router.get("/{project_id}", summary="Read a project")
async def get_project(access: ProjectForViewer) -> ProjectPublic:
    return ProjectPublic.model_validate(access.project)


@router.patch("/{project_id}", summary="Change a project's name, idea or constraints")
async def update_project(
    body: ProjectUpdate, access: ProjectForEditor, state: StateDep
) -> ProjectPublic:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    async with tenant_repository(state, access.principal.tenant_id) as repo:
        project = await repo.update_project(access.project.id, changes)
    return ProjectPublic.model_validate(project)


@router.delete(
    "/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a project, its documents, runs' records and exports",
)
async def delete_project(access: ProjectForOwner, state: StateDep) -> Response:
    await _stop_running_flow(state, access.project.id)
    await forget_project(state, access)
    async with tenant_session(state.engine, access.principal.tenant_id) as session:
        await TenantRepository(access.principal.tenant_id, session).delete_project(
            access.project.id
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _stop_running_flow(state: StateDep, project_id: UUID) -> None:
    handle = state.temporal.get_workflow_handle(temporal.workflow_id(project_id))
    try:
        description = await handle.describe()
    except RPCError:
        return  # never started
    if description.status == WorkflowExecutionStatus.RUNNING:
        await handle.terminate("project deleted")
