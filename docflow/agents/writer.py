"""The writer boundary: one section brief in, one small contract and its usage out.

Every writer implements ``Writer``: the deterministic offline writer
(``docflow.offline.writer``) and CrewAI running a role's Agent and Task on an
OpenAI-compatible model (``docflow.agents.crew``). ``docflow.agents.compose`` writes a
step through it section by section; nothing else knows which writer is in use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel, Field

from docflow.agents.sections import SectionCall
from docflow.contracts import StepBrief

M = TypeVar("M", bound=BaseModel)
# Partial text of the reply as it streams (characters so far are len(text)).
TextSink = Callable[[str], Awaitable[None]]


class SectionBrief(BaseModel):
    """What one call sees: the step's brief, the call, and answers it builds on."""

    brief: StepBrief
    call: SectionCall
    # Answers of the sections this one reads (``after``), as compact JSON by section id.
    earlier: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.tokens_in + other.tokens_in, self.tokens_out + other.tokens_out)


@dataclass(frozen=True)
class Written(Generic[M]):
    contract: M
    usage: Usage


class Writer(Protocol):
    """Writes one section; raises ``docflow.agents.errors`` classes when it cannot."""

    @property
    def label(self) -> str:
        """How version metadata names the writer (a model name, or the offline writer)."""
        ...

    @property
    def concurrency(self) -> int:
        """How many sections of one step it may write at once."""
        ...

    async def write(
        self, brief: SectionBrief, contract: type[M], on_text: TextSink | None = None
    ) -> Written[M]: ...
