"""Markdown -> a flat list of blocks, read from python-markdown's HTML.

The checks never parse Markdown with their own regular expressions: python-markdown
renders the document (with the ``tables`` and ``fenced_code`` extensions) and this module
walks the HTML with the standard library's parser. Headings, paragraphs, list items,
tables and code blocks come out as ``Block`` values in document order; sections are
ranges of blocks between headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from typing import Literal

import markdown

BlockKind = Literal["heading", "paragraph", "item", "table", "code"]
EXTENSIONS = ("tables", "fenced_code")
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
# CommonMark fences: up to three spaces, then three or more backticks or tildes.
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CHECKBOXES = {"[ ]": False, "[x]": True, "[X]": True}


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str  # visible text, inline code included, link URLs dropped
    prose: str = ""  # text without inline code: what readability reads
    level: int = 0  # headings: 1-6
    checked: bool | None = None  # list items: None unless a task ("[ ]" or "[x]")
    language: str = ""  # code blocks: the fence's info string, e.g. "mermaid"
    rows: tuple[tuple[str, ...], ...] = ()  # tables: the header row first
    links: tuple[str, ...] = ()  # hrefs inside the block
    quoted: bool = False  # inside a blockquote: someone else's words


@dataclass(frozen=True)
class Section:
    title: str
    level: int
    blocks: tuple[Block, ...]  # everything under the heading, subsections included

    @property
    def has_content(self) -> bool:
        return any(block.kind != "heading" and block.text.strip() for block in self.blocks)

    @property
    def text(self) -> str:
        return "\n".join(block.text for block in self.blocks)


@dataclass(frozen=True)
class ParsedDocument:
    blocks: tuple[Block, ...]

    @property
    def headings(self) -> tuple[Block, ...]:
        return tuple(block for block in self.blocks if block.kind == "heading")

    @property
    def sections(self) -> tuple[Section, ...]:
        return tuple(_sections(self.blocks))

    @property
    def tables(self) -> tuple[Block, ...]:
        return tuple(block for block in self.blocks if block.kind == "table")

    @property
    def text(self) -> str:
        """All visible text, tables and code included: what names are searched in."""
        return "\n".join(block.text for block in self.blocks)

    def code_blocks(self, language: str) -> tuple[Block, ...]:
        wanted = language.lower()
        return tuple(
            block for block in self.blocks if block.kind == "code" and block.language == wanted
        )

    def links(self) -> tuple[str, ...]:
        return tuple(href for block in self.blocks for href in block.links)


def lines_outside_code(content_md: str) -> list[str]:
    """The source lines that are not inside a fenced code block."""
    return _scan_fences(content_md)[0]


def unclosed_fence_line(content_md: str) -> int | None:
    """The 1-based line of a code fence that is never closed, or None."""
    return _scan_fences(content_md)[1]


def _scan_fences(content_md: str) -> tuple[list[str], int | None]:
    kept: list[str] = []
    fence, opened_at = "", 0
    for number, line in enumerate(content_md.splitlines(), 1):
        found = FENCE.match(line)
        marker = found[1] if found else ""
        if not fence and marker:
            fence, opened_at = marker, number
        elif not fence:
            kept.append(line)
        elif _closes(line, marker, fence):
            fence = ""
    return kept, (opened_at if fence else None)


def _closes(line: str, marker: str, fence: str) -> bool:
    """A closing fence: the same character, at least as long, and no info string."""
    return marker[:1] == fence[0] and len(marker) >= len(fence) and not line.strip().strip(fence[0])


def render_html(content_md: str) -> str:
    html: str = markdown.markdown(content_md, extensions=list(EXTENSIONS), output_format="html")
    return html


# Scoring a step parses the project's other accepted documents again as context: each is
# parsed once while it stays among the last PARSED_KEPT (a ParsedDocument is immutable).
PARSED_KEPT = 128


@lru_cache(maxsize=PARSED_KEPT)
def parse(content_md: str) -> ParsedDocument:
    """Parse ``content_md``; raises whatever python-markdown raises on input it rejects."""
    reader = _BlockReader()
    reader.feed(render_html(content_md))
    reader.close()
    return ParsedDocument(blocks=tuple(builder.build() for builder in reader.builders))


def _sections(blocks: tuple[Block, ...]) -> list[Section]:
    sections = []
    for start, block in enumerate(blocks):
        if block.kind != "heading":
            continue
        end = start + 1
        while end < len(blocks) and not (
            blocks[end].kind == "heading" and blocks[end].level <= block.level
        ):
            end += 1
        sections.append(Section(block.text, block.level, blocks[start + 1 : end]))
    return sections


@dataclass
class _Builder:
    kind: BlockKind
    level: int = 0
    language: str = ""
    quoted: bool = False
    text: list[str] = field(default_factory=list)
    prose: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    cell: list[str] | None = None

    def add(self, data: str, *, inline_code: bool) -> None:
        if self.cell is not None:
            self.cell.append(data)
            return
        self.text.append(data)
        if not inline_code:
            self.prose.append(data)

    def build(self) -> Block:
        text = "".join(self.text) if self.kind == "code" else _squash("".join(self.text))
        if self.kind == "table":
            text = "\n".join(" | ".join(row) for row in self.rows)
        prose = _squash("".join(self.prose))
        checked = None
        if self.kind == "item" and text[:3] in _CHECKBOXES:
            checked = _CHECKBOXES[text[:3]]
            text, prose = text[3:].strip(), prose[3:].strip()
        return Block(
            kind=self.kind,
            text=text,
            prose=prose if self.kind in ("paragraph", "item") else "",
            level=self.level,
            checked=checked,
            language=self.language,
            rows=tuple(tuple(row) for row in self.rows),
            links=tuple(self.links),
            quoted=self.quoted,
        )


def _squash(text: str) -> str:
    return " ".join(text.split())


class _BlockReader(HTMLParser):
    """Collects blocks in document order; a nested list item gets its own block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.builders: list[_Builder] = []
        self._open: list[_Builder] = []  # innermost last
        self._quotes = 0
        self._inline_code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HEADINGS:
            self._start(_Builder("heading", level=_HEADINGS[tag]))
        elif tag == "li" or (tag == "p" and not self._open):
            self._start(_Builder("item" if tag == "li" else "paragraph"))
        elif tag == "pre":
            self._start(_Builder("code"))
        elif tag == "table":
            self._start(_Builder("table"))
        else:
            self._inline_start(tag, dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag in _HEADINGS or tag in ("li", "pre", "table") or self._closes_paragraph(tag):
            if self._open:
                self._open.pop()
        else:
            self._inline_end(tag)

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1].add(data, inline_code=self._inline_code > 0)

    def _start(self, builder: _Builder) -> None:
        builder.quoted = self._quotes > 0
        self.builders.append(builder)
        self._open.append(builder)

    def _closes_paragraph(self, tag: str) -> bool:
        return tag == "p" and bool(self._open) and self._open[-1].kind == "paragraph"

    def _inline_start(self, tag: str, attrs: dict[str, str | None]) -> None:
        current = self._open[-1] if self._open else None
        if tag == "blockquote":
            self._quotes += 1
        elif tag == "code" and current is not None and current.kind == "code":
            current.language = _language(attrs.get("class") or "")
        elif tag == "code":
            self._inline_code += 1
        elif tag == "a" and current is not None and attrs.get("href"):
            current.links.append(attrs["href"] or "")
        elif tag == "tr" and current is not None and current.kind == "table":
            current.rows.append([])
        elif tag in ("td", "th") and current is not None and current.kind == "table":
            current.cell = []
        elif tag == "br" and current is not None:
            current.add(" ", inline_code=False)

    def _inline_end(self, tag: str) -> None:
        current = self._open[-1] if self._open else None
        if tag == "blockquote":
            self._quotes = max(0, self._quotes - 1)
        elif tag == "code" and not (current is not None and current.kind == "code"):
            self._inline_code = max(0, self._inline_code - 1)
        elif tag in ("td", "th") and current is not None and current.cell is not None:
            if current.rows:
                current.rows[-1].append(_squash("".join(current.cell)))
            current.cell = None


def _language(css_class: str) -> str:
    for name in css_class.split():
        if name.startswith("language-"):
            return name.removeprefix("language-").lower()
    return ""
