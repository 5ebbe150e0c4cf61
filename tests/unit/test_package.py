"""The package builder: structure, manifest, hashes, path safety."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from docflow.package import (
    PackageFile,
    PackageInfo,
    UnsafePathError,
    build_zip,
    render_readme,
    safe_path,
)

INFO = PackageInfo(
    project_id=uuid4(),
    tenant_id=uuid4(),
    project_name="PlotPal",
    project_slug="plotpal",
    idea="A garden app.",
    generated_at=datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
)


def _file(path: str, text: str = "# T\n", version: int = 1) -> PackageFile:
    return PackageFile(path=path, title="T", kind="about", content_md=text, version=version)


def test_zip_has_package_layout_and_manifest_hashes() -> None:
    files = [_file("README.md"), _file("docs/about.md", "# About\n", 3), _file("docs/specs.md")]
    content, manifest = build_zip(INFO, files)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        stored = json.loads(archive.read("plotpal/manifest.json"))
        about = archive.read("plotpal/docs/about.md")
    assert names == [
        "plotpal/README.md",
        "plotpal/docs/about.md",
        "plotpal/docs/specs.md",
        "plotpal/manifest.json",
    ]
    assert stored == manifest
    entry = next(item for item in manifest["files"] if item["path"] == "docs/about.md")
    assert entry == {
        "path": "docs/about.md",
        "version": 3,
        "version_id": None,
        "sha256": hashlib.sha256(about).hexdigest(),
        "size": len(about),
    }
    assert manifest["generated_at"] == "2026-11-25T12:00:00+00:00"


def test_zip_is_reproducible() -> None:
    files = [_file("README.md"), _file("docs/about.md")]
    assert build_zip(INFO, files)[0] == build_zip(INFO, files)[0]


@pytest.mark.parametrize(
    "path",
    ["../etc/passwd.md", "docs/../../x.md", "/docs/about.md", "docs/about.txt", "notes.md", ""],
)
def test_unsafe_paths_are_refused(path: str) -> None:
    with pytest.raises(UnsafePathError):
        safe_path(path)


def test_safe_paths_pass() -> None:
    assert safe_path("docs/adr/ADR-001-use-postgresql.md") == "docs/adr/ADR-001-use-postgresql.md"
    assert safe_path("docs\\plans\\01-infrastructure.md") == "docs/plans/01-infrastructure.md"


def test_readme_lists_documents_and_names_the_writer() -> None:
    files = [
        PackageFile(
            path="docs/about.md",
            title="About",
            kind="about",
            content_md="# About\n",
            version=2,
            writer="docflow-offline-writer/1 (deterministic, offline; no LLM)",
        )
    ]
    readme = render_readme(INFO, files)
    assert readme.startswith("# PlotPal\n")
    assert "| [docs/about.md](docs/about.md) | v2 |" in readme
    assert "offline" in readme
