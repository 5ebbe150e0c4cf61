"""Derived design facts shared by the offline drafts of architecture, plan and standards.

One place decides the names of the core component, the client container, which idea
feature belongs to which trait, and which core entities the features imply, so the three
documents agree with each other.

Citations too: about.md's requirements are drafted from the profile
(``quality_requirements``); the later steps find each one's id in the accepted about.md by
its name (``Profile.requirements``, read by ``docflow.traceability``), so a person's rename
or an id kept from an earlier version is cited as it stands, and a requirement nobody can
find is not cited at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from docflow.agents.contracts import QualityRequirement, RevisionNote
from docflow.offline.analysis import FeatureIdea, Profile, RevisionEffect, is_verb
from docflow.offline.knowledge import Trait, lexicon
from docflow.offline.templates import fill, part, prose
from docflow.offline.text import (
    capitalise,
    join_words,
    lower_first,
    singular,
    tokens,
    vote,
)


def core_component(profile: Profile) -> str:
    return f"{profile.project_name} Core"


def client_container(profile: Profile) -> str:
    return "Mobile app" if profile.mobile else "Web app"


def database_label(profile: Profile) -> str:
    extensions = [t.database_extension for t in profile.traits if t.database_extension]
    suffix = f" with {join_words(extensions)}" if extensions else ""
    return f"PostgreSQL 16{suffix}"


def hosting_label(profile: Profile) -> str:
    region = ", in an EU region" if profile.in_eu else ""
    return f"{profile.hosting.label}{region}"


def trait_of(feature: FeatureIdea, traits: Sequence[Trait]) -> Trait | None:
    """The first trait (with an epic) whose keywords the feature's text mentions."""
    words = tokens(f"{feature.name} {feature.description}")
    return next((t for t in traits if t.epic is not None and vote(words, t.keywords)), None)


def object_noun(feature: FeatureIdea) -> str | None:
    """The thing a feature is about, as an entity name: 'Members reserve shared tools' -> Tool."""
    words = [word.strip(".,;:!?()'\"").lower() for word in reversed(feature.name.split())]
    nouns = [w for w in words if len(w) > 2 and w.isalpha() and w not in lexicon().not_objects]
    noun = next((w for w in nouns if not w.endswith("ing") and not is_verb(w)), None)
    return capitalise(singular(noun)) if noun else None


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


def change_note(document: str, profile: Profile, effect: RevisionEffect, **names: str) -> str:
    """What a version changed for one feedback item, in one sentence (the ``change`` part
    of the document's prose file); ``names`` override the added and removed names."""
    context: dict[str, object] = {
        "added": markers(effect.added),
        "removed": markers(effect.removed),
        "changes": join_words(list(effect.changes)),
        "feature": effect.feature.name if effect.feature else "",
        "section": capitalise(effect.section or ""),
        **names,
    }
    happened = {key: bool(context[key]) for key in ("added", "removed", "changes", "section")}
    parts = writer_of(document, profile, context, {**happened, "feature": bool(effect.feature)})
    done = parts("change") or ["recorded the feedback; it needed no structural change"]
    return capitalise("; ".join(done)) + "."


def revision_notes(
    document: str,
    profile: Profile,
    effects: Sequence[RevisionEffect],
    names: Callable[[RevisionEffect], dict[str, str]] = lambda effect: {},
) -> list[RevisionNote]:
    return [
        RevisionNote(feedback=e.feedback, change=change_note(document, profile, e, **names(e)))
        for e in effects
    ]


def markers(traits: Sequence[Trait]) -> str:
    return join_words([trait.marker for trait in traits])


Write = Callable[[str], Any]  # write(part): a part of a prose file, filled (writer_of)


def common_context(profile: Profile) -> dict[str, object]:
    """The values every prose file may use; each draft adds its own."""
    client = client_container(profile)
    console = profile.console
    return {
        "project": profile.project_name,
        "product": profile.product,
        "purpose": profile.purpose,
        "team": profile.team_words,
        "weeks": profile.weeks_words,
        "primary_users": lower_first(profile.primary_users),
        "Primary_users": profile.primary_users,
        "coordinators": lower_first(profile.coordinators),
        "roles": join_words([lower_first(user.name) for user in profile.users]),
        "core": core_component(profile),
        "client": client,
        "client_lower": client.lower(),
        "client_label": profile.client.label,
        "client_reason": profile.client.reason,
        "console_label": console.label if console else "",
        "console_reason": console.reason if console else "",
        "backend_label": profile.backend.label,
        "backend_reason": profile.backend.reason,
        "backend_language": profile.backend.language.name,
        "data_access": profile.backend.data_access,
        "load_tool": profile.backend.load_tool,
        "worker_technology": profile.backend.worker,
        "database": database_label(profile),
        "hosting": hosting_label(profile),
        "hosting_reason": profile.hosting.reason,
        "records": join_words([entity for entity, _ in feature_entities(profile)]) or "main",
        "journeys": join_words([f"\u201c{f.name}\u201d" for f in profile.features[:3]]),
    }


def writer_of(
    document: str,
    profile: Profile,
    context: dict[str, object],
    extra_flags: Mapping[str, bool] | None = None,
) -> Write:
    """``write(part)``: a part of ``data/prose/<document>.yaml`` filled for the profile.
    Conditions test ``Profile.flag`` or the draft's own ``extra_flags``; the context and
    the flags are read when a part is written, so the draft may add to them as it goes."""
    for name, value in common_context(profile).items():
        context.setdefault(name, value)
    extra = extra_flags or {}

    def citer(text: str, areas: Sequence[str]) -> str:
        return cite(text, area_ids(profile, areas))

    def check(name: str) -> bool:
        return extra[name] if name in extra else profile.flag(name)

    return lambda name: part(document, name, context, check, citer)


# --- citations ---------------------------------------------------------------------------------


def measures() -> dict[str, str]:
    """specs.md's NFR areas -> the area of about.md's requirement each one measures."""
    return dict(prose("about")["measures"])


def quality_requirements(profile: Profile) -> list[QualityRequirement]:
    """about.md's non-functional requirements, in the order they are numbered."""
    fixed = fill(prose("about")["quality_requirements"], {}, profile.flag, lambda text, _: text)
    return [
        *map(QualityRequirement.model_validate, fixed),
        *(
            QualityRequirement(area=t.nfr.area, requirement=trait_quality(t), priority="should")
            for t in profile.traits
        ),
    ]


def trait_quality(trait: Trait) -> str:
    """The name of the non-functional requirement a capability brings."""
    return f"{trait.nfr.requirement}: {trait.nfr.target}"


def _key(name: str) -> str:
    return " ".join(tokens(name))


def ids_of(profile: Profile, names: Iterable[str]) -> list[str]:
    """The ids the accepted about.md gives the requirements named ``names``."""
    by_name = {_key(r.name): r.id for r in profile.requirements}
    found = [by_name.get(_key(name)) for name in names]
    return list(dict.fromkeys(id_ for id_ in found if id_ is not None))


def area_ids(profile: Profile, areas: Iterable[str]) -> list[str]:
    """The ids of about.md's non-functional requirements of ``areas``."""
    wanted = set(areas)
    names = [q.requirement for q in quality_requirements(profile) if q.area in wanted]
    return ids_of(profile, names)


def cite(text: str, ids: Sequence[str]) -> str:
    """``text`` ending with the ids it delivers: "Build the form (FR-001, NFR-002)"."""
    return f"{text} ({', '.join(ids)})" if ids else text
