"""The description's clarifying questions and their answers (``docflow.clarify``).

The questions are those of the project's latest about.md, plus any answered earlier; an
answer is kept with the project, one version per change, with who gave it and when.
Every later step's agent works from the current answers. "Revise with answers" is this
PUT, then a ``revise`` decision at the description gate with the ``revision_feedback``
the GET answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException
from pydantic import Field
from sqlalchemy.exc import IntegrityError

from api.deps import ProjectAccess, ProjectForEditor, ProjectForViewer, StateDep, tenant_repository
from api.schemas import RequestModel, ResponseModel
from docflow.agents.render import ABOUT_PATH
from docflow.clarify import MAX_ANSWER, known_questions, questions_of
from docflow.contracts import ANSWERS_REVISION, ClarifyingAnswer, ClarifyingQuestion
from docflow.quality.parse import parse
from docflow.storage.models import Clarification
from docflow.storage.repositories import TenantRepository

router = APIRouter(prefix="/api/v1/projects/{project_id}/questions", tags=["questions"])
QuestionId = Annotated[str, Field(pattern=r"^Q-\d{3}$", examples=["Q-002"])]


class AnswerPublic(ResponseModel):
    version: int
    answer: str  # "" once withdrawn
    answered_by: str
    answered_at: datetime


class QuestionPublic(ResponseModel):
    id: str
    question: str
    why: str
    suggested_answers: list[str]
    answer: AnswerPublic | None  # the current one; None when unanswered or withdrawn
    history: list[AnswerPublic]  # every answer given, oldest first


class QuestionsPublic(ResponseModel):
    about_version: int | None  # the version of about.md the open questions come from
    questions: list[QuestionPublic]
    # The feedback of a revise decision that asks for a version written from the answers.
    revision_feedback: str = ANSWERS_REVISION


class AnswerIn(RequestModel):
    question_id: QuestionId
    answer: Annotated[str, Field(max_length=MAX_ANSWER)]  # "" withdraws an answer


class AnswersIn(RequestModel):
    answers: Annotated[list[AnswerIn], Field(min_length=1, max_length=50)]


async def _latest_about(
    repo: TenantRepository, access: ProjectAccess
) -> tuple[int | None, list[ClarifyingQuestion]]:
    latest = await repo.latest_version_at(access.project.id, ABOUT_PATH)
    if latest is None:
        return None, []
    return latest.version, questions_of(parse(latest.content_md))


def _public(row: Clarification) -> AnswerPublic:
    return AnswerPublic(version=row.version, answer=row.answer, answered_by=row.answered_by,
                        answered_at=row.created_at)  # fmt: skip


async def _questions(repo: TenantRepository, access: ProjectAccess) -> QuestionsPublic:
    version, listed = await _latest_about(repo, access)
    rows = await repo.clarifications(access.project.id)
    current = [ClarifyingAnswer(question_id=r.question_id, question=r.question, answer=r.answer)
               for r in (await repo.current_answers(access.project.id)).values()]  # fmt: skip
    questions = []
    for question in known_questions(listed, current):
        history = [_public(row) for row in rows if row.question_id == question.id]
        latest = history[-1] if history and history[-1].answer else None
        questions.append(
            QuestionPublic(id=question.id, question=question.question, why=question.why,
                           suggested_answers=question.suggested_answers, answer=latest,
                           history=history)
        )  # fmt: skip
    return QuestionsPublic(about_version=version, questions=questions)


@router.get("", summary="The description's clarifying questions with their answers")
async def list_questions(access: ProjectForViewer, state: StateDep) -> QuestionsPublic:
    async with tenant_repository(state, access.principal.tenant_id) as repo:
        return await _questions(repo, access)


@router.put("", summary="Answer clarifying questions (an empty answer withdraws one)")
async def answer_questions(
    body: AnswersIn, access: ProjectForEditor, state: StateDep
) -> QuestionsPublic:
    try:
        async with tenant_repository(state, access.principal.tenant_id) as repo:
            known = {q.id: q for q in (await _questions(repo, access)).questions}
            unknown = [a.question_id for a in body.answers if a.question_id not in known]
            if unknown:
                raise HTTPException(
                    422, detail=f"{unknown[0]} is not one of the project's clarifying questions"
                )
            answers = [(a.question_id, known[a.question_id].question, a.answer)
                       for a in body.answers]  # fmt: skip
            await repo.save_answers(access.project.id, answers, access.principal.subject)
    except IntegrityError as error:  # another answer to the same question was saved meanwhile
        raise HTTPException(
            409, detail="the answers changed meanwhile: load them and try again"
        ) from error
    async with tenant_repository(state, access.principal.tenant_id) as repo:
        return await _questions(repo, access)
