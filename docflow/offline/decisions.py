"""The offline Solution Architect's key decisions: one ADR each, options with pros and cons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from docflow.agents.contracts import DecisionOption, KeyDecision
from docflow.offline.analysis import Profile
from docflow.offline.design import (
    area_ids,
    ids_of,
    trait_quality,
    writer_of,
)
from docflow.offline.knowledge import Backend, Client, stacks
from docflow.offline.text import join_words, lower_first


def key_decisions(profile: Profile) -> list[KeyDecision]:
    """The decisions, each naming the requirements of about.md it serves; the modular
    monolith (one component per capability) serves every Must no other decision does."""
    features = [f.name for f in profile.features]
    write = writer_of("decisions", profile, _context(profile))
    backend = profile.backend
    client = profile.client
    clients = stacks().mobile_clients if profile.mobile else stacks().web_clients
    decisions = [
        (_decision(write("style")), area_ids(profile, ["Performance", "Availability"])),
        (
            _decision(
                write("backend"),
                options=_alternatives(backend, stacks().backends),
                negative_consequences=list(backend.cons[:1]),
            ),
            ids_of(profile, features[:3]) + area_ids(profile, ["Performance"]),
        ),
        (
            _decision(
                write("client"),
                options=_alternatives(client, clients),
                positive_consequences=list(client.pros[:2]),
                negative_consequences=list(client.cons[:1]),
            ),
            ids_of(profile, features) + area_ids(profile, ["Accessibility"]),
        ),
        (
            _decision(write("database")),
            area_ids(profile, ["Security and privacy", "Recovery"]),
        ),
    ]
    decisions += [
        (trait.decision, ids_of(profile, [trait.feature.name, trait_quality(trait)]))
        for trait in profile.traits
        if trait.decision is not None
    ]
    served = {id_ for _, ids in decisions for id_ in ids}
    unserved = [r.id for r in profile.requirements if r.must and r.id not in served]
    style, style_ids = decisions[0]  # one component per capability: it serves the rest
    decisions[0] = (style, [*style_ids, *unserved])
    return [decision.model_copy(update={"serves": ids}) for decision, ids in decisions]


def _decision(written: dict[str, Any], **computed: Any) -> KeyDecision:
    return KeyDecision.model_validate({**written, **computed})


def _context(profile: Profile) -> dict[str, object]:
    names = [lower_first(feature.name) for feature in profile.features[:3]]
    traits = [lower_first(trait.marker) for trait in profile.traits[:3]]
    context: dict[str, object] = {
        "features": join_words(names or traits),
        "client_name": profile.client.label.split(" (")[0],
        "where": "on phones" if profile.mobile else "in the browser",
        "trait_records": join_words([t.marker.lower() for t in profile.traits[:3]])
        or "their records",
    }
    write = writer_of("decisions", profile, context)
    context["worker"] = write("style_worker") if profile.needs_worker else ""
    context["console"] = write("client_console") if profile.console else ""
    return context


def _alternatives(
    chosen: Backend | Client, options: Sequence[Backend | Client]
) -> list[DecisionOption]:
    """The chosen option first, then the next two candidates."""
    others = [option for option in options if option.key != chosen.key]
    return [_option(option) for option in [chosen, *others[:2]]]


def _option(option: Backend | Client) -> DecisionOption:
    return DecisionOption(name=option.label, pros=list(option.pros), cons=list(option.cons))
