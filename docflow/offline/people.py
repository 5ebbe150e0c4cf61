"""Who the idea is for, in the idea's own words.

A ``Users:`` line wins. Otherwise every role word of ``lexicon.yaml`` the idea mentions is
a user group, in the order it is first mentioned, with the word before it when that word
qualifies it ("volunteer guides", "dog owners") and the idea's sentence about it as its
description. The audience after "for" counts only when it names people ("for retired
gardeners") or an organisation whose people it implies ("for community gardens" ->
members). Nobody is invented as a fact: when the idea names no one who runs things, an
administrators group is added and says it is assumed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from docflow.offline.knowledge import lexicon
from docflow.offline.templates import part
from docflow.offline.text import capitalise, lower_first, sentence, singular

MAX_GROUPS = 4
_USERS_LINE = re.compile(r"^(?:target users|users|audience|who)\s*:\s*(?P<text>.+)$", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*|[^\sA-Za-z]")  # words and punctuation
_CLAUSES = re.compile(r";\s*")
_NOT_A_GROUP = frozenset(["each", "every", "per"])


def said(part_name: str, **values: str) -> str:
    """A description from data/prose/people.yaml."""
    return str(part("people", part_name, values, lambda _: True, lambda text, _: text))


@dataclass(frozen=True)
class UserIdea:
    name: str
    description: str


def is_admin(name: str) -> bool:
    return any(word in name.lower() for word in lexicon().admin_words)


def is_people(words: Sequence[str]) -> bool:
    """Whether an audience phrase names people: its last word is a role or a people noun."""
    if not words:
        return False
    last = singular(words[-1].lower())
    roles = {singular(role) for role in lexicon().role_words}
    return last in roles or words[-1].lower().endswith(("ers", "ists", "ents", "ians", "ants"))


def user_groups(
    sentences: Sequence[str], audience: Sequence[str], project: str, stated: Sequence[str] = ()
) -> tuple[UserIdea, ...]:
    """The user groups, then (assumed, when the idea names none) the people who run it."""
    users = [_from_phrase(phrase) for phrase in stated][: MAX_GROUPS + 1]
    if not users:
        mentioned = _mentioned(sentences)
        known = " ".join(user.name.lower() for user in mentioned)
        if is_people(audience) and singular(audience[-1].lower()) not in known:
            mentioned.insert(0, UserIdea(capitalise(" ".join(audience)), said("named")))
        elif not mentioned and audience:
            mentioned = _organisation(audience)
        admins = [user for user in mentioned if is_admin(user.name)][:1]
        users = [user for user in mentioned if not is_admin(user.name)][: MAX_GROUPS - 1] + admins
    users = users or [UserIdea("End users", said("assumed_users"))]
    if not any(is_admin(user.name) for user in users):
        users.append(UserIdea("Administrators", said("assumed_admins", project=project)))
    return tuple(users)


def stated_users(lines: Sequence[str]) -> list[str]:
    """The phrases of a 'Users: a, b and c' line, or none."""
    for line in lines:
        found = _USERS_LINE.match(line.strip())
        if found:
            return _split_top_level(found["text"])
    return []


def is_users_line(line: str) -> bool:
    return _USERS_LINE.match(line.strip()) is not None


def _mentioned(sentences: Sequence[str]) -> list[UserIdea]:
    roles = {singular(role): role for role in lexicon().role_words}
    found: dict[str, UserIdea] = {}
    for clause in (piece for text in sentences for piece in _CLAUSES.split(text)):
        words = _WORD.findall(clause)
        for index, word in enumerate(words):
            role = roles.get(singular(word.lower()))
            if role is None or _is_modifier(words, index, roles):
                continue
            written = word.lower()
            name = _qualified(words, index, written if written in lexicon().role_words else role)
            if all(singular(role) not in key for key in found):
                found[name.lower()] = UserIdea(name, _described(clause, word))
    return list(found.values())


def _is_modifier(words: Sequence[str], index: int, roles: dict[str, str]) -> bool:
    """'each client', 'the client's ledger', 'client data', 'volunteer guides': the role
    word names no group of its own here."""
    before = words[index - 1].lower() if index else ""
    after = words[index + 1].lower() if index + 1 < len(words) else ""
    return (
        before in _NOT_A_GROUP
        or words[index].lower().endswith(("'s", "\u2019s"))
        or singular(after) in roles
        or after in lexicon().compound_nouns
    )


def _qualified(words: Sequence[str], index: int, role: str) -> str:
    before = words[index - 1] if index else ""
    qualifier = re.sub(r"['\u2019]s$", "", before).lower()
    if not qualifier[:1].isalpha() or qualifier in lexicon().function_words | lexicon().verbs:
        return capitalise(role)
    return capitalise(f"{qualifier} {role}")


def _described(clause: str, word: str) -> str:
    """The part of the idea's clause that speaks of the group, as a sentence."""
    parts = re.split(r",\s+(?:and\s+)?(?![^(]*\))", clause)
    text = next((part for part in parts if word in part), clause).strip()
    return f"In the idea: {lower_first(sentence(text))}" if text else said("named")


def _organisation(audience: Sequence[str]) -> list[UserIdea]:
    phrase = " ".join(audience)
    member = lexicon().org_members.get(audience[-1].lower())
    if member is None:
        return []
    return [UserIdea(f"{capitalise(member)} of {phrase}", said("organisation", audience=phrase))]


def _split_top_level(text: str) -> list[str]:
    """'a, b (c, d) and e' -> ['a', 'b (c, d)', 'e']: commas and 'and' outside brackets."""
    pieces = re.split(r",\s*(?:and\s+)?(?![^(]*\))|\s+and\s+(?![^(]*\))", text)
    return [p.strip() for p in pieces if p.strip() and p.strip().lower() != "and"]


def _from_phrase(phrase: str) -> UserIdea:
    notes = re.findall(r"\(([^)]*)\)", phrase)
    name = re.sub(r"\([^)]*\)", "", phrase.strip().rstrip(".!?;:,")).strip()
    name = re.sub(r"^(?:and|the)\s+", "", name, flags=re.IGNORECASE)
    name, *rest = re.split(r"\s+(?:that|who|which)\s+", name, maxsplit=1)
    details = [*notes, *rest]
    plain = said("named_admins") if is_admin(name) else said("named")
    description = sentence("; ".join(details)) if details else plain
    return UserIdea(capitalise(name), description)
