"""The sections a step is written in (``sections.yaml``), as typed models.

A step's contract (``CONTRACT_FOR_STEP``) is filled section by section: each section is
one small structured call with a contract of its own, holding either a few fields of the
step contract or an outline (ADR titles, epic names) whose items are then written one
call each. ``assemble`` puts the answers back together into the step contract, which
``render`` turns into Markdown as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, create_model, model_validator

from docflow.agents import contracts
from docflow.agents.contracts import CONTRACT_FOR_STEP
from docflow.contracts import Step


class SectionSpec(BaseModel):
    """One section of a step, as ``sections.yaml`` declares it."""

    id: str = Field(pattern=r"^[a-z][a-z_]*$")
    contract: str = Field(pattern=r"^[A-Z][A-Za-z]+$")
    fields: list[str] = Field(default_factory=list)
    outline: str | None = None
    each: str | None = None
    typical: int = Field(default=1, ge=1, le=20)  # items of `each` a run usually has
    after: list[str] = Field(default_factory=list)
    max_tokens: int = Field(ge=64, le=8192)
    ask: str = Field(min_length=10)
    when: Literal["feedback"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SectionSpec:
        kinds = [bool(self.fields), self.outline is not None, self.each is not None]
        if sum(kinds) != 1:
            raise ValueError(f"section {self.id!r} needs exactly one of fields, outline, each")
        return self

    @property
    def depends_on(self) -> list[str]:
        return [*self.after, *([self.each] if self.each else [])]


class SectionCall(BaseModel):
    """One call to make: a section, or one item of a fanned-out section."""

    step: Step
    section: str
    key: str  # the key its answer is saved under: "overview", "decision/2"
    contract_name: str
    ask: str
    max_tokens: int
    item: int | None = None  # the item's index in its outline, for fanned-out sections
    item_brief: str = ""  # the outline item this call writes, as the model should read it


def _load() -> dict[Step, list[SectionSpec]]:
    raw = yaml.safe_load(resources.files("docflow.agents").joinpath("sections.yaml").read_text())
    specs = {Step(step): [SectionSpec.model_validate(item) for item in items]
             for step, items in raw.items()}  # fmt: skip
    for step, sections in specs.items():
        _check_step(step, sections)
    return specs


def _check_step(step: Step, sections: Sequence[SectionSpec]) -> None:
    ids = [section.id for section in sections]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{step}: section ids repeat")
    known = CONTRACT_FOR_STEP[step].model_fields
    filled = [name for section in sections for name in section.fields]
    for section in sections:
        unknown = set(section.fields) - set(known) | set(section.depends_on) - set(ids)
        if unknown:
            raise ValueError(f"{step}.{section.id}: unknown names {sorted(unknown)}")
        if section.outline is not None:
            outline_type(section.outline)  # raises if it does not exist
    fanned = {
        _OUTLINE_TARGETS[outline_type(s.outline)][0] for s in sections if s.outline is not None
    }
    missing = set(known) - set(filled) - fanned
    if missing or len(filled) != len(set(filled)):
        raise ValueError(f"{step}: fields unfilled {sorted(missing)} or filled twice")


# outline contract -> (the step contract's list field its items fill, the item contract)
_OUTLINE_TARGETS: dict[type[BaseModel], tuple[str, type[BaseModel]]] = {
    contracts.DecisionOutline: ("decisions", contracts.KeyDecision),
    contracts.EpicOutline: ("epics", contracts.Epic),
}


def outline_type(name: str) -> type[BaseModel]:
    found = next((t for t in _OUTLINE_TARGETS if t.__name__ == name), None)
    if found is None:
        raise ValueError(f"no outline contract {name!r}")
    return found


@cache
def step_sections() -> dict[Step, list[SectionSpec]]:
    return _load()


def sections_of(step: Step) -> list[SectionSpec]:
    return step_sections()[step]


def section(step: Step, section_id: str) -> SectionSpec:
    return next(spec for spec in sections_of(step) if spec.id == section_id)


@cache
def section_contract(step: Step, section_id: str) -> type[BaseModel]:
    """The small contract of one section: a subset of the step contract's fields."""
    spec = section(step, section_id)
    if spec.outline is not None:
        return outline_type(spec.outline)
    if spec.each is not None:
        return _OUTLINE_TARGETS[outline_type(_outline_of(step, spec.each))][1]
    step_fields = CONTRACT_FOR_STEP[step].model_fields
    fields: dict[str, Any] = {name: (step_fields[name].annotation, step_fields[name])
                              for name in spec.fields}  # fmt: skip
    model: type[BaseModel] = create_model(spec.contract, __module__=__name__, **fields)
    return model


def _outline_of(step: Step, section_id: str) -> str:
    outline = section(step, section_id).outline
    assert outline is not None  # checked at load: `each` names an outline section
    return outline


def contract_by_name(name: str) -> tuple[Step, str, type[BaseModel]] | None:
    """(step, section id, contract) of a section contract's name (the fake server's view)."""
    for step, specs in step_sections().items():
        for spec in specs:
            if spec.contract == name:
                return step, spec.id, section_contract(step, spec.id)
    return None


def calls_for(
    step: Step, spec: SectionSpec, outlines: Mapping[str, BaseModel]
) -> list[SectionCall]:
    """The calls one section needs: one, or one per item of the outline it depends on."""
    base = {"step": step, "section": spec.id, "contract_name": spec.contract, "ask": spec.ask,
            "max_tokens": spec.max_tokens}  # fmt: skip
    if spec.each is None:
        return [SectionCall(key=spec.id, **base)]
    items = outline_items(outlines[spec.each])
    return [
        SectionCall(key=f"{spec.id}/{n}", item=n, item_brief=_item_brief(item), **base)
        for n, item in enumerate(items)
    ]


def outline_items(outline: BaseModel) -> list[BaseModel]:
    items = getattr(outline, _OUTLINE_TARGETS[type(outline)][0])
    return list(items)


def _item_brief(item: BaseModel) -> str:
    return "; ".join(f"{name}: {value}" for name, value in item.model_dump().items())


# An ADR or an epic file: its number is its item's place in the outline, from 1.
_ITEM_FILE = re.compile(r"^docs/(?:adr/ADR-(\d{3})|plans/(\d{2}))-")


def rewrite_keys(step: Step, paths: Iterable[str]) -> set[str]:
    """The sections a quality revision writes again for findings in the documents
    ``paths``; the step's other answers are kept. An ADR or an epic is its own item; any
    other document is the step's field sections (not its outline: the items' titles stay),
    plus the sections that read a rewritten one, plus the revision notes."""
    specs = sections_of(step)
    keys: set[str] = set()
    for path in paths:
        item = _ITEM_FILE.match(path)
        fanned = next((spec for spec in specs if spec.each is not None), None)
        if item and fanned is not None:
            keys.add(f"{fanned.id}/{int(item.group(1) or item.group(2)) - 1}")
        else:
            keys |= {spec.id for spec in specs if spec.fields}
    grown = True
    while grown:
        readers = {s.id for s in specs if s.fields and set(s.after) & keys and s.id not in keys}
        keys |= readers
        grown = bool(readers)
    return keys | {spec.id for spec in specs if spec.when == "feedback"}


def active(spec: SectionSpec, has_feedback: bool) -> bool:
    return spec.when is None or has_feedback


def assemble(
    step: Step, answers: Mapping[str, BaseModel], outlines: Mapping[str, BaseModel]
) -> BaseModel:
    """The step contract from its sections' answers (keys as in ``SectionCall.key``)."""
    data: dict[str, Any] = {"revision_notes": []}
    for spec in sections_of(step):
        if spec.fields and spec.id in answers:
            data.update(answers[spec.id].model_dump())
        elif spec.each is not None:
            outline = outlines[spec.each]
            field = _OUTLINE_TARGETS[type(outline)][0]
            items = outline_items(outline)
            data[field] = [
                _named_like(answers[f"{spec.id}/{n}"], item) for n, item in enumerate(items)
            ]
    return CONTRACT_FOR_STEP[step].model_validate(data)


def _named_like(answer: BaseModel, item: BaseModel) -> dict[str, Any]:
    """An item's answer keeps the outline's name or title (the outline is the table of
    contents: Infrastructure first, Testing last, ADR titles as listed)."""
    data = answer.model_dump()
    for name in ("name", "title"):
        if name in data and getattr(item, name, None):
            data[name] = getattr(item, name)
    return data
