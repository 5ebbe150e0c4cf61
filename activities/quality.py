"""The quality activity: score versions, store each report with its version.

Scoring is pure and deterministic (``docflow.quality``), so a retried activity stores
the same report again: re-scoring is idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.errors import not_found
from activities.heartbeats import heartbeats, with_heartbeats
from docflow.contracts import RenderedDocument, TenantScope
from docflow.quality.contracts import ScoreInput, ScoreOutput, VersionScore
from docflow.quality.report import QualityReport, QualityThresholds
from docflow.quality.score import score_documents, traceability_coverage
from docflow.quality.store import QualityStore
from docflow.settings import Settings
from docflow.storage.db import tenant_session
from docflow.storage.models import Document, DocumentVersion
from docflow.storage.repositories import NotFoundError, TenantRepository
from docflow.telemetry import tracer

Row = tuple[Document, DocumentVersion]


def _rendered(row: Row) -> RenderedDocument:
    document, version = row
    return RenderedDocument(
        path=document.path, kind=document.kind, title=document.title, content_md=version.content_md
    )


class QualityActivities:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._thresholds = QualityThresholds.from_settings(settings)
        self._tracer = tracer(__name__)

    @activity.defn(name="score_versions")
    @heartbeats
    async def score_versions(self, task: ScoreInput) -> ScoreOutput:
        attributes = {
            "tenant_id": str(task.scope.tenant_id),
            "project_id": str(task.scope.project_id),
        }
        with self._tracer.start_as_current_span("docflow.score_versions", attributes=attributes):
            targets, context = await self._load(task.scope, list(dict.fromkeys(task.version_ids)))
            documents = [_rendered(row) for row in targets]
            reports = await with_heartbeats(
                lambda: score_documents(documents, self._thresholds, context)
            )
            await self._store(task.scope, targets, reports)
            coverage = await with_heartbeats(lambda: traceability_coverage(documents, context))
            return self._output(targets, reports).model_copy(update={"traceability": coverage})

    async def _load(
        self, scope: TenantScope, version_ids: list[UUID]
    ) -> tuple[list[Row], list[RenderedDocument]]:
        """The versions to score and, as context, the accepted documents of the project's
        other steps."""
        async with tenant_session(self._engine, scope.tenant_id) as session:
            repo = TenantRepository(scope.tenant_id, session)
            try:
                targets = [await repo.get_version(version_id) for version_id in version_ids]
                foreign = [row for row in targets if row[0].project_id != scope.project_id]
                if foreign:
                    raise NotFoundError(f"version {foreign[0][1].id} not found in the project")
            except NotFoundError as error:
                raise not_found(error) from error
            steps = {document.step for document, _ in targets}
            accepted = await repo.accepted_documents(scope.project_id)
        return targets, [_rendered(row) for row in accepted if row[0].step not in steps]

    async def _store(
        self, scope: TenantScope, targets: Sequence[Row], reports: Sequence[QualityReport]
    ) -> None:
        async with tenant_session(self._engine, scope.tenant_id) as session:
            store = QualityStore(scope.tenant_id, session)
            for (_, version), report in zip(targets, reports, strict=True):
                await store.save(version.id, report)

    def _output(self, targets: Sequence[Row], reports: Sequence[QualityReport]) -> ScoreOutput:
        top = self._settings.quality_top_findings
        scores = [
            VersionScore(
                version_id=version.id,
                document_id=document.id,
                path=document.path,
                kind=document.kind,
                version=version.version,
                passed=report.passed,
                errors=report.summary.errors,
                warnings=report.summary.warnings,
                flesch_reading_ease=report.summary.readability.flesch_reading_ease,
                flesch_kincaid_grade=report.summary.readability.flesch_kincaid_grade,
                top_findings=report.findings[:top],
            )
            for (document, version), report in zip(targets, reports, strict=True)
        ]
        feedback = "\n".join(report.feedback() for report in reports if not report.passed)
        return ScoreOutput(
            scores=scores, passed=all(score.passed for score in scores), feedback=feedback
        )
