"""Markdown validity: it renders, its fences close, one H1, heading levels never skip."""

from __future__ import annotations

from docflow.quality.parse import ParsedDocument, unclosed_fence_line
from docflow.quality.report import CheckId, Finding, Severity


def render_finding(path: str, error: Exception) -> Finding:
    return Finding(
        check=CheckId.MARKDOWN_RENDER,
        severity=Severity.ERROR,
        path=path,
        message=f"python-markdown cannot render the document: {type(error).__name__}: {error}",
    )


def validity_findings(path: str, content_md: str, document: ParsedDocument) -> list[Finding]:
    return [
        *_fence_findings(path, content_md),
        *_h1_findings(path, document),
        *_skip_findings(path, document),
    ]


def _fence_findings(path: str, content_md: str) -> list[Finding]:
    line = unclosed_fence_line(content_md)
    if line is None:
        return []
    return [
        Finding(
            check=CheckId.MARKDOWN_UNCLOSED_FENCE,
            severity=Severity.ERROR,
            path=path,
            message=f"the code block opened on line {line} is never closed",
        )
    ]


def _h1_findings(path: str, document: ParsedDocument) -> list[Finding]:
    count = sum(1 for heading in document.headings if heading.level == 1)
    if count == 1:
        return []
    return [
        Finding(
            check=CheckId.MARKDOWN_SINGLE_H1,
            severity=Severity.ERROR,
            path=path,
            message=f"the document has {count} level-1 headings; it needs exactly one title",
        )
    ]


def _skip_findings(path: str, document: ParsedDocument) -> list[Finding]:
    findings = []
    previous = 0
    for heading in document.headings:
        if heading.level > previous + 1:
            findings.append(
                Finding(
                    check=CheckId.MARKDOWN_HEADING_SKIP,
                    severity=Severity.ERROR,
                    path=path,
                    message=_skip_message(heading.text, heading.level, previous),
                )
            )
        previous = heading.level
    return findings


def _skip_message(title: str, level: int, previous: int) -> str:
    if previous == 0:
        return f"the first heading '{title}' is level {level}: start with a level-1 title"
    return (
        f"heading '{title}' is level {level} right after level {previous}: "
        "heading levels must not skip"
    )
