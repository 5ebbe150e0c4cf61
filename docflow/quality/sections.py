"""The sections each kind of document must hold (PACKAGE.md), with tolerant matching.

A heading matches a required section when its normalised title, or one part of a title
joined with "and" or commas ("Goals and non-goals"), is one of the section's synonyms.
Normalising lower-cases, drops numbering ("2. Context") and punctuation, and reads "&"
as "and".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docflow.quality.parse import ParsedDocument, Section

_NUMBERING = re.compile(r"^\s*(?:\d+(?:\.\d+)*[.)]?|[ivx]+[.)])\s+")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_PART_SEPARATOR = re.compile(r"\band\b|,|;|/")


def normalise(title: str) -> str:
    text = _NUMBERING.sub("", title.lower()).replace("&", " and ")
    return _NOT_WORD.sub(" ", text).strip()


def title_parts(title: str) -> frozenset[str]:
    whole = normalise(title)
    parts = {part.strip() for part in _PART_SEPARATOR.split(whole)}
    return frozenset({whole} | {part for part in parts if part})


@dataclass(frozen=True)
class Required:
    label: str  # how messages name it, as PACKAGE.md does
    synonyms: frozenset[str]

    def matches(self, section: Section) -> bool:
        return bool(title_parts(section.title) & self.synonyms)


def required(label: str, *synonyms: str) -> Required:
    return Required(label, frozenset(normalise(name) for name in (label, *synonyms)))


ABOUT = (
    required("Problem and context", "problem", "context", "problem statement", "background"),
    required(
        "Target users",
        "users",
        "user groups",
        "personas",
        "audience",
        "target audience",
        "stakeholders",
        "target users and their needs",
        "who it is for",
    ),
    required("Goals", "objectives", "aims", "project goals"),
    required("Non-goals", "out of scope", "not in scope", "what it is not"),
    required("Key features", "features", "capabilities", "key capabilities", "feature list"),
    required("Constraints", "limitations", "limits"),
    required("Assumptions", "key assumptions"),
    required("Open questions", "questions", "clarifying questions", "unresolved questions"),
    required(
        "Success metrics",
        "metrics",
        "kpis",
        "key metrics",
        "success criteria",
        "measures of success",
        "success measures",
    ),
)

ARCHITECTURE_STACK = required(
    "Technology stack", "tech stack", "stack", "technologies", "technology choices"
)
ARCHITECTURE = (
    required("Context", "system context", "background", "overview", "introduction"),
    required("Constraints", "limitations"),
    required(
        "Options considered", "options", "alternatives", "alternatives considered", "considered"
    ),
    required("Rationale", "reasoning", "justification"),
    required(
        "Decisions",
        "key decisions",
        "architecture decisions",
        "architectural decisions",
        "decision records",
        "decision log",
    ),
    ARCHITECTURE_STACK,
    required("Data model", "domain model", "data", "entities", "data architecture"),
    required("Security", "security and tenancy", "tenancy", "security and privacy"),
    required("Observability", "monitoring", "telemetry", "logging and monitoring"),
    required("Resilience", "reliability", "fault tolerance"),
    required("Scalability", "scaling", "performance and scalability"),
    required("Risks", "technical risks", "risks and mitigations"),
)

ADR_OPTIONS = required("Options", "options considered", "considered options", "alternatives")
ADR = (
    required("Context", "context and problem statement", "problem statement", "background"),
    ADR_OPTIONS,
    required("Decision", "decision outcome", "outcome"),
    required("Consequences", "implications"),
)

PLAN_OVERVIEW = (
    required("Strategy", "approach", "delivery strategy"),
    required("Phases or milestones", "phases", "milestones", "roadmap", "releases"),
    required("Epics", "epic list", "epics in order", "work breakdown"),
    required("Timeline", "schedule", "gantt"),
    required("Schedule risks", "risks", "risks to the schedule", "delivery risks"),
)

EPIC_TASKS = required("Tasks", "task list", "work items", "checklist", "to do", "todo")
EPIC_ACCEPTANCE = required(
    "Acceptance criteria", "acceptance", "definition of done", "done when", "exit criteria"
)
EPIC = (
    required("Goal", "goals", "objective", "objectives", "purpose"),
    required("Scope", "in scope"),
    required("Out of scope", "not in scope", "non goals", "excluded"),
    EPIC_TASKS,
    required("Dependencies", "depends on", "prerequisites", "dependencies on other epics"),
    EPIC_ACCEPTANCE,
    required("Estimated effort", "effort", "estimate", "estimates", "estimation", "sizing"),
)

SPECS_NFR = required(
    "Non-functional requirements",
    "nfrs",
    "nfr",
    "non functional",
    "service levels",
    "slos",
    "performance requirements",
)
SPECS = (
    required(
        "Coding standards",
        "code style",
        "coding conventions",
        "coding guidelines",
        "style guide",
    ),
    required(
        "Repository and branching",
        "repository",
        "branching",
        "branching strategy",
        "version control",
        "source control",
        "git workflow",
    ),
    required("Code review", "code reviews", "reviews", "review", "pull requests"),
    required("Testing strategy", "testing", "test strategy", "tests"),
    required(
        "Quality gates in CI",
        "quality gates",
        "ci quality gates",
        "ci",
        "continuous integration",
        "ci cd",
    ),
    required("Documentation standards", "documentation", "docs"),
    required("Definition of Done", "dod"),
    SPECS_NFR,
    required("Security standards", "security", "security rules"),
)

REQUIRED_SECTIONS: dict[str, tuple[Required, ...]] = {
    "about": ABOUT,
    "architecture": ARCHITECTURE,
    "adr": ADR,
    "plan_overview": PLAN_OVERVIEW,
    "epic": EPIC,
    "specs": SPECS,
}


def matching(document: ParsedDocument, requirement: Required) -> list[Section]:
    """The document's sections (below the title) that satisfy ``requirement``."""
    return [
        section
        for section in document.sections
        if section.level > 1 and requirement.matches(section)
    ]
