"""The offline writer's drafting: a brief in, the requested contract out, deterministically."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel

from docflow.agents.contracts import (
    ArchitectureDescription,
    EngineeringStandards,
    ImplementationPlan,
    ProjectDescription,
)
from docflow.contracts import StepBrief
from docflow.offline.about import draft_about
from docflow.offline.analysis import Profile, RevisionEffect, analyse
from docflow.offline.architecture import draft_architecture
from docflow.offline.plan import draft_plan
from docflow.offline.requested import requested_sections
from docflow.offline.standards import draft_standards

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
