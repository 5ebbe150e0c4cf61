"""Sections review feedback asks for by name, written from the idea.

"Add a section about accessibility for wheelchair users" becomes a section headed
"Accessibility for wheelchair users" in the document under review. Its paragraphs say
what the idea itself says on the topic (its sentences that share a word stem with it), which
of the package's requirements bear on it, and, where the idea is silent, what is assumed
until someone says otherwise; about.md also asks it as an open question.
"""

from __future__ import annotations

from collections.abc import Sequence

from docflow.agents.contracts import OpenQuestion, RequestedSection
from docflow.offline.analysis import Profile, RevisionEffect, idea_sentences
from docflow.offline.design import quality_requirements
from docflow.offline.knowledge import lexicon
from docflow.offline.text import capitalise, join_words, lower_first, tokens

_STEM = 5  # words sharing their first five letters share a stem: accessible, accessibility


def _stems(text: str) -> set[str]:
    function = lexicon().function_words
    return {word[:_STEM] for word in tokens(text) if len(word) > 3 and word not in function}


def _related(texts: Sequence[str], topic: str) -> list[str]:
    stems = _stems(topic)
    return [text for text in texts if _stems(text) & stems]


def _section(profile: Profile, effect: RevisionEffect, topic: str) -> RequestedSection:
    said = _related(idea_sentences(profile.idea), topic)
    features = [f.name for f in profile.features if _related([f"{f.name} {f.description}"], topic)]
    quality = [q.requirement for q in quality_requirements(profile) if _related([q.area], topic)]
    paragraphs = [
        f"Asked for in review (revision {effect.number}): \u201c{effect.feedback}\u201d.",
        "What the idea says about it: " + " ".join(f"\u201c{s}\u201d" for s in said)
        if said
        else f"The idea does not speak of {lower_first(topic)}. {profile.project_name} is "
        f"{profile.product} for {profile.purpose}, so it touches what the idea asks of it: "
        f"{join_words([lower_first(f.name) for f in profile.features[:4]])}.",
    ]
    if features or quality:
        paragraphs.append(f"The requirements that bear on it: {join_words([*features, *quality])}.")
    paragraphs.append(
        f"Assumed until someone confirms it: {lower_first(topic)} is in scope for every "
        "feature above from the first release; the review of this document settles what more "
        "it needs."
    )
    return RequestedSection(heading=capitalise(topic), paragraphs=paragraphs)


def requested_sections(
    profile: Profile, effects: Sequence[RevisionEffect]
) -> list[RequestedSection]:
    return [_section(profile, e, e.section) for e in effects if e.section]


def section_questions(effects: Sequence[RevisionEffect], project: str) -> list[OpenQuestion]:
    return [
        OpenQuestion(
            question=f"What must {project} do for {lower_first(e.section)} beyond the "
            "requirements it lists?",
            why=f"The section \u201c{capitalise(e.section)}\u201d was asked for in review and "
            "rests on assumptions until this is answered.",
            suggested_answers=[],
        )
        for e in effects
        if e.section
    ]
