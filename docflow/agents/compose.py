"""Write one step section by section through a ``Writer``, resuming where it stopped.

The sections of ``sections.yaml`` run as soon as the sections they read are done, up to
the writer's concurrency; a fanned-out section (an ADR, an epic) runs once per item of
its outline. Each answer is saved through the ``SectionStore`` the moment it is complete,
so a crash, a timeout or a retry starts again at the first unwritten section; answers
already saved are read back, not rewritten. When a section fails, the sections already
being written still finish and are saved (a local model's minutes are not thrown away),
nothing new starts, and the attempt ends with the failure. The step's contract is assembled from the
answers and rendered to Markdown by our own code.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from docflow.agents.errors import WriterError, first_failure
from docflow.agents.render import render_contract
from docflow.agents.sections import (
    SectionCall,
    SectionSpec,
    active,
    assemble,
    calls_for,
    section_contract,
    sections_of,
)
from docflow.agents.writer import SectionBrief, Usage, Writer
from docflow.agents.writers import select_writer
from docflow.contracts import StepBrief, StepWriting
from docflow.settings import Settings


@dataclass(frozen=True)
class SavedSection:
    """A section answer kept from an earlier attempt of the same write."""

    content_json: str
    usage: Usage


class SectionStore(Protocol):
    async def saved(self) -> Mapping[str, SavedSection]: ...

    async def save(self, key: str, answer: BaseModel, usage: Usage, duration_ms: int) -> None: ...


class MemoryStore:
    """Sections kept in a dict (tests, and writing without a database)."""

    def __init__(self) -> None:
        self.sections: dict[str, SavedSection] = {}

    async def saved(self) -> Mapping[str, SavedSection]:
        return dict(self.sections)

    async def save(self, key: str, answer: BaseModel, usage: Usage, duration_ms: int) -> None:
        self.sections[key] = SavedSection(answer.model_dump_json(), usage)


@dataclass(frozen=True)
class SectionEvent:
    """Progress of one section: started, text (partial, as it streams) or finished."""

    kind: str  # section_started | section_text | section_finished | section_resumed
    key: str
    text: str = ""
    chars: int = 0
    usage: Usage = field(default_factory=Usage)
    duration_ms: int = 0


Progress = Callable[[SectionEvent], Awaitable[None]]


async def _ignore(_event: SectionEvent) -> None:
    return None


async def _all(work: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run ``work`` concurrently to the end; cancelled, cancel every part of it."""
    tasks = [asyncio.ensure_future(item) for item in work]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()


@dataclass
class StepComposer:
    """One attempt at writing one step."""

    brief: StepBrief
    writer: Writer
    store: SectionStore
    on_event: Progress = _ignore
    # Tokens spent by this attempt, failed calls included (quotas, agent_runs).
    spent: Usage = field(default_factory=Usage)
    resumed: int = 0
    _answers: dict[str, BaseModel] = field(default_factory=dict)
    _done: dict[str, asyncio.Event] = field(default_factory=dict)
    _saved: Mapping[str, SavedSection] = field(default_factory=dict)
    _failures: list[Exception] = field(default_factory=list)

    async def write(self, today: date) -> StepWriting:
        self._saved = await self.store.saved()
        specs = [s for s in sections_of(self.brief.step) if active(s, bool(self.brief.feedback))]
        self._done = {spec.id: asyncio.Event() for spec in specs}
        limit = asyncio.Semaphore(max(1, self.writer.concurrency))
        await _all(self._section(spec, limit) for spec in specs)
        if self._failures:
            raise first_failure(BaseExceptionGroup("sections failed", self._failures))
        outlines = {s.id: self._answers[s.id] for s in specs if s.outline is not None}
        contract = assemble(self.brief.step, self._answers, outlines)
        return StepWriting(
            documents=render_contract(contract, today, self.brief),
            writer=self.writer.label,
            tokens_in=self.spent.tokens_in,  # this attempt's: earlier ones recorded their own
            tokens_out=self.spent.tokens_out,
            sections=len(self._answers),
            resumed=self.resumed,
        )

    async def _section(self, spec: SectionSpec, limit: asyncio.Semaphore) -> None:
        try:
            for dependency in spec.depends_on:
                if dependency in self._done:
                    await self._done[dependency].wait()
            if self._failures:
                return  # a section failed: no new work, the attempt ends after what runs
            outlines = {key: self._answers[key] for key in spec.depends_on if key in self._answers}
            calls = calls_for(self.brief.step, spec, outlines)
            await _all(self._call(spec, call, limit) for call in calls)
        finally:
            self._done[spec.id].set()

    async def _call(self, spec: SectionSpec, call: SectionCall, limit: asyncio.Semaphore) -> None:
        contract = section_contract(call.step, spec.id)
        kept = self._resume(call.key, contract)
        if kept is not None:
            self._answers[call.key] = kept
            await self.on_event(SectionEvent("section_resumed", call.key))
            return
        async with limit:
            if self._failures:
                return
            try:
                self._answers[call.key] = await self._write(spec, call, contract)
            except Exception as error:
                # Sections already being written finish and are saved; nothing new starts.
                self._failures.append(error)

    def _resume(self, key: str, contract: type[BaseModel]) -> BaseModel | None:
        saved = self._saved.get(key)
        if saved is None:
            return None
        try:
            answer = contract.model_validate_json(saved.content_json)
        except ValidationError:
            return None  # saved under an older contract: write it again
        self.resumed += 1
        return answer

    async def _write(
        self, spec: SectionSpec, call: SectionCall, contract: type[BaseModel]
    ) -> BaseModel:
        earlier = {key: self._answers[key].model_dump_json() for key in spec.depends_on
                   if key in self._answers}  # fmt: skip
        section = SectionBrief(brief=self.brief, call=call, earlier=earlier)
        await self.on_event(SectionEvent("section_started", call.key))
        started = time.monotonic()

        async def on_text(text: str) -> None:
            await self.on_event(SectionEvent("section_text", call.key, text=text, chars=len(text)))

        try:
            written = await self.writer.write(section, contract, on_text)
        except WriterError as error:
            self.spent = self.spent + error.usage
            error.section = error.section or call.key
            raise
        self.spent = self.spent + written.usage
        duration_ms = int((time.monotonic() - started) * 1000)
        await self.store.save(call.key, written.contract, written.usage, duration_ms)
        chars = len(written.contract.model_dump_json())
        await self.on_event(
            SectionEvent("section_finished", call.key, chars=chars, usage=written.usage,
                         duration_ms=duration_ms)
        )  # fmt: skip
        return written.contract


async def write_step(
    brief: StepBrief,
    settings: Settings,
    today: date,
    store: SectionStore | None = None,
    on_event: Progress = _ignore,
) -> StepWriting:
    """One step with the writer the settings choose (sections kept in memory by default)."""
    writer = select_writer(settings, brief.step)
    composer = StepComposer(brief, writer, store or MemoryStore(), on_event=on_event)
    return await composer.write(today)
