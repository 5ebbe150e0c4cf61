"""Documents and their versions: list, read, diff, and make an older version active."""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query

from api.deps import (
    ProjectAccess,
    ProjectForEditor,
    ProjectForViewer,
    StateDep,
    tenant_repository,
)
from api.routes.memory import remember_rollback
from api.schemas import MAX_INT, ResponseModel, VersionNumber
from docflow.storage.models import Document, DocumentVersion
from docflow.storage.repositories import NotFoundError, TenantRepository

router = APIRouter(prefix="/api/v1/projects/{project_id}/documents", tags=["documents"])


class VersionSummary(ResponseModel):
    id: UUID
    version: int
    source: str
    created_by: str
    writer: str
    accepted: bool
    created_at: datetime
    meta: dict[str, Any]
    quality: dict[str, Any] | None
    readability: float | None


class VersionPublic(VersionSummary):
    document_id: UUID
    path: str
    content_md: str


class DocumentPublic(ResponseModel):
    id: UUID
    path: str
    kind: str
    step: str
    title: str
    stale: bool
    latest_version: int | None = None
    accepted_version: int | None = None


class DiffLine(ResponseModel):
    op: Literal["equal", "insert", "delete"]
    old_line: int | None
    new_line: int | None
    text: str


class VersionDiff(ResponseModel):
    document_id: UUID
    path: str
    from_version: int
    to_version: int
    unified: str
    lines: list[DiffLine]


class Activation(ResponseModel):
    document_id: UUID
    accepted_version: int
    downstream_marked_stale: int


def _not_found(error: NotFoundError) -> HTTPException:
    return HTTPException(404, detail=str(error))


async def _document(repo: TenantRepository, access: ProjectAccess, document_id: UUID) -> Document:
    try:
        return await repo.get_document(access.project.id, document_id)
    except NotFoundError as error:
        raise _not_found(error) from error


def _document_public(document: Document, versions: list[DocumentVersion]) -> DocumentPublic:
    accepted = [version.version for version in versions if version.accepted]
    return DocumentPublic.model_validate(
        {
            **document.model_dump(),
            "latest_version": max((v.version for v in versions), default=None),
            "accepted_version": accepted[0] if accepted else None,
        }
    )


@router.get("", summary="The project's documents with their latest and accepted versions")
async def list_documents(access: ProjectForViewer, state: StateDep) -> list[DocumentPublic]:
    async with tenant_repository(state, access.principal.tenant_id) as repo:
        documents = await repo.list_documents(access.project.id)
        return [_document_public(doc, await repo.list_versions(doc.id)) for doc in documents]


@router.get("/{document_id}/versions", summary="Every version of a document, oldest first")
async def list_versions(
    document_id: UUID, access: ProjectForViewer, state: StateDep
) -> list[VersionSummary]:
    async with tenant_repository(state, access.principal.tenant_id) as repo:
        document = await _document(repo, access, document_id)
        versions = await repo.list_versions(document.id)
    return [VersionSummary.model_validate(version) for version in versions]


@router.get("/{document_id}/versions/{version}", summary="One version: Markdown and metadata")
async def get_version(
    document_id: UUID, version: VersionNumber, access: ProjectForViewer, state: StateDep
) -> VersionPublic:
    async with tenant_repository(state, access.principal.tenant_id) as repo:
        document = await _document(repo, access, document_id)
        try:
            row = await repo.version_number(document.id, version)
        except NotFoundError as error:
            raise _not_found(error) from error
    return VersionPublic.model_validate({**row.model_dump(), "path": document.path})


@router.get("/{document_id}/diff", summary="Unified and line-by-line diff of two versions")
async def diff_versions(
    document_id: UUID,
    access: ProjectForViewer,
    state: StateDep,
    from_version: Annotated[int, Query(alias="from", ge=1, le=MAX_INT)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=MAX_INT)],
) -> VersionDiff:
    async with tenant_repository(state, access.principal.tenant_id) as repo:
        document = await _document(repo, access, document_id)
        try:
            old = await repo.version_number(document.id, from_version)
            new = await repo.version_number(document.id, to_version)
        except NotFoundError as error:
            raise _not_found(error) from error
    return _diff(document, old, new)


def _diff(document: Document, old: DocumentVersion, new: DocumentVersion) -> VersionDiff:
    old_lines = old.content_md.splitlines()
    new_lines = new.content_md.splitlines()
    unified = "\n".join(
        difflib.unified_diff(
            old_lines,
            new_lines,
            fromfile=f"{document.path}@v{old.version}",
            tofile=f"{document.path}@v{new.version}",
            lineterm="",
        )
    )
    return VersionDiff(
        document_id=document.id,
        path=document.path,
        from_version=old.version,
        to_version=new.version,
        unified=unified,
        lines=_line_diff(old_lines, new_lines),
    )


def _line_diff(old_lines: list[str], new_lines: list[str]) -> list[DiffLine]:
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if tag == "equal":
            lines += [
                DiffLine(op="equal", old_line=old_start + i + 1, new_line=new_start + i + 1,
                         text=old_lines[old_start + i])
                for i in range(old_end - old_start)
            ]  # fmt: skip
            continue
        lines += [
            DiffLine(op="delete", old_line=i + 1, new_line=None, text=old_lines[i])
            for i in range(old_start, old_end)
        ]
        lines += [
            DiffLine(op="insert", old_line=None, new_line=i + 1, text=new_lines[i])
            for i in range(new_start, new_end)
        ]
    return lines


@router.post(
    "/{document_id}/versions/{version}/activate",
    summary="Make this version the accepted one (rollback); later steps become stale",
)
async def activate_version(
    document_id: UUID, version: VersionNumber, access: ProjectForEditor, state: StateDep
) -> Activation:
    async with tenant_repository(state, access.principal.tenant_id) as repo:
        document = await _document(repo, access, document_id)
        try:
            stale = await repo.activate_version(document, version, access.principal.subject)
            accepted = await repo.version_number(document.id, version)
        except NotFoundError as error:
            raise _not_found(error) from error
    await remember_rollback(state, access, accepted.id)
    return Activation(
        document_id=document.id, accepted_version=version, downstream_marked_stale=stale
    )
