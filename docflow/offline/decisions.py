"""The offline Solution Architect's key decisions: one ADR each, options with pros and cons."""

from __future__ import annotations

from collections.abc import Sequence

from docflow.agents.contracts import DecisionOption, KeyDecision
from docflow.offline.analysis import Profile
from docflow.offline.citing import area_ids, ids_of, trait_quality
from docflow.offline.design import (
    client_container,
    core_component,
    database_label,
    needs_worker,
)
from docflow.offline.knowledge import Backend, Client, stacks
from docflow.offline.text import join_words, lower_first


def key_decisions(profile: Profile) -> list[KeyDecision]:
    """The decisions, each naming the requirements of about.md it serves; the modular
    monolith (one component per capability) serves every Must no other decision does."""
    features = [f.name for f in profile.features]
    decisions = [
        (_style_decision(profile), area_ids(profile, ["Performance", "Availability"])),
        (
            _backend_decision(profile),
            ids_of(profile, features[:3]) + area_ids(profile, ["Performance"]),
        ),
        (
            _client_decision(profile),
            ids_of(profile, features) + area_ids(profile, ["Accessibility"]),
        ),
        (_database_decision(profile), area_ids(profile, ["Security and privacy", "Recovery"])),
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


def _feature_names(profile: Profile) -> str:
    names = [lower_first(feature.name) for feature in profile.features[:3]]
    return join_words(names or [lower_first(trait.marker) for trait in profile.traits[:3]])


def _style_decision(profile: Profile) -> KeyDecision:
    worker = (
        " plus a background worker for slow and scheduled jobs" if needs_worker(profile) else ""
    )
    core = core_component(profile)
    return KeyDecision(
        title="Build a modular monolith",
        status="Proposed",
        context=f"{profile.project_name} is built by {profile.team_words} with a first release "
        f"due within {profile.weeks_words}. Its features ({_feature_names(profile)}) share one "
        "data model and must change together while the product finds its shape.",
        options=[
            DecisionOption(
                name="Modular monolith",
                pros=[
                    "One deployable and one database to run",
                    "Refactoring across modules is cheap",
                    "Simple local development and debugging",
                ],
                cons=["Modules can erode without enforced boundaries", "Scales as one unit"],
            ),
            DecisionOption(
                name="Microservices",
                pros=["Independent deployment and scaling per service"],
                cons=[
                    "Network calls, distributed data and much more operations work",
                    "Too heavy for a small team",
                ],
            ),
            DecisionOption(
                name="Serverless functions",
                pros=["No servers to manage", "Pay per use"],
                cons=["Cold starts", "Harder local testing", "Logic scattered over functions"],
            ),
        ],
        decision=f"Build one API application with clear internal components ({core} and one "
        f"component per capability){worker}. Components talk through interfaces, not "
        "through each other's tables, so any of them can become a service later.",
        positive_consequences=["Fast delivery with few moving parts", "One place to debug"],
        negative_consequences=["Module boundaries need discipline and review"],
        risks=["A component grows into a big ball of mud"],
        monitoring=["Deployment frequency", "Build and test time", "Cross-module imports (lint)"],
    )


def _alternatives(
    chosen: Backend | Client, options: Sequence[Backend | Client]
) -> list[DecisionOption]:
    """The chosen option first, then the next two candidates."""
    others = [option for option in options if option.key != chosen.key]
    return [_option(option) for option in [chosen, *others[:2]]]


def _option(option: Backend | Client) -> DecisionOption:
    return DecisionOption(name=option.label, pros=list(option.pros), cons=list(option.cons))


def _backend_decision(profile: Profile) -> KeyDecision:
    backend = profile.backend
    return KeyDecision(
        title=f"Write the API in {backend.language.name}",
        status="Proposed",
        context="The API holds the business logic and the data access of "
        f"{profile.project_name}. The team needs a productive, well-supported stack with typed "
        "contracts and good testing tools.",
        options=_alternatives(backend, stacks().backends),
        decision=f"Use {backend.label}, with {backend.data_access}. {backend.reason}",
        positive_consequences=[backend.reason],
        negative_consequences=list(backend.cons[:1]),
        risks=["Hiring or onboarding people without experience in this stack"],
        monitoring=["p95 latency per endpoint against specs.md", "Time to onboard a developer"],
    )


def _client_decision(profile: Profile) -> KeyDecision:
    client = profile.client
    options = stacks().mobile_clients if profile.mobile else stacks().web_clients
    where = "on phones" if profile.mobile else "in the browser"
    console = (
        f" Coordinators get a web console built with {profile.console.label}."
        if profile.console
        else ""
    )
    return KeyDecision(
        title=f"Use {client.label.split(' (')[0]} for the {client_container(profile).lower()}",
        status="Proposed",
        context=f"{profile.primary_users} use {profile.project_name} {where}. The client must "
        "be pleasant on small screens and cheap to keep up to date.",
        options=_alternatives(client, options),
        decision=f"Use {client.label}. {client.reason}{console}",
        positive_consequences=list(client.pros[:2]),
        negative_consequences=list(client.cons[:1]),
        risks=["Platform updates break dependencies"],
        monitoring=["Crash-free sessions", "Time from merge to users"],
    )


def _database_decision(profile: Profile) -> KeyDecision:
    label = database_label(profile)
    return KeyDecision(
        title="Use PostgreSQL as the single system of record",
        status="Proposed",
        context=f"{profile.project_name}'s data is relational: people, "
        f"{join_words([t.marker.lower() for t in profile.traits[:3]]) or 'their records'} and the "
        "links between them. Constraints must hold under concurrent use.",
        options=[
            DecisionOption(
                name="PostgreSQL",
                pros=[
                    "Transactions and constraints",
                    "Rich extensions (PostGIS, TimescaleDB)",
                    "Row-level security",
                    "Managed offerings everywhere",
                ],
                cons=["Vertical scaling first; sharding is work"],
            ),
            DecisionOption(
                name="MySQL",
                pros=["Widely hosted", "Familiar"],
                cons=["Weaker constraint and extension support"],
            ),
            DecisionOption(
                name="MongoDB",
                pros=["Flexible documents"],
                cons=["Relations and multi-document invariants move into code"],
            ),
        ],
        decision=f"Use {label}, managed by the hosting provider, with migrations in version "
        "control and point-in-time recovery switched on.",
        positive_consequences=["One database for all data", "Integrity enforced by the database"],
        negative_consequences=["The schema must evolve through migrations"],
        risks=["A slow query or missing index under load"],
        monitoring=["Slow-query log", "Connection pool saturation", "Storage growth"],
    )
