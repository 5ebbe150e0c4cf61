"""What the package derives from the accepted documents, on its own: the traceability
matrix and the tracker imports (the same text the export ZIP holds, built on request)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Response

from api.deps import ProjectAccess, ProjectForViewer, StateDep, tenant_repository
from api.schemas import ResponseModel
from docflow.contracts import TraceCoverage
from docflow.package import PackageFile, PackageInfo, traceability_of, tracker_attachments
from docflow.traceability import render_traceability
from docflow.tracker import GITHUB_FILE, GITHUB_SCRIPT, JIRA_FILE, LINEAR_FILE, TRACKER_DIR

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["package"])

TrackerFile = Literal["github-issues.json", "jira.csv", "linear.csv", "create_github_issues.py"]
MEDIA_TYPES: dict[str, str] = {
    GITHUB_FILE: "application/json",
    JIRA_FILE: "text/csv; charset=utf-8",
    LINEAR_FILE: "text/csv; charset=utf-8",
    GITHUB_SCRIPT: "text/x-python; charset=utf-8",
}


class TraceabilityPublic(ResponseModel):
    coverage: TraceCoverage
    content_md: str  # docs/traceability.md as the export writes it


async def _accepted(access: ProjectAccess, state: StateDep) -> list[PackageFile]:
    async with tenant_repository(state, access.principal.tenant_id) as repo:
        rows = await repo.accepted_documents(access.project.id)
    return [
        PackageFile(path=d.path, title=d.title, kind=d.kind, content_md=v.content_md,
                    version=v.version, version_id=v.id)
        for d, v in rows
    ]  # fmt: skip


def _info(access: ProjectAccess) -> PackageInfo:
    project = access.project
    return PackageInfo(project_id=project.id, tenant_id=project.tenant_id,
                       project_name=project.name, project_slug=project.slug, idea=project.idea,
                       generated_at=datetime.now(UTC))  # fmt: skip


@router.get(
    "/traceability",
    summary="The traceability matrix of the accepted documents, with its coverage",
)
async def get_traceability(access: ProjectForViewer, state: StateDep) -> TraceabilityPublic:
    matrix = traceability_of(await _accepted(access, state))
    if matrix is None:
        raise HTTPException(
            404, detail="the project has no accepted description with requirement ids yet"
        )
    return TraceabilityPublic(
        coverage=matrix.coverage(), content_md=render_traceability(access.project.name, matrix)
    )


@router.get(
    "/tracker/{name}",
    summary="One tracker import of the accepted plan: GitHub issues, Jira or Linear CSV",
    response_class=Response,
    responses={200: {"content": {media: {} for media in sorted(set(MEDIA_TYPES.values()))}}},
)
async def get_tracker_file(
    name: TrackerFile, access: ProjectForViewer, state: StateDep
) -> Response:
    files = tracker_attachments(_info(access), await _accepted(access, state))
    if not files:
        raise HTTPException(404, detail="the project has no accepted plan yet")
    return Response(
        files[f"{TRACKER_DIR}/{name}"],
        media_type=MEDIA_TYPES[name],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
