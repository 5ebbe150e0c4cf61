"""The offline Solution Architect: an ArchitectureDescription drafted from the idea's profile.

The fixed prose, containers and links are in ``data/prose/architecture.yaml``; this module
adds what the profile's capabilities bring (``traits.yaml``) and the links that follow
from the user groups and the clients.
"""

from __future__ import annotations

from collections.abc import Sequence

from docflow.agents.contracts import (
    Actor,
    ArchitectureDescription,
    Component,
    Entity,
    EntityRelation,
    KeyDecision,
    Relationship,
)
from docflow.offline.analysis import Profile, RevisionEffect
from docflow.offline.decisions import key_decisions
from docflow.offline.design import (
    Write,
    client_container,
    feature_entities,
    revision_notes,
    trait_of,
    writer_of,
)
from docflow.offline.text import join_words, lower_first

API = "API application"
CONSOLE = "Web console"
WORKER = "Background worker"


def draft_architecture(
    profile: Profile, effects: Sequence[RevisionEffect]
) -> ArchitectureDescription:
    decisions = key_decisions(profile)
    context = _context(profile, decisions)
    write = writer_of("architecture", profile, context)
    context["externals"] = join_words([actor.name for actor in _externals(profile, write)])
    context["worker"] = write("rationale_worker") if profile.needs_worker else ""
    components = _components(profile, write)
    return ArchitectureDescription(
        system_name=profile.project_name,
        context=write("context"),
        constraints=_constraints(profile, effects, write),
        rationale=write("rationale"),
        actors=[
            *(Actor(name=u.name, description=u.description, kind="person") for u in profile.users),
            *_externals(profile, write),
        ],
        containers=[
            *write("containers"),
            *(t.container for t in profile.traits if t.container and t.key != "realtime"),
        ],
        main_container=API,
        components=components,
        container_relationships=_container_relationships(profile, write),
        component_relationships=_component_relationships(profile, components, write),
        technology_stack=[
            *write("stack_clients"),
            *(trait.technology for trait in profile.traits if trait.technology is not None),
            *write("stack_platform"),
        ],
        entities=_entities(profile, write),
        entity_relations=_entity_relations(profile, write),
        security=[*write("security"), *(t.security for t in profile.traits if t.security)],
        observability=write("observability"),
        resilience=[*write("resilience"), *(t.resilience for t in profile.traits if t.resilience)],
        scalability=write("scalability"),
        risks=[write("scope_risk"), *(trait.risk for trait in profile.traits)],
        decisions=decisions,
        revision_notes=revision_notes("architecture", profile, effects, _added_components),
    )


def _context(profile: Profile, decisions: Sequence[KeyDecision]) -> dict[str, object]:
    client = client_container(profile)
    reach = f"through the {client.lower()}"
    if profile.console:
        reach += f"; {lower_first(profile.coordinators)} also use a web console"
    uses = [t.marker.lower() for t in profile.traits if t.component is not None][:4]
    chosen = [lower_first(d.title) for d in decisions[4:]]  # the capabilities' own
    worker = profile.needs_worker
    return {
        "reach": reach,
        "capabilities": join_words([t.marker for t in profile.traits]) or "the core features",
        "uses": f" for {join_words(uses)}" if uses else "",
        "jobs": join_words([t.marker.lower() for t in profile.traits if t.needs_worker]),
        "record_names": join_words([name for name, _ in feature_entities(profile)])
        or "the main records",
        "sender": WORKER if worker else API,
        "queue_metrics": ", plus queue depth and job age," if worker else "",
        "specific": f" The capabilities add their own choices: {join_words(chosen)}."
        if chosen
        else "",
    }


def _externals(profile: Profile, write: Write) -> list[Actor]:
    externals = [trait.external for trait in profile.traits if trait.external is not None]
    if not profile.has("notifications"):
        externals.append(Actor.model_validate(write("email")))
    return externals


def _constraints(profile: Profile, effects: Sequence[RevisionEffect], write: Write) -> list[str]:
    return [
        *(f"{c.area.capitalize()}: {c.text}" for c in profile.constraints),
        *write("assumed_constraints"),
        *(f"Review requirement (revision {e.number}): {e.feedback}" for e in effects if e.feature),
    ]


def _components(profile: Profile, write: Write) -> list[Component]:
    return [
        *map(Component.model_validate, write("components_before")),
        *(trait.component for trait in profile.traits if trait.component is not None),
        *map(Component.model_validate, write("components_after")),
    ]


def _container_relationships(profile: Profile, write: Write) -> list[Relationship]:
    client = client_container(profile)
    users = [
        Relationship(source=user.name, description="Uses", technology="HTTPS",
                     target=CONSOLE if profile.console and user.name == profile.coordinators
                     else client)
        for user in profile.users
    ]  # fmt: skip
    live = ", WebSocket" if profile.has("realtime") else ""
    calls = [
        Relationship(source=name, target=API, description="Calls the REST API",
                     technology=f"HTTPS/JSON{live}")
        for name in [client, *([CONSOLE] if profile.console else [])]
    ]  # fmt: skip
    links = [*users, *calls, *map(Relationship.model_validate, write("container_links"))]
    seen: dict[tuple[str, str, str], Relationship] = {}
    for link in links:
        seen.setdefault((link.source, link.target, link.description), link)
    return list(seen.values())


def _component_relationships(
    profile: Profile, components: Sequence[Component], write: Write
) -> list[Relationship]:
    def link(source: str, target: str, description: str, technology: str) -> Relationship:
        return Relationship(
            source=source, target=target, description=description, technology=technology
        )

    edges = ("HTTP API", "Identity & Access", "Persistence")
    links = [
        link(client_container(profile), "HTTP API", "Calls", "HTTPS/JSON"),
        link("HTTP API", "Identity & Access", "Authenticates each request", "in-process call"),
    ]
    for component in (c for c in components if c.name not in edges):
        links.append(link("HTTP API", component.name, "Dispatches requests", "in-process call"))
        links.append(
            link(component.name, "Persistence", "Reads and writes", "repository interface")
        )
    targets = write("component_links")
    links += [
        Relationship(source=trait.component.name, **targets[trait.key])
        for trait in profile.traits
        if trait.component is not None and trait.key in targets
    ]
    return [*links, link("Persistence", "Database", "SQL", "SQL over TLS")]


def _entities(profile: Profile, write: Write) -> list[Entity]:
    features = [
        Entity(
            name=name,
            description=f"The record behind \u201c{feature.name}\u201d.",
            attributes=["id", "name", "owner_id", "status", "created_at"],
        )
        for name, feature in feature_entities(profile)
    ]
    traits = [entity for trait in profile.traits for entity in trait.entities]
    return [Entity.model_validate(write("user_entity")), *features, *traits]


def _subject_of(profile: Profile, trait_key: str) -> str | None:
    """The feature entity a trait acts on, e.g. the Plot a Reservation books."""
    subjects = [
        (name, trait_of(feature, profile.traits)) for name, feature in feature_entities(profile)
    ]
    return next((name for name, trait in subjects if trait and trait.key == trait_key), None)


def _entity_relations(profile: Profile, write: Write) -> list[EntityRelation]:
    def many(source: str, target: str, description: str) -> EntityRelation:
        return EntityRelation(
            source=source, target=target, cardinality="one-to-many", description=description
        )

    relations = [many("User", name, "manages") for name, _ in feature_entities(profile)]
    verbs = write("user_verbs")
    for trait in profile.traits:
        for entity in trait.entities:
            if entity.name in verbs:
                relations.append(many("User", entity.name, verbs[entity.name]))
            subject = _subject_of(profile, trait.key)
            if subject and entity.name in ("Reservation", "Loan", "Listing"):
                relations.append(many(subject, entity.name, "is the subject of"))
    return [*relations, *map(EntityRelation.model_validate, write("entity_relations"))]


def _added_components(effect: RevisionEffect) -> dict[str, str]:
    added = [t.component.name for t in effect.added if t.component]
    return {"added": join_words(added)} if added else {}
