"""Clarifying questions (``docflow.clarify``) through the offline writer: ids that hold
across versions, answers shown in about.md, and answers that change what later steps
write."""

from __future__ import annotations

from pathlib import Path

from docflow.clarify import known_questions, question_ids, questions_of
from docflow.contracts import ANSWERS_REVISION, ClarifyingAnswer, ClarifyingQuestion, Step
from docflow.quality.parse import parse
from docflow.samples import sample_idea
from tests.offline import write

IDEA = sample_idea()
CONSTRAINTS = "Members' personal data stays in the EU."  # no team, time or budget


def section(markdown: str, title: str) -> str:
    return markdown.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_question_ids_are_kept_by_their_words() -> None:
    known = [ClarifyingQuestion(id="Q-001", question="Who pays?"),
             ClarifyingQuestion(id="Q-004", question="Which app stores?")]  # fmt: skip

    assert question_ids(["Which app stores?", "Who hosts it?", "who pays"], known) == [
        "Q-004",
        "Q-005",
        "Q-001",
    ]


def test_answered_questions_stay_known_after_they_leave_the_open_list() -> None:
    latest = [ClarifyingQuestion(id="Q-002", question="Who hosts it?")]
    answers = [ClarifyingAnswer(question_id="Q-001", question="Who pays?", answer="The city.")]

    assert [q.id for q in known_questions(latest, answers)] == ["Q-002", "Q-001"]


def test_the_first_draft_lists_questions_with_ids_why_and_suggestions(tmp_path: Path) -> None:
    about = write(Step.DESCRIPTION, IDEA, CONSTRAINTS, [], tmp_path)[0].content_md

    questions = questions_of(parse(about))

    assert [q.id for q in questions] == [f"Q-{n:03d}" for n in range(1, len(questions) + 1)]
    assert all(q.why for q in questions) and any(q.suggested_answers for q in questions)
    assert "## Decisions from clarification" not in about


def test_answers_are_decisions_and_change_the_next_version(tmp_path: Path) -> None:
    first = write(Step.DESCRIPTION, IDEA, CONSTRAINTS, [], tmp_path)[0].content_md
    asked = questions_of(parse(first))
    team = next(q for q in asked if q.question.startswith("How many people"))
    answers = [ClarifyingAnswer(question_id=team.id, question=team.question,
                                answer="Two developers, launching within 10 weeks.")]  # fmt: skip

    second = write(Step.DESCRIPTION, IDEA, CONSTRAINTS, [], tmp_path, feedback=[ANSWERS_REVISION],
                   known_questions=asked, answers=answers)[0].content_md  # fmt: skip

    assert team.id in section(second, "Decisions from clarification")
    still_open = questions_of(parse(second))
    assert team.id not in {q.id for q in still_open}
    kept = {q.question: q.id for q in asked}
    assert all(kept[q.question] == q.id for q in still_open), "open questions keep their ids"
    assert "each of the 2 developers" in section(second, "Assumptions")
    features = section(second, "Key features")
    assert "clarifying questions" not in features  # the answers are no feature request
    plan = write(Step.PLAN, IDEA, CONSTRAINTS, [], tmp_path, answers=answers)
    assert "2 developers (as stated)" in plan[0].content_md
