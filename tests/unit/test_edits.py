"""Which agent text a person's edits were made on, and which version's edits are carried."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from activities.edits import agent_text_under, carried_version
from docflow.storage.models import DocumentVersion


def _version(number: int, source: str, **meta: Any) -> DocumentVersion:
    return DocumentVersion(
        tenant_id=uuid4(), project_id=uuid4(), document_id=uuid4(), version=number,
        content_md=f"v{number}", source=source, created_by="someone", writer="w",
        idempotency_key=f"k{number}", meta=meta,
    )  # fmt: skip


def _by_number(*versions: DocumentVersion) -> dict[int, DocumentVersion]:
    return {version.version: version for version in versions}


def test_an_agents_version_holds_no_edit() -> None:
    agent = _version(1, "agent")
    assert agent_text_under(_by_number(agent), agent) is None


def test_stacked_edits_go_back_to_the_agent_text_under_them() -> None:
    agent, first, second = (
        _version(1, "agent"),
        _version(2, "edit", edited_from=1),
        _version(3, "edit", edited_from=2),
    )
    assert agent_text_under(_by_number(agent, first, second), second) is agent


def test_under_a_merge_is_the_agents_own_version_it_merged_into() -> None:
    versions = [
        _version(1, "agent"), _version(2, "edit", edited_from=1), _version(3, "agent"),
        _version(4, "merge", merge={"agent_version": 3, "edit_version": 2, "base_version": 1}),
        _version(5, "edit", edited_from=4),
    ]  # fmt: skip
    by_number = _by_number(*versions)
    assert agent_text_under(by_number, versions[3]) is versions[2]
    assert agent_text_under(by_number, versions[4]) is versions[2]


def test_an_edit_saved_without_its_origin_was_made_on_the_version_before() -> None:
    agent, edit = _version(1, "agent"), _version(2, "edit")
    assert agent_text_under(_by_number(agent, edit), edit) is agent


def test_the_gates_version_is_carried_else_the_accepted_one() -> None:
    accepted, at_gate = _version(1, "edit"), _version(2, "agent")
    accepted.accepted = True
    assert carried_version([accepted, at_gate], {at_gate.id}) is at_gate
    assert carried_version([accepted, at_gate], set()) is accepted
    assert carried_version([at_gate], set()) is None
