"""The offline Solution Architect: an ArchitectureDescription drafted from the idea's profile."""

from __future__ import annotations

from collections.abc import Sequence

from docflow.agents.contracts import (
    Actor,
    ArchitectureDescription,
    Component,
    Container,
    Entity,
    EntityRelation,
    Relationship,
    RevisionNote,
    Risk,
    TechnologyChoice,
)
from docflow.offline.analysis import Profile, RevisionEffect
from docflow.offline.decisions import key_decisions
from docflow.offline.design import (
    client_container,
    compose_change,
    core_component,
    database_label,
    feature_entities,
    hosting_label,
    markers,
    needs_redis,
    needs_worker,
    trait_of,
)
from docflow.offline.knowledge import Trait
from docflow.offline.text import join_words, lower_first

API = "API application"
DATABASE = "Database"
REDIS = "Redis"
WORKER = "Background worker"
CONSOLE = "Web console"
EMAIL = Actor(
    name="Email delivery service",
    description="Sends sign-in links and account emails (for example Postmark or Amazon SES).",
    kind="external_system",
)
# What each trait's component talks to besides the database: (target, description, technology).
_TRAIT_LINKS: dict[str, tuple[str, str, str]] = {
    "payments": ("Stripe", "Creates checkout sessions; receives webhooks", "HTTPS"),
    "notifications": (REDIS, "Enqueues notification jobs", "Redis protocol"),
    "realtime": (REDIS, "Publishes and subscribes to live events", "Redis pub/sub"),
    "media": ("Object storage", "Issues pre-signed upload URLs", "S3 API"),
    "ml": ("Inference worker", "Requests predictions (300 ms timeout)", "HTTP/JSON"),
    "iot": ("MQTT broker", "Consumes device telemetry", "MQTT over TLS"),
    "sso": ("Organisation identity provider", "Verifies sign-in", "OIDC / SAML 2.0"),
    "integrations": (REDIS, "Enqueues webhook deliveries and imports", "Redis protocol"),
    "privacy": (REDIS, "Schedules export and erasure jobs", "Redis protocol"),
    "analytics": (REDIS, "Schedules aggregate refreshes", "Redis protocol"),
}
_USER_VERBS: dict[str, str] = {
    "Reservation": "makes",
    "Loan": "borrows through",
    "Payment": "pays",
    "Change": "makes offline",
    "Prediction": "receives",
    "Device": "owns",
    "ConsentRecord": "gives",
    "AuditEntry": "performs",
    "Listing": "publishes",
    "Order": "places",
    "Notification": "receives",
    "Message": "writes",
    "MediaFile": "uploads",
    "Place": "saves",
}


def draft_architecture(
    profile: Profile, effects: Sequence[RevisionEffect]
) -> ArchitectureDescription:
    return ArchitectureDescription(
        system_name=profile.project_name,
        context=_context(profile),
        constraints=_constraints(profile, effects),
        rationale=_rationale(profile),
        actors=_actors(profile),
        containers=_containers(profile),
        main_container=API,
        components=_components(profile),
        container_relationships=_container_relationships(profile),
        component_relationships=_component_relationships(profile),
        technology_stack=_technology_stack(profile),
        entities=_entities(profile),
        entity_relations=_entity_relations(profile),
        security=_security(profile),
        observability=_observability(profile),
        resilience=_resilience(profile),
        scalability=_scalability(profile),
        risks=_risks(profile),
        decisions=key_decisions(profile),
        revision_notes=[RevisionNote(feedback=e.feedback, change=_change(e)) for e in effects],
    )


# --- narrative ---------------------------------------------------------------------------------


def _externals(profile: Profile) -> list[Actor]:
    externals = [trait.external for trait in profile.traits if trait.external is not None]
    if not profile.has("notifications"):
        externals.append(EMAIL)
    return externals


def _context(profile: Profile) -> str:
    users = join_words([lower_first(user.name) for user in profile.users])
    reach = f"through the {client_container(profile).lower()}"
    if profile.console:
        reach += f"; {lower_first(profile.coordinators)} also use a web console"
    externals = join_words([actor.name for actor in _externals(profile)])
    capabilities = join_words([trait.marker for trait in profile.traits]) or "the core features"
    return (
        f"{profile.project_name} is {profile.product} for {profile.purpose}. Its users are "
        f"{users}, who reach it {reach}. It depends on {externals}. Capabilities in scope: "
        f"{capabilities}. The sections below follow the usual order: constraints, the options "
        "considered, the rationale and the decisions, then the C4 views, the stack, the data "
        "model and the cross-cutting concerns."
    )


def _constraints(profile: Profile, effects: Sequence[RevisionEffect]) -> list[str]:
    stated = [f"{c.area.capitalize()}: {c.text}" for c in profile.constraints]
    if profile.team_size is None:
        stated.append("Team: not stated; the design assumes three developers and few moving parts")
    if profile.weeks is None:
        stated.append("Time: not stated; the design assumes a first release within three months")
    if profile.in_eu:
        stated.append("Data residency: personal data stays in the EU")
    stated += [
        f"Review requirement (revision {e.number}): {e.feedback}" for e in effects if e.feature
    ]
    return stated


def _rationale(profile: Profile) -> str:
    worker = (
        " Slow and scheduled work moves to a background worker so requests stay fast."
        if needs_worker(profile)
        else ""
    )
    chosen = [lower_first(d.title) for d in key_decisions(profile)[4:]]
    specific = f" The capabilities add their own choices: {join_words(chosen)}." if chosen else ""
    return (
        f"With {profile.team_words} and {profile.weeks_words}, the design favours "
        "few moving parts: one API application with clear components, one PostgreSQL database "
        f"and a {client_container(profile).lower()} built with {profile.client.label}."
        f"{worker}{specific} Every choice below is recorded in an ADR with the options that "
        "were weighed, so it can be revisited when the constraints change."
    )


# --- C4 elements ---------------------------------------------------------------------------------


def _actors(profile: Profile) -> list[Actor]:
    people = [Actor(name=u.name, description=u.description, kind="person") for u in profile.users]
    return people + _externals(profile)


def _client_containers(profile: Profile) -> list[Container]:
    uses = [t.marker.lower() for t in profile.traits if t.component is not None][:4]
    purpose = f" for {join_words(uses)}" if uses else ""
    containers = [
        Container(
            name=client_container(profile),
            kind="client",
            technology=profile.client.label,
            responsibility=f"The {client_container(profile).lower()} "
            f"{lower_first(profile.primary_users)} use{purpose}.",
        )
    ]
    if profile.console:
        containers.append(
            Container(
                name=CONSOLE,
                kind="client",
                technology=profile.console.label,
                responsibility=f"Lets {lower_first(profile.coordinators)} manage "
                f"{profile.project_name} from a browser.",
            )
        )
    return containers


def _containers(profile: Profile) -> list[Container]:
    containers = _client_containers(profile)
    containers.append(
        Container(
            name=API,
            kind="service",
            technology=profile.backend.label,
            responsibility="Serves the REST API, authenticates and authorises every request and "
            f"holds the business logic of {profile.project_name}.",
        )
    )
    if needs_worker(profile):
        jobs = join_words([t.marker.lower() for t in profile.traits if t.needs_worker])
        containers.append(
            Container(
                name=WORKER,
                kind="worker",
                technology=profile.backend.worker,
                responsibility=f"Runs queued and scheduled jobs for {jobs}.",
            )
        )
    containers.append(
        Container(
            name=DATABASE,
            kind="database",
            technology=database_label(profile),
            responsibility="The system of record for every entity in the data model.",
        )
    )
    if needs_redis(profile):
        containers.append(
            Container(
                name=REDIS,
                kind="queue",
                technology="Redis 7",
                responsibility="Job queue, pub/sub fan-out of live events and cache.",
            )
        )
    containers += [t.container for t in profile.traits if t.container and t.key != "realtime"]
    return containers


def _components(profile: Profile) -> list[Component]:
    roles = join_words([lower_first(user.name) for user in profile.users])
    records = join_words([name for name, _ in feature_entities(profile)]) or "the main records"
    components = [
        Component(
            name="HTTP API",
            technology=f"{profile.backend.label} routers",
            responsibility="Routes requests, validates input against the OpenAPI contract and "
            "maps errors to status codes.",
        ),
        Component(
            name="Identity & Access",
            technology="OAuth2 / OpenID Connect, short-lived JWTs",
            responsibility=f"Sign-up, sign-in and role checks for {roles}.",
        ),
        Component(
            name=core_component(profile),
            technology=profile.backend.data_access,
            responsibility=f"The core records ({records}) and the rules that connect them.",
        ),
    ]
    components += [trait.component for trait in profile.traits if trait.component is not None]
    components.append(
        Component(
            name="Persistence",
            technology=profile.backend.data_access,
            responsibility="Repositories and transactions; the only component that touches the "
            "database.",
        )
    )
    return components


def _user_relationships(profile: Profile) -> list[Relationship]:
    client = client_container(profile)
    relationships = []
    for user in profile.users:
        uses_console = profile.console is not None and user.name == profile.coordinators
        target = CONSOLE if uses_console else client
        relationships.append(
            Relationship(source=user.name, target=target, description="Uses", technology="HTTPS")
        )
    return relationships


def _container_relationships(profile: Profile) -> list[Relationship]:
    live = ", WebSocket" if profile.has("realtime") else ""
    links = _user_relationships(profile)
    for container in _client_containers(profile):
        links.append(
            Relationship(
                source=container.name,
                target=API,
                description="Calls the REST API",
                technology=f"HTTPS/JSON{live}",
            )
        )
    links.append(
        Relationship(
            source=API, target=DATABASE, description="Reads and writes", technology="SQL over TLS"
        )
    )
    if needs_worker(profile):
        links.append(
            Relationship(
                source=API, target=REDIS, description="Enqueues jobs", technology="Redis protocol"
            )
        )
        links.append(
            Relationship(
                source=WORKER,
                target=REDIS,
                description="Consumes jobs",
                technology="Redis protocol",
            )
        )
        links.append(
            Relationship(
                source=WORKER,
                target=DATABASE,
                description="Reads and writes",
                technology="SQL over TLS",
            )
        )
    links += [link for trait in profile.traits for link in _trait_container_links(profile, trait)]
    if not profile.has("notifications"):
        links.append(
            Relationship(
                source=API,
                target=EMAIL.name,
                description="Sends account emails",
                technology="HTTPS",
            )
        )
    return _unique(links)


def _trait_container_links(profile: Profile, trait: Trait) -> list[Relationship]:
    sender = WORKER if trait.needs_worker and needs_worker(profile) else API
    links = {
        "payments": [
            ("Stripe", API, "Sends payment webhooks", "HTTPS"),
            (API, "Stripe", "Creates checkout sessions", "HTTPS"),
        ],
        "realtime": [(API, REDIS, "Publishes live events", "Redis pub/sub")],
        "notifications": [(sender, "Email and push providers", "Sends messages", "HTTPS")],
        "media": [
            (
                client_container(profile),
                "Object storage",
                "Uploads files directly",
                "HTTPS, pre-signed URLs",
            ),
            (sender, "Object storage", "Scans and resizes files", "S3 API"),
        ],
        "ml": [(API, "Inference worker", "Requests predictions", "HTTP/JSON")],
        "iot": [
            ("Field devices", "MQTT broker", "Publish readings", "MQTT over TLS"),
            (API, "MQTT broker", "Consumes telemetry", "MQTT over TLS"),
        ],
        "geo": [(client_container(profile), "Map tile provider", "Loads map tiles", "HTTPS")],
        "sso": [(API, "Organisation identity provider", "Verifies sign-in", "OIDC / SAML 2.0")],
    }.get(trait.key, [])
    return [Relationship(source=s, target=t, description=d, technology=x) for s, t, d, x in links]


def _component_relationships(profile: Profile) -> list[Relationship]:
    links = [
        Relationship(
            source=client_container(profile),
            target="HTTP API",
            description="Calls",
            technology="HTTPS/JSON",
        ),
        Relationship(
            source="HTTP API",
            target="Identity & Access",
            description="Authenticates each request",
            technology="in-process call",
        ),
    ]
    domain = [
        c
        for c in _components(profile)
        if c.name not in ("HTTP API", "Identity & Access", "Persistence")
    ]
    for component in domain:
        links.append(
            Relationship(
                source="HTTP API",
                target=component.name,
                description="Dispatches requests",
                technology="in-process call",
            )
        )
        links.append(
            Relationship(
                source=component.name,
                target="Persistence",
                description="Reads and writes",
                technology="repository interface",
            )
        )
    for trait in profile.traits:
        target = _TRAIT_LINKS.get(trait.key)
        if trait.component is not None and target is not None:
            links.append(
                Relationship(
                    source=trait.component.name,
                    target=target[0],
                    description=target[1],
                    technology=target[2],
                )
            )
    links.append(
        Relationship(
            source="Persistence", target=DATABASE, description="SQL", technology="SQL over TLS"
        )
    )
    return links


def _unique(links: Sequence[Relationship]) -> list[Relationship]:
    seen: dict[tuple[str, str, str], Relationship] = {}
    for link in links:
        seen.setdefault((link.source, link.target, link.description), link)
    return list(seen.values())


# --- stack, data, cross-cutting ------------------------------------------------------------------


def _technology_stack(profile: Profile) -> list[TechnologyChoice]:
    rows = [
        TechnologyChoice(
            layer="Client", technology=profile.client.label, reason=profile.client.reason
        )
    ]
    if profile.console:
        rows.append(
            TechnologyChoice(
                layer="Web console", technology=profile.console.label, reason=profile.console.reason
            )
        )
    rows += [
        TechnologyChoice(
            layer="API", technology=profile.backend.label, reason=profile.backend.reason
        ),
        TechnologyChoice(
            layer="Data access",
            technology=profile.backend.data_access,
            reason="Typed queries and versioned migrations with a downgrade path.",
        ),
        TechnologyChoice(
            layer="Database",
            technology=database_label(profile),
            reason="Transactions, constraints and row-level security in one managed database.",
        ),
    ]
    if needs_worker(profile):
        rows.append(
            TechnologyChoice(
                layer="Background jobs",
                technology=profile.backend.worker,
                reason="Retries, schedules and dead-letter handling for work "
                "that must not block requests.",
            )
        )
    if needs_redis(profile):
        rows.append(
            TechnologyChoice(
                layer="Queue, pub/sub and cache",
                technology="Redis 7",
                reason="One small, well-understood service for jobs, live events and caching.",
            )
        )
    rows += [trait.technology for trait in profile.traits if trait.technology is not None]
    rows += [
        TechnologyChoice(
            layer="Hosting", technology=hosting_label(profile), reason=profile.hosting.reason
        ),
        TechnologyChoice(
            layer="Observability",
            technology="OpenTelemetry traces and metrics, structured JSON logs",
            reason="Vendor-neutral; one trace follows a request through every component.",
        ),
        TechnologyChoice(
            layer="Delivery",
            technology="GitHub Actions and container images",
            reason="Runs the quality gates of specs.md on every push and deploys on merge.",
        ),
    ]
    return rows


def _entities(profile: Profile) -> list[Entity]:
    entities = [
        Entity(
            name="User",
            description=f"A person using {profile.project_name}, with a role.",
            attributes=["id", "name", "email", "role", "created_at"],
        ),
    ]
    entities += [
        Entity(
            name=name,
            description=f"The record behind \u201c{feature.name}\u201d.",
            attributes=["id", "name", "owner_id", "status", "created_at"],
        )
        for name, feature in feature_entities(profile)
    ]
    entities += [entity for trait in profile.traits for entity in trait.entities]
    return entities


def _subject_of(profile: Profile, trait_key: str) -> str | None:
    """The feature entity a trait acts on, e.g. the Plot a Reservation books."""
    for name, feature in feature_entities(profile):
        trait = trait_of(feature, profile.traits)
        if trait is not None and trait.key == trait_key:
            return name
    return None


def _entity_relations(profile: Profile) -> list[EntityRelation]:
    relations = [
        EntityRelation(source="User", target=name, cardinality="one-to-many", description="manages")
        for name, _ in feature_entities(profile)
    ]
    for trait in profile.traits:
        for entity in trait.entities:
            verb = _USER_VERBS.get(entity.name)
            if verb:
                relations.append(
                    EntityRelation(
                        source="User",
                        target=entity.name,
                        cardinality="one-to-many",
                        description=verb,
                    )
                )
            subject = _subject_of(profile, trait.key)
            if subject and entity.name in ("Reservation", "Loan", "Listing"):
                relations.append(
                    EntityRelation(
                        source=subject,
                        target=entity.name,
                        cardinality="one-to-many",
                        description="is the subject of",
                    )
                )
    if profile.has("iot"):
        relations.append(
            EntityRelation(
                source="Device", target="Reading", cardinality="one-to-many", description="records"
            )
        )
    if profile.has("multitenant"):
        relations.append(
            EntityRelation(
                source="Organisation",
                target="User",
                cardinality="one-to-many",
                description="has members",
            )
        )
    if profile.has("marketplace"):
        relations.append(
            EntityRelation(
                source="Listing",
                target="Order",
                cardinality="one-to-many",
                description="is ordered in",
            )
        )
    return relations


def _security(profile: Profile) -> list[str]:
    roles = join_words([lower_first(user.name) for user in profile.users])
    lines = [
        "Sign-in issues a short-lived access token (15 minutes) and a rotating refresh token; "
        "every request is authenticated.",
        f"Role-based access control with roles for {roles}; the checks live in Identity & "
        "Access, not scattered through handlers.",
        "TLS everywhere; the managed database and storage encrypt data at rest.",
        "Secrets live in the platform's secret manager and reach containers as environment "
        "variables; nothing secret is committed.",
    ]
    if not profile.has("multitenant"):
        lines.append(
            "Records carry their owner; users see only what their role and membership allow, "
            "and a denied read answers 404 rather than revealing that the record exists."
        )
    return lines + [trait.security for trait in profile.traits if trait.security]


def _observability(profile: Profile) -> list[str]:
    lines = [
        "OpenTelemetry traces from the client through the API to the database and external "
        "providers; the trace id appears in every log line.",
        "Structured JSON logs without personal data, kept for 30 days.",
        "Rate, errors and duration per endpoint"
        + (", plus queue depth and job age," if needs_worker(profile) else "")
        + " on one dashboard per container.",
        "Alerts fire on SLO burn rate for the availability and latency targets in specs.md, not "
        "on single errors.",
    ]
    if profile.mobile:
        lines.append("Crash reporting and release health for the mobile app.")
    return lines


def _resilience(profile: Profile) -> list[str]:
    lines = [
        "Every outbound call has a timeout: 2 s by default, 10 s for providers that document "
        "slower answers.",
        "Idempotent calls retry with exponential backoff and jitter, at most three attempts; "
        "writes carry an idempotency key so a retry never applies twice.",
        "Calls to external providers sit behind circuit breakers, so an outage degrades one "
        "feature instead of the whole product.",
        "Health and readiness endpoints let the platform restart unhealthy containers and drain "
        "instances during deploys.",
        "Point-in-time recovery for the database (RPO 15 minutes, RTO 4 hours), with a restore "
        "drill every quarter.",
    ]
    return lines + [trait.resilience for trait in profile.traits if trait.resilience]


def _scalability(profile: Profile) -> list[str]:
    lines = [
        "The API is stateless and scales horizontally behind the load balancer.",
        "A connection pool protects PostgreSQL; list screens use indexed, paginated queries.",
        "The next step up is a read replica and a larger database instance, not a redesign.",
    ]
    if needs_worker(profile):
        lines.append("Background work scales on its own by adding worker instances.")
    if profile.has("realtime"):
        lines.append("Live connections spread over API instances; Redis fans events out.")
    if profile.has("iot"):
        lines.append("Telemetry ingestion scales by adding consumers per device partition.")
    return lines


def _risks(profile: Profile) -> list[Risk]:
    risks = [
        Risk(
            description="Scope grows faster than the team can deliver.",
            likelihood="medium",
            impact="high",
            mitigation="Fix the must-have features of the first release; everything else waits "
            "for a later phase.",
        )
    ]
    return risks + [trait.risk for trait in profile.traits]


def _change(effect: RevisionEffect) -> str:
    added = [t.component.name for t in effect.added if t.component] or [
        t.marker for t in effect.added
    ]
    return compose_change(
        [
            f"added {join_words(added)} to the containers, components, decisions and risks"
            if effect.added
            else "",
            f"removed {markers(effect.removed)} from the design" if effect.removed else "",
            f"updated the technology choices ({join_words(list(effect.changes))})"
            if effect.changes
            else "",
            "added it to the architectural constraints" if effect.feature else "",
        ],
        effect.section,
    )
