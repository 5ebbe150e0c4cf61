"""Reads and writes of quality reports on document versions, bound to one tenant."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from docflow.quality.report import QualityReport
from docflow.storage.models import DocumentVersion


class QualityStore:
    def __init__(self, tenant_id: UUID, session: AsyncSession) -> None:
        self.tenant_id = tenant_id
        self.session = session

    async def save(self, version_id: UUID, report: QualityReport) -> None:
        """Store the report and its reading ease on the version; the same report writes
        the same values, so saving twice is harmless."""
        await self.session.exec(
            update(DocumentVersion)
            .where(
                col(DocumentVersion.tenant_id) == self.tenant_id,
                col(DocumentVersion.id) == version_id,
            )
            .values(
                quality=report.model_dump(mode="json"),
                readability=report.summary.readability.flesch_reading_ease,
            )
        )

    async def load(self, version_id: UUID) -> QualityReport | None:
        query = select(DocumentVersion.quality).where(
            DocumentVersion.tenant_id == self.tenant_id, DocumentVersion.id == version_id
        )
        stored = (await self.session.exec(query)).first()
        return QualityReport.model_validate(stored) if stored else None
