"""The offline Business Analyst: a ProjectDescription drafted from the idea's profile."""

from __future__ import annotations

from collections.abc import Sequence

from docflow.agents.contracts import (
    Constraint,
    ConstraintArea,
    Feature,
    OpenQuestion,
    ProjectDescription,
    RevisionNote,
    SuccessMetric,
    UserGroup,
)
from docflow.offline.analysis import FeatureIdea, Profile, RevisionEffect
from docflow.offline.citing import quality_requirements
from docflow.offline.design import compose_change, markers
from docflow.offline.knowledge import Trait, lexicon
from docflow.offline.people import UserIdea
from docflow.offline.requested import section_questions
from docflow.offline.text import (
    capitalise,
    join_words,
    lower_first,
    sentence,
    singular,
    tokens,
    vote,
)

_NON_GOAL_ORDER = (
    "payments", "mobile", "offline", "ml", "multitenant", "integrations", "realtime", "i18n",
    "messaging", "marketplace",
)  # fmt: skip
_AREAS: tuple[ConstraintArea, ...] = (
    "team", "time", "budget", "regulation", "hosting", "technology", "other",
)  # fmt: skip
_COORDINATOR_WORDS = ("coordinator", "admin", "manager", "organiser", "organizer", "owner")


def draft_about(profile: Profile, effects: Sequence[RevisionEffect]) -> ProjectDescription:
    return ProjectDescription(
        project_name=profile.project_name,
        summary=_summary(profile),
        problem=_problem(profile),
        context=_context(profile, effects),
        users=[_user_group(profile, user, index) for index, user in enumerate(profile.users)],
        goals=_goals(profile),
        non_goals=_non_goals(profile),
        features=_features(profile),
        quality_requirements=quality_requirements(profile),
        constraints=_constraints(profile),
        assumptions=_assumptions(profile),
        open_questions=[
            *_open_questions(profile),
            *section_questions(effects, profile.project_name),
        ],
        success_metrics=_success_metrics(profile),
        revision_notes=[RevisionNote(feedback=e.feedback, change=_change(e)) for e in effects],
    )


# --- narrative ---------------------------------------------------------------------------------


def _summary(profile: Profile) -> str:
    first = profile.first_sentence
    if first.split()[0].lower() in ("a", "an", "the"):
        opening = f"{profile.project_name} is {lower_first(first)}."
    else:
        opening = f"{profile.project_name}: {sentence(first)}"
    capabilities = [lower_first(trait.marker) for trait in profile.salient[:5]]
    if not capabilities:
        return opening
    return f"{opening} Its key capabilities are {join_words(capabilities)}."


def _problem(profile: Profile) -> str:
    pains = [sentence(trait.pain) for trait in profile.salient if trait.component][:3]
    if not pains:
        pains = [
            "Work is coordinated by hand through messages and spreadsheets, information goes "
            "stale and nobody has the full picture."
        ]
    product = profile.product.removeprefix("a ").removeprefix("an ")
    return (
        f"{capitalise(profile.audience)} have no single, dependable place for this work today. "
        f"{' '.join(pains)} {profile.project_name} replaces the patchwork with one {product} "
        f"built around what {lower_first(profile.primary_users)} actually do."
    )


def _quoted_idea(idea: str) -> str:
    lines = []
    for line in idea.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):  # the idea's own heading, as plain quoted text
            stripped = stripped.lstrip("#").strip()
        lines.append(f"> {stripped}".rstrip())
    return "\n".join(lines)


def _context(profile: Profile, effects: Sequence[RevisionEffect]) -> str:
    users = join_words([lower_first(user.name) for user in profile.users])
    limits = [lower_first(c.text) for c in profile.constraints]
    parts = [
        f"{profile.project_name} starts from this idea:",
        _quoted_idea(profile.idea),
        f"It is meant for {users}.",
    ]
    if limits:
        parts[-1] += f" The work has to fit these limits: {join_words(limits)}."
    if effects:
        rounds = "round" if len(effects) == 1 else "rounds"
        parts.append(
            f"This version takes {len(effects)} {rounds} of review feedback into account; see "
            "the revision notes at the end."
        )
    return "\n\n".join(parts)


# --- users ---------------------------------------------------------------------------------------


def _head_word(user: UserIdea) -> str:
    words = tokens(user.name)
    return singular(words[-1]) if words else ""


def _matching_needs(user: UserIdea, features: Sequence[FeatureIdea]) -> list[str]:
    head = _head_word(user)
    if len(head) < 4:
        return []
    prefix = f"{user.name} can "
    return [
        capitalise(f.description.removeprefix(prefix).rstrip("."))
        for f in features
        if f.source == "idea" and head in f.description.lower()
    ]


def _is_coordinator(user: UserIdea) -> bool:
    return any(word in user.name.lower() for word in _COORDINATOR_WORDS)


def _fallback_needs(profile: Profile, user: UserIdea, index: int) -> list[str]:
    if index == 0:
        return [trait.need for trait in profile.salient[:3]] or [
            f"Get their everyday {profile.project_name} tasks done in a few minutes"
        ]
    if _is_coordinator(user):
        return [
            f"Set up {profile.project_name} for their {profile.audience} and keep its rules",
            "See what needs attention and act on it quickly",
        ]
    reporting = [t.need for t in profile.traits if t.key == "analytics"]
    return [f"See how {profile.project_name} is used and what it achieves", *reporting]


def _user_group(profile: Profile, user: UserIdea, index: int) -> UserGroup:
    needs = _matching_needs(user, profile.features)[:3]
    needs += _fallback_needs(profile, user, index)
    return UserGroup(name=user.name, description=user.description, needs=needs[:4])


# --- goals, features, constraints -----------------------------------------------------------------


def _goals(profile: Profile) -> list[str]:
    product = profile.product.removeprefix("a ").removeprefix("an ")
    goals = [
        f"Replace the ad-hoc tools {profile.audience} use today with one dependable {product}."
    ]
    goals += [trait.goal for trait in profile.salient][:4]
    if profile.weeks:
        goals.append(
            f"Put a first release in the hands of real users within {profile.weeks} weeks."
        )
    else:
        goals.append(
            "Put a first release in the hands of real users within about three months (assumed)."
        )
    goals.append("Let a new user finish their first task without training or help.")
    return goals


def _rejected(profile: Profile) -> list[Trait]:
    """Traits that feedback or the idea explicitly turned off, in catalog order."""
    texts = [tokens(text) for text in (profile.idea, profile.constraints_text, *profile.feedback)]
    return [t for t in profile.excluded if any(vote(w, t.keywords) is False for w in texts)]


def _non_goals(profile: Profile) -> list[str]:
    chosen = _rejected(profile)
    by_key = {trait.key: trait for trait in profile.excluded}
    chosen += [by_key[key] for key in _NON_GOAL_ORDER if key in by_key]
    unique = list(dict.fromkeys(chosen))
    return [trait.non_goal for trait in unique[:4]] or [
        "Anything beyond the features listed below in the first release."
    ]


def _features(profile: Profile) -> list[Feature]:
    from_idea = [f for f in profile.features if f.source == "idea"]
    requested = [f for f in profile.features if f.source != "idea"]
    features = [
        Feature(name=f.name, description=f.description, priority="must" if i < 3 else "should")
        for i, f in enumerate(from_idea)
    ]
    features += [trait.feature for trait in profile.traits]
    features += [
        Feature(name=f.name, description=f.description, priority="must") for f in requested
    ]
    return features


def _constraints(profile: Profile) -> list[Constraint]:
    stated = [Constraint(area=_area(c.area), description=c.text) for c in profile.constraints]
    return stated or [
        Constraint(
            area="other",
            description="No constraints were stated with the idea; the assumptions below stand "
            "in for them until someone confirms or corrects them.",
        )
    ]


def _area(name: str) -> ConstraintArea:
    return next((area for area in _AREAS if area == name), "other")


def _assumptions(profile: Profile) -> list[str]:
    """What the documents take for granted; each says it is assumed, and what the idea
    leaves open also becomes an open question (``_unknowns``)."""
    team = profile.team_size
    assumptions = [
        f"Assumed: each of the {profile.team_words} has about four focus days a week for "
        f"{profile.project_name}."
        if team
        else "Assumed: three developers (back end, front end, full stack) build the first "
        "release; the idea does not say who builds it.",
        ""
        if profile.weeks
        else "Assumed: a first release within about three months; the idea sets no date.",
        f"Assumed: the stated budget of {profile.budget} covers building and the first year "
        "of hosting."
        if profile.budget
        else "Assumed: hosting at small scale, well under 500 a month, is affordable; the idea "
        "states no budget.",
        f"Assumed: {lower_first(profile.primary_users)} have a smartphone or computer and an "
        "email address to sign in.",
        "Assumed: managed cloud hosting is acceptable; the idea does not say where it runs."
        if profile.hosting.key == "managed" and not _states_hosting(profile)
        else "",
        "" if profile.has("i18n") else "Assumed: the interface launches in one language.",
    ]
    return [assumption for assumption in assumptions if assumption]


def _unknowns(profile: Profile) -> list[OpenQuestion]:
    """A question for each limit the idea does not state, and none for those it does."""
    questions = []
    if profile.team_size is None:
        questions.append(
            OpenQuestion(
                question="How many people will build the product, and with which skills?",
                why="The plan assumes three developers; its timeline follows from the team.",
                suggested_answers=["2 developers", "3 developers", "4 developers"],
            )
        )
    if profile.weeks is None:
        questions.append(
            OpenQuestion(
                question="By when must the first release be live?",
                why="The plan assumes about three months; a firmer date changes its scope.",
                suggested_answers=["In 3 months", "In 6 months"],
            )
        )
    if profile.budget is None:
        questions.append(
            OpenQuestion(
                question="What budget is available for building and for running it each month?",
                why="It bounds the hosting, the managed services and the team.",
                suggested_answers=["Under 500 a month to run", "Up to 2,000 a month to run"],
            )
        )
    if profile.hosting.key == "managed" and not _states_hosting(profile):
        questions.append(
            OpenQuestion(
                question="Where must it run: any managed cloud, a given provider or region, or "
                "your own servers?",
                why="The design assumes managed cloud services; other hosting changes it.",
                suggested_answers=["Any managed cloud", "Our own servers"],
            )
        )
    return questions


def _states_hosting(profile: Profile) -> bool:
    where = (*lexicon().constraint_kinds["hosting"], "stay in", "stays in")
    return any(vote(tokens(limit.text), where) for limit in profile.constraints)


def _open_questions(profile: Profile) -> list[OpenQuestion]:
    """What the idea leaves open, each with why it matters and likely answers; a question
    the idea (or an answer) already settles is not asked."""
    questions = [
        OpenQuestion(
            question=trait.question,
            why=f"The answer sets the scope and the cost of \u201c{trait.marker}\u201d.",
            suggested_answers=[],
        )
        for trait in profile.salient[:4]
    ]
    questions += _unknowns(profile)
    questions.append(
        OpenQuestion(
            question="Who owns the product after launch and decides on its priorities?",
            why="Someone has to accept each release and decide what comes next.",
            suggested_answers=["A product owner on our side", "A steering group of users"],
        )
    )
    return questions


def _success_metrics(profile: Profile) -> list[SuccessMetric]:
    users = lower_first(profile.primary_users)
    first_feature = profile.features[0].name if profile.features else "the main task"
    metrics = [
        SuccessMetric(
            name=f"Active {users}",
            target=">= 60% of invited users active each month, three months after launch",
            measurement="Product analytics: monthly active users divided by invited users",
        ),
        SuccessMetric(
            name=f"Time to complete \u201c{first_feature}\u201d",
            target="<= 2 minutes for a first-time user",
            measurement=f"Moderated usability test with five {users}",
        ),
    ]
    metrics += [trait.metric for trait in profile.salient][:4]
    metrics.append(
        SuccessMetric(
            name="Satisfaction",
            target=">= 4.2 out of 5",
            measurement="In-app survey after the fifth session",
        )
    )
    return metrics


def _change(effect: RevisionEffect) -> str:
    return compose_change(
        [
            f"added {markers(effect.added)} to the features, goals and open questions"
            if effect.added
            else "",
            f"moved {markers(effect.removed)} out of scope (now a non-goal)"
            if effect.removed
            else "",
            f"updated the constraints ({join_words(list(effect.changes))})"
            if effect.changes
            else "",
            f"added \u201c{effect.feature.name}\u201d as a must-have feature"
            if effect.feature
            else "",
        ],
        effect.section,
    )
