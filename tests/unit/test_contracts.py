"""The decision rules shared by the workflow's validator and the API."""

from __future__ import annotations

from uuid import uuid4

import pytest

from docflow.contracts import (
    Action,
    Decision,
    Gate,
    PassageComment,
    Step,
    VersionRef,
    decision_problem,
    revision_feedback,
)

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


COMMENT = PassageComment(path="docs/about.md", quote="Harbour\n  masters", text="Name them.")


def test_comments_alone_make_a_revision_and_quote_their_passages() -> None:
    decision = Decision(step=Step.DESCRIPTION, action=Action.REVISE, comments=[COMMENT, COMMENT])
    assert decision_problem(decision, GATE) is None
    assert revision_feedback(decision) == (
        "Comments on passages:\n"
        '1. On "Harbour masters" in docs/about.md: Name them.\n'
        '2. On "Harbour masters" in docs/about.md: Name them.'
    )


def test_feedback_comes_before_the_comments_and_alone_is_unchanged() -> None:
    alone = Decision(step=Step.DESCRIPTION, action=Action.REVISE, feedback="  Shorter. ")
    assert revision_feedback(alone) == "Shorter."
    both = alone.model_copy(update={"comments": [COMMENT]})
    assert revision_feedback(both).startswith("Shorter.\nComments on passages:\n1. On ")


def test_comments_go_with_a_revision_only_and_are_checked_for_control_characters() -> None:
    approve = Decision(step=Step.DESCRIPTION, action=Action.APPROVE, comments=[COMMENT])
    assert "go with a revision" in (decision_problem(approve, GATE) or "")
    elsewhere = COMMENT.model_copy(update={"path": "docs/architecture.md"})
    revise_elsewhere = Decision(step=Step.DESCRIPTION, action=Action.REVISE, comments=[elsewhere])
    assert "not part of the 'description' gate" in (decision_problem(revise_elsewhere, GATE) or "")
    hostile = COMMENT.model_copy(update={"text": "bad\x00"})
    revise = Decision(step=Step.DESCRIPTION, action=Action.REVISE, comments=[hostile])
    assert "comment must not contain" in (decision_problem(revise, GATE) or "")
