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
from docflow.offline.knowledge import Backend, Client, Hosting, Trait, stacks, traits
from docflow.offline.text import (
    capitalise,
    first_plain_mention,
    lower_first,
    phrases,
    sentence,
    singular,
    tokens,
    vote,
)
from docflow.quality.parse import parse
from docflow.traceability import requirements_of

_Option = TypeVar("_Option", Backend, Client, Hosting)

_BULLET = re.compile(r"^(?:[-*\u2022+]|\d+[.)])\s+(?P<text>.+)$")
_USERS_LINE = re.compile(r"^(?:target users|users|audience|who)\s*:\s*(?P<text>.+)$", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_AUDIENCE = re.compile(
    r"\bfor (?P<audience>[^,.:;()]+?)(?=\s+(?:to|that|who|where|so|with|in|by)\b|[,.:;()]|$)",
    re.IGNORECASE,
)
_LETS_AUDIENCE = re.compile(
    r"\b(?:lets|helps|allows|enables)\s+(?P<audience>(?:\w+\s+){0,3}?\w+?s)\s+(?:to\s+)?[a-z]+",
    re.IGNORECASE,
)
_PRODUCT_CUTS = (" for ", " that ", " which ", " to ", " where ", " with ", ":", " so ")
_PRODUCT_LEAD = re.compile(
    r"^(?:we|i)\s+(?:want|need|would like|plan)\s+(?:to\s+)?(?:build|create|make)?\s*|^(?:build|"
    r"create|make)\s+",
    re.IGNORECASE,
)
_NUMBER = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_TEAM = re.compile(
    rf"\b(?:team of {_NUMBER}|{_NUMBER}\s+(?:full[- ]time\s+)?(?:developers?|devs?|engineers?"
    r"|people|persons))\b",
    re.IGNORECASE,
)
_SOLO = re.compile(r"\b(?:solo|single|one|lone) (?:developer|dev|engineer)\b", re.IGNORECASE)
_DURATION = re.compile(rf"\b{_NUMBER}\s*(weeks?|months?)\b", re.IGNORECASE)
_BUDGET = re.compile(
    r"(?:[$\u20ac\u00a3]\s?\d[\d,.]*\s?[km]?\b|\b\d[\d,.]*\s?[km]?\s?(?:usd|eur|gbp|dollars|euros"
    r"|pounds)\b)",
    re.IGNORECASE,
)
_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_CLAUSE_MARKERS = (
    ": ", " that lets ", " that helps ", " that allows ", " lets ", " helps ", " allows ",
    " enables ", " so that ", " to ", " where ", " with ",
)  # fmt: skip
_PIECE_SPLIT = re.compile(r",\s*(?:and\s+|or\s+)?|\s+and\s+|\s+as well as\s+|\s+with\s+|;\s*")
_PIECE_LEAD = re.compile(r"^(?:(?:with|and|also|then|to|easily)\s+)+", re.IGNORECASE)
_NAME_CUT = re.compile(r"\s*(?:\(|,|;|:| so | so that | because | while | where | which )")
_FEEDBACK_LEAD = re.compile(
    r"^(?:please|also|add|include|support|we need|we also need|i want|it should|make sure"
    r"|could you|can you|let's|lets|and)\b[\s,]*",
    re.IGNORECASE,
)
_VERBS = frozenset(
    phrases(
        "share, book, schedule, manage, track, send, take, find, see, pay, order, sell, buy, "
        "create, plan, organise, organize, coordinate, rent, lend, borrow, report, log, record, "
        "upload, chat, message, reserve, invite, allocate, publish, rate, review, compare, "
        "monitor, get, receive, discover, search, browse, request, submit, approve, assign, "
        "match, learn, practise, practice, store, collect, donate, vote, join, register, edit, "
        "view, write, read, print, import, export, sync, notify, remind, connect, follow, keep, "
        "check, run, swap, exchange, offer, list, post, answer, ask, help, build, design, "
        "analyse, analyze, measure, estimate, predict, recommend, plan, split, work, works, syncs, "
        "see, has, sync"
    )
)
_CONSTRAINT_AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("team", ("developer", "developers", "devs", "engineer", "engineers", "team", "people",
              "solo", "freelancer", "volunteer developers")),
    ("time", ("week", "weeks", "month", "months", "deadline", "launch", "quarter", "year",
              "by", "before", "mvp")),
    ("budget", ("budget", "cost", "costs", "cheap", "free", "funding", "funded", "grant",
                "eur", "usd", "gbp", "k", "money")),
    ("hosting", ("hosting", "hosted", "host", "cloud", "aws", "azure", "gcp", "server",
                 "servers", "on prem", "region", "kubernetes", "self hosted", "data centre")),
    ("regulation", ("gdpr", "hipaa", "compliance", "compliant", "regulation", "law", "legal",
                    "accessibility", "wcag", "pci", "iso", "soc")),
    ("technology", ("python", "java", "go", "golang", "react", "flutter", "node", "django",
                    "typescript", "kotlin", "swift", ".net", "c#", "postgresql", "stack")),
)  # fmt: skip
_NOT_PEOPLE = frozenset(
    phrases(
        "sensors, devices, data, files, documents, machines, vehicles, robots, servers, apps, "
        "products, things, items, tools, plants, animals, crops, greenhouses, buildings, assets, "
        "equipment, inventory, stock, orders, events"
    )
)
_NAMED_GROUP = "Named in the idea as a user group."
_OPERATOR_DESCRIPTION = "The people who run what the idea is about and act on what it shows."
_ADMIN_DESCRIPTION = "Set things up, keep the rules and resolve problems for everyone else."
_ADMIN_WORDS = (
    "coordinator",
    "admin",
    "administrator",
    "manager",
    "organiser",
    "organizer",
    "owner",
    "office",
    "staff",
)
_ROLE_WORDS = (
    "gardeners",
    "volunteers",
    "members",
    "students",
    "teachers",
    "parents",
    "patients",
    "doctors",
    "nurses",
    "clinicians",
    "drivers",
    "riders",
    "customers",
    "clients",
    "sellers",
    "buyers",
    "hosts",
    "guests",
    "tenants",
    "landlords",
    "farmers",
    "coaches",
    "players",
    "athletes",
    "employees",
    "managers",
    "organisers",
    "organizers",
    "coordinators",
    "technicians",
    "researchers",
    "residents",
    "neighbours",
    "neighbors",
    "owners",
    "trainers",
    "mentors",
    "freelancers",
    "donors",
    "citizens",
    "travellers",
    "travelers",
    "shoppers",
    "caregivers",
    "therapists",
    "librarians",
    "readers",
    "musicians",
    "artists",
)
_ORG_MEMBERS = {
    "gardens": "members", "garden": "members", "clubs": "members", "club": "members",
    "communities": "members", "community": "members", "teams": "members",
    "cooperatives": "members", "libraries": "members", "gyms": "members", "groups": "members",
    "associations": "members", "organisations": "members", "organizations": "members",
    "restaurants": "staff", "clinics": "staff", "practices": "staff", "schools": "staff",
    "hospitals": "staff", "hotels": "staff", "shops": "staff", "stores": "staff",
    "businesses": "staff", "companies": "employees", "charities": "volunteers",
    "shelters": "volunteers", "nonprofits": "volunteers", "farms": "workers",
    "neighbourhoods": "residents", "neighborhoods": "residents", "buildings": "residents",
}  # fmt: skip


@dataclass(frozen=True)
class FeatureIdea:
    name: str
    description: str
    source: str  # "idea" or "revision N"


@dataclass(frozen=True)
class UserIdea:
    name: str
    description: str


@dataclass(frozen=True)
class ConstraintIdea:
    area: str
    text: str


@dataclass(frozen=True)
class Profile:
    """Everything the offline writer knows about the project, in reading order."""

    project_name: str
    idea: str
    first_sentence: str
    product: str
    audience: str
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
        for word in _ADMIN_WORDS:
            for user in self.users:
                if word in user.name.lower():
                    return user.name
        return self.users[-1].name

    @property
    def team(self) -> int:
        return self.team_size or 3

    @property
    def duration_weeks(self) -> int:
        return self.weeks or 12

    @property
    def mobile(self) -> bool:
        return self.has("mobile")


@dataclass(frozen=True)
class RevisionEffect:
    """What one feedback item changed, compared with the version before it."""

    number: int
    feedback: str
    added: tuple[Trait, ...]
    removed: tuple[Trait, ...]
    changes: tuple[str, ...]
    feature: FeatureIdea | None


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
        bullet = _BULLET.match(line)
        if bullet:
            blocks.append(("bullet", bullet["text"]))
        elif is_open and blocks:
            kind, text = blocks[-1]
            blocks[-1] = (kind, f"{text} {line}")
        else:
            blocks.append(("prose", line))
        is_open = True
    return blocks


def _prose_sentences(blocks: Sequence[tuple[str, str]]) -> list[str]:
    prose = [text for kind, text in blocks if kind == "prose" and not _USERS_LINE.match(text)]
    return [s.strip() for text in prose for s in _SENTENCE_END.split(text) if s.strip()]


def _strip_end(text: str) -> str:
    return text.strip().rstrip(".!?;:,").strip()


def _feature_name(text: str) -> str:
    name = _NAME_CUT.split(_strip_end(text), maxsplit=1)[0]
    words = name.split()
    if len(words) > 8 and " and " in name:
        words = name.split(" and ")[0].split()
    return capitalise(" ".join(words[:8]))


def _from_statement(text: str) -> FeatureIdea:
    return FeatureIdea(_feature_name(text), sentence(_strip_end(text)), "idea")


def is_verb(word: str) -> bool:
    return word in _VERBS or singular(word) in _VERBS


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
    found = [(lowered.find(m), -len(m), m) for m in _CLAUSE_MARKERS if m in lowered]
    if not found:
        return ""
    position, _, marker = min(found)
    return _strip_end(sentence_text[position + len(marker) :])


def _pieces(clause: str) -> list[str]:
    pieces = [_PIECE_LEAD.sub("", p.strip()) for p in _PIECE_SPLIT.split(clause)]
    return [p for p in pieces if p and 1 <= len(p.split()) <= 14]


def _is_constraint(text: str) -> bool:
    words = tokens(text)
    keys = ("developers", "budget", "deadline", "weeks", "months", "compliant", "gdpr",
            "hipaa", "hosting", "hosted", "regulation", "law")  # fmt: skip
    return any(word in words for word in keys)


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
        return [_from_statement(text) for text in bullets if not _is_constraint(text)]
    features = [_from_piece(p, project, users) for p in _pieces(_clause(first))]
    for text in _prose_sentences(blocks)[1:]:
        if not _is_constraint(text) and len(text.split()) <= 20:
            features.append(_from_statement(text))
    return features


def _audience_words(first: str) -> list[str]:
    """The words after 'for' (or 'lets ... <verb>') in the first sentence."""
    found = _AUDIENCE.search(first) or _LETS_AUDIENCE.search(first)
    words = found["audience"].split() if found else []
    while words and words[0].lower() in ("the", "a", "an"):
        words = words[1:]
    return words[:6]


def _audience(words: Sequence[str]) -> str:
    """The audience, unless the words name things rather than people ('greenhouse sensors')."""
    if not words or words[-1].lower() in _NOT_PEOPLE:
        return ""
    return " ".join(words)


def _operators(words: Sequence[str]) -> list[UserIdea]:
    """'greenhouse sensors' -> 'Greenhouse operators'; nothing when there is no qualifier."""
    if len(words) < 2:
        return []
    return [UserIdea(f"{capitalise(' '.join(words[:-1]))} operators", _OPERATOR_DESCRIPTION)]


def _product(first: str) -> str:
    lowered = first.lower()
    cuts = [lowered.find(m) for m in _PRODUCT_CUTS if lowered.find(m) > 0]
    head = first[: min(cuts)] if cuts else " ".join(first.split()[:8])
    return lower_first(_strip_end(head)) or "a software product"


# --- users ---------------------------------------------------------------------------------------


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    split = [piece for part in parts for piece in re.split(r"\s+and\s+(?![^(]*\))", part)]
    return [p.strip() for p in split if p.strip() and p.strip().lower() != "and"]


def _user_from_phrase(phrase: str) -> UserIdea:
    notes = re.findall(r"\(([^)]*)\)", phrase)
    name = re.sub(r"\([^)]*\)", "", _strip_end(phrase)).strip()
    name = re.sub(r"^(?:and|the)\s+", "", name, flags=re.IGNORECASE)
    name, *rest = re.split(r"\s+(?:that|who|which)\s+", name, maxsplit=1)
    details = [*notes, *rest]
    description = sentence("; ".join(details)) if details else _NAMED_GROUP
    return UserIdea(capitalise(name), description)


def _users_from_line(blocks: Sequence[tuple[str, str]]) -> list[UserIdea]:
    for kind, text in blocks:
        found = _USERS_LINE.match(text) if kind == "prose" else None
        if found:
            return [_user_from_phrase(p) for p in _split_top_level(found["text"])][:5]
    return []


def _users_from_roles(idea: str) -> list[UserIdea]:
    words = tokens(idea)
    roles = [role for role in _ROLE_WORDS if role in words or singular(role) in words]
    return [UserIdea(capitalise(role), "Named in the idea.") for role in roles[:3]]


def _users_from_audience(audience: str) -> list[UserIdea]:
    last = audience.split()[-1].lower()
    member = _ORG_MEMBERS.get(last)
    if member:
        name = f"{capitalise(member)} of {audience}"
        return [UserIdea(name, f"The people who make up {audience} and use it day to day.")]
    return [UserIdea(capitalise(audience), f"The {lower_first(audience)} the idea is for.")]


def _coordinator_for(audience: str) -> UserIdea:
    last = audience.split()[-1].lower() if audience.split() else ""
    if last in _ORG_MEMBERS and _ORG_MEMBERS[last] != "staff":
        name = f"Coordinators of {audience}"
    else:
        name = "Administrators"
    return UserIdea(name, _ADMIN_DESCRIPTION)


def _users(
    blocks: Sequence[tuple[str, str]], idea: str, audience_words: Sequence[str]
) -> tuple[UserIdea, ...]:
    audience = _audience(audience_words)
    users = _users_from_line(blocks)
    if not users:
        users = _users_from_audience(audience) if audience else _operators(audience_words)
        known = " ".join(user.name.lower() for user in users)
        users += [role for role in _users_from_roles(idea) if role.name.lower() not in known]
        users = users[:3] or [UserIdea("End users", "The people the idea is for.")]
    names = " ".join(user.name.lower() for user in users)
    if not any(word in names for word in _ADMIN_WORDS):
        users.append(_coordinator_for(audience))
    return tuple(_describe_admins(user) for user in users)


def _describe_admins(user: UserIdea) -> UserIdea:
    is_admin = any(word in user.name.lower() for word in _ADMIN_WORDS)
    if is_admin and user.description == _NAMED_GROUP:
        return UserIdea(user.name, _ADMIN_DESCRIPTION)
    return user


# --- traits and stack ----------------------------------------------------------------------------


def _trait_votes(text: str) -> dict[str, bool]:
    words = tokens(text)
    votes = {trait.key: vote(words, trait.keywords) for trait in traits()}
    return {key: decided for key, decided in votes.items() if decided is not None}


def _reference(upstream: Sequence[RenderedDocument]) -> str | None:
    """The most downstream accepted document that lists the traits (architecture, else about)."""
    for kind in ("architecture", "about"):
        for document in upstream:
            if document.kind == kind:
                return document.content_md
    return None


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
    options: Sequence[_Option],
    texts: Sequence[str],
    reference: str | None,
    feedback: Sequence[str],
) -> _Option | None:
    """Feedback wins over the accepted upstream document, which wins over the idea."""
    from_reference = next((o for o in options if reference and o.label in reference), None)
    base = from_reference or _latest_mention(options, texts)
    return _latest_mention(options, feedback) or base


def _by_mention(traits: Sequence[Trait], texts: Sequence[str]) -> tuple[Trait, ...]:
    words = tokens(" ".join(texts))
    never = len(words)

    def first_mention(trait: Trait) -> int:
        position = first_plain_mention(words, trait.keywords)
        return never if position is None else position

    return tuple(sorted(traits, key=first_mention))


# --- constraints ---------------------------------------------------------------------------------


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _WORD_NUMBERS[word.lower()]


def _team_size(texts: Sequence[str]) -> int | None:
    size: int | None = None
    for text in texts:
        found = _TEAM.search(text)
        if found:
            size = _number(found[1] or found[2])
        elif _SOLO.search(text):
            size = 1
    return size


def _weeks(texts: Sequence[str]) -> int | None:
    weeks: int | None = None
    for text in texts:
        found = _DURATION.search(text)
        if found:
            amount = _number(found[1])
            weeks = amount if found[2].lower().startswith("week") else round(amount * 13 / 3)
    return weeks


def _budget(texts: Sequence[str]) -> str | None:
    budget: str | None = None
    for text in texts:
        found = _BUDGET.search(text)
        if found:
            budget = found[0].strip()
    return budget


def _constraint_area(text: str) -> str:
    words = tokens(text)
    for area, keys in _CONSTRAINT_AREAS:
        if vote(words, keys) is not None:
            return area
    return "other"


def _constraints(stated: str, blocks: Sequence[tuple[str, str]]) -> tuple[ConstraintIdea, ...]:
    pieces = re.split(r"[;\n]|(?<=[.!?])\s+|,\s+(?![^(]*\))", stated)
    pieces += [s for s in _prose_sentences(blocks)[1:] if _is_constraint(s)]
    cleaned = [_strip_end(re.sub(r"^\s*(?:[-*\u2022+]|\d+[.)])\s+", "", p)) for p in pieces]
    return tuple(ConstraintIdea(_constraint_area(p), capitalise(p)) for p in cleaned if p)


# --- the profile ---------------------------------------------------------------------------------


def _first_sentence(blocks: Sequence[tuple[str, str]], project: str) -> str:
    sentences = _prose_sentences(blocks)
    first = sentences[0] if sentences else (blocks[0][1] if blocks else f"{project}.")
    return capitalise(_PRODUCT_LEAD.sub("", first))


def _clients(
    mobile: bool, texts: Sequence[str], reference: str | None, feedback: Sequence[str]
) -> tuple[Client, Client | None]:
    options = stacks()
    web = _choose(options.web_clients, texts, reference, feedback) or options.web_clients[0]
    if not mobile:
        return web, None
    phone = _choose(options.mobile_clients, texts, reference, feedback)
    return phone or options.mobile_clients[0], web


def _profile(brief: StepBrief, feedback: Sequence[str]) -> Profile:
    blocks = _blocks(brief.idea)
    first = _first_sentence(blocks, brief.project_name)
    audience_words = _audience_words(first)
    users = _users(blocks, brief.idea, audience_words)
    audience = _audience(audience_words) or lower_first(users[0].name)
    texts = (brief.idea, brief.constraints)
    every_text = (*texts, *(answer.answer for answer in brief.answers), *feedback)
    reference = _reference(brief.upstream)
    included = _included(texts, reference, feedback)
    client, console = _clients("mobile" in included, texts, reference, feedback)
    return Profile(
        project_name=brief.project_name,
        idea=brief.idea.strip(),
        first_sentence=_strip_end(first),
        product=_product(first),
        audience=audience,
        users=users,
        features=_dedupe(_features(blocks, first, brief.project_name, users[0].name)),
        traits=tuple(t for t in traits() if t.key in included),
        salient=_by_mention([t for t in traits() if t.key in included], every_text),
        excluded=tuple(t for t in traits() if t.key not in included),
        backend=_choose(stacks().backends, texts, reference, feedback) or stacks().backends[0],
        client=client,
        console=console,
        hosting=_choose(stacks().hostings, texts, reference, feedback) or stacks().default_hosting,
        in_eu=any(vote(tokens(text), stacks().eu_words) for text in every_text),
        constraints=_constraints(brief.constraints, blocks),
        constraints_text=brief.constraints,
        team_size=_team_size(every_text),
        weeks=_weeks(every_text),
        budget=_budget(every_text),
        feedback=tuple(feedback),
        requirements=_upstream_requirements(brief.upstream),
    )


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
    feature = None if removed or changes else _feedback_feature(feedback, number)
    return RevisionEffect(number, feedback, added, removed, changes, feature)


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
