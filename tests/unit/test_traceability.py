"""Requirement ids, the traceability matrix and its gaps (``docflow.traceability``).

Small hand-written documents for each kind of gap; the offline writer's whole packages
for the coverage the demo promises; a revision through the offline writer for ids that
survive it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from docflow.contracts import Requirement, Step
from docflow.quality.consistency import Document
from docflow.quality.parse import parse
from docflow.samples import SAMPLE_CONSTRAINTS, sample_idea
from docflow.traceability import assign_ids, cited_ids, render_traceability, requirements_of, trace
from tests.offline import offline_package, write

ABOUT = """# Tool Library: Project description

## Key features

| ID | Feature | What it lets users do | Priority |
|---|---|---|---|
| FR-001 | Lending | Borrow a tool. | Must |
| FR-002 | Wish list | Ask for a tool nobody has. | Could |

## Non-functional requirements

| ID | Requirement | Area | Priority |
|---|---|---|---|
| NFR-001 | Pages load within 2 s | Performance | Must |
"""


def epic(number: int, name: str, tasks: list[str], criteria: list[str]) -> str:
    task_lines = "\n".join(f"- [ ] {task}" for task in tasks)
    criteria_lines = "\n".join(f"{n}. {c}" for n, c in enumerate(criteria, 1))
    return (
        f"# Epic {number:02d}: {name}\n\n## Goal\n\nDeliver {name}.\n\n## Tasks\n\n"
        f"{task_lines}\n\n## Acceptance criteria\n\n{criteria_lines}\n"
    )


ADR = "# ADR-001: Use PostgreSQL\n\nStatus: Proposed\nServes: FR-001\n\n## Decision\n\nYes.\n"
SPECS = (
    "# Tool Library: Engineering standards\n\n## Non-functional requirements\n\n"
    "| Area | Target | Serves |\n|---|---|---|\n| Latency | p95 <= 2 s | NFR-001 |\n"
)


def documents(changes: dict[str, str] | None = None) -> list[Document]:
    """The small package, with ``changes`` (path -> text) replacing or adding documents."""
    package = {
        "docs/about.md": ("about", ABOUT),
        "docs/adr/ADR-001-use-postgresql.md": ("adr", ADR),
        "docs/plans/01-infrastructure.md": (
            "epic",
            epic(1, "Infrastructure", ["Set up CI (NFR-001)"], ["Pages load fast (NFR-001)"]),
        ),
        "docs/plans/02-lending.md": (
            "epic",
            epic(2, "Lending", ["Build lending (FR-001)"], ["A tool can be lent (FR-001)"]),
        ),
        "docs/specs.md": ("specs", SPECS),
    }
    for path, text in (changes or {}).items():
        package[path] = ("epic" if path.startswith("docs/plans/") else "about", text)
    return [Document(path, kind, parse(text)) for path, (kind, text) in package.items()]


def test_about_md_gives_each_requirement_its_id_name_and_priority() -> None:
    found = requirements_of(parse(ABOUT))

    assert [(r.id, r.name, r.priority, r.kind) for r in found] == [
        ("FR-001", "Lending", "must", "functional"),
        ("FR-002", "Wish list", "could", "functional"),
        ("NFR-001", "Pages load within 2 s", "must", "non-functional"),
    ]


def test_cited_ids_are_found_once_each_in_order() -> None:
    assert cited_ids("Do it (FR-002, NFR-001); see FR-002 and XFR-003 or FR-1") == [
        "FR-002",
        "NFR-001",
    ]


def test_ids_are_kept_by_name_and_new_ones_never_reuse_an_old_number() -> None:
    known = [
        Requirement(id="FR-001", name="Lending", priority="must"),
        Requirement(id="FR-003", name="Repairs", priority="should"),
    ]

    ids = assign_ids("functional", ["Wish list", "lending", "Reservations"], known)

    assert ids == ["FR-004", "FR-001", "FR-005"]  # FR-003 (removed) is not given again
    assert assign_ids("non-functional", ["Speed"], known) == ["NFR-001"]


def test_a_complete_package_covers_every_must_requirement() -> None:
    matrix = trace(documents())

    assert matrix is not None
    coverage = matrix.coverage()
    assert (coverage.must, coverage.must_delivered, coverage.percent) == (2, 2, 100.0)
    assert coverage.uncovered == coverage.epics_citing_nothing == coverage.unknown_ids == []
    lending = next(t for t in matrix.traces if t.requirement.id == "FR-001")
    assert [c.label for c in lending.decisions] == ["ADR-001"]
    assert [c.label for c in lending.criteria] == ["02 AC 1"]
    speed = next(t for t in matrix.traces if t.requirement.id == "NFR-001")
    assert [c.label for c in speed.standards] == ["Non-functional requirements"]


def test_a_must_requirement_only_a_task_cites_is_not_delivered() -> None:
    lending = epic(2, "Lending", ["Build lending (FR-001)"], ["A tool can be lent"])

    matrix = trace(documents({"docs/plans/02-lending.md": lending}))

    assert matrix is not None
    coverage = matrix.coverage()
    assert coverage.uncovered == ["FR-001"] and coverage.percent == 50.0


def test_an_epic_citing_nothing_and_an_unknown_id_are_gaps() -> None:
    lending = epic(2, "Lending", ["Build lending"], ["A tool can be lent (FR-001, FR-009)"])
    extra = epic(3, "Extras", ["Polish"], ["It shines"])

    matrix = trace(
        documents({"docs/plans/02-lending.md": lending, "docs/plans/03-extras.md": extra})
    )

    assert matrix is not None
    coverage = matrix.coverage()
    assert coverage.epics_citing_nothing == ["docs/plans/03-extras.md"]
    assert coverage.unknown_ids == ["FR-009"]
    assert matrix.unknown == {"docs/plans/02-lending.md": ["FR-009"]}


def test_a_description_without_ids_has_no_matrix() -> None:
    old = ABOUT.replace("| ID ", "| # ").replace("FR-00", "").replace("NFR-00", "")

    assert trace(documents({"docs/about.md": old})) is None


def test_the_matrix_document_lists_every_requirement_with_links() -> None:
    matrix = trace(documents())
    assert matrix is not None

    text = render_traceability("Tool Library", matrix)

    assert text.startswith("# Tool Library: Traceability\n")
    assert "2 of 2 (100%)" in text
    assert "| FR-002: Wish list | Could | - | - | - | - | No |" in text
    assert "[02 AC 1](plans/02-lending.md)" in text


# --- the offline writer ---------------------------------------------------------------------------

IDEAS = {
    "garden": (sample_idea(), SAMPLE_CONSTRAINTS),
    "clinic": (
        "Tidepool: a SaaS platform that lets small clinics manage appointments, send SMS "
        "reminders and take payments. Patients book online; staff see today's list.",
        "Team of 4 developers, 6 months, budget $80k, AWS, HIPAA compliant.",
    ),
    "reconciliation": (
        "Ledgerly: a tool for a small accounting firm to reconcile client bank statements "
        "against invoices, flag mismatches and keep an audit trail for each client.",
        "",
    ),
}


@pytest.mark.parametrize("idea", sorted(IDEAS))
def test_the_offline_writer_delivers_every_must_requirement(idea: str, tmp_path: Path) -> None:
    written = offline_package(*IDEAS[idea], tmp_path)

    matrix = trace([Document(d.path, d.kind, parse(d.content_md)) for d in written])

    assert matrix is not None
    coverage = matrix.coverage()
    assert coverage.must >= 5 and coverage.percent == 100.0, coverage
    assert coverage.epics_citing_nothing == [] and coverage.unknown_ids == []
    assert all(t.decisions for t in matrix.traces if t.requirement.must), "an ADR serves each Must"
    nfrs = [t for t in matrix.traces if t.requirement.kind == "non-functional"]
    assert nfrs and all(t.standards for t in nfrs), "specs.md checks every NFR"


def test_a_revision_keeps_the_ids_and_numbers_a_new_requirement_next(tmp_path: Path) -> None:
    idea, constraints = IDEAS["garden"]
    first = write(Step.DESCRIPTION, idea, constraints, [], tmp_path)[0]
    before = requirements_of(parse(first.content_md))

    feedback = ["Add a seed swap between members"]
    second = write(
        Step.DESCRIPTION, idea, constraints, [], tmp_path, feedback=feedback,
        known_requirements=before,
    )[0]  # fmt: skip
    after = {r.name: r.id for r in requirements_of(parse(second.content_md))}

    assert all(after[r.name] == r.id for r in before), "every requirement keeps its id"
    new = [id_ for name, id_ in after.items() if name not in {r.name for r in before}]
    highest = max(int(r.id[3:]) for r in before if r.kind == "functional")
    assert new == [f"FR-{highest + 1:03d}"]


def test_a_plan_delivers_a_must_requirement_the_description_gained_in_review(
    tmp_path: Path,
) -> None:
    idea, constraints = IDEAS["garden"]
    about = write(Step.DESCRIPTION, idea, constraints, [], tmp_path,
                  feedback=["Add a seed swap between members"])  # fmt: skip
    architecture = write(Step.ARCHITECTURE, idea, constraints, about, tmp_path)
    plan = write(Step.PLAN, idea, constraints, about + architecture, tmp_path)

    matrix = trace([Document(d.path, d.kind, parse(d.content_md)) for d in about + plan])

    assert matrix is not None and matrix.coverage().percent == 100.0
    swap = next(t for t in matrix.traces if "seed swap" in t.requirement.name.lower())
    assert swap.requirement.must and swap.criteria
