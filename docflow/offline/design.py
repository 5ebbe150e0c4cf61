"""Derived design facts shared by the offline drafts of architecture, plan and standards.

One place decides the names of the core component, the client container, which idea
feature belongs to which trait, and which core entities the features imply, so the three
documents agree with each other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from docflow.offline.analysis import FeatureIdea, Profile, is_verb
from docflow.offline.citing import area_ids, cite
from docflow.offline.knowledge import KnowledgeError, Trait, traits
from docflow.offline.templates import Flags, part
from docflow.offline.text import capitalise, join_words, phrases, singular, tokens, vote

_NOT_OBJECTS = frozenset(
    phrases(
        "them, it, this, that, later, away, online, offline, easily, quickly, together, here, "
        "there, now, again, app, system, platform, season, time, day, week, others, everyone, "
        "people, users, members, garden, home, way, things, place, data, details, all, the, a, "
        "an, in, on, of, for, with, and, or, to, at, by, from, who, has, have, into, their, "
        "its, our, can, new, own, each, every"
    )
)


def core_component(profile: Profile) -> str:
    return f"{profile.project_name} Core"


def client_container(profile: Profile) -> str:
    return "Mobile app" if profile.mobile else "Web app"


def needs_worker(profile: Profile) -> bool:
    return any(trait.needs_worker for trait in profile.traits)


def needs_redis(profile: Profile) -> bool:
    return needs_worker(profile) or profile.has("realtime")


def database_label(profile: Profile) -> str:
    extensions = [
        name for key, name in (("geo", "PostGIS"), ("iot", "TimescaleDB")) if profile.has(key)
    ]
    suffix = f" with {join_words(extensions)}" if extensions else ""
    return f"PostgreSQL 16{suffix}"


def hosting_label(profile: Profile) -> str:
    region = ", in an EU region" if profile.in_eu else ""
    return f"{profile.hosting.label}{region}"


def trait_of(feature: FeatureIdea, traits: Sequence[Trait]) -> Trait | None:
    """The first trait (with an epic) whose keywords the feature's text mentions."""
    words = tokens(f"{feature.name} {feature.description}")
    for trait in traits:
        if trait.epic is not None and vote(words, trait.keywords):
            return trait
    return None


def object_noun(feature: FeatureIdea) -> str | None:
    """The thing a feature is about, as an entity name: 'Members reserve shared tools' -> Tool."""
    for word in reversed(feature.name.split()):
        cleaned = word.strip(".,;:!?()'\"").lower()
        if (
            len(cleaned) > 2
            and cleaned.isalpha()
            and cleaned not in _NOT_OBJECTS
            and not cleaned.endswith("ing")
            and not is_verb(cleaned)
        ):
            return capitalise(singular(cleaned))
    return None


def feature_entities(profile: Profile) -> list[tuple[str, FeatureIdea]]:
    """(entity name, feature) for the idea's features, without duplicates or trait entities."""
    taken = {"User"} | {entity.name for trait in profile.traits for entity in trait.entities}
    found: list[tuple[str, FeatureIdea]] = []
    for feature in profile.features:
        noun = object_noun(feature)
        if noun and noun not in taken and feature.source == "idea":
            taken.add(noun)
            found.append((noun, feature))
    return found[:5]


def compose_change(parts: Sequence[str], section: str | None = None) -> str:
    """One sentence out of the parts of a change; never empty."""
    added = f"added the section \u201c{capitalise(section)}\u201d" if section else ""
    done = [part for part in [*parts, added] if part]
    if not done:
        return "Recorded the feedback; it needed no structural change."
    return capitalise("; ".join(done)) + "."


def markers(traits: Sequence[Trait]) -> str:
    return join_words([trait.marker for trait in traits])


Write = Callable[[str], Any]  # write(part): a part of a prose file, filled (writer_of)


def flags(profile: Profile, extra: Mapping[str, bool] | None = None) -> Flags:
    """The conditions prose files test: a trait's key, one of these named flags, or one
    of the draft's own (``extra``, read when a condition is tested)."""
    named = {
        "mobile": profile.mobile,
        "console": profile.console is not None,
        "worker": needs_worker(profile),
        "redis": needs_redis(profile),
        "eu": profile.in_eu,
        "critical": profile.has("payments") or profile.has("health"),
        "team_stated": profile.team_size is not None,
        "weeks_stated": profile.weeks is not None,
        "budget_stated": profile.budget is not None,
    }
    keys = {trait.key for trait in traits()}

    def flag(name: str) -> bool:
        if extra is not None and name in extra:
            return extra[name]
        if name in named:
            return named[name]
        if name in keys:
            return profile.has(name)
        raise KnowledgeError(f"a prose condition names an unknown flag: {name!r}")

    return flag


def writer_of(
    document: str,
    profile: Profile,
    context: dict[str, object],
    extra_flags: Mapping[str, bool] | None = None,
) -> Write:
    """``write(part)``: a part of ``data/prose/<document>.yaml`` filled for the profile.
    The context and the flags are read when a part is written, so the draft may add to
    them as it goes."""
    context.setdefault("project", profile.project_name)
    check = flags(profile, extra_flags)

    def citer(text: str, areas: Sequence[str]) -> str:
        return cite(text, area_ids(profile, areas))

    return lambda name: part(document, name, context, check, citer)
