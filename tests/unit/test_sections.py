"""The sections steps are written in (``sections.yaml``) and the roles (``roles.yaml``)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from docflow.agents.contracts import CONTRACT_FOR_STEP, EpicHeading, EpicOutline
from docflow.agents.openai_chat import contract_schema
from docflow.agents.prompts import roles
from docflow.agents.sections import (
    SectionSpec,
    rewrite_keys,
    section_contract,
    sections_of,
    step_sections,
)
from docflow.contracts import STEPS, Step


def test_every_step_has_sections_and_a_role() -> None:
    assert set(step_sections()) == set(STEPS) == set(roles())
    for step in STEPS:
        assert len(sections_of(step)) >= 5


@pytest.mark.parametrize("step", STEPS)
def test_each_section_contract_is_a_small_part_of_the_step_contract(step: Step) -> None:
    whole = len(json.dumps(contract_schema(CONTRACT_FOR_STEP[step])))
    parts = [len(json.dumps(contract_schema(section_contract(step, s.id))))
             for s in sections_of(step)]  # fmt: skip
    assert max(parts) <= whole / 2
    assert max(parts) < 1200  # characters of schema a small model reads per call


def test_a_section_fills_fields_or_an_outline_or_its_items_never_two() -> None:
    with pytest.raises(ValidationError, match="exactly one of"):
        SectionSpec(id="x", contract="Xy", fields=["goals"], each="y", max_tokens=100,
                    ask="write the goals")  # fmt: skip


def test_the_epic_outline_states_its_minimums() -> None:
    def heading(name: str) -> EpicHeading:
        return EpicHeading(name=name, goal="g", depends_on=[])

    names = ["Infrastructure", "Booking", "Payments", "Reminders", "Testing"]
    assert len(EpicOutline(epics=[heading(n) for n in names]).epics) == 5
    with pytest.raises(ValidationError, match="at least 5"):
        EpicOutline(epics=[heading(n) for n in ("Infrastructure", "Booking", "Testing")])
    reordered = EpicOutline(epics=[heading(n) for n in reversed(names)])
    assert [e.name for e in reordered.epics] == ["Infrastructure", "Reminders", "Payments",
                                                 "Booking", "Testing"]  # fmt: skip
    with pytest.raises(ValidationError, match="first epic must be 'Infrastructure'"):
        EpicOutline(epics=[heading(n) for n in ("Setup", "Booking", "Pay", "Remind", "Testing")])


def test_a_quality_revision_rewrites_only_the_sections_behind_the_findings() -> None:
    adr = rewrite_keys(Step.ARCHITECTURE, ["docs/adr/ADR-003-use-postgresql.md"])
    assert adr == {"decision/2", "revision"}
    epic = rewrite_keys(Step.PLAN, ["docs/plans/04-booking.md", "docs/plans/01-infrastructure.md"])
    assert epic == {"epic/3", "epic/0", "revision"}
    main = rewrite_keys(Step.ARCHITECTURE, ["docs/architecture.md"])
    assert {"narrative", "containers", "components", "stack", "revision"} <= main
    assert "decisions" not in main and not any("/" in key for key in main)  # ADRs kept
    about = rewrite_keys(Step.DESCRIPTION, ["docs/about.md"])
    assert about == {spec.id for spec in sections_of(Step.DESCRIPTION)}
