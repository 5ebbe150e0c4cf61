"""What the offline writer knows, loaded once from ``data/`` into typed, frozen models.

- ``traits.yaml``: the capabilities the writer recognises in an idea (payments, offline
  use, scheduling, ...) and what each one adds to the package: feature, component,
  technology, decision, risks, NFRs, epic. A trait's feature name doubles as its marker:
  later steps read which traits an upstream document kept by looking for these names, so
  each marker appears in no other trait's text (``tests/unit/test_offline_knowledge.py``).
- ``stacks.yaml``: the languages, back ends, clients and hostings the writer chooses
  between, each with the words that select it.
- ``lexicon.yaml``: the words the reading of an idea relies on (role words, verbs,
  constraint kinds, negators).
- ``prose/<document>.yaml``: each document's fixed prose (``docflow.offline.templates``).

The files are validated when first read; a mistake in one is a ``KnowledgeError`` naming
the file, at start, not a wrong document later.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from docflow.agents.contracts import (
    Actor,
    Component,
    Container,
    Entity,
    Feature,
    KeyDecision,
    NonFunctionalRequirement,
    Risk,
    SuccessMetric,
    TechnologyChoice,
)


class KnowledgeError(RuntimeError):
    """A data file of the offline writer is missing or does not fit its model."""


class Known(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _comma_list(cls, value: Any, info: ValidationInfo) -> Any:
        """'a, b c, d' -> ('a', 'b c', 'd'): word lists stay short in the data, also as the
        values of a mapping."""
        annotation = str(cls.model_fields[info.field_name or ""].annotation)
        if annotation.startswith("dict") and "tuple[str" in annotation and isinstance(value, dict):
            return {key: _split(words) for key, words in value.items()}
        return _split(value) if annotation.startswith(("tuple[str", "frozenset[str")) else value


class EpicSpec(Known):
    name: str
    goal: str
    tasks: tuple[str, ...]
    acceptance: tuple[str, ...]
    out_of_scope: tuple[str, ...]
    effort_days: int = Field(gt=0)


class Trait(Known):
    key: str
    keywords: tuple[str, ...] = Field(min_length=1)
    feature: Feature
    goal: str
    pain: str
    need: str
    non_goal: str
    question: str
    metric: SuccessMetric
    risk: Risk
    nfr: NonFunctionalRequirement
    component: Component | None = None
    container: Container | None = None
    external: Actor | None = None
    technology: TechnologyChoice | None = None
    entities: tuple[Entity, ...] = ()
    decision: KeyDecision | None = None
    epic: EpicSpec | None = None
    security: str = ""
    resilience: str = ""
    needs_worker: bool = False
    database_extension: str = ""  # a PostgreSQL extension it needs, e.g. PostGIS
    project_rule: str = ""

    @property
    def marker(self) -> str:
        return self.feature.name

    def __eq__(self, other: object) -> bool:  # traits are singletons: the key is the identity
        return isinstance(other, Trait) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)


class Language(Known):
    name: str
    formatting: str
    linting: str
    typing: str
    conventions: tuple[str, ...]
    unit_tools: str


class Hosting(Known):
    """An option the idea's words select; its label appears in architecture.md."""

    key: str
    keywords: tuple[str, ...]
    label: str
    reason: str


class _Stack(Hosting):
    pros: tuple[str, ...]
    cons: tuple[str, ...]


class Backend(_Stack):
    language: Language
    data_access: str
    worker: str
    integration_tools: str
    dependency_scan: str
    static_analysis: str
    load_tool: str


class Client(_Stack):
    languages: tuple[Language, ...]
    e2e_tools: str


class Stacks(Known):
    backends: tuple[Backend, ...] = Field(min_length=1)
    web_clients: tuple[Client, ...] = Field(min_length=1)
    mobile_clients: tuple[Client, ...] = Field(min_length=1)
    hostings: tuple[Hosting, ...]
    default_hosting: Hosting
    eu_words: tuple[str, ...]


ConstraintKind = Literal["team", "time", "budget", "hosting", "regulation", "technology"]


class Lexicon(Known):
    verbs: frozenset[str]
    not_people: frozenset[str]
    role_words: tuple[str, ...]
    admin_words: tuple[str, ...]
    org_members: dict[str, str]
    constraint_kinds: dict[ConstraintKind, tuple[str, ...]]
    number_words: dict[str, int]
    constraint_words: tuple[str, ...]
    section_requests: tuple[str, ...]
    placeholder_names: frozenset[str]
    function_words: frozenset[str]
    compound_nouns: frozenset[str]
    not_objects: frozenset[str]
    negators: frozenset[str]
    fillers: frozenset[str]
    contrasts: frozenset[str]
    clause_markers: tuple[str, ...]
    product_cuts: tuple[str, ...]
    piece_leads: tuple[str, ...]
    name_cuts: tuple[str, ...]
    feedback_leads: tuple[str, ...]


def _split(words: Any) -> Any:
    if isinstance(words, str):
        return tuple(part.strip() for part in words.split(",") if part.strip())
    return words


def read_data(name: str) -> Any:
    try:
        text = resources.files("docflow.offline").joinpath("data", name).read_text("utf-8")
        return yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as error:
        raise KnowledgeError(f"the offline writer cannot read data/{name}: {error}") from error


_M = TypeVar("_M", bound=BaseModel)


def _valid(model: type[_M], name: str, data: Any) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise KnowledgeError(f"data/{name} does not fit {model.__name__}: {error}") from error


class _TraitFile(Known):
    traits: tuple[Trait, ...] = Field(min_length=1)


@cache
def traits() -> tuple[Trait, ...]:
    """Every trait, in catalog order: the order components and epics are laid out in."""
    return _valid(_TraitFile, "traits.yaml", read_data("traits.yaml")).traits


@cache
def stacks() -> Stacks:
    """The stack options; each back end and client names its languages by ``name``."""
    data = read_data("stacks.yaml")
    try:
        languages = {language["name"]: language for language in data.pop("languages")}
        for backend in data["backends"]:
            backend["language"] = languages[backend["language"]]
        for client in [*data["web_clients"], *data["mobile_clients"]]:
            client["languages"] = [languages[name] for name in client["languages"]]
    except (KeyError, TypeError, AttributeError) as error:
        raise KnowledgeError(f"data/stacks.yaml names an unknown language: {error}") from error
    return _valid(Stacks, "stacks.yaml", data)


@cache
def lexicon() -> Lexicon:
    return _valid(Lexicon, "lexicon.yaml", read_data("lexicon.yaml"))
