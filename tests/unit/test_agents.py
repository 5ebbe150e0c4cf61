"""The four agents through ``compose.write_step`` with the deterministic offline writer.

Each step is written section by section (``sections.yaml``) through the writer protocol;
the offline writer needs no CrewAI. Every test gets a private HOME and CREWAI_STORAGE_DIR.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from docflow.agents import compose
from docflow.agents.compose import SectionEvent
from docflow.agents.contracts import (
    DecisionOption,
    Epic,
    ImplementationPlan,
    KeyDecision,
    ProjectDescription,
)
from docflow.agents.render import render_adr, render_contract, render_plan
from docflow.agents.writers import select_writer
from docflow.contracts import RenderedDocument, Step, StepBrief, StepWriting
from docflow.offline.writer import OFFLINE_WRITER_LABEL, OfflineWriter
from docflow.settings import Settings

# CrewAI 1.15 warns about its own deprecated internals (function_calling_llm, ...) on
# every kickoff; they are not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:crewai")

TODAY = date(2026, 1, 15)
GARDEN_IDEA = (
    "# PlotPal\n\nA mobile app for community gardens to share tools and schedule plots.\n\n"
    "- Members book shared tools and see who has them.\n"
    "- Coordinators allocate plots and keep a waiting list.\n"
    "- Works offline in the garden and syncs later.\n"
)
GARDEN_CONSTRAINTS = "Two developers, three months, EU hosting (GDPR)."
CLINIC_IDEA = (
    "A SaaS platform that lets small clinics manage appointments, send SMS reminders and take "
    "payments. Patients can book online."
)
CLINIC_CONSTRAINTS = "Team of 4 developers, 6 months, budget $80k, AWS, HIPAA compliant."
ADR_PATH = re.compile(r"^docs/adr/ADR-\d{3}-[a-z0-9]+(?:-[a-z0-9]+)*\.md$")
EPIC_PATH = re.compile(r"^docs/plans/(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.md$")


@pytest.fixture(autouse=True)
def private_crewai_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CREWAI_STORAGE_DIR", str(tmp_path / "crewai"))
    monkeypatch.setenv("CREWAI_TRACING_ENABLED", "false")
    monkeypatch.setenv("CREWAI_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("CREWAI_DISABLE_VERSION_CHECK", "true")
    yield


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", llm_provider="offline")


def brief(step: Step, idea: str, constraints: str, **extra: Any) -> StepBrief:
    return StepBrief(
        step=step,
        project_name=extra.pop("name", "PlotPal"),
        idea=idea,
        constraints=constraints,
        **extra,
    )


def write_package(
    settings: Settings,
    idea: str = GARDEN_IDEA,
    constraints: str = GARDEN_CONSTRAINTS,
    feedback: dict[Step, list[str]] | None = None,
) -> dict[Step, StepWriting]:
    """All four steps in order, each reading the documents of the steps before it."""
    writings: dict[Step, StepWriting] = {}
    upstream: list[RenderedDocument] = []
    for step in Step:
        step_brief = brief(
            step,
            idea,
            constraints,
            upstream=list(upstream),
            feedback=(feedback or {}).get(step, []),
        )
        writings[step] = write(step_brief, settings, TODAY)
        upstream += writings[step].documents
    return writings


def write(
    step_brief: StepBrief,
    settings: Settings,
    today: date = TODAY,
    on_event: compose.Progress | None = None,
) -> StepWriting:
    events = on_event or _ignore
    return asyncio.run(compose.write_step(step_brief, settings, today, on_event=events))


async def _ignore(_event: SectionEvent) -> None:
    return None


def by_path(writing: StepWriting) -> dict[str, str]:
    return {document.path: document.content_md for document in writing.documents}


def headings(markdown: str) -> list[int]:
    levels = []
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (found := re.match(r"^(#{1,6}) ", line)):
            levels.append(len(found[1]))
    return levels


# --- paths and kinds per step ---------------------------------------------------------------


def test_description_writes_about(settings: Settings) -> None:
    writing = write(brief(Step.DESCRIPTION, GARDEN_IDEA, GARDEN_CONSTRAINTS), settings, TODAY)

    assert [(d.path, d.kind) for d in writing.documents] == [("docs/about.md", "about")]
    about = writing.documents[0].content_md
    for section in (
        "## Problem and context",
        "## Target users",
        "## Goals",
        "## Non-goals",
        "## Key features",
        "## Constraints",
        "## Assumptions",
        "## Open questions",
        "## Success metrics",
    ):
        assert section in about
    assert "community gardens" in about
    assert "Members book shared tools" in about
    assert "Two developers" in about


def test_architecture_writes_c4_diagrams_and_linked_adrs(settings: Settings) -> None:
    writing = write_package(settings)[Step.ARCHITECTURE]
    documents = by_path(writing)
    architecture = documents.pop("docs/architecture.md")

    assert documents, "at least one ADR"
    assert all(ADR_PATH.match(path) for path in documents)
    assert [d.kind for d in writing.documents] == ["architecture"] + ["adr"] * len(documents)
    for block in ("```mermaid\nC4Context", "```mermaid\nC4Container", "```mermaid\nC4Component"):
        assert block in architecture
    for path in documents:
        assert f"]({path.removeprefix('docs/')})" in architecture
    assert "Sync Service" in architecture  # offline use in the idea
    assert "Scheduling Service" in architecture  # "schedule plots"


def test_adr_has_the_package_layout(settings: Settings) -> None:
    writing = write_package(settings)[Step.ARCHITECTURE]
    adr = next(d.content_md for d in writing.documents if d.kind == "adr")
    lines = adr.splitlines()

    assert re.match(r"^# ADR-001: \S", lines[0])
    assert lines[1] == lines[3] == ""  # markdownlint: a blank line after every heading
    assert lines[2] == "Date: 2026-01-15"
    assert lines[4] in ("Status: Proposed", "Status: Accepted", "Status: Deprecated")
    sections = [line for line in lines if line.startswith("## ")]
    assert sections == ["## Context", "## Options", "## Decision", "## Consequences"]
    assert "Pros:" in adr and "Cons:" in adr


def test_plan_starts_with_infrastructure_and_ends_with_testing(settings: Settings) -> None:
    writing = write_package(settings)[Step.PLAN]
    paths = [d.path for d in writing.documents]

    assert paths[0] == "docs/plans/overview.md"
    assert writing.documents[0].kind == "plan_overview"
    epics = [EPIC_PATH.match(path) for path in paths[1:]]
    assert all(epics) and all(d.kind == "epic" for d in writing.documents[1:])
    numbers = [int(match[1]) for match in epics if match]
    assert numbers == list(range(1, len(numbers) + 1))
    assert paths[1] == "docs/plans/01-infrastructure.md"
    assert paths[-1].endswith("-testing.md")
    assert "docs/plans/02-authentication.md" in paths
    for document in writing.documents[1:]:
        for section in (
            "## Goal",
            "## Scope",
            "## Tasks",
            "## Dependencies",
            "## Acceptance criteria",
            "## Estimated effort",
        ):
            assert section in document.content_md


def test_plan_epics_follow_the_architecture_components(settings: Settings) -> None:
    writings = write_package(settings)
    architecture = by_path(writings[Step.ARCHITECTURE])["docs/architecture.md"]
    paths = [d.path for d in writings[Step.PLAN].documents]

    assert "Sync Service" in architecture and any(p.endswith("-offline-sync.md") for p in paths)
    assert "Scheduling Service" in architecture and any(p.endswith("-scheduling.md") for p in paths)


def test_standards_writes_specs(settings: Settings) -> None:
    writing = write_package(settings)[Step.STANDARDS]

    assert [(d.path, d.kind) for d in writing.documents] == [("docs/specs.md", "specs")]
    specs = writing.documents[0].content_md
    for section in (
        "## Coding standards",
        "## Repository and branching",
        "## Code review",
        "## Testing strategy",
        "## Quality gates in CI",
        "## Documentation standards",
        "## Definition of Done",
        "## Non-functional requirements",
        "## Security standards",
    ):
        assert section in specs
    assert "p95 <= " in specs
    assert "### Python" in specs and "### TypeScript" in specs


# --- structure -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("idea", "constraints"), [(GARDEN_IDEA, GARDEN_CONSTRAINTS), (CLINIC_IDEA, CLINIC_CONSTRAINTS)]
)
def test_headings_never_skip_a_level(settings: Settings, idea: str, constraints: str) -> None:
    for writing in write_package(settings, idea, constraints).values():
        for document in writing.documents:
            levels = headings(document.content_md)
            assert levels[0] == 1 and levels.count(1) == 1, document.path
            steps = [after - before for before, after in itertools.pairwise(levels)]
            assert max(steps) <= 1, document.path


def test_text_from_a_contract_cannot_start_a_heading() -> None:
    contract = _about_contract(context="Background.\n# Injected heading\nMore text.")
    about = render_contract(contract, TODAY)[0].content_md

    assert "\\# Injected heading" in about
    assert headings(about).count(1) == 1


def test_adr_and_epic_file_names_are_sanitised() -> None:
    decision = KeyDecision(
        title="Use Ünïcode & Spaces / Slashes!!",
        status="Accepted",
        context="c",
        options=[DecisionOption(name="A", pros=["p"], cons=["c"])],
        decision="d",
        positive_consequences=[],
        negative_consequences=[],
        risks=[],
        monitoring=[],
    )
    assert render_adr(7, decision, TODAY).path == "docs/adr/ADR-007-use-unicode-spaces-slashes.md"

    plan = _plan_contract(["Payments (Stripe)", "Tests & QA", "Infrastructure"])
    paths = [d.path for d in render_plan(plan)]
    assert paths[1:] == [
        "docs/plans/01-infrastructure.md",
        "docs/plans/02-payments-stripe.md",
        "docs/plans/03-tests-qa.md",
    ]


def test_render_puts_infrastructure_first_and_testing_last() -> None:
    plan = _plan_contract(["Testing", "Payments", "Infrastructure", "Search"])
    paths = [d.path for d in render_plan(plan)]

    assert paths[1:] == [
        "docs/plans/01-infrastructure.md",
        "docs/plans/02-payments.md",
        "docs/plans/03-search.md",
        "docs/plans/04-testing.md",
    ]


# --- content follows the idea and the feedback ---------------------------------------------------


def test_two_ideas_give_different_packages(settings: Settings) -> None:
    garden = write_package(settings)
    clinic = write_package(settings, CLINIC_IDEA, CLINIC_CONSTRAINTS)

    for step in Step:
        assert by_path(garden[step]) != by_path(clinic[step])
    garden_architecture = by_path(garden[Step.ARCHITECTURE])["docs/architecture.md"]
    clinic_architecture = by_path(clinic[Step.ARCHITECTURE])["docs/architecture.md"]
    assert "Sync Service" in garden_architecture and "Sync Service" not in clinic_architecture
    assert "Payment Service" in clinic_architecture and "Payment Service" not in garden_architecture
    assert "Audit Log" in clinic_architecture  # health data
    assert "AWS" in clinic_architecture and "EU region" in garden_architecture
    assert "Mobile app" in garden_architecture and "Web app" in clinic_architecture


def test_feedback_shows_up_in_the_next_version(settings: Settings) -> None:
    first = write(brief(Step.DESCRIPTION, GARDEN_IDEA, GARDEN_CONSTRAINTS), settings, TODAY)
    feedback = ["Add online payments for the yearly plot fee", "Also add a harvest leaderboard"]
    second = write(
        brief(Step.DESCRIPTION, GARDEN_IDEA, GARDEN_CONSTRAINTS, feedback=feedback), settings, TODAY
    )
    before, after = first.documents[0].content_md, second.documents[0].content_md

    assert "## Revision notes" not in before and "## Revision notes" in after
    for item in feedback:
        assert f"> {item}" in after
    assert "Online payments" in after and "Online payments" not in before
    assert "A harvest leaderboard" in after


def test_architecture_feedback_changes_the_stack(settings: Settings) -> None:
    about = write(
        brief(Step.DESCRIPTION, GARDEN_IDEA, GARDEN_CONSTRAINTS), settings, TODAY
    ).documents
    revised = write(
        brief(
            Step.ARCHITECTURE,
            GARDEN_IDEA,
            GARDEN_CONSTRAINTS,
            upstream=about,
            feedback=["Use Go instead of Python"],
        ),
        settings,
        TODAY,
    )
    documents = by_path(revised)

    assert "Go 1.22 with chi" in documents["docs/architecture.md"]
    assert "docs/adr/ADR-002-write-the-api-in-go.md" in documents
    assert "> Use Go instead of Python" in documents["docs/architecture.md"]


def test_plan_feedback_becomes_a_task(settings: Settings) -> None:
    feedback = {Step.PLAN: ["Print QR labels for every shared tool"]}
    plan = write_package(settings, feedback=feedback)[Step.PLAN]

    tasks = [d for d in plan.documents if "- [ ] Revision 1: Print QR labels" in d.content_md]
    assert len(tasks) == 1 and tasks[0].kind == "epic"
    assert "> Print QR labels for every shared tool" in plan.documents[0].content_md


def test_accepted_upstream_changes_reach_later_steps(settings: Settings) -> None:
    feedback = {Step.DESCRIPTION: ["We also need online payments for plot fees"]}
    writings = write_package(settings, feedback=feedback)

    assert "Payment Service" in by_path(writings[Step.ARCHITECTURE])["docs/architecture.md"]
    assert any(d.path.endswith("-payments.md") for d in writings[Step.PLAN].documents)
    assert "minor units" in writings[Step.STANDARDS].documents[0].content_md


def test_same_brief_gives_identical_documents(settings: Settings) -> None:
    step_brief = brief(Step.ARCHITECTURE, GARDEN_IDEA, GARDEN_CONSTRAINTS, feedback=["Use Go"])

    first = write(step_brief, settings, TODAY)
    second = write(step_brief, settings, TODAY)

    assert first.model_dump_json() == second.model_dump_json()


_DIGEST_SCRIPT = """
import hashlib, json, sys
from datetime import date
from docflow.agents.contracts import CONTRACT_FOR_STEP
from docflow.offline.writer import draft_contract
from docflow.agents.render import render_contract
from docflow.contracts import StepBrief
brief = StepBrief.model_validate_json(sys.argv[1])
documents = render_contract(draft_contract(brief, CONTRACT_FOR_STEP[brief.step]), date(2026, 1, 15))
payload = json.dumps([d.model_dump() for d in documents]).encode()
print(hashlib.sha256(payload).hexdigest())
assert "crewai" not in sys.modules, "drafting and rendering must not import CrewAI"
"""


@pytest.mark.parametrize("step", list(Step))
def test_drafts_do_not_depend_on_hash_randomisation(step: Step) -> None:
    step_brief = brief(step, GARDEN_IDEA, GARDEN_CONSTRAINTS, feedback=["Add a map of plots"])
    digests = {
        _run_python(_DIGEST_SCRIPT, step_brief.model_dump_json(), hash_seed=seed)
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1


# --- the writer and CrewAI ------------------------------------------------------------------------


def test_the_writer_reports_itself_as_offline(settings: Settings) -> None:
    writing = write(brief(Step.DESCRIPTION, GARDEN_IDEA, ""), settings, TODAY)

    assert writing.writer == "docflow-offline-writer/1 (deterministic, offline; no LLM)"
    assert writing.writer == OFFLINE_WRITER_LABEL
    assert (writing.tokens_in, writing.tokens_out) == (0, 0)


def test_every_section_reports_start_and_finish(settings: Settings) -> None:
    events: list[SectionEvent] = []

    async def record(event: SectionEvent) -> None:
        events.append(event)

    write(brief(Step.PLAN, GARDEN_IDEA, ""), settings, on_event=record)

    started = [e.key for e in events if e.kind == "section_started"]
    finished = [e.key for e in events if e.kind == "section_finished"]
    assert sorted(started) == sorted(finished) and len(set(started)) == len(started)
    assert {"overview", "epics", "phases", "risks", "epic/0"} <= set(started)
    assert started.index("epics") < min(started.index(k) for k in started if "/" in k)


def test_simulated_latency_sleeps_per_section_and_sections_run_concurrently(
    settings: Settings,
) -> None:
    slow = settings.model_copy(update={"llm_offline_latency_ms": 300})
    started = time.perf_counter()
    write(brief(Step.DESCRIPTION, GARDEN_IDEA, ""), slow)
    elapsed = time.perf_counter() - started

    assert 0.3 <= elapsed < 7 * 0.3  # seven independent sections, not one after another


def test_concurrent_writes_of_one_brief_are_identical(settings: Settings) -> None:
    step_brief = brief(Step.STANDARDS, GARDEN_IDEA, GARDEN_CONSTRAINTS)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: write(step_brief, settings), range(2)))

    assert results[0] == results[1]


def test_openai_provider_selects_the_crewai_writer_without_calling_it(settings: Settings) -> None:
    remote = settings.model_copy(
        update={
            "llm_provider": "openai",
            "llm_model": "gpt-4o-mini",
            "llm_api_key": SecretStr("sk-test"),
            "llm_base_url": "http://127.0.0.1:9/v1",
        }
    )
    writer = select_writer(remote, Step.DESCRIPTION)

    assert writer.label == "gpt-4o-mini"
    assert not isinstance(writer, OfflineWriter)


def test_unknown_provider_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="llm_provider"):
        Settings(llm_provider="carrier-pigeon")


def test_the_api_side_modules_do_not_import_crewai() -> None:
    script = (
        "import sys\n"
        "import docflow.agents, docflow.agents.contracts, docflow.agents.render\n"
        "print('crewai' in sys.modules)\n"
    )
    assert _run_python(script) == "False"


def test_the_offline_writer_and_the_activities_do_not_import_crewai() -> None:
    script = (
        "import asyncio, sys, datetime\n"
        "import activities.steps, workflows.project_flow\n"
        "from docflow.agents.compose import write_step\n"
        "from docflow.contracts import Step, StepBrief\n"
        "from docflow.settings import Settings\n"
        "b = StepBrief(step=Step.DESCRIPTION, project_name='X', idea='A shared tool shed.')\n"
        "asyncio.run(write_step(b, Settings(), datetime.date(2026, 1, 1)))\n"
        "print('crewai' in sys.modules)\n"
    )
    assert _run_python(script) == "False"


def test_crew_module_sets_crewai_defaults_but_not_otel() -> None:
    script = (
        "import os\n"
        "import docflow.agents.crew\n"
        "names = ['CREWAI_DISABLE_TELEMETRY', 'CREWAI_TRACING_ENABLED',"
        " 'CREWAI_DISABLE_VERSION_CHECK', 'OTEL_SDK_DISABLED']\n"
        "print(','.join(str(os.environ.get(n)) for n in names))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREWAI_", "OTEL_SDK"))}
    assert _run_python(script, env=env) == "true,false,true,None"


# --- helpers ------------------------------------------------------------------------------------


def _run_python(
    script: str, *args: str, hash_seed: str = "0", env: dict[str, str] | None = None
) -> str:
    environment = {**(env if env is not None else os.environ), "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
        cwd=Path(__file__).resolve().parents[2],
    )
    return done.stdout.strip().splitlines()[-1]


def _about_contract(context: str) -> ProjectDescription:
    return ProjectDescription(
        project_name="X",
        summary="s",
        problem="p",
        context=context,
        users=[],
        goals=[],
        non_goals=[],
        features=[],
        constraints=[],
        assumptions=[],
        open_questions=[],
        success_metrics=[],
        revision_notes=[],
    )


def _plan_contract(epic_names: list[str]) -> ImplementationPlan:
    epics = [
        Epic(
            name=name,
            goal="g",
            scope=[],
            out_of_scope=[],
            tasks=[],
            depends_on=[],
            acceptance_criteria=[],
            effort_days=1,
            start_week=1,
            end_week=1,
        )
        for name in epic_names
    ]
    return ImplementationPlan(
        project_name="X",
        strategy="s",
        team="t",
        phases=[],
        milestones=[],
        epics=epics,
        schedule_risks=[],
        revision_notes=[],
    )
