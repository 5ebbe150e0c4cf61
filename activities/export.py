"""The export activity: the accepted versions as a ZIP package with a manifest."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.errors import invalid_input, not_found
from activities.heartbeats import heartbeats
from docflow.contracts import ExportInput, ExportOutput, RenderedDocument
from docflow.package import (
    PackageFile,
    PackageInfo,
    UnsafePathError,
    build_zip,
    render_readme,
    traceability_of,
    tracker_attachments,
)
from docflow.settings import Settings
from docflow.storage.db import tenant_session
from docflow.storage.models import Document, DocumentVersion, Export, Project
from docflow.storage.repositories import NotFoundError, TenantRepository
from docflow.telemetry import tracer
from docflow.traceability import TRACEABILITY_PATH, render_traceability

EXPORT_LIFETIME = timedelta(days=7)
Derived = tuple[str, str, str]  # path, kind, title
README: Derived = ("README.md", "readme", "Documentation package")
TRACEABILITY: Derived = (TRACEABILITY_PATH, "traceability", "Traceability")


def _package_file(document: Document, version: DocumentVersion) -> PackageFile:
    return PackageFile(
        path=document.path,
        title=document.title,
        kind=document.kind,
        content_md=version.content_md,
        version=version.version,
        version_id=version.id,
        writer=version.writer,
    )


def _package_info(project: Project, generated_at: datetime) -> PackageInfo:
    return PackageInfo(
        project_id=project.id,
        tenant_id=project.tenant_id,
        project_name=project.name,
        project_slug=project.slug,
        idea=project.idea,
        generated_at=generated_at,
    )


class ExportActivities:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._tracer = tracer(__name__)

    @activity.defn(name="export_package")
    @heartbeats
    async def export_package(self, task: ExportInput) -> ExportOutput:
        attributes = {
            "tenant_id": str(task.scope.tenant_id),
            "project_id": str(task.scope.project_id),
        }
        with self._tracer.start_as_current_span("docflow.export", attributes=attributes) as span:
            async with tenant_session(self._engine, task.scope.tenant_id) as session:
                repo = TenantRepository(task.scope.tenant_id, session)
                output = await self._export(repo, task)
            span.set_attribute("export_id", str(output.export_id))
            return output

    async def _export(self, repo: TenantRepository, task: ExportInput) -> ExportOutput:
        existing = await repo.export_by_key(task.idempotency_key)
        if existing is None:
            try:
                project = await repo.get_project(task.scope.project_id)
            except NotFoundError as error:
                raise not_found(error) from error
            files = [_package_file(d, v) for d, v in await repo.accepted_documents(project.id)]
            if not files:
                raise invalid_input("nothing to export: the project has no accepted documents")
            existing = await self._store(repo, project, files, task)
        return ExportOutput(
            export_id=existing.id,
            sha256=existing.sha256,
            size=existing.size,
            files=len(existing.manifest["files"]),
        )

    async def _store(
        self, repo: TenantRepository, project: Project, files: list[PackageFile], task: ExportInput
    ) -> Export:
        key = task.idempotency_key
        generated_at = datetime.now(UTC)
        info = _package_info(project, generated_at)
        matrix = traceability_of(files)
        if matrix is not None:
            text = render_traceability(project.name, matrix)
            files = [*files, await self._derived_file(repo, project, TRACEABILITY, text, key)]
        readme = await self._derived_file(repo, project, README, render_readme(info, files), key)
        try:
            content, manifest = build_zip(info, [readme, *files], tracker_attachments(info, files))
        except UnsafePathError as error:
            raise invalid_input(str(error)) from error
        return await repo.save_export(
            project.id,
            content=content,
            manifest=manifest,
            sha256=hashlib.sha256(content).hexdigest(),
            expires_at=generated_at + EXPORT_LIFETIME,
            idempotency_key=key,
            export_id=task.export_id,
        )

    async def _derived_file(
        self, repo: TenantRepository, project: Project, derived: Derived, text: str, key: str
    ) -> PackageFile:
        """A document the export derives (README, traceability), stored as a versioned
        document like the others."""
        path, kind, title = derived
        rendered = RenderedDocument(
            path=path, kind=kind, title=f"{project.name}: {title}", content_md=text
        )
        document = await repo.ensure_document(project.id, "export", rendered)
        version = await repo.add_version(
            document,
            text,
            source="agent",
            created_by="docflow export",
            writer="docflow package renderer",
            idempotency_key=f"{key}:{path}",
        )
        return _package_file(document, version)
