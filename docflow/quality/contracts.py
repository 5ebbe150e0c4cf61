"""Input and output of the ``score_versions`` activity (they cross Temporal)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

from docflow.contracts import TenantScope, TraceCoverage
from docflow.quality.report import Finding


class ScoreInput(BaseModel):
    """Versions to score together: pass all the versions of a step (a gate's versions),
    so links and lists between them can be checked. The project's accepted documents of
    the other steps are read for the cross-document checks."""

    scope: TenantScope
    version_ids: list[UUID]


class VersionScore(BaseModel):
    version_id: UUID
    document_id: UUID
    path: str
    kind: str
    version: int
    passed: bool
    errors: int
    warnings: int
    flesch_reading_ease: float | None
    flesch_kincaid_grade: float | None
    top_findings: list[Finding]  # errors first; at most settings.quality_top_findings


class ScoreOutput(BaseModel):
    scores: list[VersionScore]  # in the order of ScoreInput.version_ids
    passed: bool  # every version passed
    feedback: str  # the errors of every version, for the agent; "" when all passed
    traceability: TraceCoverage | None = None  # with the plan's epics among the documents
