"""The offline writer's citations: the ids about.md gave to the requirements it drafted.

The Business Analyst's requirements are drafted from the profile (``requirements``); the
later steps find each one's id in the accepted about.md by its name (``Profile.
requirements``, read by ``docflow.traceability``), so a person's rename or an id kept
from an earlier version is cited as it stands, and a requirement nobody can find is not
cited at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from docflow.agents.contracts import QualityRequirement
from docflow.offline.analysis import Profile
from docflow.offline.knowledge import Trait
from docflow.offline.templates import fill, prose
from docflow.offline.text import tokens


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
