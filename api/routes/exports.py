"""Exports: ask for the package (202), follow it, download the ZIP by a signed link."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import ProjectForEditor, ProjectForViewer, StateDep
from api.downloads import DownloadGrant, InvalidDownloadTokenError, sign_download, verify_download
from api.schemas import ResponseModel
from docflow.contracts import ExportInput, TenantScope
from docflow.storage.db import tenant_session
from docflow.storage.models import Export
from docflow.storage.repositories import NotFoundError, TenantRepository
from docflow.temporal import scope_attributes
from workflows.project_flow import ExportPackage

router = APIRouter(tags=["exports"])
PROJECT_EXPORTS = "/api/v1/projects/{project_id}/exports"


class ExportStatus(ResponseModel):
    id: UUID
    status: Literal["pending", "ready", "failed"]
    detail: str | None = None
    sha256: str | None = None
    size: int | None = None
    manifest: dict[str, Any] | None = None
    download_url: str | None = None
    download_expires_at: datetime | None = None
    created_at: datetime | None = None


def _workflow_id(project_id: UUID, export_id: UUID) -> str:
    # The project is part of the id: a status is only ever read through a project that
    # passed the tenant check, so another tenant's export id finds nothing.
    return f"docflow-export-{project_id}-{export_id}"


@router.post(
    PROJECT_EXPORTS,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Export the accepted package",
)
async def create_export(access: ProjectForEditor, state: StateDep) -> ExportStatus:
    export_id = uuid4()
    task = ExportInput(
        scope=TenantScope(tenant_id=access.principal.tenant_id, project_id=access.project.id),
        idempotency_key=f"api-export:{export_id}",
        export_id=export_id,
    )
    await state.temporal.start_workflow(
        ExportPackage.run,
        task,
        id=_workflow_id(access.project.id, export_id),
        task_queue=state.settings.task_queue,
        search_attributes=scope_attributes(task.scope),
    )
    return ExportStatus(id=export_id, status="pending")


@router.get(
    PROJECT_EXPORTS + "/{export_id}",
    summary="An export's status, manifest and link",
)
async def get_export(
    export_id: UUID, access: ProjectForViewer, state: StateDep, request: Request
) -> ExportStatus:
    tenant_id = access.principal.tenant_id
    async with tenant_session(state.engine, tenant_id) as session:
        try:
            export = await TenantRepository(tenant_id, session).get_export(
                access.project.id, export_id
            )
        except NotFoundError:
            return await _pending_or_failed(state, access.project.id, export_id)
    return _ready(state, request, export)


def _ready(state: StateDep, request: Request, export: Export) -> ExportStatus:
    grant = DownloadGrant(
        tenant_id=export.tenant_id, project_id=export.project_id, export_id=export.id
    )
    token, expires_at = sign_download(state.settings, grant)
    url = str(request.url_for("download_export")) + "?" + urlencode({"token": token})
    return ExportStatus(
        id=export.id,
        status="ready",
        sha256=export.sha256,
        size=export.size,
        manifest=export.manifest,
        download_url=url,
        download_expires_at=datetime.fromtimestamp(expires_at).astimezone(),
        created_at=export.created_at,
    )


async def _pending_or_failed(state: StateDep, project_id: UUID, export_id: UUID) -> ExportStatus:
    handle = state.temporal.get_workflow_handle(_workflow_id(project_id, export_id))
    try:
        description = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, detail="export not found") from error
        raise
    if description.status == WorkflowExecutionStatus.RUNNING:
        return ExportStatus(id=export_id, status="pending")
    if description.status == WorkflowExecutionStatus.COMPLETED:
        # Completed, yet no row in this project: the project was deleted meanwhile.
        raise HTTPException(404, detail="export not found")
    try:
        await handle.result()
    except WorkflowFailureError as error:  # the workflow's failure, reported as the export's
        return ExportStatus(id=export_id, status="failed", detail=str(error.cause or error))
    raise HTTPException(404, detail="export not found")


@router.get(
    "/api/v1/exports/download",
    name="download_export",
    summary="Download an export's ZIP with a signed link (403 when expired or tampered)",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
async def download_export(state: StateDep, token: Annotated[str, Query(min_length=1)]) -> Response:
    try:
        grant = verify_download(state.settings, token)
    except InvalidDownloadTokenError as error:
        raise HTTPException(403, detail="the download link is invalid or has expired") from error
    async with tenant_session(state.engine, grant.tenant_id) as session:
        try:
            export = await TenantRepository(grant.tenant_id, session).get_export(
                grant.project_id, grant.export_id
            )
        except NotFoundError as error:
            raise HTTPException(404, detail="export not found") from error
    filename = f"{export.manifest['project']['name'] or 'package'}.zip"
    safe_name = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in filename)
    return Response(
        export.content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{safe_name}"'},
    )
