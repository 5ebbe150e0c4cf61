"""Every data file docflow reads at run time is in the installed package, not only in a
checkout: a non-editable install (an image, ``pip install .``) once lacked sections.yaml."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
SKIPPED_SUFFIXES = {".py", ".pyc"}


def _package_of(path: Path) -> tuple[str, str]:
    """(dotted package with package-data of its own or of an ancestor, path inside it)."""
    patterns = CONFIG["package-data"]
    parts = path.relative_to(ROOT).parts
    for depth in range(len(parts) - 1, 0, -1):
        package = ".".join(parts[:depth])
        if package in patterns:
            return package, "/".join(parts[depth:])
    return ".".join(parts[:-1]), parts[-1]


def test_every_data_file_of_a_package_is_package_data() -> None:
    roots = [pattern.rstrip("*") for pattern in CONFIG["packages"]["find"]["include"]]
    data_files = [
        path
        for root in roots
        for path in (ROOT / root).rglob("*")
        if path.is_file()
        and path.suffix not in SKIPPED_SUFFIXES
        and "__pycache__" not in path.parts
        and not path.name.startswith(".")
    ]
    assert any(path.name == "sections.yaml" for path in data_files)
    for path in data_files:
        package, inside = _package_of(path)
        patterns = CONFIG["package-data"].get(package, [])
        assert any(
            fnmatch.fnmatch(inside, pattern) and inside.count("/") == pattern.count("/")
            for pattern in patterns
        ), f"{path.relative_to(ROOT)} would be left out of the installed package"
