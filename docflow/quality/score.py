"""Score documents: every check, one ``QualityReport`` per document. Pure and
deterministic: no clock, no network, no randomness."""

from __future__ import annotations

from collections.abc import Sequence

from docflow.contracts import RenderedDocument, TraceCoverage
from docflow.quality.consistency import Document, consistency_findings
from docflow.quality.parse import ParsedDocument, parse
from docflow.quality.readability import measure, prose_of, readability_findings
from docflow.quality.report import Finding, QualityReport, QualityThresholds, build_report
from docflow.quality.structure import structure_findings
from docflow.quality.validity import render_finding, validity_findings
from docflow.traceability import trace


def score_documents(
    documents: Sequence[RenderedDocument],
    thresholds: QualityThresholds,
    context: Sequence[RenderedDocument] = (),
) -> list[QualityReport]:
    """One report per document of ``documents``, in their order.

    ``context`` holds the project's other documents (the accepted versions of the other
    steps): they take part in the cross-document checks only, and a context document at
    the path of a scored one is ignored (the scored version replaces it).
    """
    scored_paths = {document.path for document in documents}
    others = [document for document in context if document.path not in scored_paths]
    parsed = [_parse(document) for document in documents]
    pairs = zip([*documents, *others], [*parsed, *map(_parse, others)], strict=True)
    everything = [
        Document(rendered.path, rendered.kind, result)
        for rendered, result in pairs
        if isinstance(result, ParsedDocument)
    ]
    cross = consistency_findings(everything)
    return [
        _report(document, result, thresholds, [f for f in cross if f.path == document.path])
        for document, result in zip(documents, parsed, strict=True)
    ]


def traceability_coverage(
    documents: Sequence[RenderedDocument], context: Sequence[RenderedDocument] = ()
) -> TraceCoverage | None:
    """The coverage of the traceability matrix of ``documents`` with ``context`` (as in
    ``score_documents``), once the plan's epics are among them; else None."""
    scored = {document.path for document in documents}
    everything = [*documents, *(d for d in context if d.path not in scored)]
    if not any(document.kind == "epic" for document in everything):
        return None
    parsed = [(document, _parse(document)) for document in everything]
    matrix = trace(
        [Document(d.path, d.kind, result) for d, result in parsed
         if isinstance(result, ParsedDocument)]
    )  # fmt: skip
    return matrix.coverage() if matrix is not None else None


def score_document(document: RenderedDocument, thresholds: QualityThresholds) -> QualityReport:
    """One document on its own: no cross-document checks beyond its own links."""
    return score_documents([document], thresholds)[0]


def _parse(document: RenderedDocument) -> ParsedDocument | Exception:
    try:
        return parse(document.content_md)
    except Exception as error:  # python-markdown rejected it: that is the finding
        return error


def _report(
    document: RenderedDocument,
    parsed: ParsedDocument | Exception,
    thresholds: QualityThresholds,
    cross: list[Finding],
) -> QualityReport:
    path, content = document.path, document.content_md
    if isinstance(parsed, Exception):
        findings = [render_finding(path, parsed)]
        parsed = ParsedDocument(blocks=())
    else:
        findings = validity_findings(path, content, parsed)
        findings += structure_findings(path, document.kind, content, parsed)
    figures = measure(prose_of(parsed), thresholds)
    findings += readability_findings(path, figures, thresholds)
    return build_report(path, document.kind, findings + cross, figures, thresholds)
