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
from docflow.offline.design import Write, quality_requirements, writer_of
from docflow.offline.knowledge import lexicon
from docflow.offline.text import capitalise, join_words, lower_first, tokens

_STEM = 5  # words sharing their first five letters share a stem: accessible, accessibility


def _stems(text: str) -> set[str]:
    function = lexicon().function_words
    return {word[:_STEM] for word in tokens(text) if len(word) > 3 and word not in function}


def _related(texts: Sequence[str], topic: str) -> list[str]:
    stems = _stems(topic)
    return [text for text in texts if _stems(text) & stems]


def _writer(profile: Profile, effect: RevisionEffect) -> Write:
    topic = effect.section or ""
    said = _related(idea_sentences(profile.idea), topic)
    features = [f.name for f in profile.features if _related([f"{f.name} {f.description}"], topic)]
    quality = [q.requirement for q in quality_requirements(profile) if _related([q.area], topic)]
    context: dict[str, object] = {
        "number": effect.number,
        "feedback": effect.feedback,
        "topic": lower_first(topic),
        "heading": capitalise(topic),
        "said": " ".join(f"\u201c{s}\u201d" for s in said),
        "features": join_words([lower_first(f.name) for f in profile.features[:4]]),
        "bearing": join_words([*features, *quality]),
    }
    facts = {"said": bool(said), "bearing": bool(features or quality)}
    return writer_of("requested", profile, context, facts)


def requested_sections(
    profile: Profile, effects: Sequence[RevisionEffect]
) -> list[RequestedSection]:
    return [
        RequestedSection(
            heading=capitalise(e.section), paragraphs=_writer(profile, e)("paragraphs")
        )
        for e in effects
        if e.section
    ]


def section_questions(profile: Profile, effects: Sequence[RevisionEffect]) -> list[OpenQuestion]:
    return [
        OpenQuestion.model_validate(_writer(profile, e)("question")) for e in effects if e.section
    ]
