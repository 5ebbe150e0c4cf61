"""Clarifying questions: their stable ids, read back from about.md, and their answers.

The Business Analyst lists open questions; about.md gives each an id (``Q-001``) in its
"Open questions" table, kept across versions like the requirements' ids. A person answers
some or all of them at the gate (``PUT .../questions``); the answers are stored with the
project (``storage.models.Clarification``, one version per change), given to every later
step's agent in its brief, and shown in about.md under "Decisions from clarification",
where the answered questions leave the open ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from docflow.contracts import ClarifyingAnswer, ClarifyingQuestion
from docflow.ids import stable_ids
from docflow.quality.parse import ParsedDocument
from docflow.quality.sections import normalise

PREFIX = "Q"
SUGGESTION_SEPARATOR = "; "
OPEN_QUESTIONS = "open questions"
MAX_ANSWER = 2000  # characters of one answer


def question_ids(questions: Sequence[str], known: Sequence[ClarifyingQuestion]) -> list[str]:
    """An id for each question: the one it had (same words), else a number never used."""
    return stable_ids(PREFIX, questions, [(q.id, q.question) for q in known])


def questions_of(parsed: ParsedDocument) -> list[ClarifyingQuestion]:
    """The open questions of about.md: the rows of the table under "Open questions"."""
    section = next((s for s in parsed.sections if normalise(s.title) == OPEN_QUESTIONS), None)
    if section is None:
        return []
    found: list[ClarifyingQuestion] = []
    for block in section.blocks:
        if block.kind != "table" or not block.rows:
            continue
        header = [normalise(title) for title in block.rows[0]]
        if header[:2] != ["id", "question"]:
            continue
        for row in block.rows[1:]:
            cells = [*row, "", "", ""][:4]
            if not cells[0].startswith(f"{PREFIX}-") or not cells[1].strip():
                continue
            suggestions = [s.strip() for s in cells[3].split(SUGGESTION_SEPARATOR) if s.strip()]
            found.append(
                ClarifyingQuestion(id=cells[0].strip(), question=cells[1].strip(),
                                   why=cells[2].strip(), suggested_answers=suggestions)
            )  # fmt: skip
    return found


def known_questions(
    latest: Sequence[ClarifyingQuestion], answers: Sequence[ClarifyingAnswer]
) -> list[ClarifyingQuestion]:
    """The questions a new description must keep the ids of: those of the latest about.md
    and those answered earlier (no longer listed as open)."""
    listed = {q.id for q in latest}
    answered = [
        ClarifyingQuestion(id=a.question_id, question=a.question)
        for a in answers
        if a.question_id not in listed
    ]
    return [*latest, *answered]
