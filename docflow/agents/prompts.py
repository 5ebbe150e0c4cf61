"""What a model is asked, section by section, with stable context first.

A section's prompt starts with what every section of the step shares (the idea, its
constraints, the accepted upstream documents the role reads, memory passages), so a local
server reuses that prefix from one section to the next; what changes per section (the
ask, the outline item, earlier answers) follows, and review feedback comes last. The
schema is not in the prompt: the request carries it (``docflow.agents.structured``).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, Field

from docflow.agents.writer import SectionBrief
from docflow.contracts import Step, StepBrief

_MERMAID = re.compile(r"```mermaid\n.*?```\n?", re.DOTALL)
_REVISION_NOTES = re.compile(r"^## Revision notes\n.*", re.DOTALL | re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


class Reading(BaseModel):
    """The parts of one upstream document a role's prompts carry."""

    kind: str
    headings: list[str] = Field(default_factory=list)  # none: the whole document


class Role(BaseModel):
    goal: str
    backstory: str
    reads: list[Reading]


@cache
def roles() -> dict[Step, Role]:
    raw = yaml.safe_load(resources.files("docflow.agents").joinpath("roles.yaml").read_text())
    return {Step(step): Role.model_validate(role) for step, role in raw.items()}


def role_of(step: Step) -> Role:
    return roles()[step]


def _part(title: str, body: str) -> str:
    return f"## {title}\n\n{body.strip() or 'None.'}"


def parts_under(markdown: str, headings: list[str]) -> str:
    """The parts of a document under headings that start with one of ``headings``, each
    up to the next heading of its level or higher; the whole document without headings."""
    if not headings:
        return markdown
    kept: list[str] = []
    level = 0  # > 0 while inside a wanted part: its heading's level
    for line in markdown.splitlines():
        found = _HEADING.match(line)
        if found and level and len(found.group(1)) <= level:
            level = 0
        if found and not level and found.group(2).startswith(tuple(headings)):
            level = len(found.group(1))
        if level:
            kept.append(line)
    return "\n".join(kept)


def upstream_digest(markdown: str, limit: int, headings: list[str] | None = None) -> str:
    """An accepted document as context: the parts a role needs, without diagrams and
    revision notes, capped at ``limit`` characters."""
    text = _REVISION_NOTES.sub("", _MERMAID.sub("", parts_under(markdown, headings or [])))
    text = text.strip()
    return text if len(text) <= limit else f"{text[:limit].rsplit(' ', 1)[0]} [...]"


def step_context(brief: StepBrief, upstream_chars: int) -> str:
    """The part every section of a step shares, word for word."""
    reads = {reading.kind: reading.headings for reading in role_of(brief.step).reads}
    upstream = "\n\n".join(
        f"### {doc.path}\n\n{upstream_digest(doc.content_md, upstream_chars, reads[doc.kind])}"
        for doc in brief.upstream
        if doc.kind in reads
    )
    memory = "\n".join(
        f"- {chunk.path} (v{chunk.version}): {' '.join(chunk.text.split())[:400]}"
        for chunk in brief.memory
    )
    answers = "\n".join(
        f"- {answer.question_id} ({answer.question}): {answer.answer}" for answer in brief.answers
    )
    return "\n\n".join(
        [
            f"You are writing the {brief.step.value} of the project \u201c{brief.project_name}"
            "\u201d for its documentation package, one section at a time.",
            _part("Idea", brief.idea),
            _part("Constraints", brief.constraints),
            _part("Answers to clarifying questions (facts: use them, do not ask again)", answers),
            _part("Accepted upstream documents (stay consistent with them)", upstream),
            _part("Relevant passages from project memory", memory),
        ]
    )


def section_request(section: SectionBrief) -> str:
    """The part that changes per section: what to write now, and the feedback last."""
    call = section.call
    parts = [f"Section key: {call.key}", _part(f"Write now: {call.contract_name}", call.ask)]
    if call.item is not None:
        parts.append(_part(f"The item to write (number {call.item + 1})", call.item_brief))
    if section.earlier:
        earlier = "\n".join(f"- {key}: {value}" for key, value in section.earlier.items())
        parts.append(_part("Already written in this step (stay consistent)", earlier))
    feedback = "\n".join(f"{n}. {item}" for n, item in enumerate(section.brief.feedback, 1))
    if feedback:
        parts.append(_part("Review feedback to address, oldest first", feedback))
    parts.append(
        "Answer with one JSON object that fills the requested contract; only facts from the "
        "idea, its constraints and the documents above, everything else marked as assumed."
    )
    return "\n\n".join(parts)


def task_prompt(section: SectionBrief, upstream_chars: int) -> str:
    return f"{step_context(section.brief, upstream_chars)}\n\n{section_request(section)}"
