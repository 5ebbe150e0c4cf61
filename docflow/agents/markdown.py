"""Markdown building blocks: text from a contract never becomes a heading by accident."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_CODE_SPAN = re.compile(r"(`+[^`]*`+)")


def no_html(text: str) -> str:
    """``<slug>`` in prose stays text, never raw HTML (code spans are left as written)."""
    parts = _CODE_SPAN.split(text)
    return "".join(part if i % 2 else _TAG_START.sub(r"\\<", part) for i, part in enumerate(parts))


def slugify(text: str, fallback: str, max_length: int = 50) -> str:
    """Lower-case ASCII words joined by hyphens: only [a-z0-9-], never empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _SLUG_JUNK.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
    return slug.strip("-") or fallback


def inline(text: str) -> str:
    """One line of text: whitespace and newlines collapsed, no raw HTML."""
    return no_html(" ".join(text.split()))


def paragraph(text: str) -> str:
    """Multi-line text kept as written, but no line may start a heading."""
    lines = [("\\" + line) if line.lstrip().startswith("#") else line for line in text.splitlines()]
    return no_html("\n".join(lines).strip())


def cell(text: str) -> str:
    return inline(text).replace("|", "\\|") or "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {inline(item)}" for item in items if item.strip()) or "- None."


def numbered(items: Sequence[str]) -> str:
    kept = [item for item in items if item.strip()]
    return "\n".join(f"{i}. {inline(item)}" for i, item in enumerate(kept, 1)) or "1. None."


def checklist(items: Sequence[str]) -> str:
    return "\n".join(f"- [ ] {inline(item)}" for item in items if item.strip()) or "- [ ] None."


def quote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in paragraph(text).splitlines())


def fenced(language: str, body: str) -> str:
    return f"```{language}\n{body}\n```"


def document(blocks: Sequence[str]) -> str:
    """Blocks separated by one blank line, ending with exactly one newline."""
    return "\n\n".join(block.strip("\n") for block in blocks if block.strip()) + "\n"
