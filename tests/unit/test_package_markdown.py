"""Every Markdown file of an exported package passes markdownlint's default rules.

pymarkdownlnt implements markdownlint's rules in Python; line length (MD013) is the one
rule left out, as the issue allows. Two different ideas, the whole package each: the
agents' documents (offline writer, section by section), the traceability matrix and the
package README.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from pymarkdown.api import PyMarkdownApi

from docflow.package import (
    PackageFile,
    PackageInfo,
    build_zip,
    render_readme,
    traceability_of,
    tracker_attachments,
)
from docflow.samples import SAMPLE_CONSTRAINTS, sample_idea
from docflow.traceability import TRACEABILITY_PATH, render_traceability
from tests.offline import offline_package

IDEAS = {
    "garden": (sample_idea(), SAMPLE_CONSTRAINTS),
    "clinic": (
        "Tidepool: a SaaS platform that lets small clinics manage appointments, send SMS "
        "reminders and take payments. Patients book online; staff see <today's> list.",
        "Team of 4 developers, 6 months, budget $80k, AWS, HIPAA compliant.",
    ),
}


def _package(idea: str, constraints: str, tmp: Path) -> dict[str, str]:
    files = [
        PackageFile(
            path=d.path,
            title=d.title,
            kind=d.kind,
            content_md=d.content_md,
            version=1,
            writer="docflow-offline-writer/1",
        )
        for d in offline_package(idea, constraints, tmp)
    ]
    info = PackageInfo(
        project_id=uuid4(),
        tenant_id=uuid4(),
        project_name="Tidepool",
        project_slug="tidepool",
        idea=idea,
        generated_at=datetime.now(UTC),
    )
    matrix = traceability_of(files)
    assert matrix is not None
    files.append(
        PackageFile(TRACEABILITY_PATH, "Traceability", "traceability",
                    render_traceability("Tidepool", matrix), 1)
    )  # fmt: skip
    readme = PackageFile("README.md", "README", "readme", render_readme(info, files), 1)
    content, _ = build_zip(info, [readme, *files], tracker_attachments(info, files))
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            name: archive.read(name).decode() for name in archive.namelist() if name.endswith(".md")
        }


@pytest.mark.parametrize("idea", sorted(IDEAS))
def test_every_markdown_file_passes_markdownlint(idea: str, tmp_path: Path) -> None:
    package = _package(*IDEAS[idea], tmp_path)
    linter = PyMarkdownApi().disable_rule_by_identifier("md013")
    failures = [
        f"{name}:{failure.line_number}: {failure.rule_id} {failure.rule_description}"
        f"{failure.extra_error_information}"
        for name, text in sorted(package.items())
        for failure in linter.scan_string(text).scan_failures
    ]
    assert len(package) > 10
    assert failures == []
