"""The quality report of one document version: findings, readability figures, verdict.

A report is deterministic: the same document (and the same documents around it) always
gives the same report, byte for byte, so re-scoring a version writes the same JSON.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from docflow.settings import Settings

REPORT_SCHEMA = 1


class Severity(StrEnum):
    ERROR = "error"  # the version fails: it goes back to its agent
    WARNING = "warning"  # shown at the gate; does not fail the version


class CheckId(StrEnum):
    """Every check the scorer runs; a finding names the one that produced it."""

    MARKDOWN_RENDER = "markdown.render"
    MARKDOWN_UNCLOSED_FENCE = "markdown.unclosed_fence"
    MARKDOWN_SINGLE_H1 = "markdown.single_h1"
    MARKDOWN_HEADING_SKIP = "markdown.heading_skip"
    READABILITY_EASE = "readability.flesch_reading_ease"
    READABILITY_GRADE = "readability.flesch_kincaid_grade"
    MISSING_SECTION = "structure.missing_section"
    EMPTY_SECTION = "structure.empty_section"
    C4_DIAGRAM = "structure.c4_diagram"
    ADR_TITLE = "structure.adr_title"
    ADR_STATUS = "structure.adr_status"
    ADR_DATE = "structure.adr_date"
    ADR_PROS_CONS = "structure.adr_pros_cons"
    EPIC_TASKS = "structure.epic_tasks"
    EPIC_ACCEPTANCE = "structure.epic_acceptance_criteria"
    NFR_NUMBERS = "structure.nfr_numbers"
    COMPONENT_IN_PLAN = "consistency.component_in_plan"
    TECHNOLOGY_IN_PLAN = "consistency.technology_in_plan"
    TECHNOLOGY_IN_SPECS = "consistency.technology_in_specs"
    EPIC_NAMES_COMPONENT = "consistency.epic_names_component"
    UNKNOWN_COMPONENT = "consistency.unknown_component"
    BROKEN_LINK = "consistency.broken_link"
    ADR_LINKED = "consistency.adr_linked"
    EPIC_LISTED = "consistency.epic_listed"
    TRACE_UNKNOWN_ID = "traceability.unknown_id"
    TRACE_MUST_UNDELIVERED = "traceability.must_undelivered"
    TRACE_EPIC_CITES_NOTHING = "traceability.epic_cites_nothing"


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    check: CheckId
    severity: Severity
    message: str
    path: str  # the document the finding is about, e.g. "docs/plans/03-lending.md"


class QualityThresholds(BaseModel):
    """Readability limits; a document with fewer prose words than ``min_words`` is not
    held to them (Flesch's formulas were calibrated on 100-word samples)."""

    model_config = ConfigDict(frozen=True)

    min_flesch_reading_ease: float = 30.0
    max_flesch_kincaid_grade: float = 14.0
    min_words: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> QualityThresholds:
        return cls(
            min_flesch_reading_ease=settings.quality_min_flesch_reading_ease,
            max_flesch_kincaid_grade=settings.quality_max_fk_grade,
            min_words=settings.quality_readability_min_words,
        )


class Readability(BaseModel):
    """Scores of the document's prose (no code, diagrams, tables, quotes or URLs)."""

    flesch_reading_ease: float | None  # None when the document has no prose at all
    flesch_kincaid_grade: float | None
    words: int
    sentences: int
    gated: bool  # enough words for the thresholds to apply
    within_thresholds: bool  # True when not gated


class QualitySummary(BaseModel):
    errors: int
    warnings: int
    readability: Readability


class QualityReport(BaseModel):
    schema_version: int = REPORT_SCHEMA
    path: str
    kind: str
    passed: bool  # no error findings and readability within the thresholds
    summary: QualitySummary
    thresholds: QualityThresholds
    findings: list[Finding]  # errors first, then by check and message

    @property
    def errors(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity is Severity.ERROR]

    def feedback(self) -> str:
        """The errors as revision feedback for the document's agent ('' when passed)."""
        return "\n".join(f"- {self.path}: {finding.message}" for finding in self.errors)


SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1}


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Deterministic order, with duplicates removed: errors first."""
    unique = set(findings)
    return sorted(
        unique, key=lambda f: (f.path, SEVERITY_ORDER[f.severity], f.check.value, f.message)
    )


def build_report(
    path: str,
    kind: str,
    findings: list[Finding],
    readability: Readability,
    thresholds: QualityThresholds,
) -> QualityReport:
    ordered = sort_findings(findings)
    errors = sum(1 for finding in ordered if finding.severity is Severity.ERROR)
    return QualityReport(
        path=path,
        kind=kind,
        passed=errors == 0 and readability.within_thresholds,
        summary=QualitySummary(
            errors=errors, warnings=len(ordered) - errors, readability=readability
        ),
        thresholds=thresholds,
        findings=ordered,
    )
