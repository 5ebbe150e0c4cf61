"""Requirement ids and the traceability matrix, read from the package's Markdown.

about.md gives every requirement a stable id (``FR-001`` for a feature, ``NFR-001`` for a
non-functional requirement) in the ID column of its two requirement tables. The other
documents cite those ids in their text: an ADR names the requirements it serves, an
epic's tasks and acceptance criteria the ones they deliver, specs.md the ones its
targets and Definition of Done check. Everything here reads the rendered documents (a
person's edit included) through ``docflow.quality.parse``; nothing trusts a contract.

``trace`` builds the matrix (requirement -> ADRs -> epics -> acceptance criteria ->
standards) with its coverage and its gaps; the quality checks report the gaps, the
export writes the matrix as ``docs/traceability.md`` and its coverage into the manifest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from docflow.agents.markdown import document as markdown_document
from docflow.agents.markdown import inline, table
from docflow.contracts import Requirement, RequirementKind, TraceCoverage
from docflow.ids import stable_ids
from docflow.quality.parse import Block, ParsedDocument, Section
from docflow.quality.sections import normalise

PREFIX: dict[RequirementKind, str] = {"functional": "FR", "non-functional": "NFR"}
CITED_ID = re.compile(r"\b(N?FR)-(\d{3})\b")
TRACEABILITY_PATH = "docs/traceability.md"


class ParsedSource(Protocol):
    """A document of the package as the checks see it (``quality.consistency.Document``)."""

    @property
    def path(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def parsed(self) -> ParsedDocument: ...


# --- ids ---------------------------------------------------------------------------------------


def cited_ids(text: str) -> list[str]:
    """The requirement ids ``text`` cites, in order of first mention."""
    return list(dict.fromkeys(match[0] for match in CITED_ID.finditer(text)))


def assign_ids(
    kind: RequirementKind, names: Sequence[str], known: Sequence[Requirement]
) -> list[str]:
    """An id for each requirement named ``names``: the one it had in ``known`` (the
    previous version's requirements), else a number no requirement has had."""
    pairs = [(r.id, r.name) for r in known if r.kind == kind]
    return stable_ids(PREFIX[kind], names, pairs)


# --- about.md's requirements -------------------------------------------------------------------


def requirements_of(parsed: ParsedDocument) -> list[Requirement]:
    """The requirements of about.md: every table row whose ID column holds an id."""
    found: dict[str, Requirement] = {}
    for block in parsed.tables:
        for requirement in _table_requirements(block):
            found.setdefault(requirement.id, requirement)
    return list(found.values())


def _table_requirements(block: Block) -> Iterable[Requirement]:
    if not block.rows:
        return
    header = [normalise(title) for title in block.rows[0]]
    if "id" not in header:
        return
    at_id = header.index("id")
    at_priority = header.index("priority") if "priority" in header else None
    at_name = at_id + 1 if at_id + 1 < len(header) else None
    for row in block.rows[1:]:
        ids = cited_ids(row[at_id]) if at_id < len(row) else []
        if len(ids) != 1 or at_name is None or at_name >= len(row):
            continue
        priority = row[at_priority].strip().lower() if at_priority is not None else ""
        yield Requirement(id=ids[0], name=row[at_name].strip(), priority=priority)


# --- the matrix --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Citation:
    """Where a document cites a requirement: the document, and a label for the place."""

    path: str
    label: str  # "ADR-002", "Epic 03: Lending", "03 AC 2", "Definition of Done"


@dataclass
class Trace:
    requirement: Requirement
    decisions: list[Citation] = field(default_factory=list)
    epics: list[Citation] = field(default_factory=list)
    criteria: list[Citation] = field(default_factory=list)
    standards: list[Citation] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        """An epic's acceptance criterion checks it."""
        return bool(self.criteria)


@dataclass
class Traceability:
    about_path: str
    traces: list[Trace]
    epics: list[tuple[str, str]]  # (path, title) of every epic, in path order
    epics_citing: set[str]  # epic paths that cite at least one requirement
    unknown: dict[str, list[str]]  # path -> ids it cites that about.md does not define

    def coverage(self) -> TraceCoverage:
        must = [trace for trace in self.traces if trace.requirement.must]
        delivered = [trace for trace in must if trace.delivered]
        percent = 100.0 if not must else round(100 * len(delivered) / len(must), 1)
        return TraceCoverage(
            requirements=len(self.traces),
            must=len(must),
            must_delivered=len(delivered),
            percent=percent,
            uncovered=[t.requirement.id for t in must if not t.delivered],
            epics_citing_nothing=[p for p, _ in self.epics if p not in self.epics_citing],
            unknown_ids=sorted({i for ids in self.unknown.values() for i in ids}),
        )


def trace(documents: Sequence[ParsedSource]) -> Traceability | None:
    """The matrix of ``documents`` (one project's package), or None when its about.md
    gives no requirement ids (a package written before ids existed)."""
    about = next((d for d in documents if d.kind == "about"), None)
    requirements = requirements_of(about.parsed) if about is not None else []
    if about is None or not requirements:
        return None
    traces = {r.id: Trace(r) for r in requirements}
    result = Traceability(about.path, list(traces.values()), [], set(), {})
    for document in sorted(documents, key=lambda d: d.path):
        if document.kind == "about":
            continue
        cited = _cite(document, traces)
        unknown = [i for i in cited_ids(document.parsed.text) if i not in traces]
        if unknown:
            result.unknown[document.path] = unknown
        if document.kind == "epic":
            result.epics.append((document.path, _title(document.parsed)))
            if cited:
                result.epics_citing.add(document.path)
    return result


def _title(parsed: ParsedDocument) -> str:
    return next((h.text for h in parsed.headings if h.level == 1), "")


def _cite(document: ParsedSource, traces: dict[str, Trace]) -> set[str]:
    """Record where ``document`` cites each known id; the ids it cites."""
    parsed, path = document.parsed, document.path
    cited: set[str] = set()

    def add(ids: Iterable[str], bucket: str, label: str) -> None:
        for id_ in ids:
            if id_ in traces:
                citations: list[Citation] = getattr(traces[id_], bucket)
                if Citation(path, label) not in citations:
                    citations.append(Citation(path, label))
                cited.add(id_)

    title = _title(parsed)
    if document.kind == "adr":
        add(cited_ids(parsed.text), "decisions", title.split(":")[0].strip() or path)
    elif document.kind == "epic":
        number = _epic_number(path)
        add(cited_ids(parsed.text), "epics", title or path)
        for index, item in enumerate(_items_under(parsed, "acceptance criteria"), 1):
            add(cited_ids(item.text), "criteria", f"{number} AC {index}")
    elif document.kind == "specs":
        for section in _leaf_sections(parsed):
            add(cited_ids(section.text), "standards", section.title)
    return cited


def _epic_number(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[:2] if name[:2].isdigit() else name


def _items_under(parsed: ParsedDocument, title: str) -> list[Block]:
    section = next((s for s in parsed.sections if normalise(s.title) == title), None)
    return [b for b in section.blocks if b.kind == "item"] if section is not None else []


def _leaf_sections(parsed: ParsedDocument) -> list[Section]:
    """Sections at the level of ``##``, each once (its subsections' text included)."""
    return [section for section in parsed.sections if section.level == 2]


# --- docs/traceability.md ----------------------------------------------------------------------


def _link(citation: Citation, label: str | None = None) -> str:
    relative = citation.path.removeprefix("docs/")
    return f"[{inline(label or citation.label)}]({relative})"


def _links(citations: Sequence[Citation], short: bool = False) -> str:
    if not citations:
        return "-"
    labels = [c.label.split(":")[0] if short else c.label for c in citations]
    return ", ".join(_link(c, label) for c, label in zip(citations, labels, strict=True))


def _standards(citations: Sequence[Citation]) -> str:
    return ", ".join(inline(c.label) for c in citations) or "-"


def _coverage_lines(matrix: Traceability, coverage: TraceCoverage) -> list[str]:
    cited = sum(1 for t in matrix.traces if t.epics)
    titles = dict(matrix.epics)
    lines = [
        f"- Must requirements delivered by an acceptance criterion: {coverage.must_delivered} "
        f"of {coverage.must} ({coverage.percent:g}%)",
        f"- Requirements an epic cites: {cited} of {coverage.requirements}",
        "- Epics that cite no requirement: "
        + (", ".join(inline(titles[p]) for p in coverage.epics_citing_nothing) or "none"),
        "- Ids cited that about.md does not define: " + (", ".join(coverage.unknown_ids) or "none"),
    ]
    return ["\n".join(lines)]


def render_traceability(project_name: str, matrix: Traceability) -> str:
    """docs/traceability.md: every requirement with what serves, delivers and checks it."""
    coverage = matrix.coverage()
    rows = [
        (
            f"{t.requirement.id}: {t.requirement.name}",
            t.requirement.priority.capitalize() or "-",
            _links(t.decisions),
            _links(t.epics, short=True),
            _links(t.criteria),
            _standards(t.standards),
            "Yes" if t.delivered else "No",
        )
        for t in matrix.traces
    ]
    blocks = [
        f"# {inline(project_name)}: Traceability",
        "Each requirement of [about.md](about.md), the decisions that serve it, the epics "
        "and acceptance criteria that deliver it and the standards of specs.md that check "
        "it. It is built from the accepted documents when the package is exported.",
        "## Coverage",
        *_coverage_lines(matrix, coverage),
        "## Matrix",
        table(
            (
                "Requirement",
                "Priority",
                "Decisions",
                "Epics",
                "Acceptance criteria",
                "Standards",
                "Delivered",
            ),
            rows,
        ),
    ]
    return markdown_document(blocks)
