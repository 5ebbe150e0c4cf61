"""A person's edit re-applied to an agent's new version: a line-based three-way merge.

When an agent rewrites a document a person edited (a revision after an edit, or a step
regenerated after a rollback), the person's changes are the difference between the
agent's text they edited (``base``) and their version (``ours``). They are applied to the
agent's new text (``theirs``) wherever the agent left those lines alone. Where both
changed the same lines the person's text is kept and the place is reported as a
``Conflict``, with the agent's lines located in ``theirs``, so the gate can offer the
agent's text instead: nothing of either side is dropped silently.

Two changes conflict when they overlap in ``base``. A change that only touches another
(an insertion right after a rewritten paragraph) is applied beside it, and two insertions
at one place are both kept, the agent's first (the agent appends its revision notes where a
person appends a section of their own).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Conflict:
    """Lines both sides changed: ``lines`` of the person's text from ``line`` (0-based) in
    the merged text; the agent's alternative is ``theirs_lines`` from ``theirs_line`` of
    ``theirs``."""

    line: int
    lines: int
    theirs_line: int
    theirs_lines: int


@dataclass(frozen=True)
class Merge:
    text: str
    conflicts: list[Conflict] = field(default_factory=list)


@dataclass(frozen=True)
class _Hunk:
    """``base[start:end]`` replaced by ``size`` lines on one side (``ours`` or not)."""

    start: int
    end: int
    size: int
    ours: bool

    @property
    def growth(self) -> int:
        return self.size - (self.end - self.start)


def merge3(base: str, ours: str, theirs: str) -> Merge:
    """``theirs`` with the changes from ``base`` to ``ours`` applied (see the module)."""
    base_lines, our_lines, their_lines = _lines(base), _lines(ours), _lines(theirs)
    hunks = sorted(
        _hunks(base_lines, our_lines, ours=True) + _hunks(base_lines, their_lines, ours=False),
        key=lambda hunk: (hunk.start, hunk.end),
    )
    merged: list[str] = []
    conflicts: list[Conflict] = []
    at_base = at_ours = at_theirs = 0
    for group in _groups(hunks):
        start, end = group[0].start, max(hunk.end for hunk in group)
        unchanged = base_lines[at_base:start]
        merged += unchanged
        at_ours += len(unchanged)
        at_theirs += len(unchanged)
        our_size = end - start + sum(hunk.growth for hunk in group if hunk.ours)
        their_size = end - start + sum(hunk.growth for hunk in group if not hunk.ours)
        our_part = our_lines[at_ours : at_ours + our_size]
        their_part = their_lines[at_theirs : at_theirs + their_size]
        both = {hunk.ours for hunk in group} == {True, False}
        if both and start == end and our_part != their_part:
            merged += their_part + our_part  # two insertions at one place
        elif both and our_part != their_part:
            conflicts.append(Conflict(len(merged), len(our_part), at_theirs, len(their_part)))
            merged += our_part
        else:
            merged += our_part if both or group[0].ours else their_part
        at_base, at_ours, at_theirs = end, at_ours + our_size, at_theirs + their_size
    merged += base_lines[at_base:]
    return Merge("".join(merged), conflicts)


def _lines(text: str) -> list[str]:
    """Lines split at "\n" only (as the web app splits them to settle a conflict), each
    with its ending; the last one is given one so an append merges cleanly."""
    lines = [line + "\n" for line in text.split("\n")]
    return lines[:-1] if text.endswith("\n") or not text else lines


def _hunks(base: list[str], side: list[str], *, ours: bool) -> list[_Hunk]:
    matcher = difflib.SequenceMatcher(a=base, b=side, autojunk=False)
    return [
        _Hunk(start, end, side_end - side_start, ours)
        for tag, start, end, side_start, side_end in matcher.get_opcodes()
        if tag != "equal"
    ]


def _groups(hunks: list[_Hunk]) -> list[list[_Hunk]]:
    """Hunks in base order, those that overlap (or insert at one point) in one group."""
    groups: list[list[_Hunk]] = []
    for hunk in hunks:
        if groups and _joins(groups[-1], hunk):
            groups[-1].append(hunk)
        else:
            groups.append([hunk])
    return groups


def _joins(group: list[_Hunk], hunk: _Hunk) -> bool:
    start, end = group[0].start, max(member.end for member in group)
    if hunk.start < end:
        return True
    both_insert_here = start == end == hunk.start == hunk.end
    return both_insert_here
