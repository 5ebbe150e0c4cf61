"""Benchmark: where `docflow demo`'s start-up goes, and the whole demo.

    .venv/bin/python -m bench.startup [--repeats 3]

Each repeat runs in fresh processes: the phases (the worker's imports and warm-up, the
embedded stack's start, the worker's start) one after another in a child process, then
`docflow demo` end to end (the README's first command, its own temporary data folder),
both on free ports. Prints min and median seconds of the repeats; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PHASES = """
import asyncio, json, sys, time
began = time.perf_counter()
marks = {}
def mark(name): marks[name] = time.perf_counter() - began
import worker.main
mark("import the worker")
from docflow.settings import get_settings
settings = get_settings()
worker.main.warm_up(settings)
mark("warm-up (readability dictionary, embedder)")
from docflow import temporal
from docflow.embedded import EmbeddedStack
from docflow.storage import migrate
from docflow.storage.db import make_engine
async def main():
    with EmbeddedStack(settings) as endpoints:
        mark("start the embedded stack")
        migrate.upgrade(endpoints.database_admin_url, settings.db_app_role)
        mark("migrate")
        run = settings.model_copy(update={"database_url": endpoints.database_url,
                                          "redis_url": endpoints.redis_url})
        client = await temporal.connect(run, endpoints.temporal_address)
        engine = make_engine(endpoints.database_url)
        async with worker.main.build_worker(client, engine, run):
            mark("start the worker")
        await engine.dispose()
    mark("stop the stack")
asyncio.run(main())
print(json.dumps(marks))
"""


def phases(data_dir: Path) -> dict[str, float]:
    env = {**os.environ, "DOCFLOW_DATA_DIR": str(data_dir), **free_port_env()}
    result = subprocess.run([sys.executable, "-c", PHASES], env=env, cwd=ROOT, check=True,
                            capture_output=True, text=True)  # fmt: skip
    marks: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    previous, durations = 0.0, {}
    for name, at in marks.items():
        durations[name] = at - previous
        previous = at
    return durations


def demo(data_dir: Path) -> float:
    env = {**os.environ, "DOCFLOW_DATA_DIR": str(data_dir), **free_port_env()}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "docflow", "demo", "--out", str(data_dir / "p.zip")],
                   env=env, cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    return time.perf_counter() - started


def free_port_env() -> dict[str, str]:
    """Port 0 for every embedded service: each takes a free port (as the tests do)."""
    services = ("temporal", "temporal_ui", "temporal_http", "temporal_metrics", "postgres",
                "redis", "llm")  # fmt: skip
    return {f"DOCFLOW_EMBEDDED_{name.upper()}_PORT": "0" for name in services}


def main(repeats: int) -> None:
    samples: dict[str, list[float]] = {}
    for _ in range(repeats):
        for kind in ("phases", "demo"):
            with tempfile.TemporaryDirectory(prefix="docflow-bench-startup-") as folder:
                if kind == "phases":
                    for name, seconds in phases(Path(folder)).items():
                        samples.setdefault(name, []).append(seconds)
                else:
                    samples.setdefault("`docflow demo`, end to end", []).append(demo(Path(folder)))
    for name, values in samples.items():
        sys.stdout.write(f"{name:<46} min {min(values):6.2f} s   "
                         f"median {statistics.median(values):6.2f} s\n")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=3)
    main(parser.parse_args().repeats)
