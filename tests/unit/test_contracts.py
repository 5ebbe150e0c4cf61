"""The decision rules shared by the workflow's validator and the API."""

from __future__ import annotations

from uuid import uuid4

import pytest

from docflow.contracts import Action, Decision, Gate, Step, VersionRef, decision_problem

ABOUT = VersionRef(
    document_id=uuid4(), version_id=uuid4(), path="docs/about.md", kind="about", version=2
)
GATE = Gate(step=Step.DESCRIPTION, number=1, versions=[ABOUT])


def test_approve_of_the_current_version_is_fine() -> None:
    decision = Decision(step=Step.DESCRIPTION, action=Action.APPROVE, version=2)
    assert decision_problem(decision, GATE) is None


@pytest.mark.parametrize(
    ("decision", "gate", "expected"),
    [
        (Decision(step=Step.DESCRIPTION, action=Action.APPROVE), None, "no approval gate"),
        (Decision(step=Step.PLAN, action=Action.APPROVE), GATE, "wrong step"),
        (Decision(step=Step.DESCRIPTION, action=Action.APPROVE, version=1), GATE, "stale"),
        (Decision(step=Step.DESCRIPTION, action=Action.REVISE, feedback=" "), GATE, "feedback"),
        (
            Decision(step=Step.DESCRIPTION, action=Action.EDIT, document_id=ABOUT.document_id),
            GATE,
            "non-empty Markdown",
        ),
        (Decision(step=Step.DESCRIPTION, action=Action.EDIT, content="# x"), GATE, "document_id"),
        (
            Decision(step=Step.DESCRIPTION, action=Action.EDIT, content="# x", document_id=uuid4()),
            GATE,
            "not part of",
        ),
        (  # the Update validator is the second wall behind the API's request models
            Decision(
                step=Step.DESCRIPTION,
                action=Action.EDIT,
                content="# x\u0000",
                document_id=ABOUT.document_id,
            ),
            GATE,
            "content must not contain NUL",
        ),
        (
            Decision(step=Step.DESCRIPTION, action=Action.REVISE, feedback="a\u001b[2J"),
            GATE,
            "feedback must not contain NUL, control characters",
        ),
    ],
)
def test_problems_are_named(decision: Decision, gate: Gate | None, expected: str) -> None:
    problem = decision_problem(decision, gate)
    assert problem is not None and expected in problem
