"""Deterministic reading of a brief: what the idea asks for, for whom, under which limits.

The offline writer drafts every document from the ``Profile`` built here. It reads the
person's own text (idea, constraints, feedback), never a prompt: bullet lines and clauses
become features, a 'Users:' line or role words become user groups, keywords switch domain
traits on or off (a negation such as 'no payments' or 'drop payments' switches one off),
and later feedback overrides earlier text. Downstream steps also honour what an accepted
upstream document kept, by looking for each trait's marker in it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from docflow.contracts import ANSWERS_REVISION, RenderedDocument, Requirement, StepBrief
from docflow.ideas import name_from_idea
from docflow.offline.knowledge import (
    Backend,
    Client,
    Hosting,
    KnowledgeError,
    Trait,
    lexicon,
    stacks,
    traits,
)
from docflow.offline.limits import (
    ConstraintIdea,
    budget,
    constraints,
    is_constraint,
    team_size,
    weeks,
)
from docflow.offline.people import (
    UserIdea,
    is_admin,
    is_people,
    is_users_line,
    stated_users,
    user_groups,
)
from docflow.offline.text import (
    LIST_MARK,
    capitalise,
    first_plain_mention,
    lower_first,
    sentence,
    singular,
    tokens,
    vote,
)
from docflow.quality.parse import parse
from docflow.traceability import requirements_of

_Option = TypeVar("_Option", Backend, Client, Hosting)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_AUDIENCE = re.compile(
    r"\bfor (?P<audience>[^,.:;()]+?)(?=\s+(?:to|that|who|where|so|with|in|by)\b|[,.:;()]|$)",
    re.IGNORECASE,
)
_LETS_AUDIENCE = re.compile(
    r"\b(?:lets|helps|allows|enables)\s+(?P<audience>(?:\w+\s+){0,3}?\w+?s)\s+(?:to\s+)?[a-z]+",
    re.IGNORECASE,
)
_PRODUCT_LEAD = re.compile(
    r"^(?:we|i)\s+(?:want|need|would like|plan)\s+(?:to\s+)?(?:build|create|make)?\s*|^(?:build|"
    r"create|make)\s+",
    re.IGNORECASE,
)
_PIECE_SPLIT = re.compile(r",\s*(?:and\s+|or\s+)?|\s+and\s+|\s+as well as\s+|\s+with\s+|;\s*")
_WORDS = lexicon()
_PIECE_LEAD = re.compile(rf"^(?:(?:{'|'.join(_WORDS.piece_leads)})\s+)+", re.IGNORECASE)
_NAME_CUT = re.compile(rf"\s*(?:[(,;:]|{'|'.join(f' {cut} ' for cut in _WORDS.name_cuts)})")
_FEEDBACK_LEAD = re.compile(rf"^(?:{'|'.join(_WORDS.feedback_leads)})\b[\s,]*", re.IGNORECASE)


@dataclass(frozen=True)
class FeatureIdea:
    name: str
    description: str
    source: str  # "idea" or "revision N"


@dataclass(frozen=True)
class Profile:
    """Everything the offline writer knows about the project, in reading order."""

    project_name: str
    idea: str
    first_sentence: str
    product: str
    audience: str  # the people it is for
    purpose: str  # what the idea says it is for ("community marine-biology field trips")
    users: tuple[UserIdea, ...]
    features: tuple[FeatureIdea, ...]
    traits: tuple[Trait, ...]  # catalog order: how components and epics are laid out
    salient: tuple[Trait, ...]  # the same traits, in the order the person's text mentions them
    excluded: tuple[Trait, ...]
    backend: Backend
    client: Client
    console: Client | None
    hosting: Hosting
    in_eu: bool
    constraints: tuple[ConstraintIdea, ...]
    constraints_text: str
    team_size: int | None
    weeks: int | None
    budget: str | None
    feedback: tuple[str, ...]
    # The requirements of the accepted about.md (later steps cite their ids).
    requirements: tuple[Requirement, ...] = ()

    def has(self, key: str) -> bool:
        return any(trait.key == key for trait in self.traits)

    @property
    def primary_users(self) -> str:
        return self.users[0].name

    @property
    def coordinators(self) -> str:
        """The user group that runs things: coordinators before admins before offices."""
        return next((user.name for user in self.users if is_admin(user.name)), self.users[-1].name)

    @property
    def team(self) -> int:
        return self.team_size or 3

    @property
    def duration_weeks(self) -> int:
        return self.weeks or 12

    @property
    def team_words(self) -> str:
        """'3 developers', or '3 developers (assumed)' when the idea does not say."""
        people = f"{self.team} developers" if self.team > 1 else "one developer"
        return people if self.team_size else f"{people} (assumed)"

    @property
    def weeks_words(self) -> str:
        return f"{self.duration_weeks} weeks" + ("" if self.weeks else " (assumed)")

    @property
    def mobile(self) -> bool:
        return self.has("mobile")

    @property
    def needs_worker(self) -> bool:
        return any(trait.needs_worker for trait in self.traits)

    def flag(self, name: str) -> bool:
        """A condition of the prose files (``docflow.offline.templates``): a trait's key
        or one of these facts."""
        facts = {
            "mobile": self.mobile,
            "console": self.console is not None,
            "worker": self.needs_worker,
            "redis": self.needs_worker or self.has("realtime"),
            "eu": self.in_eu,
            "critical": self.has("payments") or self.has("health"),
            "team_stated": self.team_size is not None,
            "weeks_stated": self.weeks is not None,
            "budget_stated": self.budget is not None,
        }
        if name in facts:
            return facts[name]
        if name in {trait.key for trait in traits()}:
            return self.has(name)
        raise KnowledgeError(f"a prose condition names an unknown fact: {name!r}")


@dataclass(frozen=True)
class RevisionEffect:
    """What one feedback item changed, compared with the version before it."""

    number: int
    feedback: str
    added: tuple[Trait, ...]
    removed: tuple[Trait, ...]
    changes: tuple[str, ...]
    feature: FeatureIdea | None
    section: str | None = None  # the topic of a section the feedback asks for


# --- reading the idea --------------------------------------------------------------------------


def _blocks(idea: str) -> list[tuple[str, str]]:
    """(kind, text) per bullet or prose paragraph; wrapped lines are joined."""
    blocks: list[tuple[str, str]] = []
    is_open = False
    for raw in idea.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            is_open = False
            continue
        bullet = LIST_MARK.match(line)
        if bullet and line[bullet.end() :]:
            blocks.append(("bullet", line[bullet.end() :]))
        elif is_open and blocks:
            kind, text = blocks[-1]
            blocks[-1] = (kind, f"{text} {line}")
        else:
            blocks.append(("prose", line))
        is_open = True
    return blocks


def _sentences(blocks: Sequence[tuple[str, str]], kinds: str = "prose bullet") -> list[str]:
    """The sentences of the idea's blocks of these kinds, in order; a 'Users:' line is none."""
    texts = [text for kind, text in blocks if kind in kinds.split() and not is_users_line(text)]
    return [s.strip() for text in texts for s in _SENTENCE_END.split(text) if s.strip()]


def _strip_end(text: str) -> str:
    return text.strip().rstrip(".!?;:,").strip()


def _feature_name(text: str) -> str:
    name = _NAME_CUT.split(_strip_end(text), maxsplit=1)[0]
    words = name.split()
    if len(words) > 8 and " and " in name:
        words = name.split(" and ")[0].split()
    words = words[:8]
    while len(words) > 2 and words[-1].lower() in lexicon().function_words:
        words.pop()
    return capitalise(" ".join(words))


def _from_statement(text: str) -> FeatureIdea:
    return FeatureIdea(_feature_name(text), sentence(_strip_end(text)), "idea")


def is_verb(word: str) -> bool:
    return word in lexicon().verbs or singular(word) in lexicon().verbs


def _from_piece(piece: str, project: str, users: str) -> FeatureIdea:
    words = piece.lower().split()
    if is_verb(words[0]):
        description = f"{users} can {piece} in {project}."
    elif any(is_verb(word) for word in words[1:4]):
        description = f"In {project}, {lower_first(piece)}."
    else:
        description = f"{project} offers {lower_first(piece)}."
    return FeatureIdea(_feature_name(piece), description, "idea")


def _clause(sentence_text: str) -> str:
    lowered = sentence_text.lower()
    found = [(lowered.find(m), -len(m), m) for m in _WORDS.clause_markers if m in lowered]
    if not found:
        return ""
    position, _, marker = min(found)
    return _strip_end(sentence_text[position + len(marker) :])


def _pieces(clause: str) -> list[str]:
    pieces = [_PIECE_LEAD.sub("", p.strip()) for p in _PIECE_SPLIT.split(clause)]
    return [p for p in pieces if p and 1 <= len(p.split()) <= 14]


def _dedupe(features: Sequence[FeatureIdea]) -> tuple[FeatureIdea, ...]:
    seen: dict[str, FeatureIdea] = {}
    for feature in features:
        seen.setdefault(feature.name.lower(), feature)
    return tuple(seen.values())


def _features(
    blocks: Sequence[tuple[str, str]], first: str, project: str, users: str
) -> list[FeatureIdea]:
    bullets = [text for kind, text in blocks if kind == "bullet"]
    if bullets:
        return [_from_statement(text) for text in bullets if not is_constraint(text)]
    features = [_from_piece(p, project, users) for p in _pieces(_clause(first))]
    for text in _sentences(blocks, "prose")[1:]:
        if not is_constraint(text) and len(text.split()) <= 20:
            features.append(_from_statement(text))
    return features


def _audience_words(first: str) -> list[str]:
    """The words after 'for' (or 'lets ... <verb>') in the first sentence."""
    found = _AUDIENCE.search(first) or _LETS_AUDIENCE.search(first)
    words = found["audience"].split() if found else []
    while words and words[0].lower() in ("the", "a", "an"):
        words = words[1:]
    return words[:6]


def _product(first: str) -> str:
    lowered = first.lower()
    cuts = [lowered.find(m) for m in _WORDS.product_cuts if lowered.find(m) > 0]
    head = first[: min(cuts)] if cuts else " ".join(first.split()[:8])
    return lower_first(_strip_end(head)) or "a software product"


# --- traits and stack ----------------------------------------------------------------------------


def _trait_votes(text: str) -> dict[str, bool]:
    words = tokens(text)
    votes = {trait.key: vote(words, trait.keywords) for trait in traits()}
    return {key: decided for key, decided in votes.items() if decided is not None}


def _reference(upstream: Sequence[RenderedDocument]) -> str | None:
    """The most downstream accepted document that lists the traits (architecture, else about)."""
    found = {document.kind: document.content_md for document in reversed(upstream)}
    return found.get("architecture", found.get("about"))


def _included(texts: Sequence[str], reference: str | None, feedback: Sequence[str]) -> set[str]:
    state: dict[str, bool] = {}
    if reference is None:
        for text in texts:
            state.update(_trait_votes(text))
    else:
        state = {trait.key: trait.marker in reference for trait in traits()}
    for item in feedback:
        state.update(_trait_votes(item))
    return {key for key, on in state.items() if on}


def _latest_mention(options: Sequence[_Option], texts: Sequence[str]) -> _Option | None:
    chosen: _Option | None = None
    for text in texts:
        words = tokens(text)
        mentioned = [
            (position, index)
            for index, option in enumerate(options)
            if (position := first_plain_mention(words, option.keywords)) is not None
        ]
        if mentioned:
            chosen = options[min(mentioned)[1]]
    return chosen


def _choose(
    options: Sequence[_Option], texts: Sequence[str], reference: str | None,
    feedback: Sequence[str], default: _Option | None = None,
) -> _Option:  # fmt: skip
    """Feedback wins over the accepted upstream document, which wins over the idea, which
    wins over the default (the first option, unless another is given)."""
    from_reference = next((o for o in options if reference and o.label in reference), None)
    base = from_reference or _latest_mention(options, texts) or default or options[0]
    return _latest_mention(options, feedback) or base


def _by_mention(traits: Sequence[Trait], texts: Sequence[str]) -> tuple[Trait, ...]:
    """The traits in the order the texts first mention them; never mentioned, last."""
    words = tokens(" ".join(texts))
    found = {t.key: first_plain_mention(words, t.keywords) for t in traits}
    first = {key: len(words) if at is None else at for key, at in found.items()}
    return tuple(sorted(traits, key=lambda trait: first[trait.key]))


# --- the profile ---------------------------------------------------------------------------------


def _first_sentence(blocks: Sequence[tuple[str, str]], project: str) -> str:
    sentences = _sentences(blocks, "prose")
    first = sentences[0] if sentences else (blocks[0][1] if blocks else f"{project}.")
    named = re.compile(rf"^\s*{re.escape(project)}\s*(?::|\u2014|\u2013| - )\s*", re.I)
    return capitalise(_PRODUCT_LEAD.sub("", named.sub("", first)))


def _profile(brief: StepBrief, feedback: Sequence[str]) -> Profile:
    blocks = _blocks(brief.idea)
    project = _project_name(brief)
    first = _first_sentence(blocks, project)
    audience_words = _audience_words(first)
    stated = stated_users([text for kind, text in blocks if kind == "prose"])
    users = user_groups(_sentences(blocks), audience_words, project, stated)
    audience = " ".join(audience_words) if is_people(audience_words) else ""
    texts = (brief.idea, brief.constraints)
    every_text = (*texts, *(answer.answer for answer in brief.answers), *feedback)
    reference = _reference(brief.upstream)
    included = _included(texts, reference, feedback)
    options = stacks()
    web = _choose(options.web_clients, texts, reference, feedback)
    phone = _choose(options.mobile_clients, texts, reference, feedback)
    client, console = (phone, web) if "mobile" in included else (web, None)
    limits = constraints(brief.constraints, _sentences(blocks)[1:])
    figures = [*(c.text for c in limits), *(a.answer for a in brief.answers), *feedback]
    return Profile(
        project_name=project,
        idea=brief.idea.strip(),
        first_sentence=_strip_end(first),
        product=_product(first),
        audience=audience or lower_first(users[0].name),
        purpose=" ".join(audience_words) or audience or lower_first(users[0].name),
        users=users,
        features=_dedupe(_features(blocks, first, project, users[0].name)),
        traits=tuple(t for t in traits() if t.key in included),
        salient=_by_mention([t for t in traits() if t.key in included], every_text),
        excluded=tuple(t for t in traits() if t.key not in included),
        backend=_choose(options.backends, texts, reference, feedback),
        client=client,
        console=console,
        hosting=_choose(options.hostings, texts, reference, feedback, options.default_hosting),
        in_eu=any(vote(tokens(text), options.eu_words) for text in every_text),
        constraints=limits,
        constraints_text=brief.constraints,
        team_size=team_size(figures),
        weeks=weeks(figures),
        budget=budget(figures),
        feedback=tuple(feedback),
        requirements=_upstream_requirements(brief.upstream),
    )


def _project_name(brief: StepBrief) -> str:
    """The project's name, unless it is a placeholder and the idea names the project."""
    given = brief.project_name.strip()
    if given.lower() in lexicon().placeholder_names:
        return name_from_idea(brief.idea) or given or "Untitled project"
    return given


def idea_sentences(idea: str) -> list[str]:
    return _sentences(_blocks(idea))


def _upstream_requirements(upstream: Sequence[RenderedDocument]) -> tuple[Requirement, ...]:
    about = next((document for document in upstream if document.kind == "about"), None)
    return tuple(requirements_of(parse(about.content_md))) if about is not None else ()


# --- revisions -----------------------------------------------------------------------------------


def _setting_changes(before: Profile, after: Profile) -> tuple[str, ...]:
    pairs = (
        ("backend", before.backend.label, after.backend.label),
        ("client", before.client.label, after.client.label),
        ("hosting", before.hosting.label, after.hosting.label),
        ("team size", str(before.team_size), str(after.team_size)),
        ("timeline in weeks", str(before.weeks), str(after.weeks)),
        ("budget", str(before.budget), str(after.budget)),
    )
    return tuple(f"{what}: {new}" for what, old, new in pairs if old != new)


def _feedback_feature(feedback: str, number: int) -> FeatureIdea | None:
    if feedback == ANSWERS_REVISION:  # the answers are in the brief, not a feature request
        return None
    text = _strip_end(feedback)
    while (stripped := _FEEDBACK_LEAD.sub("", text, count=1)) != text:
        text = stripped
    if not text:
        return None
    description = f"Requested in review (revision {number}): \u201c{_strip_end(feedback)}\u201d."
    return FeatureIdea(_feature_name(text), description, f"revision {number}")


def _effect(number: int, feedback: str, before: Profile, after: Profile) -> RevisionEffect:
    added = tuple(t for t in after.traits if t not in before.traits)
    removed = tuple(t for t in before.traits if t not in after.traits)
    changes = _setting_changes(before, after)
    section = section_topic(feedback)
    feature = None if removed or changes or section else _feedback_feature(feedback, number)
    return RevisionEffect(number, feedback, added, removed, changes, feature, section)


def section_topic(feedback: str) -> str | None:
    """The topic of a feedback item that asks for a section, or None."""
    lowered = feedback.lower()
    for phrase in lexicon().section_requests:
        start = lowered.find(phrase)
        if start >= 0:
            topic = feedback[start + len(phrase) :].strip().rstrip(".!?;:").strip()
            return re.sub(r"^(?:the|a|an)\s+", "", topic, flags=re.IGNORECASE) or None
    return None


def analyse(brief: StepBrief) -> tuple[Profile, tuple[RevisionEffect, ...]]:
    """The profile of the brief, and what each feedback item changed, oldest first."""
    feedback = [item.strip() for item in brief.feedback if item.strip()]
    versions = [_profile(brief, feedback[:count]) for count in range(len(feedback) + 1)]
    effects = tuple(
        _effect(number, feedback[number - 1], versions[number - 1], versions[number])
        for number in range(1, len(versions))
    )
    requested = [effect.feature for effect in effects if effect.feature is not None]
    final = versions[-1]
    dropped = [t for e in effects for t in e.removed if t not in final.traits]
    kept = [f for f in final.features if not _mentions_any(f, dropped)]
    return replace(final, features=_dedupe([*kept, *requested])), effects


def _mentions_any(feature: FeatureIdea, traits: Sequence[Trait]) -> bool:
    """Whether an idea feature is about a capability that feedback took out of scope."""
    words = tokens(f"{feature.name} {feature.description}")
    return any(vote(words, trait.keywords) for trait in traits)
