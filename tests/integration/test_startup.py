"""A process with a bad setting or an unreachable service stops at start, with one plain
line per problem and exit code 2: no traceback, no serving a broken configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from docflow.embedded import StackEndpoints
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
CLOSED = f"127.0.0.1:{free_port()}"  # nothing listens there


def _start(module: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOCFLOW_", "TEMPORAL_"))}
    clean.pop("DATABASE_URL", None)
    clean.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env={**clean, "DOCFLOW_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("docflow: ")]


@pytest.mark.parametrize("module", ["api", "worker"])
def test_a_typo_in_a_provider_name(module: str, tmp_path: Path) -> None:
    lines = _lines(_start(module, tmp_path, DOCFLOW_LLM_PROVIDER="opnai"))
    assert lines == [
        "docflow: invalid setting DOCFLOW_LLM_PROVIDER: Input should be 'offline', 'openai' "
        "or 'local'"
    ]


def test_outside_development_every_missing_secret_is_named(tmp_path: Path) -> None:
    lines = _lines(_start("api", tmp_path, DOCFLOW_ENV="production"))
    assert [line.split()[1] for line in lines] == [
        "DOCFLOW_JWT_SECRET",
        "DOCFLOW_MASTER_KEY",
        "DOCFLOW_DB_APP_PASSWORD",
    ]
    typo = _lines(_start("api", tmp_path, DOCFLOW_ENV="prod"))
    assert typo[0].startswith("docflow: invalid setting DOCFLOW_ENV: Input should be")


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    lines = _lines(
        _start(
            "api",
            tmp_path,
            DATABASE_URL=f"postgresql+asyncpg://docflow_app:s3cret@{CLOSED}/docflow",
            REDIS_URL=f"redis://{CLOSED}/0",
        )
    )
    assert len(lines) == 1
    assert lines[0].startswith(f"docflow: cannot reach PostgreSQL at {CLOSED}: ")
    assert "s3cret" not in lines[0]


def test_an_unreachable_temporal_is_named(stack: StackEndpoints, tmp_path: Path) -> None:
    lines = _lines(
        _start(
            "worker",
            tmp_path,
            DATABASE_URL=stack.database_url,
            REDIS_URL=stack.redis_url,
            TEMPORAL_ADDRESS=CLOSED,
        )
    )
    assert len(lines) == 1
    assert lines[0].startswith(f"docflow: cannot reach Temporal at {CLOSED}: ")


def test_temporal_setup_names_an_unreachable_cluster_in_one_line(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOCFLOW_", "TEMPORAL_"))}
    result = subprocess.run(
        [sys.executable, "-m", "docflow", "temporal", "setup"],
        cwd=ROOT,
        env={**clean, "TEMPORAL_ADDRESS": CLOSED, "DOCFLOW_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"docflow temporal failed: cannot reach Temporal at {CLOSED}: connection refused"
    )
