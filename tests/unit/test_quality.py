"""Quality checks: one test per check on small hand-written documents, readability
offline, the real offline writer's package, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from docflow.contracts import RenderedDocument, Step, StepBrief
from docflow.quality.consistency import component_names, mentions, words
from docflow.quality.facts import architecture_facts, primary_technology
from docflow.quality.parse import parse
from docflow.quality.readability import prose_of
from docflow.quality.report import CheckId, QualityReport, QualityThresholds, Severity
from docflow.quality.score import score_document, score_documents
from docflow.quality.structure import adr_metadata
from docflow.samples import SAMPLE_CONSTRAINTS, sample_idea
from docflow.settings import Settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:crewai")

THRESHOLDS = QualityThresholds()
FENCE = "```"

ABOUT = """# Tool Library: Project description

## Problem and context

Neighbours lend tools on paper lists, so tools go missing.

## Target users

- Members who borrow tools.

## Goals

- One place to lend tools.

## Non-goals

- Payments.

## Key features

| ID | Feature | What it lets users do | Priority |
|---|---|---|---|
| FR-001 | Lending | Borrow a tool and see who has it. | Must |

## Constraints

- Two developers, three months.

## Assumptions

- Members have phones.

## Open questions

1. Who owns the tools?

## Success metrics

| Metric | Target |
|---|---|
| Loans returned on time | 90% |
"""

ADR_LINK = "[ADR-001: Build a modular monolith](adr/ADR-001-build-a-modular-monolith.md)"
ARCHITECTURE = f"""# Tool Library: Architecture

## Context

Members borrow tools from their neighbours.

## Constraints

- Two developers.

## Options considered

- {ADR_LINK}: monolith or services.

## Rationale

Few moving parts suit a small team.

## Decisions

| Decision record | Status |
|---|---|
| {ADR_LINK} | Accepted |

## C4 diagrams

### System context

{FENCE}mermaid
C4Context
    title System context of Tool Library
    Person(member, "Member", "Borrows tools")
    System(system, "Tool Library", "The system")
    Rel(member, system, "Uses", "HTTPS")
{FENCE}

### Containers

{FENCE}mermaid
C4Container
    title Containers of Tool Library
    Container(api, "API application", "Python 3.12 with FastAPI", "Serves the API")
    ContainerDb(db, "Database", "PostgreSQL 16", "Stores the loans")
{FENCE}

### Components of the API application

{FENCE}mermaid
C4Component
    title Components of the API application
    Component(lending, "Lending Service", "loan state machine", "Handles loans")
{FENCE}

| Component | Technology | Responsibility |
|---|---|---|
| Lending Service | loan state machine | Handles loans. |

## Technology stack

| Layer | Technology | Why |
|---|---|---|
| API | Python 3.12 with FastAPI | Quick to build. |
| Database | PostgreSQL 16 | Transactions and constraints. |
| Hosting | A managed container platform in an EU region | Little to operate. |

## Data model

| Entity | What it holds |
|---|---|
| Loan | One tool lent to one member. |

## Cross-cutting concerns

### Security and tenancy

- Every request is authenticated.

### Observability

- Traces and structured logs.

### Resilience

- Every outbound call has a timeout.

### Scalability

- The API is stateless.

## Risks

- Tools come back late.
"""

ADR = """# ADR-001: Build a modular monolith
Date: 2026-01-15
Status: Accepted

## Context

A small team builds the first release.

## Options

### Option 1: Modular monolith

Pros:

- One deployable

Cons:

- Scales as one unit

## Decision

Build one API application.

## Consequences

- Fast delivery.
"""

OVERVIEW = """# Tool Library: Implementation plan

## Strategy

Ship thin slices on the API application and its Database.

## Phases and milestones

- Phase 1: the foundation.

## Epics

| # | Epic | Depends on |
|---|---|---|
| 01 | [Infrastructure](01-infrastructure.md) | None |
| 02 | [Lending](02-lending.md) | [Infrastructure](01-infrastructure.md) |
| 03 | [Testing](03-testing.md) | [Lending](02-lending.md) |

## Timeline

Weeks 1 to 6.

## Schedule risks

- Estimates may be optimistic.
"""


def epic(number: int, title: str, scope: str) -> str:
    return f"""# Epic {number:02d}: {title}

## Goal

Deliver {title.lower()}.

## Scope

### In scope

- {scope}

### Out of scope

- Anything else.

## Tasks

- [ ] Build it.
- [x] Plan it.

## Dependencies

None.

## Acceptance criteria

1. It works on staging (FR-001).

## Estimated effort

5 person-days.
"""


SPECS = """# Tool Library: Engineering standards

## Coding standards

### Python

- ruff format and mypy --strict.

## Repository and branching

- Trunk-based development.

## Code review

- One approval per change.

## Testing strategy

- Unit and integration tests with 80% coverage.

## Quality gates in CI

- Format, lint, types and a security scan.

## Documentation standards

- A Flesch reading ease of at least 50.

## Definition of Done

- [ ] The tests pass.

## Non-functional requirements

| Area | Target |
|---|---|
| Latency | p95 <= 200 ms |

## Security standards

- Deny by default; one PostgreSQL role per service.
"""

KINDS = {
    "docs/about.md": "about",
    "docs/architecture.md": "architecture",
    "docs/adr/ADR-001-build-a-modular-monolith.md": "adr",
    "docs/plans/overview.md": "plan_overview",
    "docs/plans/01-infrastructure.md": "epic",
    "docs/plans/02-lending.md": "epic",
    "docs/plans/03-testing.md": "epic",
    "docs/specs.md": "specs",
}


def clean_package() -> dict[str, str]:
    return {
        "docs/about.md": ABOUT,
        "docs/architecture.md": ARCHITECTURE,
        "docs/adr/ADR-001-build-a-modular-monolith.md": ADR,
        "docs/plans/overview.md": OVERVIEW,
        "docs/plans/01-infrastructure.md": epic(
            1, "Infrastructure", "CI and staging with Python and PostgreSQL"
        ),
        "docs/plans/02-lending.md": epic(2, "Lending", "The Lending Service and its screens"),
        "docs/plans/03-testing.md": epic(3, "Testing", "End-to-end and load tests"),
        "docs/specs.md": SPECS,
    }


def kind_of(path: str) -> str:
    return KINDS.get(path) or ("adr" if path.startswith("docs/adr/") else "epic")


def rendered(package: dict[str, str]) -> list[RenderedDocument]:
    return [
        RenderedDocument(path=path, kind=kind_of(path), title=path, content_md=text)
        for path, text in package.items()
    ]


def score(package: dict[str, str]) -> dict[str, QualityReport]:
    return {report.path: report for report in score_documents(rendered(package), THRESHOLDS)}


def checks(report: QualityReport) -> set[CheckId]:
    return {finding.check for finding in report.findings}


# --- a clean package passes --------------------------------------------------------------------


def test_clean_package_has_no_findings() -> None:
    reports = score(clean_package())

    assert set(reports) == set(KINDS)
    for report in reports.values():
        assert report.findings == [], report.path
        assert report.passed


# --- one test per check: each defect is caught -------------------------------------------------

Mutation = Callable[[dict[str, str]], None]


@dataclass(frozen=True)
class Defect:
    check: CheckId
    severity: Severity
    path: str  # the report the finding must appear in
    mutate: Mutation


def replace(path: str, old: str, new: str) -> Mutation:
    def mutate(package: dict[str, str]) -> None:
        assert old in package[path], f"{old!r} not in {path}"
        package[path] = package[path].replace(old, new)

    return mutate


def add(path: str, text: str) -> Mutation:
    def mutate(package: dict[str, str]) -> None:
        package[path] = package.get(path, "") + text

    return mutate


ABOUT_PATH, ARCH_PATH = "docs/about.md", "docs/architecture.md"
ADR_PATH, OVERVIEW_PATH = "docs/adr/ADR-001-build-a-modular-monolith.md", "docs/plans/overview.md"
EPIC_PATH, SPECS_PATH = "docs/plans/02-lending.md", "docs/specs.md"
ERROR, WARNING = Severity.ERROR, Severity.WARNING

DEFECTS = {
    "unclosed fence": Defect(
        CheckId.MARKDOWN_UNCLOSED_FENCE, ERROR, ABOUT_PATH, add(ABOUT_PATH, "\n```text\nopen\n")
    ),
    "two H1": Defect(
        CheckId.MARKDOWN_SINGLE_H1, ERROR, ABOUT_PATH, add(ABOUT_PATH, "\n# A second title\n")
    ),
    "no H1": Defect(
        CheckId.MARKDOWN_SINGLE_H1,
        ERROR,
        ABOUT_PATH,
        replace(ABOUT_PATH, "# Tool Library: Project description\n", ""),
    ),
    "heading skips a level": Defect(
        CheckId.MARKDOWN_HEADING_SKIP,
        ERROR,
        ABOUT_PATH,
        replace(ABOUT_PATH, "## Assumptions\n", "## Assumptions\n\n#### Deep\n\nText.\n"),
    ),
    "about lacks success metrics": Defect(
        CheckId.MISSING_SECTION,
        ERROR,
        ABOUT_PATH,
        replace(ABOUT_PATH, "## Success metrics", "## Numbers"),
    ),
    "empty section": Defect(
        CheckId.EMPTY_SECTION,
        ERROR,
        ABOUT_PATH,
        replace(ABOUT_PATH, "- Members have phones.\n", ""),
    ),
    "architecture lacks resilience": Defect(
        CheckId.MISSING_SECTION,
        ERROR,
        ARCH_PATH,
        replace(ARCH_PATH, "### Resilience", "### Other"),
    ),
    "no C4 container diagram": Defect(
        CheckId.C4_DIAGRAM,
        ERROR,
        ARCH_PATH,
        replace(ARCH_PATH, "C4Container\n", "flowchart LR\n"),
    ),
    "no C4 context diagram": Defect(
        CheckId.C4_DIAGRAM,
        ERROR,
        ARCH_PATH,
        replace(ARCH_PATH, "C4Context\n", "flowchart LR\n"),
    ),
    "no C4 component diagram": Defect(
        CheckId.C4_DIAGRAM,
        WARNING,
        ARCH_PATH,
        replace(ARCH_PATH, "C4Component\n", "flowchart LR\n"),
    ),
    "ADR lacks consequences": Defect(
        CheckId.MISSING_SECTION,
        ERROR,
        ADR_PATH,
        replace(ADR_PATH, "## Consequences\n\n- Fast delivery.\n", ""),
    ),
    "ADR title without number": Defect(
        CheckId.ADR_TITLE,
        WARNING,
        ADR_PATH,
        replace(ADR_PATH, "# ADR-001: Build", "# Build"),
    ),
    "ADR without status": Defect(
        CheckId.ADR_STATUS, ERROR, ADR_PATH, replace(ADR_PATH, "Status: Accepted\n", "")
    ),
    "ADR with unknown status": Defect(
        CheckId.ADR_STATUS,
        WARNING,
        ADR_PATH,
        replace(ADR_PATH, "Status: Accepted", "Status: Maybe"),
    ),
    "ADR without date": Defect(
        CheckId.ADR_DATE, WARNING, ADR_PATH, replace(ADR_PATH, "Date: 2026-01-15\n", "")
    ),
    "ADR options without pros and cons": Defect(
        CheckId.ADR_PROS_CONS,
        WARNING,
        ADR_PATH,
        replace(ADR_PATH, "Pros:\n\n- One deployable\n\nCons:\n", ""),
    ),
    "epic lacks acceptance criteria": Defect(
        CheckId.MISSING_SECTION,
        ERROR,
        EPIC_PATH,
        replace(EPIC_PATH, "## Acceptance criteria\n\n1. It works on staging (FR-001).\n", ""),
    ),
    "epic tasks are not a checklist": Defect(
        CheckId.EPIC_TASKS,
        ERROR,
        EPIC_PATH,
        replace(EPIC_PATH, "- [ ] Build it.\n- [x] Plan it.\n", "- Build it.\n- Plan it.\n"),
    ),
    "epic acceptance criteria are not items": Defect(
        CheckId.EPIC_ACCEPTANCE,
        ERROR,
        EPIC_PATH,
        replace(EPIC_PATH, "1. It works on staging (FR-001).", "It works."),
    ),
    "overview lacks a timeline": Defect(
        CheckId.MISSING_SECTION,
        ERROR,
        OVERVIEW_PATH,
        replace(OVERVIEW_PATH, "## Timeline", "## When"),
    ),
    "specs lack a definition of done": Defect(
        CheckId.MISSING_SECTION,
        ERROR,
        SPECS_PATH,
        replace(SPECS_PATH, "## Definition of Done", "## Finished"),
    ),
    "NFRs without numbers": Defect(
        CheckId.NFR_NUMBERS,
        ERROR,
        SPECS_PATH,
        replace(SPECS_PATH, "| Latency | p95 <= 200 ms |", "| Latency | fast |"),
    ),
    "component missing from the plan": Defect(
        CheckId.COMPONENT_IN_PLAN,
        WARNING,
        OVERVIEW_PATH,
        replace(
            ARCH_PATH,
            "| Lending Service | loan state machine | Handles loans. |",
            "| Lending Service | loan state machine | Handles loans. |\n"
            "| Search Service | full-text index | Finds tools. |",
        ),
    ),
    "technology missing from the plan": Defect(
        CheckId.TECHNOLOGY_IN_PLAN,
        WARNING,
        OVERVIEW_PATH,
        replace(
            ARCH_PATH,
            "| Database | PostgreSQL 16 |",
            "| Cache | Redis 7 | Fast reads. |\n| Database | PostgreSQL 16 |",
        ),
    ),
    "technology missing from the specs": Defect(
        CheckId.TECHNOLOGY_IN_SPECS,
        WARNING,
        SPECS_PATH,
        replace(SPECS_PATH, "one PostgreSQL role per service", "one role per service"),
    ),
    "epic names no component": Defect(
        CheckId.EPIC_NAMES_COMPONENT,
        WARNING,
        EPIC_PATH,
        lambda package: package.update({EPIC_PATH: epic(2, "Onboarding", "Member screens")}),
    ),
    "epic names an unknown component": Defect(
        CheckId.UNKNOWN_COMPONENT,
        ERROR,
        EPIC_PATH,
        add(EPIC_PATH, "\n- [ ] Charge late fees through the Payment Service.\n"),
    ),
    "broken link": Defect(
        CheckId.BROKEN_LINK,
        ERROR,
        OVERVIEW_PATH,
        add(OVERVIEW_PATH, "\nSee also [Search](04-search.md).\n"),
    ),
    "ADR not linked from the architecture": Defect(
        CheckId.ADR_LINKED,
        ERROR,
        ARCH_PATH,
        lambda package: package.update({"docs/adr/ADR-002-use-postgresql.md": ADR}),
    ),
    "an id nobody defines": Defect(
        CheckId.TRACE_UNKNOWN_ID,
        ERROR,
        EPIC_PATH,
        add(EPIC_PATH, "\n- [ ] Build the wish list (FR-009).\n"),
    ),
    "a Must requirement no acceptance criterion delivers": Defect(
        CheckId.TRACE_MUST_UNDELIVERED,
        ERROR,
        OVERVIEW_PATH,
        add(
            ABOUT_PATH,
            "\n| ID | Feature | Priority |\n|---|---|---|\n| FR-002 | Booking | Must |\n",
        ),
    ),
    "an epic that cites no requirement": Defect(
        CheckId.TRACE_EPIC_CITES_NOTHING,
        WARNING,
        EPIC_PATH,
        lambda package: package.update({EPIC_PATH: package[EPIC_PATH].replace(" (FR-001)", "")}),
    ),
    "epic missing from the overview": Defect(
        CheckId.EPIC_LISTED,
        ERROR,
        OVERVIEW_PATH,
        lambda package: package.update({"docs/plans/02b-lending-extras.md": epic(2, "X", "Y")}),
    ),
}


@pytest.mark.parametrize("defect", list(DEFECTS.values()), ids=list(DEFECTS))
def test_each_defect_is_caught(defect: Defect) -> None:
    package = clean_package()
    defect.mutate(package)

    report = score(package)[defect.path]

    found = [finding for finding in report.findings if finding.check is defect.check]
    assert found, report.findings
    assert {finding.severity for finding in found} == {defect.severity}
    assert all(finding.path == defect.path for finding in found)
    assert report.passed is (defect.severity is WARNING)


def test_every_check_has_a_test() -> None:
    tested = {defect.check for defect in DEFECTS.values()}
    tested |= {CheckId.MARKDOWN_RENDER, CheckId.READABILITY_EASE, CheckId.READABILITY_GRADE}
    assert tested == set(CheckId)


def test_markdown_that_does_not_render_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise ValueError("unbalanced input")

    monkeypatch.setattr("docflow.quality.parse.markdown.markdown", broken)
    parse.cache_clear()  # parses of this document made with the working renderer
    report = score_document(rendered({ABOUT_PATH: ABOUT})[0], THRESHOLDS)

    assert [finding.check for finding in report.findings] == [CheckId.MARKDOWN_RENDER]
    assert "unbalanced input" in report.findings[0].message
    assert not report.passed


def test_headings_inside_code_blocks_are_not_headings() -> None:
    text = ABOUT + "\n```text\n# not a title\n#### not a heading\n```\n"
    assert score({ABOUT_PATH: text})[ABOUT_PATH].findings == []


# --- tolerant matching ------------------------------------------------------------------------


def test_section_headings_match_synonyms_in_any_case() -> None:
    about = (
        ABOUT.replace("## Problem and context", "## 1. Background")
        .replace("## Target users", "## USERS & NEEDS")
        .replace("## Goals\n", "## Goals and non-goals\n")
        .replace("## Non-goals\n", "### Out of scope\n")
        .replace("## Key features", "## Capabilities")
        .replace("## Success metrics", "## KPIs")
    )
    assert score({ABOUT_PATH: about})[ABOUT_PATH].findings == []


def test_adr_status_may_be_bold_or_a_section() -> None:
    bold = ADR.replace("Status: Accepted", "**Status:** Accepted")
    section = ADR.replace("Status: Accepted\n", "").replace(
        "## Context", "## Status\n\nProposed\n\n## Context"
    )
    for text in (bold, section):
        assert adr_metadata(text, parse(text))["status"] in ("Accepted", "Proposed")
        assert score({ADR_PATH: text})[ADR_PATH].findings == []


def test_architecture_facts_come_from_tables_and_diagrams() -> None:
    facts = architecture_facts(parse(ARCHITECTURE))

    assert facts.components == ("Lending Service",)
    assert facts.containers == ("API application", "Database")
    assert facts.technologies == ("Python", "PostgreSQL")


@pytest.mark.parametrize(
    ("cell", "name"),
    [
        ("Python 3.12 with FastAPI", "Python"),
        ("React Native with Expo (TypeScript)", "React Native"),
        ("Celery workers on Redis", "Celery"),
        ("GitHub Actions and container images", "GitHub Actions"),
        ("Node.js 22 with NestJS", "Node.js"),
        ("A managed container platform with managed PostgreSQL", ""),
        ("One cloud region in the users' jurisdiction (EU for GDPR)", ""),
    ],
)
def test_primary_technology_of_a_stack_cell(cell: str, name: str) -> None:
    assert primary_technology(cell) == name


def test_component_names_and_mentions() -> None:
    text = "Charge fees through the Payment Service, then ask the Notification Gateway."

    assert component_names(text) == ["Payment Service", "Notification Gateway"]
    assert mentions(words("Build the scheduling screens"), "Scheduling Service")
    assert not mentions(words("Build the scheduling screens"), "Scheduling Service", exact=True)
    assert mentions(words("Identity and access checks"), "Identity & Access")


def test_cross_checks_judge_a_step_against_its_context() -> None:
    package = clean_package()
    plan = [doc for doc in rendered(package) if doc.path.startswith("docs/plans/")]
    context = [doc for doc in rendered(package) if not doc.path.startswith("docs/plans/")]
    context = [
        doc.model_copy(update={"content_md": doc.content_md.replace("Lending Service", "Loans")})
        if doc.path == ARCH_PATH
        else doc
        for doc in context
    ]

    reports = score_documents(plan, THRESHOLDS, context)

    assert [report.path for report in reports] == [doc.path for doc in plan]
    epic_report = next(report for report in reports if report.path == EPIC_PATH)
    assert checks(epic_report) == {CheckId.UNKNOWN_COMPONENT, CheckId.EPIC_NAMES_COMPONENT}


# --- readability ------------------------------------------------------------------------------

DENSE = (
    "Notwithstanding considerable organisational heterogeneity, comprehensive "
    "implementation of interoperability specifications necessitates institutionalised "
    "coordination mechanisms, systematically incorporating stakeholder representatives, "
    "infrastructure administrators, regulatory compliance authorities and independent "
    "verification laboratories, alongside sophisticated configuration management "
    "methodologies, continuous integration, automated deployment orchestration and "
    "comprehensive observability instrumentation across heterogeneous environments. "
)


def test_dense_prose_fails_both_readability_checks() -> None:
    text = ABOUT.replace("Neighbours lend tools on paper lists, so tools go missing.", DENSE * 3)
    report = score({ABOUT_PATH: text})[ABOUT_PATH]
    figures = report.summary.readability

    assert figures.gated and figures.words >= THRESHOLDS.min_words
    assert figures.flesch_reading_ease is not None and figures.flesch_reading_ease < 30
    assert figures.flesch_kincaid_grade is not None and figures.flesch_kincaid_grade > 14
    assert checks(report) == {CheckId.READABILITY_EASE, CheckId.READABILITY_GRADE}
    assert not report.passed and not figures.within_thresholds


def test_short_documents_are_not_held_to_the_readability_thresholds() -> None:
    text = ABOUT.replace("Neighbours lend tools on paper lists, so tools go missing.", DENSE)
    figures = score({ABOUT_PATH: text})[ABOUT_PATH].summary.readability

    assert figures.words < THRESHOLDS.min_words and not figures.gated
    assert figures.within_thresholds


def test_thresholds_come_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        quality_min_flesch_reading_ease=95.0,
        quality_max_fk_grade=1.0,
        quality_readability_min_words=5,
    )
    thresholds = QualityThresholds.from_settings(settings)

    report = score_document(rendered({ABOUT_PATH: ABOUT})[0], thresholds)

    assert report.thresholds == thresholds
    assert checks(report) == {CheckId.READABILITY_EASE, CheckId.READABILITY_GRADE}


def test_only_prose_is_scored() -> None:
    text = (
        "# Title\n\nPlain words here [with a link](https://example.com/averyveryverylongpath)"
        " and `some_identifier`.\n\n- A list item\n\n> Someone else's quoted words.\n\n"
        "| Table | Cell |\n|---|---|\n| tablecell | content |\n\n"
        '```mermaid\nC4Context\n  Person(x, "diagramword")\n```\n\n```python\ncodeword = 1\n```\n'
    )
    prose = prose_of(parse(text))

    assert prose == "Plain words here with a link and . A list item."


_OFFLINE_SCRIPT = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network is off in this test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
from docflow.quality.readability import measure
from docflow.quality.report import QualityThresholds
figures = measure(sys.argv[1], QualityThresholds())
assert "nltk" not in sys.modules, "textstat must not go through nltk"
print(figures.model_dump_json())
"""


def test_readability_works_offline(tmp_path: Path) -> None:
    text = "The cat sat on the mat. It was a happy cat. " * 20
    env = {**os.environ, "NLTK_DATA": str(tmp_path / "no-nltk-data"), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT, text],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["flesch_reading_ease"] > 90 and figures["flesch_kincaid_grade"] < 3
    assert figures["words"] == 220 and figures["gated"]


# --- the real offline writer ---------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_package(tmp_path_factory: pytest.TempPathFactory) -> list[RenderedDocument]:
    """The demo's four steps (sample idea), written by the offline writer, section by section."""
    import asyncio

    from docflow.agents.compose import write_step

    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), llm_provider="offline")
    documents: list[RenderedDocument] = []
    for step in Step:
        brief = StepBrief(
            step=step,
            project_name="GardenShare",
            idea=sample_idea(),
            constraints=SAMPLE_CONSTRAINTS,
            upstream=list(documents),
        )
        documents += asyncio.run(write_step(brief, settings, date(2026, 1, 15))).documents
    return documents


def test_the_offline_writers_demo_package_passes(demo_package: list[RenderedDocument]) -> None:
    reports = score_documents(demo_package, THRESHOLDS)

    assert {report.kind for report in reports} == set(KINDS.values())
    for report in reports:
        assert report.passed, (report.path, report.errors)
        structural = [f for f in report.findings if not f.check.startswith("consistency.")]
        assert structural == [], report.path


def test_each_step_passes_against_the_accepted_steps_before_it(
    demo_package: list[RenderedDocument],
) -> None:
    steps = ({"about"}, {"architecture", "adr"}, {"plan_overview", "epic"}, {"specs"})
    for kinds in steps:
        scored = [doc for doc in demo_package if doc.kind in kinds]
        context = [doc for doc in demo_package if doc.kind not in kinds]
        reports = score_documents(scored, THRESHOLDS, context)
        assert all(report.passed for report in reports), kinds


def test_scoring_is_deterministic(demo_package: list[RenderedDocument]) -> None:
    first = [report.model_dump_json() for report in score_documents(demo_package, THRESHOLDS)]
    second = [report.model_dump_json() for report in score_documents(demo_package, THRESHOLDS)]

    assert first == second


_DIGEST_SCRIPT = """
import hashlib, json, sys
from docflow.contracts import RenderedDocument
from docflow.quality.report import QualityThresholds
from docflow.quality.score import score_documents
documents = [RenderedDocument.model_validate(d) for d in json.loads(sys.stdin.read())]
reports = score_documents(documents, QualityThresholds())
print(hashlib.sha256("".join(r.model_dump_json() for r in reports).encode()).hexdigest())
"""


def test_reports_do_not_depend_on_hash_randomisation(
    demo_package: list[RenderedDocument],
) -> None:
    payload = json.dumps([document.model_dump() for document in demo_package])
    digests = set()
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", _DIGEST_SCRIPT],
            input=payload,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=120,
            check=True,
        )
        digests.add(result.stdout.strip())
    assert len(digests) == 1
