"""The offline Business Analyst: a ProjectDescription drafted from the idea's profile."""

from __future__ import annotations

from collections.abc import Sequence

from docflow.agents.contracts import (
    Constraint,
    Feature,
    OpenQuestion,
    ProjectDescription,
    UserGroup,
)
from docflow.offline.analysis import FeatureIdea, Profile, RevisionEffect
from docflow.offline.design import Write, quality_requirements, revision_notes, writer_of
from docflow.offline.knowledge import Trait, lexicon
from docflow.offline.people import UserIdea, is_admin
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


def draft_about(profile: Profile, effects: Sequence[RevisionEffect]) -> ProjectDescription:
    context = _context_values(profile)
    first = profile.first_sentence
    limits = [lower_first(c.text) for c in profile.constraints]
    capabilities = [lower_first(trait.marker) for trait in profile.salient[:5]]
    context.update(
        first_lower=lower_first(first),
        first_sentence=sentence(first),
        capabilities=join_words(capabilities),
        quoted_idea=_quoted_idea(profile.idea),
        limits=join_words(limits),
        rounds=f"{len(effects)} round" + ("s" if len(effects) > 1 else ""),
    )
    facts = {
        "hosting_assumed": _hosting_assumed(profile),
        "article": first.split()[0].lower() in ("a", "an", "the"),
        "capabilities": bool(capabilities),
        "limits": bool(limits),
        "revised": bool(effects),
    }
    write = writer_of("about", profile, context, facts)
    pains = [sentence(trait.pain) for trait in profile.salient if trait.component][:3]
    context["pains"] = " ".join(pains) or write("pain_without_traits")
    return ProjectDescription(
        project_name=profile.project_name,
        summary=" ".join(write("summary")),
        problem=write("problem"),
        context="\n\n".join(write("context")),
        users=[
            _user_group(profile, user, index, write) for index, user in enumerate(profile.users)
        ],
        goals=[
            write("first_goal"),
            *[trait.goal for trait in profile.salient][:4],
            *write("last_goals"),
        ],
        non_goals=_non_goals(profile, write),
        features=_features(profile),
        quality_requirements=quality_requirements(profile),
        constraints=[Constraint(area=c.area, description=c.text) for c in profile.constraints]
        or [write("no_constraints")],
        assumptions=write("assumptions"),
        open_questions=[
            *(_trait_question(trait) for trait in profile.salient[:4]),
            *write("unknowns"),
            *section_questions(profile, effects),
        ],
        success_metrics=[
            *write("first_metrics"),
            *[trait.metric for trait in profile.salient][:4],
            write("last_metric"),
        ],
        revision_notes=revision_notes("about", profile, effects),
    )


def _context_values(profile: Profile) -> dict[str, object]:
    return {
        "audience": profile.audience,
        "Audience": capitalise(profile.audience),
        "product_noun": profile.product.removeprefix("a ").removeprefix("an "),
        "budget": profile.budget,
        "first_feature": profile.features[0].name if profile.features else "the main task",
    }


def _hosting_assumed(profile: Profile) -> bool:
    where = (*lexicon().constraint_kinds["hosting"], "stay in", "stays in")
    stated = any(vote(tokens(limit.text), where) for limit in profile.constraints)
    return profile.hosting.key == "managed" and not stated


def _trait_question(trait: Trait) -> OpenQuestion:
    return OpenQuestion(
        question=trait.question,
        why=f"The answer sets the scope and the cost of \u201c{trait.marker}\u201d.",
        suggested_answers=[],
    )


# --- narrative ---------------------------------------------------------------------------------


def _quoted_idea(idea: str) -> str:
    """The idea as a Markdown quote; its own heading becomes plain quoted text."""
    lines = [line.strip().lstrip("#").strip() if line.strip().startswith("#") else line.strip()
             for line in idea.splitlines()]  # fmt: skip
    return "\n".join(f"> {line}".rstrip() for line in lines)


# --- users ---------------------------------------------------------------------------------------


def _matching_needs(user: UserIdea, features: Sequence[FeatureIdea]) -> list[str]:
    """The idea's features that speak of the group, as its needs."""
    words = tokens(user.name)
    head = singular(words[-1]) if words else ""
    if len(head) < 4:
        return []
    prefix = f"{user.name} can "
    return [
        capitalise(f.description.removeprefix(prefix).rstrip("."))
        for f in features
        if f.source == "idea" and head in f.description.lower()
    ]


def _fallback_needs(profile: Profile, user: UserIdea, index: int, write: Write) -> list[str]:
    if index == 0:
        return [trait.need for trait in profile.salient[:3]] or [write("needs_first_group")]
    if is_admin(user.name):
        return list(write("needs_admins"))
    reporting = [t.need for t in profile.traits if t.key == "analytics"]
    return [write("needs_others"), *reporting]


def _user_group(profile: Profile, user: UserIdea, index: int, write: Write) -> UserGroup:
    needs = _matching_needs(user, profile.features)[:3]
    needs += _fallback_needs(profile, user, index, write)
    return UserGroup(name=user.name, description=user.description, needs=needs[:4])


# --- goals, features, constraints -----------------------------------------------------------------


def _rejected(profile: Profile) -> list[Trait]:
    """Traits that feedback or the idea explicitly turned off, in catalog order."""
    texts = [tokens(text) for text in (profile.idea, profile.constraints_text, *profile.feedback)]
    return [t for t in profile.excluded if any(vote(w, t.keywords) is False for w in texts)]


def _non_goals(profile: Profile, write: Write) -> list[str]:
    chosen = _rejected(profile)
    by_key = {trait.key: trait for trait in profile.excluded}
    chosen += [by_key[key] for key in write("non_goal_order") if key in by_key]
    unique = list(dict.fromkeys(chosen))
    return [trait.non_goal for trait in unique[:4]] or [write("no_non_goals")]


def _features(profile: Profile) -> list[Feature]:
    """The idea's features (the first three a must), the capabilities', then review's."""
    from_idea = [f for f in profile.features if f.source == "idea"]
    requested = [f for f in profile.features if f.source != "idea"]
    return [
        *(Feature(name=f.name, description=f.description, priority="must" if i < 3 else "should")
          for i, f in enumerate(from_idea)),
        *(trait.feature for trait in profile.traits),
        *(Feature(name=f.name, description=f.description, priority="must") for f in requested),
    ]  # fmt: skip
