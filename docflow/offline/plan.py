"""The offline Project Planner: an ImplementationPlan drafted from the idea's profile.

Epics run Infrastructure, Authentication, the core component, the client, one epic per
capability component, then Testing. The timeline is the epics in order at the team's
capacity (four focus days per person per week), checked against the stated duration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from docflow.agents.contracts import (
    Epic,
    ImplementationPlan,
    Milestone,
    Phase,
)
from docflow.offline.analysis import FeatureIdea, Profile, RevisionEffect
from docflow.offline.design import (
    Write,
    cite,
    core_component,
    ids_of,
    revision_notes,
    trait_of,
    trait_quality,
    writer_of,
)
from docflow.offline.knowledge import EpicSpec, Trait, traits
from docflow.offline.text import join_words, lower_first, tokens, vote
from docflow.traceability import cited_ids

FOCUS_DAYS_PER_WEEK = 4
PILOT_MIN_WEEKS = 4  # spare weeks worth planning a pilot with real users
INFRASTRUCTURE = "Infrastructure"  # the name data/prose/plan.yaml gives the first epic


@dataclass(frozen=True)
class _Draft:
    """An epic before scheduling: everything but its weeks."""

    name: str
    goal: str
    scope: list[str]
    out_of_scope: list[str]
    tasks: list[str]
    depends_on: list[str]
    acceptance_criteria: list[str]
    effort_days: int
    phase: int


def draft_plan(profile: Profile, effects: Sequence[RevisionEffect]) -> ImplementationPlan:
    context = _context(profile)
    plan_flags: dict[str, bool] = {"small_team": profile.team <= 2}
    write = writer_of("plan", profile, context, plan_flags)
    drafts = _delivering_every_must(
        _with_revision_tasks(_drafts(profile, write), profile, effects), profile
    )
    epics = _schedule(drafts, profile.team)
    phases, milestones = _phases(profile, drafts, epics, write)
    total = max(epic.end_week for epic in epics)
    spare = profile.duration_weeks - total
    plan_flags["over"] = spare < 0
    fit = "fit_with_pilot" if spare >= PILOT_MIN_WEEKS else "fit_with_buffer"
    context.update(total=total, spare=spare, total_days=sum(e.effort_days for e in epics))
    context["fit"] = write(fit if spare >= 0 else "fit_over")
    context["waits"] = join_words(write("lead_times"))
    return ImplementationPlan(
        project_name=profile.project_name,
        strategy=write("strategy"),
        team=write("team"),
        phases=phases,
        milestones=milestones,
        epics=epics,
        schedule_risks=write("schedule_risks"),
        revision_notes=revision_notes(
            "plan", profile, effects, lambda e: _names_of(profile, e, drafts)
        ),
    )


def _context(profile: Profile) -> dict[str, object]:
    musts = [t.marker.lower() for t in profile.traits if t.feature.priority == "must"]
    return {
        "musts": f" ({join_words(musts)})" if musts else "",
        "team_plain": profile.team_words.removesuffix(" (assumed)"),
        "stated": "as stated" if profile.team_size else "assumed; the constraints do not say",
        "focus_days": FOCUS_DAYS_PER_WEEK,
        "capacity": profile.team * FOCUS_DAYS_PER_WEEK,
    }


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


def _deliver(profile: Profile, names: Sequence[str]) -> tuple[list[str], list[str]]:
    """A task and an acceptance criterion per feature, each citing the feature's id."""
    ids = [ids_of(profile, [name]) for name in names]
    return (
        [cite(f"Deliver \u201c{n}\u201d end to end: API, client screens, tests", i)
         for n, i in zip(names, ids, strict=True)],
        [cite(f"\u201c{n}\u201d works end to end on staging and passes a usability check", i)
         for n, i in zip(names, ids, strict=True)],
    )  # fmt: skip


def _holds(profile: Profile, trait: Trait) -> str:
    target = trait_quality(trait)
    return cite(f"The target \u201c{target}\u201d holds on staging", ids_of(profile, [target]))


def _core(profile: Profile, write: Write, features: Sequence[FeatureIdea]) -> _Draft:
    draft = _Draft(**write("core"))
    tasks, criteria = _deliver(profile, [feature.name for feature in features])
    return replace(
        draft,
        scope=[*draft.scope, *(f.description for f in features)],
        tasks=[*draft.tasks, *tasks],
        acceptance_criteria=criteria or write("core_acceptance_without_features"),
        effort_days=draft.effort_days + 3 * len(features),
    )


def _client(profile: Profile, write: Write) -> _Draft:
    draft = _Draft(**write("client"))
    targets = [_holds(profile, trait) for trait in profile.traits if trait.epic is None]
    extra_days = (4 if profile.console else 0) + (3 if profile.mobile else 0)
    return replace(
        draft,
        acceptance_criteria=[*draft.acceptance_criteria, *targets],
        effort_days=draft.effort_days + extra_days,
    )


def _capability(
    profile: Profile, trait: Trait, spec: EpicSpec, features: Sequence[FeatureIdea]
) -> _Draft:
    tasks, criteria = _deliver(profile, [feature.name for feature in features])
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
        tasks=[cite(spec.tasks[0], ids_of(profile, [trait.feature.name])), *spec.tasks[1:], *tasks],
        depends_on=[core_component(profile)],
        acceptance_criteria=[
            cite(spec.acceptance[0], ids_of(profile, [trait.feature.name])),
            *spec.acceptance[1:],
            _holds(profile, trait),
            *criteria,
        ],
        effort_days=spec.effort_days + 2 * len(features),
        phase=2 if trait.feature.priority == "must" else 3,
    )


def _drafts(profile: Profile, write: Write) -> list[_Draft]:
    assigned = _assigned(profile)
    drafts = [
        _Draft(**write("infrastructure")),
        _Draft(**write("authentication")),
        _core(profile, write, assigned.get(core_component(profile), [])),
        _client(profile, write),
    ]
    capabilities = [
        _capability(profile, trait, trait.epic, assigned.get(trait.epic.name, []))
        for trait in profile.traits
        if trait.epic is not None
    ]
    drafts += sorted(capabilities, key=lambda draft: draft.phase)
    testing = _Draft(**write("testing"))
    return [
        *drafts,
        replace(
            testing,
            depends_on=[d.name for d in drafts if d.name != INFRASTRUCTURE],
            effort_days=testing.effort_days + len(profile.features) // 2,
        ),
    ]


def _revision_epic(feedback: str, drafts: Sequence[_Draft], core: str) -> str:
    """The capability epic the feedback speaks of, else the core epic."""
    words, names = tokens(feedback), {draft.name for draft in drafts}
    epics = [t.epic.name for t in traits() if t.epic and vote(words, t.keywords)]
    return next((name for name in epics if name in names), core)


def _with_revision_tasks(
    drafts: list[_Draft], profile: Profile, effects: Sequence[RevisionEffect]
) -> list[_Draft]:
    extra: dict[str, list[str]] = {}
    for effect in effects:
        if effect.feature:
            owner = _revision_epic(effect.feedback, drafts, core_component(profile))
            extra.setdefault(owner, []).append(f"Revision {effect.number}: {effect.feedback}")
    return [_adding(draft, extra.get(draft.name, [])) for draft in drafts]


def _delivering_every_must(drafts: list[_Draft], profile: Profile) -> list[_Draft]:
    """The Must requirements of about.md no acceptance criterion cites yet (a feature
    added in a revision, a person's edit) become tasks and criteria of the core epic."""
    cited = {i for draft in drafts for line in draft.acceptance_criteria for i in cited_ids(line)}
    missing = [r.name for r in profile.requirements if r.must and r.id not in cited]
    core = core_component(profile)
    tasks, criteria = _deliver(profile, missing)
    return [_adding(d, tasks, criteria) if d.name == core else d for d in drafts]


def _adding(draft: _Draft, tasks: Sequence[str], criteria: Sequence[str] = ()) -> _Draft:
    """The epic with more tasks (and criteria), two person-days each."""
    return replace(
        draft,
        tasks=[*draft.tasks, *tasks],
        acceptance_criteria=[*draft.acceptance_criteria, *criteria],
        effort_days=draft.effort_days + 2 * len(tasks),
    )


# --- schedule ------------------------------------------------------------------------------------


def _schedule(drafts: Sequence[_Draft], team: int) -> list[Epic]:
    """The epics in order at the team's capacity, each starting where the last one ends."""
    capacity = team * FOCUS_DAYS_PER_WEEK
    epics: list[Epic] = []
    done = 0
    for draft in drafts:
        start = done // capacity + 1
        done += draft.effort_days
        weeks = {"start_week": start, "end_week": max(start, math.ceil(done / capacity))}
        fields = {name: value for name, value in asdict(draft).items() if name != "phase"}
        epics.append(Epic(**fields, **weeks))
    return epics


def _phases(
    profile: Profile, drafts: Sequence[_Draft], epics: Sequence[Epic], write: Write
) -> tuple[list[Phase], list[Milestone]]:
    """The phases that have epics, each ending in a milestone; a pilot's milestone last."""
    end = {epic.name: epic.end_week for epic in epics}
    phases, milestones = [], []
    for number, phase in enumerate(write("phases"), 1):
        members = [draft.name for draft in drafts if draft.phase == number]
        if members:
            done, week = phase["exit_criteria"], max(end[name] for name in members)
            phases.append(Phase(name=phase["name"], goal=phase["goal"], epics=members,
                                exit_criteria=done))  # fmt: skip
            milestones.append(Milestone(name=phase["milestone"], week=week, deliverable=done))
    if profile.duration_weeks - max(end.values()) >= PILOT_MIN_WEEKS:
        milestones.append(Milestone(week=profile.duration_weeks, **write("general_availability")))
    return phases, milestones


def _names_of(profile: Profile, effect: RevisionEffect, drafts: Sequence[_Draft]) -> dict[str, str]:
    return {
        "added": join_words([t.epic.name for t in effect.added if t.epic]),
        "removed": join_words([t.epic.name for t in effect.removed if t.epic]),
        "owner": _revision_epic(effect.feedback, drafts, core_component(profile)),
    }
