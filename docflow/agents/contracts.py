"""What each agent hands back: structured contracts mirroring PACKAGE.md section by section.

An LLM fills these through JSON-schema structured output (CrewAI ``output_pydantic``);
our own code renders the Markdown from them (``docflow.agents.render``), so nobody parses
an LLM's Markdown. The models stay flat on purpose: every field is required (a default
only spares our own constructors: the schema a model sees requires every field), lists
hold small objects with plain fields, and nothing is a union or a free-form dict, so the
schemas stay easy for any OpenAI-compatible endpoint to follow.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from docflow.contracts import Step

Priority = Literal["must", "should", "could"]
Level = Literal["low", "medium", "high"]
ConstraintArea = Literal["team", "time", "budget", "regulation", "hosting", "technology", "other"]
DecisionStatus = Literal["Proposed", "Accepted", "Deprecated"]
ContainerKind = Literal["client", "service", "worker", "database", "queue", "storage"]
Cardinality = Literal["one-to-one", "one-to-many", "many-to-many"]


class RevisionNote(BaseModel):
    """How one round of review feedback changed this version."""

    feedback: str = Field(description="The reviewer's feedback, quoted verbatim.")
    change: str = Field(description="What this version changed in response, in one sentence.")


class RequestedSection(BaseModel):
    """A section review feedback asked for by name ("add a section about ...")."""

    heading: str = Field(description="The section's heading, in the feedback's own words.")
    paragraphs: list[str] = Field(
        description="Its content, one paragraph per item, from the idea's facts; what the "
        "idea does not say is written as assumed."
    )


def requested_sections_field() -> Any:
    """The same optional field on every step contract (a default: it is often empty)."""
    return Field(
        default_factory=list,
        description="One section per feedback item that asks for a section; empty otherwise.",
    )


class Risk(BaseModel):
    description: str
    likelihood: Level
    impact: Level
    mitigation: str


# --- Business Analyst: docs/about.md ------------------------------------------------------


class UserGroup(BaseModel):
    name: str = Field(description="Who they are, e.g. 'Garden members'.")
    description: str
    needs: list[str] = Field(description="What they need from the product, one per item.")


class Feature(BaseModel):
    name: str = Field(description="A user-facing capability, short.")
    description: str = Field(description="What the capability lets users do.")
    priority: Priority


class QualityRequirement(BaseModel):
    """A non-functional requirement of the description (about.md gives it an NFR id)."""

    area: str = Field(description="e.g. 'Performance', 'Availability', 'Accessibility'.")
    requirement: str = Field(description="What must hold, with a number where one fits.")
    priority: Priority


class Constraint(BaseModel):
    area: ConstraintArea
    description: str


class OpenQuestion(BaseModel):
    """A clarifying question (about.md gives it a Q id; the person answers it at the gate)."""

    question: str
    why: str = Field(description="Why the answer matters: what it decides.")
    suggested_answers: list[str] = Field(description="Two or three likely answers, short.")


class SuccessMetric(BaseModel):
    name: str
    target: str = Field(description="A measurable target with a number.")
    measurement: str = Field(description="How and where it is measured.")


class ProjectDescription(BaseModel):
    """docs/about.md: the Business Analyst's description of the project."""

    project_name: str
    summary: str = Field(description="One or two sentences: what the project is and for whom.")
    problem: str = Field(description="The problem the project solves, as a paragraph.")
    context: str = Field(description="Background and circumstances, as a paragraph.")
    users: list[UserGroup]
    goals: list[str]
    non_goals: list[str]
    features: list[Feature]
    quality_requirements: list[QualityRequirement] = Field(default_factory=list)
    constraints: list[Constraint]
    assumptions: list[str]
    open_questions: list[OpenQuestion] = Field(
        description="Clarifying questions the person answers at the first gate."
    )
    success_metrics: list[SuccessMetric]
    revision_notes: list[RevisionNote]
    requested_sections: list[RequestedSection] = requested_sections_field()


# --- Solution Architect: docs/architecture.md and docs/adr/ADR-NNN-<slug>.md ------------------


class Actor(BaseModel):
    """A person or an external system in the C4 context diagram."""

    name: str
    description: str
    kind: Literal["person", "external_system"]


class Container(BaseModel):
    name: str
    kind: ContainerKind
    technology: str
    responsibility: str


class Component(BaseModel):
    """A component inside the main container (C4 level 3)."""

    name: str
    technology: str
    responsibility: str


class Relationship(BaseModel):
    source: str = Field(description="Name of an actor, container or component.")
    target: str = Field(description="Name of an actor, container or component.")
    description: str
    technology: str


class TechnologyChoice(BaseModel):
    layer: str
    technology: str
    reason: str


class Entity(BaseModel):
    name: str = Field(description="Singular, PascalCase, e.g. 'Reservation'.")
    description: str
    attributes: list[str]


class EntityRelation(BaseModel):
    source: str
    target: str
    cardinality: Cardinality
    description: str


class DecisionOption(BaseModel):
    name: str
    pros: list[str]
    cons: list[str]


class KeyDecision(BaseModel):
    """One architecture decision: its own ADR file."""

    title: str = Field(description="The decision as a short imperative, e.g. 'Use PostgreSQL'.")
    status: DecisionStatus
    serves: list[str] = Field(default_factory=list)  # requirement ids (the section asks)
    context: str
    options: list[DecisionOption]
    decision: str
    positive_consequences: list[str]
    negative_consequences: list[str]
    risks: list[str]
    monitoring: list[str] = Field(description="What to watch to know the decision still holds.")


class DecisionTopic(BaseModel):
    title: str = Field(description="The decision as a short imperative, e.g. 'Use PostgreSQL'.")
    concern: str = Field(description="The key concern it settles, e.g. 'data storage'.")


class DecisionOutline(BaseModel):
    """The key decisions of the architecture, one ADR each, written one call per decision."""

    decisions: list[DecisionTopic] = Field(min_length=3, max_length=12)


class ArchitectureDescription(BaseModel):
    """docs/architecture.md plus one ADR per key decision: the Solution Architect's work."""

    system_name: str
    context: str = Field(description="Narrative: the system in its environment.")
    constraints: list[str]
    rationale: str = Field(description="Why the options chosen fit the context and constraints.")
    actors: list[Actor]
    containers: list[Container]
    main_container: str = Field(description="Name of the container whose components are shown.")
    components: list[Component]
    container_relationships: list[Relationship]
    component_relationships: list[Relationship]
    technology_stack: list[TechnologyChoice]
    entities: list[Entity]
    entity_relations: list[EntityRelation]
    security: list[str] = Field(description="Security and tenancy measures.")
    observability: list[str]
    resilience: list[str] = Field(description="Retries, timeouts, circuit breakers, idempotency.")
    scalability: list[str]
    risks: list[Risk]
    decisions: list[KeyDecision]
    revision_notes: list[RevisionNote]
    requested_sections: list[RequestedSection] = requested_sections_field()


# --- Project Planner: docs/plans/overview.md and docs/plans/NN-<epic>.md ------------------------


class Phase(BaseModel):
    name: str
    goal: str
    epics: list[str] = Field(description="Names of the epics delivered in this phase.")
    exit_criteria: str


class Milestone(BaseModel):
    name: str
    week: int = Field(description="Week number from the project start (1-based).")
    deliverable: str


class Epic(BaseModel):
    name: str = Field(description="Short; the first epic is 'Infrastructure', the last 'Testing'.")
    goal: str
    scope: list[str]
    out_of_scope: list[str]
    tasks: list[str] = Field(
        description="Each ends with the ids of the requirements it delivers, e.g. '(FR-002)'."
    )
    depends_on: list[str] = Field(description="Names of the epics this one depends on.")
    acceptance_criteria: list[str] = Field(
        description="Testable statements, each ending with the requirement ids it checks."
    )
    effort_days: int = Field(description="Estimated effort in person-days.")
    start_week: int
    end_week: int


class EpicHeading(BaseModel):
    name: str = Field(description="Short; the first epic is 'Infrastructure', the last 'Testing'.")
    goal: str
    depends_on: list[str] = Field(description="Names of the epics this one depends on.")


FIRST_EPIC = "Infrastructure"
LAST_EPIC = "Testing"


class EpicOutline(BaseModel):
    """The epics in delivery order, written one call per epic afterwards."""

    epics: list[EpicHeading] = Field(
        min_length=5,
        max_length=16,
        description="Infrastructure first, Testing last, at least three epics between them.",
    )

    @field_validator("epics")
    @classmethod
    def _infrastructure_first_testing_last(cls, epics: list[EpicHeading]) -> list[EpicHeading]:
        """Put Infrastructure first and Testing last (a model may list them elsewhere);
        an outline without either of them is refused."""

        def named(prefix: str) -> list[EpicHeading]:
            return [e for e in epics if e.name.strip().lower().startswith(prefix.lower())]

        first, last = named(FIRST_EPIC)[:1], named(LAST_EPIC)[-1:]
        if not first or not last or first == last:
            raise ValueError(f"the first epic must be '{FIRST_EPIC}' and the last '{LAST_EPIC}'")
        middle = [e for e in epics if e is not first[0] and e is not last[0]]
        if len(middle) < 3:
            raise ValueError("at least three epics between Infrastructure and Testing")
        return [first[0], *middle, last[0]]


class ImplementationPlan(BaseModel):
    """docs/plans/: the Project Planner's overview and one file per epic."""

    project_name: str
    strategy: str
    team: str = Field(description="Team and capacity the timeline assumes.")
    phases: list[Phase]
    milestones: list[Milestone]
    epics: list[Epic] = Field(description="In delivery order: Infrastructure first, Testing last.")
    schedule_risks: list[Risk]
    revision_notes: list[RevisionNote]
    requested_sections: list[RequestedSection] = requested_sections_field()


# --- Engineering Standards: docs/specs.md -------------------------------------------------------


class LanguageStandard(BaseModel):
    language: str
    formatting: str
    linting: str
    typing: str
    conventions: list[str]


class TestingLevel(BaseModel):
    level: str = Field(description="unit, integration, contract, end-to-end, load or smoke.")
    scope: str
    tools: str
    when: str = Field(description="When it runs, e.g. 'every push' or 'nightly'.")


class CoverageTarget(BaseModel):
    scope: str
    minimum_percent: int


class QualityGate(BaseModel):
    name: str
    tool: str
    threshold: str
    blocking: bool


class NonFunctionalRequirement(BaseModel):
    area: str
    requirement: str
    target: str = Field(description="A number with its unit, e.g. 'p95 <= 300 ms'.")
    measurement: str
    serves: list[str] = Field(
        default_factory=list, description="Ids of the NFRs in about.md it makes measurable."
    )


class EngineeringStandards(BaseModel):
    """docs/specs.md: the Engineering Standards agent's rules for the team."""

    project_name: str
    summary: str
    coding_standards: list[LanguageStandard]
    repository: list[str] = Field(description="Repository layout and branching conventions.")
    code_review: list[str]
    testing: list[TestingLevel]
    coverage_targets: list[CoverageTarget]
    quality_gates: list[QualityGate]
    documentation: list[str]
    definition_of_done: list[str]
    non_functional: list[NonFunctionalRequirement]
    security: list[str]
    project_rules: list[str] = Field(description="Rules specific to this project.")
    revision_notes: list[RevisionNote]
    requested_sections: list[RequestedSection] = requested_sections_field()


StepContract = (
    ProjectDescription | ArchitectureDescription | ImplementationPlan | EngineeringStandards
)

CONTRACT_FOR_STEP: dict[Step, type[BaseModel]] = {
    Step.DESCRIPTION: ProjectDescription,
    Step.ARCHITECTURE: ArchitectureDescription,
    Step.PLAN: ImplementationPlan,
    Step.STANDARDS: EngineeringStandards,
}
