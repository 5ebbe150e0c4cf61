"""Contracts shared by the API, the workflow and the activities.

Everything that crosses a Temporal boundary is one of these Pydantic models. Ids travel
through Temporal; Markdown bodies stay in PostgreSQL (claim check).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from docflow.text import text_problem


class Step(StrEnum):
    DESCRIPTION = "description"
    ARCHITECTURE = "architecture"
    PLAN = "plan"
    STANDARDS = "standards"


STEPS: tuple[Step, ...] = (Step.DESCRIPTION, Step.ARCHITECTURE, Step.PLAN, Step.STANDARDS)

STEP_AGENT: dict[Step, str] = {
    Step.DESCRIPTION: "Business Analyst",
    Step.ARCHITECTURE: "Solution Architect",
    Step.PLAN: "Project Planner",
    Step.STANDARDS: "Engineering Standards",
}


class RunStatus(StrEnum):
    RUNNING = "running"
    AWAITING_APPROVAL = "awaiting_approval"
    EXPORTING = "exporting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    APPROVE = "approve"
    REVISE = "revise"
    EDIT = "edit"


class TenantScope(BaseModel):
    """The (tenant, project) pair every read and write is scoped to."""

    tenant_id: UUID
    project_id: UUID


# --- documents -------------------------------------------------------------------------


class RenderedDocument(BaseModel):
    """A document an agent wrote, rendered to Markdown by our code."""

    path: str  # path inside the package, e.g. "docs/adr/ADR-001-use-postgresql.md"
    kind: str  # about | architecture | adr | plan_overview | epic | specs | readme
    title: str
    content_md: str


class MemoryChunk(BaseModel):
    """A passage of the project's accepted documents, found in project memory."""

    score: float
    text: str
    path: str
    kind: str
    version: int
    document_id: UUID
    version_id: UUID
    heading: str = ""
    chunk_index: int = 0


RequirementKind = Literal["functional", "non-functional"]


class Requirement(BaseModel):
    """One requirement of about.md with its stable id (``docflow.traceability``)."""

    id: str  # FR-001 | NFR-001
    name: str
    priority: str  # must | should | could (lower case; "" when the table gives none)

    @property
    def kind(self) -> RequirementKind:
        return "non-functional" if self.id.startswith("NFR-") else "functional"

    @property
    def must(self) -> bool:
        return self.priority == "must"


class TraceCoverage(BaseModel):
    """How far the plan delivers the description (``docflow.traceability``): shown at the
    gate and in the package's manifest.json."""

    requirements: int
    must: int
    must_delivered: int
    percent: float  # of the Must requirements an acceptance criterion delivers (100 if none)
    uncovered: list[str]  # Must requirement ids no acceptance criterion delivers
    epics_citing_nothing: list[str]  # epic paths
    unknown_ids: list[str]  # ids cited somewhere that about.md does not define


class ClarifyingQuestion(BaseModel):
    """A clarifying question of about.md with its stable id (``docflow.clarify``)."""

    id: str
    question: str
    why: str = ""
    suggested_answers: list[str] = Field(default_factory=list)


class ClarifyingAnswer(BaseModel):
    """A person's answer to a clarifying question: every step's agent works from it."""

    question_id: str
    question: str
    answer: str


# The feedback of "Revise with answers": the answers themselves travel in the brief.
ANSWERS_REVISION = "Write the next version with the answers to the clarifying questions."


class StepBrief(BaseModel):
    """Everything an agent needs to write one step."""

    step: Step
    project_name: str
    idea: str
    constraints: str = ""
    feedback: list[str] = Field(default_factory=list)  # oldest first, one per revision
    upstream: list[RenderedDocument] = Field(default_factory=list)  # accepted earlier steps
    memory: list[MemoryChunk] = Field(default_factory=list)  # relevant passages, best first
    # The requirements of the project's latest about.md: a new description keeps their ids.
    known_requirements: list[Requirement] = Field(default_factory=list)
    # Its clarifying questions (and those answered earlier): a question keeps its id.
    known_questions: list[ClarifyingQuestion] = Field(default_factory=list)
    answers: list[ClarifyingAnswer] = Field(default_factory=list)  # the current answers


class StepWriting(BaseModel):
    """What an agent produced for one step."""

    documents: list[RenderedDocument]
    writer: str  # e.g. "offline-writer/1" or the model name: recorded in version metadata
    tokens_in: int = 0
    tokens_out: int = 0
    sections: int = 0
    resumed: int = 0


class VersionRef(BaseModel):
    document_id: UUID
    version_id: UUID
    path: str
    kind: str
    version: int
    source: str = "agent"  # agent | edit | merge (a person's edit re-applied: activities.edits)


# --- workflow input, decisions and state -------------------------------------------------


class FlowOptions(BaseModel):
    auto_approve: bool = False
    # A version below the quality thresholds goes back to its agent with the findings, at
    # most this many times, before the gate opens (settings.quality_max_revisions).
    max_quality_revisions: int = 2


class FlowInput(BaseModel):
    tenant_id: UUID
    project_id: UUID
    requested_by: str = "system"
    options: FlowOptions = Field(default_factory=FlowOptions)
    # Steps already accepted by an earlier run (restart keeps them): step -> version ids.
    accepted: dict[Step, list[VersionRef]] = Field(default_factory=dict)
    # The seq of this run's first event: one after the project's previous run's last event,
    # so event ids (SSE `id:`) keep growing across restarts (1 for the first run).
    first_seq: int = Field(default=1, ge=1)


class PassageComment(BaseModel):
    """A person's comment on a passage of one of the gate's documents (revise only)."""

    path: str  # the document's path, e.g. docs/architecture.md
    quote: str  # the passage as the person selected it in the rendered document
    text: str


class Decision(BaseModel):
    step: Step
    action: Action
    feedback: str | None = None
    comments: list[PassageComment] = Field(default_factory=list)  # become the feedback
    content: str | None = None  # Markdown, for edit
    document_id: UUID | None = None  # which document of the step, for edit
    version: int | None = None  # the version the person looked at; stale if not current
    decided_by: str = "unknown"


class VersionQuality(BaseModel):
    """A version's quality at the gate: what the person sees remains to fix."""

    version_id: UUID
    path: str
    passed: bool
    errors: int
    warnings: int
    flesch_reading_ease: float | None = None
    flesch_kincaid_grade: float | None = None
    findings: list[str] = Field(default_factory=list)  # the top findings, errors first


class StepUsage(BaseModel):
    """What writing a step's versions cost: sections, tokens (failed attempts included in
    agent_runs, not here), wall time of the successful attempt."""

    writer: str = ""
    sections: int = 0
    resumed: int = 0  # sections kept from an earlier attempt
    tokens_in: int = 0
    tokens_out: int = 0
    duration_ms: int = 0


class Gate(BaseModel):
    step: Step
    number: int  # increases every time any gate opens in this run
    versions: list[VersionRef]
    quality: list[VersionQuality] = Field(default_factory=list)
    usage: StepUsage | None = None  # of the agent's last write of this step
    coverage: TraceCoverage | None = None  # the plan against the description, once both exist


class FlowEvent(BaseModel):
    seq: int
    at: datetime
    type: str  # step_started, version_created, awaiting_approval, decision, step_accepted, ...
    step: Step | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class FlowState(BaseModel):
    tenant_id: UUID
    project_id: UUID
    status: RunStatus
    step: Step | Literal["export", "done"]
    gate: Gate | None = None
    accepted: dict[Step, list[VersionRef]] = Field(default_factory=dict)
    export_id: UUID | None = None
    error: str | None = None
    # Set by the API while an activity is being tried again ("waiting for the database").
    retrying: str | None = None
    events: list[FlowEvent] = Field(default_factory=list)


class EventPage(BaseModel):
    """A run's events after a sequence number (``ProjectFlow.events_after``): what a
    follower has not seen yet, without the rest of the state."""

    tenant_id: UUID
    project_id: UUID
    events: list[FlowEvent] = Field(default_factory=list)


class FlowResult(BaseModel):
    export_id: UUID
    accepted: dict[Step, list[VersionRef]]


# --- activity inputs ----------------------------------------------------------------------


class WriteStepInput(BaseModel):
    scope: TenantScope
    step: Step
    feedback: list[str] = Field(default_factory=list)
    idempotency_key: str  # workflow run id + step + gate iteration: a retry writes nothing new
    requested_by: str = "system"
    # A quality revision: the write whose section answers are kept, except the sections
    # behind the documents with findings (docflow.agents.sections.rewrite_keys).
    revise_from: str | None = None
    rewrite_paths: list[str] = Field(default_factory=list)
    # The versions at the gate that asked for this write: a person's edit in one of them
    # is re-applied to the agent's new version (activities.edits); else the accepted one's.
    carry_version_ids: list[UUID] = Field(default_factory=list)
    # The comments on passages of the revision being written (kept in its version's meta).
    comments: list[PassageComment] = Field(default_factory=list)


class WriteStepOutput(BaseModel):
    versions: list[VersionRef]
    writer: str
    usage: StepUsage = Field(default_factory=StepUsage)


class SaveEditInput(BaseModel):
    scope: TenantScope
    document_id: UUID
    content_md: str
    idempotency_key: str
    edited_by: str


class AcceptInput(BaseModel):
    scope: TenantScope
    step: Step
    version_ids: list[UUID]


class ExportInput(BaseModel):
    scope: TenantScope
    idempotency_key: str
    export_id: UUID | None = None  # chosen by the caller (API) so it can answer 202 at once


class ExportOutput(BaseModel):
    export_id: UUID
    sha256: str
    size: int
    files: int


def decision_problem(decision: Decision, gate: Gate | None) -> str | None:
    """Why ``decision`` cannot be taken at ``gate``, or None when it can.

    One home for the rules: the workflow's Update validator and the API both use it.
    """
    for name in ("feedback", "content"):
        problem = text_problem(getattr(decision, name) or "")
        if problem is not None:
            return f"{name} {problem}"
    for comment in decision.comments:
        problem = text_problem(comment.path + comment.quote + comment.text)
        if problem is not None:
            return f"comment {problem}"
    if gate is None:
        return "no approval gate is open: the flow is not waiting for a decision"
    if decision.step is not gate.step:
        return f"wrong step: the open gate is for '{gate.step}', not '{decision.step}'"
    if decision.comments and decision.action is not Action.REVISE:
        return "comments on passages go with a revision (action 'revise')"
    paths = {ref.path for ref in gate.versions}
    for comment in decision.comments:
        if comment.path not in paths:
            return f"a comment is on {comment.path}, which is not part of the '{gate.step}' gate"
    if decision.action is Action.REVISE and not revision_feedback(decision):
        return "revise needs non-empty feedback or a comment on a passage"
    if decision.action is Action.EDIT and not (decision.content or "").strip():
        return "edit needs non-empty Markdown content"
    if decision.action is Action.EDIT and decision.document_id is None:
        return "edit needs the document_id of the document being edited"
    target = _target_version(decision, gate)
    if target is None:
        return f"document {decision.document_id} is not part of the '{gate.step}' gate"
    if decision.version is not None and decision.version != target.version:
        return (
            f"stale version: you decided on version {decision.version} of {target.path}, "
            f"the current version is {target.version}"
        )
    return None


def revision_feedback(decision: Decision) -> str:
    """What the agent is asked to change: the feedback, then each comment quoting its
    passage (numbered, so the revision notes can answer them one by one)."""
    parts = [(decision.feedback or "").strip()] if (decision.feedback or "").strip() else []
    if decision.comments:
        parts.append("Comments on passages:")
        parts += [
            f'{number}. On "{_one_line(comment.quote)}" in {comment.path}: {comment.text.strip()}'
            for number, comment in enumerate(decision.comments, start=1)
        ]
    return "\n".join(parts)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _target_version(decision: Decision, gate: Gate) -> VersionRef | None:
    if decision.document_id is None:
        return gate.versions[0] if gate.versions else None
    return next((ref for ref in gate.versions if ref.document_id == decision.document_id), None)
