"""Structure checks per document kind: required sections, diagrams, ADR and epic parts."""

from __future__ import annotations

import re
from collections.abc import Callable

from docflow.quality.parse import ParsedDocument, Section, lines_outside_code
from docflow.quality.report import CheckId, Finding, Severity
from docflow.quality.sections import (
    ADR_OPTIONS,
    EPIC_ACCEPTANCE,
    EPIC_TASKS,
    REQUIRED_SECTIONS,
    SPECS_NFR,
    Required,
    matching,
    normalise,
)

ADR_STATUSES = ("proposed", "accepted", "deprecated", "superseded", "rejected")
# "Status: Accepted", "**Status:** Accepted", "- Status: Proposed": metadata lines.
_META_LINE = re.compile(r"^[\s>*_-]*(status|date)[*_]*\s*:[*_\s]*(\S.*)?$", re.IGNORECASE)
_ADR_TITLE = re.compile(r"^ADR[- ]?\d{1,4}\b", re.IGNORECASE)
_PROS = re.compile(r"\b(pros?|advantages?|benefits?|strengths?)\b", re.IGNORECASE)
_CONS = re.compile(r"\b(cons?|disadvantages?|drawbacks?|weaknesses|trade-?offs?)\b", re.IGNORECASE)
_DIGIT = re.compile(r"\d")

Check = Callable[[str, str, ParsedDocument], list[Finding]]


def structure_findings(
    path: str, kind: str, content_md: str, document: ParsedDocument
) -> list[Finding]:
    findings = section_findings(path, document, REQUIRED_SECTIONS.get(kind, ()))
    for check in KIND_CHECKS.get(kind, ()):
        findings += check(path, content_md, document)
    return findings


def section_findings(
    path: str, document: ParsedDocument, requirements: tuple[Required, ...]
) -> list[Finding]:
    findings = []
    for requirement in requirements:
        sections = matching(document, requirement)
        if not sections:
            findings.append(_finding(CheckId.MISSING_SECTION, path, _missing(requirement)))
        elif not any(section.has_content for section in sections):
            findings.append(
                _finding(
                    CheckId.EMPTY_SECTION,
                    path,
                    f"the section '{sections[0].title}' ({requirement.label}) is empty",
                )
            )
    return findings


def _missing(requirement: Required) -> str:
    return f"the required section '{requirement.label}' is missing"


def _finding(
    check: CheckId, path: str, message: str, severity: Severity = Severity.ERROR
) -> Finding:
    return Finding(check=check, severity=severity, path=path, message=message)


# --- architecture ------------------------------------------------------------------------

C4_DIAGRAMS = (
    ("C4Context", "system context", Severity.ERROR),
    ("C4Container", "container", Severity.ERROR),
    ("C4Component", "component", Severity.WARNING),
)


def diagram_types(document: ParsedDocument) -> set[str]:
    """The Mermaid diagram types present: the first word of each Mermaid block, after
    any front matter (between '---' lines) and comments ('%%')."""
    found = set()
    for block in document.code_blocks("mermaid"):
        lines = [line.strip() for line in block.text.splitlines()]
        if lines and lines[0] == "---" and "---" in lines[1:]:
            lines = lines[lines.index("---", 1) + 1 :]
        first = next((line for line in lines if line and not line.startswith("%%")), "")
        if first:
            found.add(first.split()[0])
    return found


def c4_findings(path: str, content_md: str, document: ParsedDocument) -> list[Finding]:
    present = diagram_types(document)
    return [
        _finding(
            CheckId.C4_DIAGRAM,
            path,
            f"no Mermaid {diagram} diagram (the C4 {label} view)",
            severity,
        )
        for diagram, label, severity in C4_DIAGRAMS
        if diagram not in present
    ]


# --- ADR ---------------------------------------------------------------------------------


def adr_metadata(content_md: str, document: ParsedDocument) -> dict[str, str]:
    """'status' and 'date' from their metadata lines, or the status from a 'Status'
    section; values as written."""
    found: dict[str, str] = {}
    for line in lines_outside_code(content_md):
        match = _META_LINE.match(line)
        if match is not None and match[1].lower() not in found:
            found[match[1].lower()] = (match[2] or "").strip(" *_")
    if "status" not in found:
        for section in document.sections:
            body = [block.text for block in section.blocks if block.kind != "heading"]
            if normalise(section.title) == "status" and body:
                found["status"] = body[0]
                break
    return found


def adr_findings(path: str, content_md: str, document: ParsedDocument) -> list[Finding]:
    findings = []
    title = next((h.text for h in document.headings if h.level == 1), "")
    if not _ADR_TITLE.match(title):
        findings.append(
            _finding(
                CheckId.ADR_TITLE,
                path,
                f"the title '{title}' does not start with its number, e.g. 'ADR-001: ...'",
                Severity.WARNING,
            )
        )
    metadata = adr_metadata(content_md, document)
    findings += _status_findings(path, metadata.get("status"))
    if not metadata.get("date"):
        findings.append(
            _finding(CheckId.ADR_DATE, path, "no 'Date: YYYY-MM-DD' line", Severity.WARNING)
        )
    findings += _pros_cons_findings(path, document)
    return findings


def _status_findings(path: str, status: str | None) -> list[Finding]:
    if not status:
        return [
            _finding(
                CheckId.ADR_STATUS,
                path,
                "no 'Status:' line (Proposed, Accepted or Deprecated)",
            )
        ]
    word = status.split()[0].strip(".,;:()").lower()
    if word in ADR_STATUSES:
        return []
    return [
        _finding(
            CheckId.ADR_STATUS,
            path,
            f"unknown status '{status}': use Proposed, Accepted or Deprecated",
            Severity.WARNING,
        )
    ]


def _pros_cons_findings(path: str, document: ParsedDocument) -> list[Finding]:
    options = matching(document, ADR_OPTIONS)
    text = "\n".join(section.text for section in options)
    if not options or (_PROS.search(text) and _CONS.search(text)):
        return []
    return [
        _finding(
            CheckId.ADR_PROS_CONS,
            path,
            "the options do not list their pros and cons",
            Severity.WARNING,
        )
    ]


# --- epic ---------------------------------------------------------------------------------


def epic_findings(path: str, content_md: str, document: ParsedDocument) -> list[Finding]:
    findings = []
    tasks = matching(document, EPIC_TASKS)
    if tasks and not any(_has_checklist(section) for section in tasks):
        findings.append(
            _finding(CheckId.EPIC_TASKS, path, "the tasks are not a checklist ('- [ ] task' items)")
        )
    criteria = matching(document, EPIC_ACCEPTANCE)
    if criteria and not any(_has_items(section) for section in criteria):
        findings.append(
            _finding(
                CheckId.EPIC_ACCEPTANCE,
                path,
                "the acceptance criteria are not a list of testable items",
            )
        )
    return findings


def _has_checklist(section: Section) -> bool:
    return any(block.kind == "item" and block.checked is not None for block in section.blocks)


def _has_items(section: Section) -> bool:
    return any(block.kind == "item" and block.text.strip() for block in section.blocks)


# --- specs --------------------------------------------------------------------------------


def specs_findings(path: str, content_md: str, document: ParsedDocument) -> list[Finding]:
    sections = matching(document, SPECS_NFR)
    if not sections or any(_DIGIT.search(section.text) for section in sections):
        return []
    return [
        _finding(
            CheckId.NFR_NUMBERS,
            path,
            "the non-functional requirements have no numbers (latency p95, availability, "
            "rate limits, quotas)",
        )
    ]


KIND_CHECKS: dict[str, tuple[Check, ...]] = {
    "architecture": (c4_findings,),
    "adr": (adr_findings,),
    "epic": (epic_findings,),
    "specs": (specs_findings,),
}
