"""Markdown -> chunks for project memory. Pure functions, no I/O.

normalise_markdown -> split_sections (by ATX headings, outside code fences) -> chunk_markdown
(size cap with overlap; tiny sections packed together) -> dedupe (exact and near duplicates).

A fenced block (a Mermaid diagram, code) is never cut: it stays whole in one chunk, over the
size cap if it must, and no overlap carries a piece of it into the next chunk, so every
passage renders as the Markdown it came from.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

MAX_CHARS = 800
OVERLAP_CHARS = 120
MIN_CHARS = 200  # a section shorter than this is packed with the next one when both fit
NEAR_DUPLICATE_JACCARD = 0.85
SHINGLE_WORDS = 3

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_BLANK_RUNS = re.compile(r"\n{3,}")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Section:
    """A heading (with its ancestors as a breadcrumb) and the text under it."""

    heading: str  # "Architecture > Containers"; "" before the first heading
    title_line: str  # the heading line itself, e.g. "## Containers"; "" when none
    body: str


@dataclass(frozen=True)
class Chunk:
    index: int  # position in the document's deduplicated chunk list, from 0
    text: str
    heading: str


# --- normalisation --------------------------------------------------------------------


def normalise_markdown(markdown: str) -> str:
    """Canonical form: NFC, \\n line ends, no HTML comments, no trailing spaces, tabs
    expanded, at most one blank line in a row, no leading or trailing blank lines."""
    text = unicodedata.normalize("NFC", markdown)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = _HTML_COMMENT.sub("", text)
    lines = [line.expandtabs(4).rstrip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


# --- sections -------------------------------------------------------------------------


def split_sections(markdown: str) -> list[Section]:
    """Split normalised Markdown at ATX headings (``#`` .. ``######``) outside code fences."""
    sections: list[Section] = []
    trail: list[tuple[int, str]] = []
    title_line, body = "", []
    in_fence = False
    for line in markdown.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            body.append(line)
            continue
        _append_section(sections, trail, title_line, body)
        level, title = len(match.group(1)), match.group(2).strip()
        trail = [*(item for item in trail if item[0] < level), (level, title)]
        title_line, body = line, []
    _append_section(sections, trail, title_line, body)
    return sections


def _append_section(
    sections: list[Section], trail: list[tuple[int, str]], title_line: str, body: list[str]
) -> None:
    text = "\n".join(body).strip("\n")
    if title_line or text:
        heading = " > ".join(title for _, title in trail) if title_line else ""
        sections.append(Section(heading=heading, title_line=title_line, body=text))


# --- size cap with overlap ------------------------------------------------------------


def split_text(text: str, budget: int, overlap: int) -> list[str]:
    """Pieces of at most ``budget`` characters, cut at paragraph, then line, then sentence,
    then word boundaries; each piece after the first starts with the tail (<= ``overlap``
    chars, whole words) of the one before it, when that still fits. A fenced block is one
    unit, whatever its length, and never part of a tail."""
    if len(text) <= budget:
        return [text] if text.strip() else []
    pieces: list[str] = []
    current = ""
    for unit, separator in _units(text, budget):
        joined = f"{current}{separator}{unit}" if current else unit
        if len(joined) <= budget:
            current = joined
            continue
        pieces.append(current)
        seed = "" if _is_fenced(unit) else _tail(current, overlap)
        fits = bool(seed) and len(seed) + len(separator) + len(unit) <= budget
        current = f"{seed}{separator}{unit}" if fits else unit
    if current:
        pieces.append(current)
    return pieces


def _split_lines(text: str) -> list[str]:
    return text.split("\n")


def _split_paragraphs(text: str) -> list[str]:
    """Blocks separated by blank lines; a fenced block is one, blank lines inside it too."""
    paragraphs: list[list[str]] = [[]]
    in_fence = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            if not in_fence and paragraphs[-1]:
                paragraphs.append([])  # the fence opens a block of its own
            in_fence = not in_fence
            paragraphs[-1].append(line)
            if not in_fence:
                paragraphs.append([])  # and closes it
            continue
        if not line.strip() and not in_fence:
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        paragraphs[-1].append(line)
    return ["\n".join(lines) for lines in paragraphs if lines]


def _is_fenced(unit: str) -> bool:
    return bool(_FENCE.match(unit))


# (how to cut a unit that is too long, the separator that joins its parts again)
_LEVELS: tuple[tuple[Callable[[str], list[str]], str], ...] = (
    (_split_paragraphs, "\n\n"),
    (_split_lines, "\n"),
    (_SENTENCE_END.split, " "),
)


def _units(text: str, budget: int, level: int = 0, separator: str = "") -> list[tuple[str, str]]:
    """``text`` as (unit, separator before it) pairs, each unit at most ``budget`` long but
    a fenced block, which stays whole."""
    if len(text) <= budget or (level > 0 and _is_fenced(text)):
        return [(text, separator)]
    if level == len(_LEVELS):
        parts = _hard_split(text, budget)
        return [(part, " " if i else separator) for i, part in enumerate(parts)]
    split, joiner = _LEVELS[level]
    units: list[tuple[str, str]] = []
    for i, part in enumerate(part for part in split(text) if part.strip()):
        units.extend(_units(part, budget, level + 1, joiner if i else separator))
    return units


def _hard_split(sentence: str, budget: int) -> list[str]:
    """A sentence longer than the budget, cut at word boundaries (or mid-word if one word
    alone is too long)."""
    parts: list[str] = []
    current = ""
    for word in sentence.split(" "):
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= budget:
            current = candidate
            continue
        if current:
            parts.append(current)
        while len(word) > budget:
            parts.append(word[:budget])
            word = word[budget:]
        current = word
    if current:
        parts.append(current)
    return parts


def _tail(text: str, overlap: int) -> str:
    """The last ``overlap`` characters of ``text``, without a word cut in half; nothing
    when they reach into a fenced block (a fragment of it would not render). A piece ends
    between units, never inside a block, so a block in reach shows as a fence line."""
    if overlap <= 0:
        return ""
    tail = text[-overlap:]
    if len(text) > overlap and not text[-overlap - 1].isspace():
        parts = tail.split(None, 1)
        tail = parts[1] if len(parts) == 2 else ""
    if any(_FENCE.match(line) for line in tail.split("\n")):
        return ""
    return tail.strip()


# --- chunks ---------------------------------------------------------------------------


def chunk_markdown(
    markdown: str,
    *,
    max_chars: int = MAX_CHARS,
    overlap: int = OVERLAP_CHARS,
    min_chars: int = MIN_CHARS,
) -> list[Chunk]:
    """Normalised Markdown cut into chunks of at most ``max_chars``: one heading section
    per chunk (its heading line repeated on each piece of a long section), tiny sections
    packed with the next, consecutive pieces overlapping by up to ``overlap`` chars."""
    if overlap >= max_chars // 2:
        raise ValueError("overlap must be less than half of max_chars")
    texts: list[tuple[str, str]] = []
    for section in split_sections(normalise_markdown(markdown)):
        texts.extend(_section_pieces(section, max_chars, overlap))
    packed = _pack_small(texts, max_chars, min_chars)
    return [Chunk(index=i, text=text, heading=heading) for i, (heading, text) in enumerate(packed)]


def _section_pieces(section: Section, max_chars: int, overlap: int) -> list[tuple[str, str]]:
    prefix = section.title_line[: max_chars // 4]
    budget = max_chars - (len(prefix) + 2 if prefix else 0)
    pieces = split_text(section.body, budget, overlap) or [""]
    texts = [f"{prefix}\n\n{piece}".strip("\n") if prefix else piece for piece in pieces]
    return [(section.heading, text) for text in texts if text.strip()]


def _pack_small(
    texts: Sequence[tuple[str, str]], max_chars: int, min_chars: int
) -> list[tuple[str, str]]:
    packed: list[tuple[str, str]] = []
    for heading, text in texts:
        if packed:
            last_heading, last_text = packed[-1]
            joined = f"{last_text}\n\n{text}"
            if len(last_text) < min_chars and len(joined) <= max_chars:
                packed[-1] = (last_heading or heading, joined)
                continue
        packed.append((heading, text))
    return packed


# --- duplicates -----------------------------------------------------------------------


def fingerprint(text: str) -> str:
    """Hash of the text with case, punctuation and whitespace differences removed."""
    canonical = " ".join(_WORD.findall(text.casefold()))
    return hashlib.sha256(canonical.encode()).hexdigest()


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[str]:
    words = _WORD.findall(text.casefold())
    if len(words) <= size:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(left: frozenset[str], right: frozenset[str]) -> float:
    if not left and not right:
        return 1.0
    return len(left & right) / len(left | right)


def dedupe(chunks: Iterable[Chunk], threshold: float = NEAR_DUPLICATE_JACCARD) -> list[Chunk]:
    """Drop chunks whose fingerprint was seen, or whose word shingles overlap a kept chunk's
    by ``threshold`` (Jaccard) or more. Keeps the first; renumbers indexes from 0."""
    kept: list[Chunk] = []
    seen: set[str] = set()
    kept_shingles: list[frozenset[str]] = []
    for chunk in chunks:
        key = fingerprint(chunk.text)
        tokens = shingles(chunk.text)
        if key in seen or any(jaccard(tokens, other) >= threshold for other in kept_shingles):
            continue
        seen.add(key)
        kept_shingles.append(tokens)
        kept.append(replace(chunk, index=len(kept)))
    return kept
