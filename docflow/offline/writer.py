"""The deterministic offline writer: a ``Writer`` that fills sections without any model.

It drafts the whole step contract from the brief (``draft_contract``: the idea itself, no
prompt is read) and answers each section with its part of that draft, so the sections of
a step agree with each other and the same brief gives the same package, byte for byte.
It says plainly that no LLM was involved. CrewAI is not imported.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache

from pydantic import BaseModel

from docflow.agents.contracts import (
    CONTRACT_FOR_STEP,
    ArchitectureDescription,
    DecisionOutline,
    DecisionTopic,
    EngineeringStandards,
    EpicHeading,
    EpicOutline,
    ImplementationPlan,
    ProjectDescription,
)
from docflow.agents.render import ordered_epics
from docflow.agents.writer import M, SectionBrief, TextSink, Usage, Written
from docflow.contracts import StepBrief
from docflow.offline.about import draft_about
from docflow.offline.analysis import Profile, RevisionEffect, analyse
from docflow.offline.architecture import draft_architecture
from docflow.offline.plan import draft_plan
from docflow.offline.requested import requested_sections
from docflow.offline.standards import draft_standards

OFFLINE_MODEL = "docflow-offline-writer/1"
OFFLINE_WRITER_LABEL = f"{OFFLINE_MODEL} (deterministic, offline; no LLM)"

Drafter = Callable[[Profile, Sequence[RevisionEffect]], BaseModel]

_DRAFTERS: dict[type[BaseModel], Drafter] = {
    ProjectDescription: draft_about,
    ArchitectureDescription: draft_architecture,
    ImplementationPlan: draft_plan,
    EngineeringStandards: draft_standards,
}


class UnsupportedContractError(ValueError):
    """The offline writer was asked for a model it does not know how to draft."""


def draft_contract(brief: StepBrief, contract: type[BaseModel]) -> BaseModel:
    drafter = _DRAFTERS.get(contract)
    if drafter is None:
        raise UnsupportedContractError(f"the offline writer cannot draft {contract.__name__}")
    profile, effects = analyse(brief)
    sections = requested_sections(profile, effects)
    return drafter(profile, effects).model_copy(update={"requested_sections": sections})


@lru_cache(maxsize=64)
def _draft(brief_json: str) -> BaseModel:
    brief = StepBrief.model_validate_json(brief_json)
    return draft_contract(brief, CONTRACT_FOR_STEP[brief.step])


# A step's sections are answered in threads at once: the first drafts, the others wait.
_drafting = threading.Lock()


def step_draft(brief: StepBrief) -> BaseModel:
    """The whole step contract the offline writer answers every section from."""
    key = brief.model_dump_json()
    with _drafting:
        return _draft(key)


def _items(draft: BaseModel) -> list[BaseModel]:
    """The ADRs or the epics a fanned-out section is written once per item of."""
    if isinstance(draft, ArchitectureDescription):
        return list(draft.decisions)
    assert isinstance(draft, ImplementationPlan)
    return list(ordered_epics(draft.epics))


def _outline(draft: BaseModel) -> BaseModel:
    if isinstance(draft, ArchitectureDescription):
        concerns = [d.context.split(". ")[0].strip() for d in draft.decisions]
        topics = [DecisionTopic(title=d.title, concern=c if len(c) <= 120 else f"{c[:117]}...")
                  for d, c in zip(draft.decisions, concerns, strict=True)]  # fmt: skip
        return DecisionOutline(decisions=topics)
    return EpicOutline(epics=[EpicHeading.model_validate(e.model_dump()) for e in _items(draft)])


def offline_answer(brief: SectionBrief, contract: type[M]) -> M:
    """The part of the step's draft that answers this section."""
    draft = step_draft(brief.brief)
    if contract in (DecisionOutline, EpicOutline):
        return contract.model_validate(_outline(draft).model_dump())
    if brief.call.item is not None:
        return contract.model_validate(_items(draft)[brief.call.item].model_dump())
    return contract.model_validate(draft.model_dump(include=set(contract.model_fields)))


class OfflineWriter:
    """The default writer: no model, no network; ``latency_ms`` per section simulates one."""

    label = OFFLINE_WRITER_LABEL
    concurrency = 8

    def __init__(self, latency_ms: int = 0) -> None:
        self.latency_ms = latency_ms

    async def write(
        self, brief: SectionBrief, contract: type[M], on_text: TextSink | None = None
    ) -> Written[M]:
        if self.latency_ms > 0:
            await asyncio.sleep(self.latency_ms / 1000)
        # In a thread: drafting a step is ~0.1 s of CPU, which on the worker's event loop
        # would hold up every query, event and workflow task of the process meanwhile.
        answer = await asyncio.to_thread(offline_answer, brief, contract)
        if on_text is not None:
            await on_text(answer.model_dump_json())
        return Written(contract=answer, usage=Usage())
