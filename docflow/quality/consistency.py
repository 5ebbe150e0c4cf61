"""Cross-document consistency across a set of documents of one project.

The architecture is the reference: its components, containers and stack (see
``facts``) must reappear in the plan and the specs, and an epic may only name
components the architecture has. Links between documents must resolve, every ADR is
linked from the architecture and every epic from the plan overview.

Findings are attributed to the document that has to change (usually the downstream
one), so a version is judged against the accepted documents it was written from.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

from docflow.quality.facts import ArchitectureFacts, architecture_facts
from docflow.quality.parse import ParsedDocument
from docflow.quality.report import CheckId, Finding, Severity
from docflow.traceability import trace

# Names that end in one of these words are component names ("Payment Service").
_COMPONENT_NAME = re.compile(
    r"\b((?:[A-Z][\w&'-]*[ \t]+){1,3})(Service|Gateway|Worker|Adapter|Module)\b"
)
_NOT_NAME = frozenset({"the", "a", "an", "each", "every", "this", "that", "our", "its", "one"})
_GENERIC_SUFFIXES = frozenset({"service", "component", "module", "subsystem"})
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


@dataclass(frozen=True)
class Document:
    path: str
    kind: str
    parsed: ParsedDocument


def consistency_findings(documents: Sequence[Document]) -> list[Finding]:
    findings = broken_link_findings(documents) + traceability_findings(documents)
    overview = _first(documents, "plan_overview")
    epics = sorted((d for d in documents if d.kind == "epic"), key=lambda d: d.path)
    if overview is not None:
        findings += epic_listed_findings(overview, epics)
    architecture = _first(documents, "architecture")
    if architecture is None:
        return findings
    facts = architecture_facts(architecture.parsed)
    findings += adr_linked_findings(architecture, [d for d in documents if d.kind == "adr"])
    plan = ([overview] if overview else []) + epics
    if plan:
        findings += plan_findings(facts, plan)
        findings += epic_component_findings(facts, architecture, epics)
    specs = _first(documents, "specs")
    if specs is not None:
        findings += _technology_findings(
            facts, specs.parsed.text, specs.path, CheckId.TECHNOLOGY_IN_SPECS, "specs"
        )
    return findings


def _first(documents: Sequence[Document], kind: str) -> Document | None:
    return next((document for document in documents if document.kind == kind), None)


def _finding(check: CheckId, severity: Severity, path: str, message: str) -> Finding:
    return Finding(check=check, severity=severity, path=path, message=message)


# --- traceability -------------------------------------------------------------------------


def traceability_findings(documents: Sequence[Document]) -> list[Finding]:
    """Ids cited that about.md does not define; with the plan present, every Must
    requirement delivered by an epic's acceptance criterion, and every epic citing one."""
    matrix = trace(documents)
    if matrix is None:
        return []
    findings = [
        _finding(CheckId.TRACE_UNKNOWN_ID, Severity.ERROR, path,
                 f"cites {', '.join(ids)}, which {matrix.about_path} does not define")
        for path, ids in matrix.unknown.items()
    ]  # fmt: skip
    overview = _first(documents, "plan_overview")
    if overview is None:
        return findings
    coverage = matrix.coverage()
    names = {t.requirement.id: t.requirement.name for t in matrix.traces}
    findings += [
        _finding(CheckId.TRACE_MUST_UNDELIVERED, Severity.ERROR, overview.path,
                 f"the Must requirement {id_} (\u201c{names[id_]}\u201d) has no acceptance "
                 "criterion in any epic that cites it")
        for id_ in coverage.uncovered
    ]  # fmt: skip
    findings += [
        _finding(CheckId.TRACE_EPIC_CITES_NOTHING, Severity.WARNING, path,
                 f"the epic cites no requirement of {matrix.about_path}")
        for path in coverage.epics_citing_nothing
    ]  # fmt: skip
    return findings


# --- names ------------------------------------------------------------------------------------


def words(text: str) -> str:
    """Lower-case words separated by single spaces ('&' read as 'and')."""
    return " ".join(_NOT_WORD.sub(" ", text.lower().replace("&", " and ")).split())


def mentions(text_words: str, name: str, *, exact: bool = False) -> bool:
    """Whether ``text_words`` (see ``words``) names ``name``, case-insensitively.

    A plural 's' is allowed; unless ``exact``, "Scheduling Service" is also named by
    "scheduling".
    """
    variants = {words(name)}
    parts = words(name).split()
    if not exact and len(parts) > 1 and parts[-1] in _GENERIC_SUFFIXES:
        variants.add(" ".join(parts[:-1]))
    padded = f" {text_words} "
    return any(f" {v} " in padded or f" {v}s " in padded for v in variants if v)


def names_technology(text: str, technology: str) -> bool:
    """Technologies are proper names: matched case-sensitively, as whole words."""
    return re.search(rf"(?<![\w.]){re.escape(technology)}(?!\w)", text) is not None


def component_names(text: str) -> list[str]:
    """Names shaped like components ("Payment Service") in ``text``, in order."""
    names = []
    for match in _COMPONENT_NAME.finditer(text):
        leading = match[1].split()
        while leading and leading[0].lower() in _NOT_NAME:
            leading.pop(0)
        if leading:
            names.append(" ".join([*leading, match[2]]))
    return names


# --- links ------------------------------------------------------------------------------------


def package_area(path: str) -> str | None:
    """Which step's part of the package a path belongs to (PACKAGE.md layout)."""
    if path == "docs/about.md":
        return "description"
    if path == "docs/architecture.md" or path.startswith("docs/adr/"):
        return "architecture"
    if path.startswith("docs/plans/"):
        return "plan"
    if path == "docs/specs.md":
        return "standards"
    return None


def link_target(source: str, href: str) -> str | None:
    """The package path a relative Markdown link points to, or None for other links."""
    target = href.split("#", 1)[0].split("?", 1)[0]
    if not target.endswith(".md") or _SCHEME.match(target) or target.startswith("/"):
        return None
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def linked_paths(document: Document) -> set[str]:
    targets = (link_target(document.path, href) for href in document.parsed.links())
    return {target for target in targets if target}


def broken_link_findings(documents: Sequence[Document]) -> list[Finding]:
    """Links into a part of the package that is present, to a document that is not."""
    paths = {document.path for document in documents}
    areas = {package_area(path) for path in paths} - {None}
    findings = []
    for document in documents:
        for target in sorted(linked_paths(document) - paths):
            if package_area(target) in areas:
                findings.append(
                    _finding(
                        CheckId.BROKEN_LINK,
                        Severity.ERROR,
                        document.path,
                        f"the link to {target} points to no document of the package",
                    )
                )
    return findings


def adr_linked_findings(architecture: Document, adrs: Sequence[Document]) -> list[Finding]:
    linked = linked_paths(architecture)
    return [
        _finding(
            CheckId.ADR_LINKED,
            Severity.ERROR,
            architecture.path,
            f"the decision recorded in {adr.path} is not linked from the architecture",
        )
        for adr in sorted(adrs, key=lambda a: a.path)
        if adr.path not in linked
    ]


def epic_listed_findings(overview: Document, epics: Sequence[Document]) -> list[Finding]:
    linked = linked_paths(overview)
    return [
        _finding(
            CheckId.EPIC_LISTED,
            Severity.ERROR,
            overview.path,
            f"the epic {epic.path} is missing from the overview's epic list",
        )
        for epic in epics
        if epic.path not in linked
    ]


# --- architecture -> plan and specs -------------------------------------------------------


def plan_findings(facts: ArchitectureFacts, plan: Sequence[Document]) -> list[Finding]:
    text = "\n".join(document.parsed.text for document in plan)
    text_words = words(text)
    findings = [
        _finding(
            CheckId.COMPONENT_IN_PLAN,
            Severity.WARNING,
            plan[0].path,
            f"the architecture's '{name}' is named nowhere in the plan",
        )
        for name in facts.elements
        if not mentions(text_words, name)
    ]
    return findings + _technology_findings(
        facts, text, plan[0].path, CheckId.TECHNOLOGY_IN_PLAN, "plan"
    )


def _technology_findings(
    facts: ArchitectureFacts, text: str, path: str, check: CheckId, where: str
) -> list[Finding]:
    return [
        _finding(
            check,
            Severity.WARNING,
            path,
            f"the stack's technology '{technology}' is named nowhere in the {where}",
        )
        for technology in facts.technologies
        if not names_technology(text, technology)
    ]


def epic_component_findings(
    facts: ArchitectureFacts, architecture: Document, epics: Sequence[Document]
) -> list[Finding]:
    """Epics name only components the architecture has; the epics between the first
    (infrastructure) and the last (testing) each name at least one of them."""
    architecture_words = words(architecture.parsed.text)
    findings = []
    for position, epic in enumerate(epics):
        text = epic.parsed.text
        for name in dict.fromkeys(component_names(text)):
            if not mentions(architecture_words, name, exact=True):
                findings.append(_unknown_component(epic.path, name))
        middle = 0 < position < len(epics) - 1
        text_words = words(text)
        if middle and not any(mentions(text_words, name) for name in facts.elements):
            findings.append(
                _finding(
                    CheckId.EPIC_NAMES_COMPONENT,
                    Severity.WARNING,
                    epic.path,
                    "the epic names no component or container of the architecture",
                )
            )
    return findings


def _unknown_component(path: str, name: str) -> Finding:
    return _finding(
        CheckId.UNKNOWN_COMPONENT,
        Severity.ERROR,
        path,
        f"the epic names '{name}', which the architecture does not have",
    )
