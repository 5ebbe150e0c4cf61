"""The README's first command: `docflow demo` on its own embedded stack writes a ZIP."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FREE_PORTS = {
    f"DOCFLOW_EMBEDDED_{name}_PORT": "0"
    for name in (
        "TEMPORAL",
        "TEMPORAL_UI",
        "TEMPORAL_HTTP",
        "TEMPORAL_METRICS",
        "POSTGRES",
        "REDIS",
    )
}


def _demo(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **FREE_PORTS, "DOCFLOW_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "docflow", "demo", *arguments]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_demo_writes_a_package_specific_to_the_idea(tmp_path: Path) -> None:
    idea = tmp_path / "idea.md"
    idea.write_text(
        "# TideWatch\n\nA web dashboard for harbour masters to track tides, berth "
        "bookings and real-time vessel positions.\n"
    )
    out = tmp_path / "out" / "tidewatch.zip"
    done = _demo(tmp_path, "--idea-file", str(idea), "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        about = archive.read("tidewatch/docs/about.md").decode()
    assert "tidewatch/manifest.json" in names
    assert "TideWatch" in about and "harbour" in about
    assert not out.with_suffix(".zip.part").exists()


def test_demo_refuses_a_missing_idea_file(tmp_path: Path) -> None:
    done = _demo(tmp_path, "--idea-file", str(tmp_path / "nope.md"))
    assert done.returncode == 2
    assert "no such idea file" in done.stderr
