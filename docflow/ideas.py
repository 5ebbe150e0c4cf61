"""What an idea says about itself before any agent reads it: the project's name."""

from __future__ import annotations

import re

_HEADING = re.compile(r"^\s*#{1,6}\s+(.+?)\s*#*\s*$")
_WORD = r"[A-Z][\w'\u2019-]*"
_LEAD_NAME = re.compile(
    rf"^\s*[\"\u201c]?({_WORD}(?: {_WORD}){{0,3}})[\"\u201d]?\s*(?::|\u2014|\u2013| - )\s*\S"
)
_CALLED = re.compile(rf"\b(?:called|named)\s+[\"\u201c']?({_WORD}(?: {_WORD}){{0,2}})")
MAX_NAME = 80


def name_from_idea(idea: str) -> str | None:
    """The name an idea gives its project: its first heading, a leading "Name:" or "Name -",
    or "called Name"; None when it gives none."""
    lines = [line for line in idea.splitlines() if line.strip()]
    for line in lines:
        heading = _HEADING.match(line)
        if heading:
            return heading.group(1)[:MAX_NAME]
    if lines:
        lead = _LEAD_NAME.match(lines[0])
        if lead:
            return lead.group(1)[:MAX_NAME]
    called = _CALLED.search(idea)
    return called.group(1)[:MAX_NAME] if called else None
