"""Mermaid C4 and entity-relationship diagrams built from an ArchitectureDescription.

Relationships that name an element the contract does not define are left out rather than
drawn as dangling boxes, so a sloppy LLM answer still yields a valid diagram.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from docflow.agents.contracts import (
    Actor,
    ArchitectureDescription,
    Container,
    Entity,
    EntityRelation,
    Relationship,
)

_NOT_ID = re.compile(r"[^A-Za-z0-9]+")
_CONTAINER_MACROS = {"database": "ContainerDb", "storage": "ContainerDb", "queue": "ContainerQueue"}
_CARDINALITY = {"one-to-one": "||--||", "one-to-many": "||--o{", "many-to-many": "}o--o{"}
SYSTEM_ID = "system"


def _id(prefix: str, name: str) -> str:
    return f"{prefix}_{_NOT_ID.sub('_', name).strip('_').lower() or 'x'}"


def _text(value: str) -> str:
    return " ".join(value.split()).replace('"', "'")


def _actor(actor: Actor) -> str:
    macro = "Person" if actor.kind == "person" else "System_Ext"
    return f'{macro}({_id("a", actor.name)}, "{_text(actor.name)}", "{_text(actor.description)}")'


def _container(container: Container) -> str:
    macro = _CONTAINER_MACROS.get(container.kind, "Container")
    return (
        f'{macro}({_id("c", container.name)}, "{_text(container.name)}", '
        f'"{_text(container.technology)}", "{_text(container.responsibility)}")'
    )


def _rel(source: str, target: str, link: Relationship) -> str:
    return f'Rel({source}, {target}, "{_text(link.description)}", "{_text(link.technology)}")'


def _indent(lines: Sequence[str], depth: int = 1) -> list[str]:
    return [("    " * depth) + line for line in lines]


def context_diagram(model: ArchitectureDescription) -> str:
    actors = {actor.name: _id("a", actor.name) for actor in model.actors}
    containers = {container.name for container in model.containers}
    lines = [f"title System context of {_text(model.system_name)}"]
    lines += [_actor(actor) for actor in model.actors if actor.kind == "person"]
    lines.append(
        f'System({SYSTEM_ID}, "{_text(model.system_name)}", "The system this document describes")'
    )
    lines += [_actor(actor) for actor in model.actors if actor.kind == "external_system"]
    seen: set[tuple[str, str]] = set()
    for link in model.container_relationships:
        source = SYSTEM_ID if link.source in containers else actors.get(link.source)
        target = SYSTEM_ID if link.target in containers else actors.get(link.target)
        if source and target and source != target and (source, target) not in seen:
            seen.add((source, target))
            lines.append(_rel(source, target, link))
    return "\n".join(["C4Context", *_indent(lines)])


def container_diagram(model: ArchitectureDescription) -> str:
    ids = {a.name: _id("a", a.name) for a in model.actors}
    ids |= {c.name: _id("c", c.name) for c in model.containers}
    lines = [f"title Containers of {_text(model.system_name)}"]
    lines += [_actor(actor) for actor in model.actors if actor.kind == "person"]
    lines.append(f'System_Boundary(b_{SYSTEM_ID}, "{_text(model.system_name)}") {{')
    lines += _indent([_container(container) for container in model.containers])
    lines.append("}")
    lines += [_actor(actor) for actor in model.actors if actor.kind == "external_system"]
    lines += _relationships(model.container_relationships, ids)
    return "\n".join(["C4Container", *_indent(lines)])


def _component(name: str, technology: str, responsibility: str) -> str:
    return (
        f'Component({_id("k", name)}, "{_text(name)}", "{_text(technology)}", '
        f'"{_text(responsibility)}")'
    )


def component_diagram(model: ArchitectureDescription) -> str:
    ids = {c.name: _id("k", c.name) for c in model.components}
    referenced = {n for link in model.component_relationships for n in (link.source, link.target)}
    neighbours = [c for c in model.containers if c.name in referenced and c.name not in ids]
    actors = [a for a in model.actors if a.name in referenced and a.name not in ids]
    ids |= {c.name: _id("c", c.name) for c in neighbours} | {
        a.name: _id("a", a.name) for a in actors
    }
    lines = [f"title Components of the {_text(model.main_container)}"]
    lines.append(f'Container_Boundary(b_main, "{_text(model.main_container)}") {{')
    lines += _indent([_component(c.name, c.technology, c.responsibility) for c in model.components])
    lines.append("}")
    lines += [_container(container) for container in neighbours]
    lines += [_actor(actor) for actor in actors]
    lines += _relationships(model.component_relationships, ids)
    return "\n".join(["C4Component", *_indent(lines)])


def _relationships(links: Sequence[Relationship], ids: dict[str, str]) -> list[str]:
    return [
        _rel(ids[link.source], ids[link.target], link)
        for link in links
        if link.source in ids and link.target in ids
    ]


def _entity_id(name: str) -> str:
    return _NOT_ID.sub("_", name).strip("_") or "Entity"


def _attribute(name: str) -> str:
    field = _NOT_ID.sub("_", name).strip("_").lower() or "field"
    if field == "id" or field.endswith("_id"):
        kind = "uuid"
    elif field.endswith("_at"):
        kind = "timestamp"
    else:
        kind = "string"
    return f"{kind} {field}"


def _entity_block(entity: Entity) -> list[str]:
    attributes = [_attribute(attribute) for attribute in entity.attributes]
    return [f"{_entity_id(entity.name)} {{", *_indent(attributes), "}"]


def _relation(relation: EntityRelation) -> str:
    arrow = _CARDINALITY[relation.cardinality]
    return (
        f"{_entity_id(relation.source)} {arrow} {_entity_id(relation.target)} : "
        f'"{_text(relation.description)}"'
    )


def entity_diagram(entities: Sequence[Entity], relations: Sequence[EntityRelation]) -> str:
    lines = [_relation(relation) for relation in relations]
    lines += [line for entity in entities for line in _entity_block(entity)]
    return "\n".join(["erDiagram", *_indent(lines)])
