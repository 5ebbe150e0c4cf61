"""The offline packages of the sample ideas say what each idea says, and nothing it does not
say as a fact: the README's sample and the ideas in tests/data/ideas/, written the way
``bench/offline_packages.py`` writes them."""

from __future__ import annotations

import re
from functools import cache

import pytest

from bench.offline_packages import RENDER_DATE, sample_ideas, write_package
from docflow.agents.contracts import CONTRACT_FOR_STEP, ImplementationPlan
from docflow.agents.render import render_contract
from docflow.contracts import RenderedDocument, Step, StepBrief
from docflow.offline.analysis import analyse
from docflow.offline.writer import draft_contract

IDEAS = sample_ideas()


@cache
def package(name: str, project: str = "") -> dict[str, str]:
    idea, constraints = IDEAS[name]
    documents = write_package(idea, constraints, project)
    return {document.path: document.content_md for document in documents}


def about(name: str) -> str:
    return package(name)["docs/about.md"]


def section(markdown: str, heading: str) -> str:
    return markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def rows(markdown: str, heading: str) -> list[list[str]]:
    lines = [line for line in section(markdown, heading).splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


def test_there_are_the_readme_sample_and_three_ideas() -> None:
    assert set(IDEAS) == {"community-garden", "ledgerline", "pawpath", "tidepool"}


@pytest.mark.parametrize("name", sorted(IDEAS))
def test_a_placeholder_project_name_gives_way_to_the_idea_s_own(name: str) -> None:
    expected = {"community-garden": "GardenShare", "ledgerline": "Ledgerline",
                "pawpath": "Pawpath", "tidepool": "Tidepool"}[name]  # fmt: skip
    written = package(name, "Untitled project")["docs/about.md"]
    assert written.startswith(f"# {expected}: Project description")
    assert "Untitled project" not in written


def test_the_people_are_the_ones_the_idea_names() -> None:
    groups = re.findall(r"^### (.+)$", section(about("tidepool"), "Target users"), re.M)
    assert groups == ["Volunteer guides", "Families", "Teachers", "Coordinators"]
    groups = re.findall(r"^### (.+)$", section(about("pawpath"), "Target users"), re.M)
    assert groups == ["Walkers", "Dog owners", "Cooperative office"]


TIDEPOOL_TIME = "The first release must be live before the summer season, in 5 months"
LEDGERLINE_RULE = "Client data must stay in the UK and be kept for six years"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tidepool", [["Team", "A team of 3 developers"], ["Time", TIDEPOOL_TIME]]),
        (
            "pawpath",
            [
                ["Team", "Two freelance developers"],
                ["Budget", "A budget of 20,000 EUR"],
                ["Hosting", "Hosted on the cooperative's own server"],
            ],
        ),
        ("ledgerline", [["Regulation", LEDGERLINE_RULE]]),
        (
            "community-garden",
            [
                ["Team", "Team of three volunteers working evenings"],
                ["Time", "First release within four months"],
                ["Budget", "Budget under 100 EUR a month for hosting"],
                ["Regulation", "Members' personal data stays in the EU (GDPR)"],
            ],
        ),
    ],
)
def test_each_constraint_is_its_own_row_by_kind(name: str, expected: list[list[str]]) -> None:
    assert rows(about(name), "Constraints") == expected


def test_what_the_idea_does_not_say_is_assumed_everywhere() -> None:
    """Ledgerline states no team, no date and no budget: every line of its package that
    names a team size, a number of weeks or a budget says it is assumed (or asks)."""
    figure = re.compile(r"\b(?:3|three) developers\b|\b12 weeks\b|\b500 a month\b")  # the defaults
    for path, text in package("ledgerline").items():
        for line in (line for line in text.splitlines() if not line.startswith("| Q-")):
            for found in figure.finditer(line):
                said_before = re.search(r"assum\w*[^.;]*$", line[: found.start()], re.I)
                said_after = line[found.end() :].startswith(" (assumed")
                assert said_before or said_after, (path, line)
    assumptions = section(about("ledgerline"), "Assumptions")
    assert all(line.startswith("- Assumed: ") for line in assumptions.strip().splitlines())


def test_a_question_the_idea_answers_is_not_asked() -> None:
    def questions(name: str) -> str:
        return " ".join(row[1] for row in rows(about(name), "Open questions"))

    assert "How many people" not in questions("tidepool")  # "a team of 3 developers"
    assert "By when" not in questions("tidepool")  # "in 5 months"
    assert "What budget" not in questions("pawpath")  # "a budget of 20,000 EUR"
    assert "Where must it run" not in questions("pawpath")  # "hosted on ... own server"
    for asked in ("How many people", "By when", "What budget"):
        assert asked in questions("ledgerline")


def test_no_two_ideas_share_a_document_word_for_word() -> None:
    seen: dict[str, str] = {}
    for name in IDEAS:
        for path, text in package(name).items():
            assert text not in seen, f"{name}/{path} is {seen.get(text)} word for word"
            seen[text] = f"{name}/{path}"


def test_feedback_asking_for_a_section_gets_that_section() -> None:
    idea, constraints = IDEAS["tidepool"]
    feedback = "Add a section about accessibility for wheelchair users"
    brief = StepBrief(step=Step.DESCRIPTION, project_name="Tidepool", idea=idea,
                      constraints=constraints, feedback=[feedback])  # fmt: skip
    _, effects = analyse(brief)
    assert effects[0].section == "accessibility for wheelchair users"
    assert effects[0].feature is None, "a section request is no feature row"

    draft = draft_contract(brief, CONTRACT_FOR_STEP[Step.DESCRIPTION])
    [document] = render_contract(draft, RENDER_DATE, brief)
    text = document.content_md
    body = section(text, "Accessibility for wheelchair users")
    assert "Tidepool" in body and "booking system" in body  # drawn from the idea
    assert "Assumed" in body
    assert "WCAG 2.2 AA" in body  # the requirement that bears on it
    assert "wheelchair" not in " ".join(row[2] for row in rows(text, "Key features"))
    assert any("wheelchair" in row[1] for row in rows(text, "Open questions"))


def test_a_section_the_idea_speaks_of_quotes_the_idea() -> None:
    idea, _ = IDEAS["ledgerline"]
    accepted = RenderedDocument(
        path="docs/about.md", kind="about", title="About", content_md=about("ledgerline")
    )
    brief = StepBrief(
        step=Step.PLAN,
        project_name="Ledgerline",
        idea=idea,
        feedback=["Please add a section on the audit trail"],
        upstream=[accepted],
    )
    plan = draft_contract(brief, CONTRACT_FOR_STEP[Step.PLAN])
    assert isinstance(plan, ImplementationPlan)
    [requested] = plan.requested_sections
    assert requested.heading == "Audit trail"
    assert "An audit trail of who matched, changed or signed off what" in " ".join(
        requested.paragraphs
    )


@pytest.mark.parametrize("topic", ["constraints", "open questions"])
def test_a_requested_section_never_repeats_a_heading_of_the_document(topic: str) -> None:
    """The parser reads about.md's sections by heading (the open questions, the
    constraints), and markdownlint refuses a heading twice."""
    idea, constraints = IDEAS["tidepool"]
    feedback = [f"Add a section about {topic}"]
    brief = StepBrief(step=Step.DESCRIPTION, project_name="Tidepool", idea=idea,
                      constraints=constraints, feedback=feedback)  # fmt: skip
    draft = draft_contract(brief, CONTRACT_FOR_STEP[Step.DESCRIPTION])
    [document] = render_contract(draft, RENDER_DATE, brief)
    headings = re.findall(r"^## (.+)$", document.content_md, re.M)
    assert len(headings) == len(set(headings))
    assert f"{topic.capitalize()} (asked for in review)" in headings
    assert rows(document.content_md, "Open questions"), "the real questions are still found"
