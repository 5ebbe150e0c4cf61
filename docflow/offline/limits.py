"""The limits an idea states, each in its own row by kind, and the figures they give.

A limit is a clause of the constraints text, or of a sentence of the idea that speaks of
developers, budgets, deadlines, hosting or rules (``lexicon.yaml``'s
``constraint_words``). Clauses split at semicolons, sentence ends and commas; each goes to
the kind most of its words point at (team, time, budget, hosting, regulation,
technology), and a clause of no kind, or of the kind of the clause before it, continues
that one ("before the summer season, in 5 months"). Team size, weeks and budget are read
from the limits only, so "a reminder every 2 weeks" is no deadline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from docflow.agents.contracts import ConstraintArea
from docflow.offline.knowledge import lexicon
from docflow.offline.text import LIST_MARK, capitalise, mention, tokens

_NUMBER = rf"(\d+|{'|'.join(lexicon().number_words)})"
_TEAM = re.compile(
    rf"\b(?:team of {_NUMBER}|{_NUMBER}\s+(?:[a-z-]+\s+)?(?:developers?|devs?|engineers?"
    r"|people|persons))\b",
    re.IGNORECASE,
)
_SOLO = re.compile(r"\b(?:solo|single|one|lone) (?:developer|dev|engineer)\b", re.IGNORECASE)
# "in 5 months" is a deadline, "every 2 weeks" a rhythm
_DURATION = re.compile(
    rf"(?<!every )(?<!each )(?<!per )\b{_NUMBER}\s*(weeks?|months?)\b", re.IGNORECASE
)
_BUDGET = re.compile(
    r"(?:[$\u20ac\u00a3]\s?\d[\d,.]*\s?[km]?\b|\b\d[\d,.]*\s?[km]?\s?(?:usd|eur|gbp|dollars|euros"
    r"|pounds)\b)",
    re.IGNORECASE,
)
_CLAUSE_SPLIT = re.compile(r"[;\n]|(?<=[.!?])\s+|,\s+(?![^(]*\))")


@dataclass(frozen=True)
class ConstraintIdea:
    area: ConstraintArea
    text: str


def is_constraint(text: str) -> bool:
    words = tokens(text)
    stated = any(mention(words, phrase) for phrase in lexicon().constraint_words)
    return stated or _DURATION.search(text) is not None


def kind_of(text: str) -> ConstraintArea:
    """The kind most of the clause's words point at; the first listed wins a tie."""
    words = tokens(text)
    counts = {
        kind: sum(1 for key in keys if mention(words, key) is not None)
        for kind, keys in lexicon().constraint_kinds.items()
    }
    best = max(counts.values(), default=0)
    return next(kind for kind, count in counts.items() if count == best) if best else "other"


def constraints(stated: str, sentences: Sequence[str]) -> tuple[ConstraintIdea, ...]:
    """One row per limit: the constraints text, then the idea's sentences that are limits."""
    limits = [stated, *(s for s in sentences if is_constraint(s))]
    return tuple(row for text in limits for row in _rows(text))


def _rows(text: str) -> list[ConstraintIdea]:
    rows: list[ConstraintIdea] = []
    for clause in _CLAUSE_SPLIT.split(text):
        cleaned = LIST_MARK.sub("", clause).strip().rstrip(".!?;:,").strip()
        if not cleaned:
            continue
        kind = kind_of(cleaned)
        if rows and kind in ("other", rows[-1].area):
            rows[-1] = ConstraintIdea(rows[-1].area, f"{rows[-1].text}, {cleaned}")
        else:
            rows.append(ConstraintIdea(kind, capitalise(cleaned)))
    return rows


def _number(word: str) -> int:
    return int(word) if word.isdigit() else lexicon().number_words[word.lower()]


def _last(pattern: re.Pattern[str], texts: Sequence[str]) -> re.Match[str] | None:
    """The match in the latest text that has one: later feedback overrides the idea."""
    found = [match for text in texts if (match := pattern.search(text))]
    return found[-1] if found else None


def team_size(texts: Sequence[str]) -> int | None:
    found = _last(_TEAM, texts)
    if found:
        return _number(found[1] or found[2])
    return 1 if _last(_SOLO, texts) else None


def weeks(texts: Sequence[str]) -> int | None:
    found = _last(_DURATION, texts)
    if found is None:
        return None
    amount = _number(found[1])
    return amount if found[2].lower().startswith("week") else round(amount * 13 / 3)


def budget(texts: Sequence[str]) -> str | None:
    found = _last(_BUDGET, texts)
    return found[0].strip() if found else None
