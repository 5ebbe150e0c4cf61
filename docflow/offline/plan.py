"""The offline Project Planner: an ImplementationPlan drafted from the idea's profile.

Epics run Infrastructure, Authentication, the core component, the client, one epic per
capability component, then Testing. The timeline is the epics in order at the team's
capacity (four focus days per person per week), checked against the stated duration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from docflow.agents.contracts import (
    Epic,
    ImplementationPlan,
    Milestone,
    Phase,
    RevisionNote,
    Risk,
)
from docflow.offline.analysis import FeatureIdea, Profile, RevisionEffect
from docflow.offline.citing import area_ids, cite, ids_of, trait_quality
from docflow.offline.design import (
    client_container,
    compose_change,
    core_component,
    feature_entities,
    hosting_label,
    trait_of,
)
from docflow.offline.knowledge import EpicSpec, Trait, traits
from docflow.offline.text import join_words, lower_first, tokens, vote
from docflow.traceability import cited_ids

FOCUS_DAYS_PER_WEEK = 4
PILOT_MIN_WEEKS = 4  # spare weeks worth planning a pilot with real users
INFRASTRUCTURE = "Infrastructure"
AUTHENTICATION = "Authentication"
TESTING = "Testing"


@dataclass(frozen=True)
class _Draft:
    """An epic before scheduling: everything but its weeks."""

    name: str
    goal: str
    scope: list[str]
    out_of_scope: list[str]
    tasks: list[str]
    depends_on: list[str]
    acceptance: list[str]
    effort_days: int
    phase: int


def draft_plan(profile: Profile, effects: Sequence[RevisionEffect]) -> ImplementationPlan:
    drafts = _delivering_every_must(
        _with_revision_tasks(_drafts(profile), profile, effects), profile
    )
    epics = _schedule(drafts, profile.team)
    return ImplementationPlan(
        project_name=profile.project_name,
        strategy=_strategy(profile, epics),
        team=_team(profile, epics),
        phases=_phases(drafts),
        milestones=_milestones(profile, drafts, epics),
        epics=epics,
        schedule_risks=_schedule_risks(profile, epics),
        revision_notes=[
            RevisionNote(feedback=e.feedback, change=_change(e, profile, drafts)) for e in effects
        ],
    )


# --- epics ---------------------------------------------------------------------------------------


def _assigned(profile: Profile) -> dict[str, list[FeatureIdea]]:
    """Idea features per owning epic name: a capability epic when one matches, else the core."""
    owners: dict[str, list[FeatureIdea]] = {}
    for feature in profile.features:
        if feature.source != "idea":
            continue
        trait = trait_of(feature, profile.traits)
        owner = trait.epic.name if trait and trait.epic else core_component(profile)
        owners.setdefault(owner, []).append(feature)
    return owners


def _feature_tasks(profile: Profile, names: Sequence[str]) -> list[str]:
    return [
        cite(f"Deliver \u201c{name}\u201d end to end: API, client screens, tests",
             ids_of(profile, [name]))
        for name in names
    ]  # fmt: skip


def _feature_acceptance(profile: Profile, names: Sequence[str]) -> list[str]:
    return [
        cite(f"\u201c{name}\u201d works end to end on staging and passes a usability check",
             ids_of(profile, [name]))
        for name in names
    ]  # fmt: skip


def _names(features: Sequence[FeatureIdea]) -> list[str]:
    return [feature.name for feature in features]


def _infrastructure(profile: Profile) -> _Draft:
    backend = profile.backend
    return _Draft(
        name=INFRASTRUCTURE,
        goal=f"Give the {profile.project_name} team a working, observable path from commit to "
        "production.",
        scope=[
            "Repository, CI pipeline and quality gates",
            f"Staging and production on {hosting_label(profile)}",
            "Database, migrations, secrets, logging, tracing and dashboards",
        ],
        out_of_scope=["Multi-region failover", "Performance tuning beyond the NFR targets"],
        tasks=[
            f"Create the repository with the {backend.language.name} API and the "
            f"{profile.client.label} client skeletons",
            "Set up CI with the quality gates of specs.md: format, lint, types, tests, security "
            "scan, API contract diff",
            f"Provision staging and production on {hosting_label(profile)}",
            f"Create the PostgreSQL database and the first migration with {backend.data_access}",
            "Store secrets in the platform's secret manager",
            "Add OpenTelemetry tracing, structured logs, dashboards and an uptime probe",
            "Deploy automatically on merge to main; production needs a manual approval",
        ],
        depends_on=[],
        acceptance=[
            "A merge to main reaches staging automatically in under 15 minutes",
            "A failing quality gate blocks the merge",
            "One request is visible as a single trace from the API to the database",
            cite(
                "The uptime probe alerts within 5 minutes and a restore from backup is "
                "rehearsed on staging",
                area_ids(profile, ["Availability", "Recovery"]),
            ),
        ],
        effort_days=8,
        phase=1,
    )


def _authentication(profile: Profile) -> _Draft:
    roles = join_words([lower_first(user.name) for user in profile.users])
    return _Draft(
        name=AUTHENTICATION,
        goal="Let people sign up, sign in and see only what their role allows.",
        scope=["Sign-up, sign-in, sign-out and account recovery", f"Roles for {roles}"],
        out_of_scope=["Single sign-on with organisational identity providers"]
        if not profile.has("sso")
        else [],
        tasks=[
            "Build sign-up and sign-in with email verification",
            "Issue short-lived access tokens and rotating refresh tokens",
            f"Add roles and permission checks for {roles}",
            f"Let {lower_first(profile.coordinators)} invite people and change their roles",
            "Add password reset and account deletion",
        ],
        depends_on=[INFRASTRUCTURE],
        acceptance=[
            "A new user signs up and signs in within 2 minutes",
            "Every endpoint rejects requests without a valid token (automated test)",
            cite(
                "A user without the role gets 404 for records they may not see",
                area_ids(profile, ["Security and privacy"]),
            ),
        ],
        effort_days=6,
        phase=1,
    )


def _core(profile: Profile, features: Sequence[FeatureIdea]) -> _Draft:
    name = core_component(profile)
    records = join_words([entity for entity, _ in feature_entities(profile)]) or "main"
    return _Draft(
        name=name,
        goal=f"Deliver the core records and rules of {profile.project_name}.",
        scope=[f"The {records} records, their rules and their API"]
        + [f.description for f in features],
        out_of_scope=["Features marked \u201ccould\u201d in about.md"],
        tasks=[
            f"Model the {records} entities and their migrations",
            "Expose them through the API with validation and permissions",
            *_feature_tasks(profile, _names(features)),
        ],
        depends_on=[AUTHENTICATION],
        acceptance=_feature_acceptance(profile, _names(features))
        or [
            cite(
                "The core records can be created, changed and listed through the API, by the "
                "roles allowed to and nobody else",
                area_ids(profile, ["Security and privacy"]),
            )
        ],
        effort_days=6 + 3 * len(features),
        phase=2,
    )


def _client(profile: Profile) -> _Draft:
    name = client_container(profile)
    console = profile.console is not None
    tasks = [
        "Set up navigation, theming and accessibility basics",
        "Generate the API client from the OpenAPI contract",
        "Build the screens for every must-have feature",
    ]
    if profile.mobile:
        tasks += [
            "Add crash reporting",
            "Publish builds to TestFlight and the Google Play internal track",
        ]
    if console:
        tasks.append(f"Build the web console for {lower_first(profile.coordinators)}")
    return _Draft(
        name=name,
        goal=f"Give {lower_first(profile.primary_users)} a fast, accessible {name.lower()}.",
        scope=[f"{name} built with {profile.client.label}"]
        + ([f"Web console built with {profile.console.label}"] if profile.console else []),
        out_of_scope=["Tablet-specific layouts"] if profile.mobile else ["Native mobile apps"],
        tasks=tasks,
        depends_on=[AUTHENTICATION, core_component(profile)],
        acceptance=[
            cite(
                "Every must-have feature is usable with a screen reader and keyboard or touch only",
                area_ids(profile, ["Accessibility"]),
            ),
            cite(
                "First screen loads in under 2 s on a mid-range phone over 4G",
                area_ids(profile, ["Performance"]),
            ),
            *[
                cite(
                    f"The target \u201c{trait_quality(trait)}\u201d holds on staging",
                    ids_of(profile, [trait_quality(trait)]),
                )
                for trait in profile.traits
                if trait.epic is None
            ],
        ],
        effort_days=10 + (4 if console else 0) + (3 if profile.mobile else 0),
        phase=2,
    )


def _capability(
    profile: Profile, trait: Trait, spec: EpicSpec, features: Sequence[FeatureIdea]
) -> _Draft:
    component = (
        f"{trait.component.name}: {lower_first(trait.component.responsibility)}"
        if trait.component
        else spec.goal
    )
    return _Draft(
        name=spec.name,
        goal=spec.goal,
        scope=[component, *[f.description for f in features]],
        out_of_scope=list(spec.out_of_scope),
        tasks=[
            cite(spec.tasks[0], ids_of(profile, [trait.feature.name])),
            *spec.tasks[1:],
            *_feature_tasks(profile, _names(features)),
        ],
        depends_on=[core_component(profile)],
        acceptance=[
            cite(spec.acceptance[0], ids_of(profile, [trait.feature.name])),
            *spec.acceptance[1:],
            cite(
                f"The target \u201c{trait_quality(trait)}\u201d holds on staging",
                ids_of(profile, [trait_quality(trait)]),
            ),
            *_feature_acceptance(profile, _names(features)),
        ],
        effort_days=spec.effort_days + 2 * len(features),
        phase=2 if trait.feature.priority == "must" else 3,
    )


def _testing(profile: Profile, others: Sequence[_Draft]) -> _Draft:
    journeys = join_words([f"\u201c{f.name}\u201d" for f in profile.features[:3]])
    return _Draft(
        name=TESTING,
        goal="Prove the release meets its acceptance criteria and NFR targets, then launch.",
        scope=["End-to-end, load, security and usability testing", "Launch readiness"],
        out_of_scope=["Formal certification audits"],
        tasks=[
            f"Automate end-to-end tests for the main journeys: {journeys}",
            f"Load-test the critical paths with {profile.backend.load_tool} against specs.md",
            "Run a security review and dependency audit; fix every high finding",
            f"Run a usability test with five {lower_first(profile.primary_users)}",
            "Rehearse a database restore and a rollback",
            "Fix release-blocking defects and sign off the launch",
        ],
        depends_on=[draft.name for draft in others if draft.name != INFRASTRUCTURE],
        acceptance=[
            "All end-to-end journeys pass on staging three runs in a row",
            cite(
                "p95 latencies meet the NFR table in specs.md at expected peak load",
                area_ids(profile, ["Performance"]),
            ),
            cite("No open critical or high defects", area_ids(profile, ["Security and privacy"])),
        ],
        effort_days=8 + len(profile.features) // 2,
        phase=4,
    )


def _drafts(profile: Profile) -> list[_Draft]:
    assigned = _assigned(profile)
    drafts = [
        _infrastructure(profile),
        _authentication(profile),
        _core(profile, assigned.get(core_component(profile), [])),
        _client(profile),
    ]
    capabilities = [
        _capability(profile, trait, trait.epic, assigned.get(trait.epic.name, []))
        for trait in profile.traits
        if trait.epic is not None
    ]
    drafts += sorted(capabilities, key=lambda draft: draft.phase)
    return [*drafts, _testing(profile, drafts)]


def _revision_epic(feedback: str, drafts: Sequence[_Draft], core: str) -> str:
    words = tokens(feedback)
    names = {draft.name for draft in drafts}
    for trait in traits():
        if trait.epic and trait.epic.name in names and vote(words, trait.keywords):
            return trait.epic.name
    return core


def _with_revision_tasks(
    drafts: list[_Draft], profile: Profile, effects: Sequence[RevisionEffect]
) -> list[_Draft]:
    extra: dict[str, list[str]] = {}
    for effect in effects:
        if effect.feature:
            owner = _revision_epic(effect.feedback, drafts, core_component(profile))
            extra.setdefault(owner, []).append(f"Revision {effect.number}: {effect.feedback}")
    return [_with_tasks(draft, extra.get(draft.name, [])) for draft in drafts]


def _delivering_every_must(drafts: list[_Draft], profile: Profile) -> list[_Draft]:
    """The Must requirements of about.md no acceptance criterion cites yet (a feature
    added in a revision, a person's edit) become tasks and criteria of the core epic."""
    cited = {id_ for draft in drafts for line in draft.acceptance for id_ in cited_ids(line)}
    missing = [r.name for r in profile.requirements if r.must and r.id not in cited]
    if not missing:
        return drafts
    core = core_component(profile)
    return [
        replace(
            draft,
            tasks=[*draft.tasks, *_feature_tasks(profile, missing)],
            acceptance=[*draft.acceptance, *_feature_acceptance(profile, missing)],
            effort_days=draft.effort_days + 2 * len(missing),
        )
        if draft.name == core
        else draft
        for draft in drafts
    ]


def _with_tasks(draft: _Draft, tasks: Sequence[str]) -> _Draft:
    if not tasks:
        return draft
    return replace(
        draft, tasks=[*draft.tasks, *tasks], effort_days=draft.effort_days + 2 * len(tasks)
    )


# --- schedule ------------------------------------------------------------------------------------

_PHASES: dict[int, tuple[str, str, str, str]] = {
    1: (
        "Phase 1: Foundation",
        "A deployable, secure skeleton.",
        "Staging runs the skeleton and people can sign in.",
        "Walking skeleton on staging",
    ),
    2: (
        "Phase 2: Core capabilities",
        "The must-have features, end to end.",
        "Every must-have feature works on staging.",
        "Must-have features on staging",
    ),
    3: (
        "Phase 3: Complete the experience",
        "The remaining capabilities.",
        "Every planned feature meets its acceptance criteria.",
        "Feature complete",
    ),
    4: (
        "Phase 4: Hardening and launch",
        "Prove quality, then go live.",
        "NFR targets met, no open release blockers, launch approved.",
        "Launch",
    ),
}


def _capacity(team: int) -> int:
    return team * FOCUS_DAYS_PER_WEEK


def _schedule(drafts: Sequence[_Draft], team: int) -> list[Epic]:
    capacity = _capacity(team)
    epics: list[Epic] = []
    done = 0
    for draft in drafts:
        start = done // capacity + 1
        done += draft.effort_days
        end = max(start, math.ceil(done / capacity))
        epics.append(
            Epic(
                name=draft.name,
                goal=draft.goal,
                scope=draft.scope,
                out_of_scope=draft.out_of_scope,
                tasks=draft.tasks,
                depends_on=draft.depends_on,
                acceptance_criteria=draft.acceptance,
                effort_days=draft.effort_days,
                start_week=start,
                end_week=end,
            )
        )
    return epics


def _total_weeks(epics: Sequence[Epic]) -> int:
    return max(epic.end_week for epic in epics)


def _fits(profile: Profile, epics: Sequence[Epic]) -> bool:
    return _total_weeks(epics) <= profile.duration_weeks


def _phases(drafts: Sequence[_Draft]) -> list[Phase]:
    phases = []
    for number, (name, goal, exit_criteria, _) in _PHASES.items():
        members = [draft.name for draft in drafts if draft.phase == number]
        if members:
            phases.append(Phase(name=name, goal=goal, epics=members, exit_criteria=exit_criteria))
    return phases


def _milestones(
    profile: Profile, drafts: Sequence[_Draft], epics: Sequence[Epic]
) -> list[Milestone]:
    weeks = {epic.name: epic.end_week for epic in epics}
    milestones = []
    for number, (_, _, exit_criteria, milestone) in _PHASES.items():
        members = [draft.name for draft in drafts if draft.phase == number]
        if members:
            week = max(weeks[name] for name in members)
            milestones.append(Milestone(name=milestone, week=week, deliverable=exit_criteria))
    if profile.duration_weeks - _total_weeks(epics) >= PILOT_MIN_WEEKS:
        milestones.append(
            Milestone(
                name="General availability",
                week=profile.duration_weeks,
                deliverable="Pilot feedback handled; the product opens to all users.",
            )
        )
    return milestones


def _strategy(profile: Profile, epics: Sequence[Epic]) -> str:
    musts = [t.marker.lower() for t in profile.traits if t.feature.priority == "must"]
    core = f" ({join_words(musts)})" if musts else ""
    total = _total_weeks(epics)
    spare = profile.duration_weeks - total
    if spare >= PILOT_MIN_WEEKS:
        fit = (
            f"At the team's capacity the build takes about {total} of the "
            f"{profile.weeks_words} available. The remaining {spare} weeks hold a "
            "pilot with real users, the changes it brings and a reserve for the unknowns."
        )
    elif spare >= 0:
        fit = (
            f"At the team's capacity the plan takes about {total} weeks, inside the "
            f"{profile.weeks_words} available, with {spare} weeks of buffer."
        )
    else:
        fit = (
            f"At the team's capacity the plan takes about {total} weeks, more than the "
            f"{profile.weeks_words} available: launch with phases 1, 2 and 4 and "
            "deliver phase 3 after launch, or add people."
        )
    return (
        f"Deliver {profile.project_name} in thin, end-to-end slices: first a deployable, "
        f"observable skeleton, then the must-have capabilities{core} on the "
        f"{client_container(profile).lower()}, then the rest, then hardening and launch. Every "
        f"epic ends with working software on staging that {lower_first(profile.primary_users)} "
        f"can try. {fit}"
    )


def _team(profile: Profile, epics: Sequence[Epic]) -> str:
    stated = "as stated" if profile.team_size else "assumed; the constraints do not say"
    total = sum(epic.effort_days for epic in epics)
    return (
        f"{profile.team} developers ({stated}) at about {FOCUS_DAYS_PER_WEEK} focus days each "
        f"per week: {_capacity(profile.team)} person-days a week against {total} person-days "
        f"of estimated work."
    )


def _schedule_risks(profile: Profile, epics: Sequence[Epic]) -> list[Risk]:
    risks = []
    if not _fits(profile, epics):
        risks.append(
            Risk(
                description=f"The estimate ({_total_weeks(epics)} weeks) exceeds "
                f"the {profile.weeks_words} available.",
                likelihood="high",
                impact="high",
                mitigation="Launch with the must-have phases; move "
                "phase 3 after launch or add a developer.",
            )
        )
    risks.append(
        Risk(
            description="Estimates for work the team has not done before are optimistic.",
            likelihood="medium",
            impact="medium",
            mitigation="Re-estimate after phase 1 with measured velocity and keep a 15% buffer.",
        )
    )
    if profile.team <= 2:
        risks.append(
            Risk(
                description="A small team has no slack for illness or holidays.",
                likelihood="medium",
                impact="high",
                mitigation="Document as you go, pair on risky parts and keep the scope flexible.",
            )
        )
    waits = [
        name
        for key, name in (
            ("payments", "the payment provider account"),
            ("mobile", "app store review"),
            ("sso", "identity-provider set-up"),
            ("iot", "test devices"),
        )
        if profile.has(key)
    ]
    if waits:
        risks.append(
            Risk(
                description=f"External lead times ({join_words(waits)}) delay integration.",
                likelihood="medium",
                impact="medium",
                mitigation="Start these requests in week 1.",
            )
        )
    return risks


def _change(effect: RevisionEffect, profile: Profile, drafts: Sequence[_Draft]) -> str:
    added = [t.epic.name for t in effect.added if t.epic]
    removed = [t.epic.name for t in effect.removed if t.epic]
    owner = _revision_epic(effect.feedback, drafts, core_component(profile))
    return compose_change(
        [
            f"added the epics {join_words(added)}" if added else "",
            f"removed the epics {join_words(removed)}" if removed else "",
            f"re-planned the timeline ({join_words(list(effect.changes))})"
            if effect.changes
            else "",
            f"added it as a task of the \u201c{owner}\u201d epic" if effect.feature else "",
        ],
        effect.section,
    )
