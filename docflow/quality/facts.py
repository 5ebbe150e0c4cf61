"""What an architecture document names: its components, containers and technologies.

Read from structure, not from prose: the container and component tables (first column
"Container" / "Component"), the element calls of the Mermaid C4 diagrams
(``Container(alias, "Name", "Technology", ...)``), and the technology column of the
stack table. Of each stack row only the primary technology is kept: the capitalised
name before "with", "on", a version or a parenthesis ("Python 3.12 with FastAPI" ->
"Python"); rows that describe rather than name ("A managed container platform") give
none.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from docflow.quality.parse import Block, ParsedDocument
from docflow.quality.sections import ARCHITECTURE_STACK, matching, normalise

_C4_ELEMENT = re.compile(
    r"^\s*(Container|ContainerDb|ContainerQueue|Component|ComponentDb|ComponentQueue)"
    r"\s*\((.*)\)\s*$"
)
_TECHNOLOGY_HEADERS = frozenset({"technology", "technologies", "tech", "choice", "tool", "tools"})
_CUT = re.compile(r"\s+(?:with|on|in|for|as|and|via|using|behind|plus|over)\s+|[(,;:/]")
_VERSION = re.compile(r"v?\d+(?:\.\d+)*[a-z]?", re.IGNORECASE)
_LEADING_FILLERS = frozenset({"a", "an", "the", "one", "our", "its"})


@dataclass(frozen=True)
class ArchitectureFacts:
    components: tuple[str, ...]
    containers: tuple[str, ...]
    technologies: tuple[str, ...]

    @property
    def elements(self) -> tuple[str, ...]:
        """Components, then the containers that are not also components."""
        seen = {name.lower() for name in self.components}
        return self.components + tuple(c for c in self.containers if c.lower() not in seen)


def architecture_facts(document: ParsedDocument) -> ArchitectureFacts:
    diagram = _diagram_elements(document)
    return ArchitectureFacts(
        components=_unique(_first_column(document, "component") + diagram["component"]),
        containers=_unique(_first_column(document, "container") + diagram["container"]),
        technologies=_unique(_stack_technologies(document)),
    )


def primary_technology(cell: str) -> str:
    """The leading capitalised name of a stack cell, '' when the cell names none."""
    head = _CUT.split(cell, maxsplit=1)[0].split()
    while head and head[0].lower() in _LEADING_FILLERS:
        head.pop(0)
    named: list[str] = []
    for word in head:
        if _VERSION.fullmatch(word):
            continue
        if not any(character.isupper() for character in word):
            break
        named.append(word)
    return " ".join(named)


def _unique(names: list[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    kept = []
    for name in names:
        key = name.strip().lower()
        if key and key != "-" and key not in seen:
            seen.add(key)
            kept.append(name.strip())
    return tuple(kept)


def _first_column(document: ParsedDocument, header: str) -> list[str]:
    names = []
    for table in document.tables:
        if table.rows and table.rows[0] and normalise(table.rows[0][0]) in (header, f"{header}s"):
            names += [row[0] for row in table.rows[1:] if row]
    return names


def _stack_technologies(document: ParsedDocument) -> list[str]:
    technologies = []
    for section in matching(document, ARCHITECTURE_STACK):
        for table in (block for block in section.blocks if block.kind == "table"):
            column = _technology_column(table)
            cells = [row[column] for row in table.rows[1:] if len(row) > column]
            technologies += [name for name in map(primary_technology, cells) if name]
    return technologies


def _technology_column(table: Block) -> int:
    headers = [normalise(header) for header in table.rows[0]] if table.rows else []
    for index, header in enumerate(headers):
        if header in _TECHNOLOGY_HEADERS:
            return index
    return 1 if len(headers) > 1 else 0


def _diagram_elements(document: ParsedDocument) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"component": [], "container": []}
    for block in document.code_blocks("mermaid"):
        for line in block.text.splitlines():
            match = _C4_ELEMENT.match(line)
            arguments = next(csv.reader([match[2]], skipinitialspace=True)) if match else []
            if match and len(arguments) > 1:
                kind = "component" if match[1].startswith("Component") else "container"
                found[kind].append(arguments[1])
    return found
