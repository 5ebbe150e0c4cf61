"""Repositories: each is bound to one tenant first, and every query filters by it.

Row-level security in PostgreSQL is the second wall: a query that forgot the filter still
sees only the tenant set on the transaction (see ``docflow.storage.db.tenant_session``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from docflow.contracts import STEPS, RenderedDocument, Step, VersionRef
from docflow.storage.crypto import keyring, tenant_data_key
from docflow.storage.db import tenant_session
from docflow.storage.models import (
    AgentRun,
    Clarification,
    Document,
    DocumentVersion,
    Export,
    Project,
    SectionDraft,
    Tenant,
    utcnow,
)


class NotFoundError(LookupError):
    """The row does not exist for this tenant (or at all: callers cannot tell)."""


def slugify(text: str, max_length: int = 60) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_length].strip("-") or "project"


def version_ref(document: Document, version: DocumentVersion) -> VersionRef:
    return VersionRef(
        document_id=document.id,
        version_id=version.id,
        path=document.path,
        kind=document.kind,
        version=version.version,
        source=version.source,
    )


# The function of migration 0005: the tenant set for RLS and the project selected, in one
# statement (its own transaction, so the setting ends with it). Typed by the table's
# columns, so the encrypted ones are decrypted as in a session.
_PROJECT_IN_TENANT = text("SELECT * FROM project_in_tenant(:tenant, :project)").columns(
    *Project.__table__.columns  # type: ignore[attr-defined]
)


async def find_project(engine: AsyncEngine, tenant_id: UUID, project_id: UUID) -> Project:
    """The tenant's project in one round trip, where a tenant session takes four (every
    project-scoped request starts with this read). The first read of a tenant in this
    process goes through a session, which learns the tenant's data key."""
    ring = keyring()
    data_key = ring.known_data_key(tenant_id) if ring is not None else None
    if ring is not None and data_key is None:
        async with tenant_session(engine, tenant_id) as session:
            return await TenantRepository(tenant_id, session).get_project(project_id)
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        with tenant_data_key(data_key):
            result = await autocommit.execute(
                _PROJECT_IN_TENANT, {"tenant": tenant_id, "project": project_id}
            )
            row = result.mappings().first()
    if row is None:
        raise NotFoundError(f"project {project_id} not found")
    return Project(**row)


class TenantRepository:
    """All reads and writes of one tenant's rows."""

    def __init__(self, tenant_id: UUID, session: AsyncSession) -> None:
        self.tenant_id = tenant_id
        self.session = session

    # --- tenants and projects ---------------------------------------------------------

    async def add_tenant(self, slug: str, name: str) -> Tenant:
        tenant = Tenant(id=self.tenant_id, slug=slugify(slug, 64), name=name)
        self.session.add(tenant)
        await self.session.flush()
        return tenant

    async def create_project(
        self, name: str, idea: str, constraints: str = "", created_by: str = "system"
    ) -> Project:
        project = Project(
            tenant_id=self.tenant_id,
            name=name,
            slug=slugify(name),
            idea=idea,
            constraints=constraints,
            created_by=created_by,
        )
        self.session.add(project)
        await self.session.flush()
        return project

    async def get_project(self, project_id: UUID) -> Project:
        query = select(Project).where(Project.tenant_id == self.tenant_id, Project.id == project_id)
        project = (await self.session.exec(query)).first()
        if project is None:
            raise NotFoundError(f"project {project_id} not found")
        return project

    async def list_projects(self) -> list[Project]:
        query = (
            select(Project)
            .where(Project.tenant_id == self.tenant_id)
            .order_by(col(Project.created_at).desc())
        )
        return list((await self.session.exec(query)).all())

    async def update_project(self, project_id: UUID, changes: dict[str, Any]) -> Project:
        project = await self.get_project(project_id)
        for field, value in changes.items():
            setattr(project, field, value)
        if "name" in changes:
            project.slug = slugify(project.name)
        self.session.add(project)
        await self.session.flush()
        return project

    async def delete_project(self, project_id: UUID) -> None:
        """Delete the project; documents, versions, runs and exports go with it (cascade)."""
        project = await self.get_project(project_id)
        await self.session.delete(project)
        await self.session.flush()

    # --- documents and versions -------------------------------------------------------

    async def list_documents(self, project_id: UUID) -> list[Document]:
        query = (
            select(Document)
            .where(Document.tenant_id == self.tenant_id, Document.project_id == project_id)
            .order_by(col(Document.path))
        )
        documents = list((await self.session.exec(query)).all())
        order = {step.value: index for index, step in enumerate(STEPS)}
        return sorted(documents, key=lambda doc: (order.get(doc.step, 99), doc.path))

    async def list_versions(self, document_id: UUID) -> list[DocumentVersion]:
        query = (
            select(DocumentVersion)
            .where(
                DocumentVersion.tenant_id == self.tenant_id,
                DocumentVersion.document_id == document_id,
            )
            .order_by(col(DocumentVersion.version))
        )
        return list((await self.session.exec(query)).all())

    async def version_number(self, document_id: UUID, number: int) -> DocumentVersion:
        query = select(DocumentVersion).where(
            DocumentVersion.tenant_id == self.tenant_id,
            DocumentVersion.document_id == document_id,
            DocumentVersion.version == number,
        )
        version = (await self.session.exec(query)).first()
        if version is None:
            raise NotFoundError(f"version {number} of document {document_id} not found")
        return version

    async def activate_version(
        self, document: Document, number: int, activated_by: str = "system"
    ) -> int:
        """Make version ``number`` the accepted one (rollback); later steps become stale.
        The version's ``meta.activated`` says who made it active, when, instead of which.

        Returns how many downstream documents were marked stale.
        """
        target = await self.version_number(document.id, number)
        replaced = [v.version for v in await self.list_versions(document.id) if v.accepted]
        target.meta = {
            **target.meta,
            "activated": {
                "by": activated_by,
                "at": utcnow().isoformat(),
                "instead_of": replaced[0] if replaced else None,
            },
        }
        self.session.add(target)
        await self.session.flush()
        await self.session.exec(
            update(DocumentVersion)
            .where(
                col(DocumentVersion.tenant_id) == self.tenant_id,
                col(DocumentVersion.document_id) == document.id,
            )
            .values(accepted=col(DocumentVersion.id) == target.id)
        )
        if document.step not in {step.value for step in STEPS}:
            return 0
        return await self._mark_downstream_stale(document.project_id, Step(document.step))

    async def accepted_by_step(self, project_id: UUID) -> dict[Step, list[VersionRef]]:
        """Accepted versions grouped by step: what a restarted run keeps. A step with a
        stale document (its upstream changed) is left out, so the restart rewrites it."""
        accepted: dict[Step, list[VersionRef]] = {}
        stale: set[Step] = set()
        for document, version in await self.accepted_documents(project_id):
            step = Step(document.step)
            accepted.setdefault(step, []).append(version_ref(document, version))
            if document.stale:
                stale.add(step)
        return {step: refs for step, refs in accepted.items() if step not in stale}

    async def get_document(self, project_id: UUID, document_id: UUID) -> Document:
        query = select(Document).where(
            Document.tenant_id == self.tenant_id,
            Document.project_id == project_id,
            Document.id == document_id,
        )
        document = (await self.session.exec(query)).first()
        if document is None:
            raise NotFoundError(f"document {document_id} not found")
        return document

    async def ensure_document(
        self, project_id: UUID, step: str, rendered: RenderedDocument
    ) -> Document:
        """The document at ``rendered.path``, created on first use (race-safe upsert)."""
        values = {
            "id": uuid4(),
            "tenant_id": self.tenant_id,
            "project_id": project_id,
            "step": step,
            "kind": rendered.kind,
            "path": rendered.path,
            "title": rendered.title,
            "stale": False,
            "created_at": utcnow(),
        }
        statement = insert(Document).values(**values).on_conflict_do_nothing()
        await self.session.exec(statement)
        query = select(Document).where(
            Document.tenant_id == self.tenant_id,
            Document.project_id == project_id,
            Document.path == rendered.path,
        )
        return (await self.session.exec(query)).one()

    async def versions_by_key_prefix(self, prefix: str) -> list[tuple[Document, DocumentVersion]]:
        """Versions an earlier attempt of the same activity already wrote, in path order."""
        query = (
            select(Document, DocumentVersion)
            .join(DocumentVersion, col(DocumentVersion.document_id) == col(Document.id))
            .where(
                DocumentVersion.tenant_id == self.tenant_id,
                col(DocumentVersion.idempotency_key).startswith(prefix, autoescape=True),
            )
            .order_by(col(Document.path))
        )
        return list((await self.session.exec(query)).all())

    async def version_by_key(self, idempotency_key: str) -> DocumentVersion | None:
        query = select(DocumentVersion).where(
            DocumentVersion.tenant_id == self.tenant_id,
            DocumentVersion.idempotency_key == idempotency_key,
        )
        return (await self.session.exec(query)).first()

    async def add_version(
        self,
        document: Document,
        content_md: str,
        *,
        source: str,
        created_by: str,
        writer: str,
        idempotency_key: str,
        meta: dict[str, Any] | None = None,
    ) -> DocumentVersion:
        """Append the next version; the same idempotency key returns the existing one."""
        existing = await self.version_by_key(idempotency_key)
        if existing is not None:
            return existing
        version = DocumentVersion(
            tenant_id=self.tenant_id,
            project_id=document.project_id,
            document_id=document.id,
            version=await self._next_version_number(document.id),
            content_md=content_md,
            source=source,
            created_by=created_by,
            writer=writer,
            meta=meta or {},
            idempotency_key=idempotency_key,
        )
        self.session.add(version)
        await self.session.flush()
        return version

    async def _next_version_number(self, document_id: UUID) -> int:
        query = select(func.coalesce(func.max(DocumentVersion.version), 0)).where(
            DocumentVersion.tenant_id == self.tenant_id,
            DocumentVersion.document_id == document_id,
        )
        current = (await self.session.exec(query)).one()
        return int(current) + 1

    async def get_version(self, version_id: UUID) -> tuple[Document, DocumentVersion]:
        query = (
            select(Document, DocumentVersion)
            .join(DocumentVersion, col(DocumentVersion.document_id) == col(Document.id))
            .where(
                DocumentVersion.tenant_id == self.tenant_id,
                DocumentVersion.id == version_id,
            )
        )
        row = (await self.session.exec(query)).first()
        if row is None:
            raise NotFoundError(f"version {version_id} not found")
        return row

    async def latest_version(self, document_id: UUID) -> DocumentVersion:
        query = (
            select(DocumentVersion)
            .where(
                DocumentVersion.tenant_id == self.tenant_id,
                DocumentVersion.document_id == document_id,
            )
            .order_by(col(DocumentVersion.version).desc())
        )
        version = (await self.session.exec(query)).first()
        if version is None:
            raise NotFoundError(f"document {document_id} has no versions")
        return version

    async def latest_version_at(self, project_id: UUID, path: str) -> DocumentVersion | None:
        """The latest version of the project's document at ``path`` (None: no such one)."""
        query = (
            select(DocumentVersion)
            .join(Document, col(Document.id) == col(DocumentVersion.document_id))
            .where(
                DocumentVersion.tenant_id == self.tenant_id,
                Document.project_id == project_id,
                Document.path == path,
            )
            .order_by(col(DocumentVersion.version).desc())
        )
        return (await self.session.exec(query)).first()

    async def accepted_documents(
        self, project_id: UUID, steps: Sequence[Step] = STEPS
    ) -> list[tuple[Document, DocumentVersion]]:
        """Accepted versions of the project's documents, in step then path order."""
        query = (
            select(Document, DocumentVersion)
            .join(DocumentVersion, col(DocumentVersion.document_id) == col(Document.id))
            .where(
                Document.tenant_id == self.tenant_id,
                Document.project_id == project_id,
                col(Document.step).in_([step.value for step in steps]),
                col(DocumentVersion.accepted).is_(True),
            )
            .order_by(col(Document.path))
        )
        rows = list((await self.session.exec(query)).all())
        order = {step.value: index for index, step in enumerate(STEPS)}
        return sorted(rows, key=lambda row: (order.get(row[0].step, 99), row[0].path))

    async def accept_step(self, project_id: UUID, step: Step, version_ids: Sequence[UUID]) -> int:
        """Make exactly ``version_ids`` the accepted versions of the step's documents.

        Documents of later steps that already had accepted versions become stale.
        Returns how many downstream documents were marked stale.
        """
        step_documents = select(Document.id).where(
            Document.tenant_id == self.tenant_id,
            Document.project_id == project_id,
            Document.step == step.value,
        )
        await self.session.exec(
            update(DocumentVersion)
            .where(
                col(DocumentVersion.tenant_id) == self.tenant_id,
                col(DocumentVersion.document_id).in_(step_documents),
            )
            .values(accepted=col(DocumentVersion.id).in_(list(version_ids)))
        )
        await self.session.exec(
            update(Document)
            .where(col(Document.tenant_id) == self.tenant_id, col(Document.id).in_(step_documents))
            .values(stale=False)
        )
        return await self._mark_downstream_stale(project_id, step)

    async def _mark_downstream_stale(self, project_id: UUID, step: Step) -> int:
        later_steps = [later.value for later in STEPS[STEPS.index(step) + 1 :]]
        if not later_steps:
            return 0
        with_accepted = select(DocumentVersion.document_id).where(
            DocumentVersion.tenant_id == self.tenant_id,
            col(DocumentVersion.accepted).is_(True),
        )
        result = await self.session.exec(
            update(Document)
            .where(
                col(Document.tenant_id) == self.tenant_id,
                col(Document.project_id) == project_id,
                col(Document.step).in_(later_steps),
                col(Document.id).in_(with_accepted),
            )
            .values(stale=True)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # --- agent runs and exports ---------------------------------------------------------

    async def record_agent_run(self, run: AgentRun) -> AgentRun:
        query = select(AgentRun).where(
            AgentRun.tenant_id == self.tenant_id,
            AgentRun.idempotency_key == run.idempotency_key,
        )
        existing = (await self.session.exec(query)).first()
        if existing is not None:
            return existing
        run.tenant_id = self.tenant_id
        self.session.add(run)
        await self.session.flush()
        return run

    async def agent_run_by_key(self, idempotency_key: str) -> AgentRun | None:
        query = select(AgentRun).where(
            AgentRun.tenant_id == self.tenant_id, AgentRun.idempotency_key == idempotency_key
        )
        return (await self.session.exec(query)).first()

    async def section_drafts(self, project_id: UUID, write_key: str) -> list[SectionDraft]:
        query = select(SectionDraft).where(
            SectionDraft.tenant_id == self.tenant_id,
            SectionDraft.project_id == project_id,
            SectionDraft.write_key == write_key,
        )
        return list((await self.session.exec(query)).all())

    async def save_section_draft(self, draft: SectionDraft) -> None:
        """Insert once: a second save of the same section (a retried attempt) is a no-op."""
        draft.tenant_id = self.tenant_id
        values = draft.model_dump()
        values["content"] = draft.content
        statement = (
            insert(SectionDraft)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["tenant_id", "write_key", "section_key"])
        )
        await self.session.exec(statement)

    async def agent_runs(self, project_id: UUID) -> list[AgentRun]:
        query = (
            select(AgentRun)
            .where(AgentRun.tenant_id == self.tenant_id, AgentRun.project_id == project_id)
            .order_by(col(AgentRun.created_at))
        )
        return list((await self.session.exec(query)).all())

    # --- clarifications ----------------------------------------------------------------

    async def clarifications(self, project_id: UUID) -> list[Clarification]:
        """Every answer ever given, by question then version."""
        query = (
            select(Clarification)
            .where(Clarification.tenant_id == self.tenant_id,
                   Clarification.project_id == project_id)
            .order_by(col(Clarification.question_id), col(Clarification.version))
        )  # fmt: skip
        return list((await self.session.exec(query)).all())

    async def current_answers(self, project_id: UUID) -> dict[str, Clarification]:
        """The latest answer to each question, by question id (withdrawn ones left out)."""
        latest = {row.question_id: row for row in await self.clarifications(project_id)}
        return {qid: row for qid, row in latest.items() if row.answer}

    async def save_answers(
        self, project_id: UUID, answers: Sequence[tuple[str, str, str]], answered_by: str
    ) -> int:
        """Store (question id, question, answer) as each question's next version where the
        answer changed; an empty answer withdraws one. How many versions were added."""
        latest = {row.question_id: row for row in await self.clarifications(project_id)}
        added = 0
        for question_id, question, answer in answers:
            before = latest.get(question_id)
            if (before.answer if before else "") == answer:
                continue
            number = (before.version if before else 0) + 1
            self.session.add(
                Clarification(tenant_id=self.tenant_id, project_id=project_id,
                              question_id=question_id, version=number, question=question,
                              answer=answer, answered_by=answered_by)
            )  # fmt: skip
            added += 1
        await self.session.flush()
        return added

    async def export_by_key(self, idempotency_key: str) -> Export | None:
        query = select(Export).where(
            Export.tenant_id == self.tenant_id, Export.idempotency_key == idempotency_key
        )
        return (await self.session.exec(query)).first()

    async def save_export(
        self,
        project_id: UUID,
        *,
        content: bytes,
        manifest: dict[str, Any],
        sha256: str,
        expires_at: datetime,
        idempotency_key: str,
        export_id: UUID | None = None,
    ) -> Export:
        existing = await self.export_by_key(idempotency_key)
        if existing is not None:
            return existing
        export = Export(
            id=export_id or uuid4(),
            tenant_id=self.tenant_id,
            project_id=project_id,
            manifest=manifest,
            sha256=sha256,
            size=len(content),
            content=content,
            expires_at=expires_at,
            idempotency_key=idempotency_key,
        )
        self.session.add(export)
        await self.session.flush()
        return export

    async def get_export(self, project_id: UUID, export_id: UUID) -> Export:
        query = select(Export).where(
            Export.tenant_id == self.tenant_id,
            Export.project_id == project_id,
            Export.id == export_id,
        )
        export = (await self.session.exec(query)).first()
        if export is None:
            raise NotFoundError(f"export {export_id} not found")
        return export
