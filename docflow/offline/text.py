"""Small, deterministic text helpers shared by the offline analysis and the drafts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from docflow.offline.knowledge import lexicon

LIST_MARK = re.compile(r"^\s*(?:[-*\u2022+]|\d+[.)])\s+")  # "- ", "* ", "1. ", "2) "
_TOKEN = re.compile(r"\.net\b|[a-z0-9]+[#+]*")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; '.net', 'c#' and 'c++' survive as words."""
    return _TOKEN.findall(text.lower())


def _is_negated(words: Sequence[str], start: int) -> bool:
    words_of = lexicon()
    if " ".join(words[max(0, start - 2) : start]) in words_of.contrasts:
        return True
    for word in reversed(words[max(0, start - 4) : start]):
        if word in words_of.negators:
            return True
        if word not in words_of.fillers:
            return False
    return False


def mention(words: Sequence[str], phrase: str) -> tuple[int, bool] | None:
    """First position of phrase in words and whether every occurrence is negated."""
    starts = _occurrences(words, phrase)
    if not starts:
        return None
    positive = [i for i in starts if not _is_negated(words, i)]
    return (positive[0], False) if positive else (starts[0], True)


def _occurrences(words: Sequence[str], phrase: str) -> list[int]:
    """Where the phrase starts in words: only at its first word's positions."""
    needle = tokens(phrase)
    size = len(needle)
    starts = [i for i, word in enumerate(words) if needle and word == needle[0]]
    return [i for i in starts if list(words[i : i + size]) == needle]


def vote(words: Sequence[str], phrases: Iterable[str]) -> bool | None:
    """How the text first mentions any of the phrases: True plainly, False negated, None never.

    The first mention decides: 'No payments please, owners pay cash' is against payments,
    'Members pay online; no refunds' is for them.
    """
    starts = [start for phrase in phrases for start in _occurrences(words, phrase)]
    if not starts:
        return None
    return not _is_negated(words, min(starts))


def first_plain_mention(words: Sequence[str], phrases: Iterable[str]) -> int | None:
    positions = [m[0] for p in phrases if (m := mention(words, p)) is not None and not m[1]]
    return min(positions) if positions else None


def join_words(items: Sequence[str], conjunction: str = "and") -> str:
    if len(items) < 2:
        return "".join(items)
    serial = "," if len(items) > 2 and any(" and " in item for item in items) else ""
    return f"{', '.join(items[:-1])}{serial} {conjunction} {items[-1]}"


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def lower_first(text: str) -> str:
    first_word = text.split(" ", 1)[0]
    if any(char.isupper() for char in first_word[1:]):
        return text  # an acronym or brand such as "SMS" or "IoT"
    return text[:1].lower() + text[1:]


def sentence(text: str) -> str:
    """Trimmed, capitalised and ending with a full stop."""
    cleaned = " ".join(text.split()).strip()
    if not cleaned:
        return cleaned
    if cleaned[-1] not in ".!?":
        cleaned += "."
    return capitalise(cleaned)


def singular(word: str) -> str:
    lowered = word.lower()
    if lowered.endswith("ies") and len(lowered) > 4:
        return word[:-3] + "y"
    if lowered.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if lowered.endswith("s") and not lowered.endswith(("ss", "us", "is")):
        return word[:-1]
    return word
