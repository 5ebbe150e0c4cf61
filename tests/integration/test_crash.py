"""Killing the worker (SIGKILL) in the middle of a step loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.service import RPCError

from docflow.contracts import RunStatus, Step
from docflow.embedded import StackEndpoints, export_env
from docflow.settings import Settings
from docflow.storage.db import tenant_session
from docflow.storage.models import Project
from tests.flow_helpers import Handle, count_versions, run_sql, start, state_of

ROOT = Path(__file__).resolve().parents[2]


def _spawn_worker(
    stack: StackEndpoints, settings: Settings, latency_ms: int, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **export_env(stack),
        "DOCFLOW_TASK_QUEUE": settings.task_queue,
        "DOCFLOW_LLM_OFFLINE_LATENCY_MS": str(latency_ms),
        "DOCFLOW_DATA_DIR": str(settings.data_dir),
        # Qdrant's local mode admits one process per folder: the test process's workers
        # hold the session's, so these workers get one of their own.
        "DOCFLOW_QDRANT_PATH": str(log.parent / "qdrant"),
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "worker"], cwd=ROOT, env=env, stdout=output, stderr=output
        )


async def _wait_until_step_runs(handle: Handle, step: Step) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                state = await state_of(handle)
            except RPCError:  # no worker has polled yet: it is still starting
                state = None
            if state and any(e.type == "step_started" and e.step is step for e in state.events):
                return
            await asyncio.sleep(0.1)


async def test_sigkill_mid_step_then_restart_completes_without_duplicates(
    client: Client,
    stack: StackEndpoints,
    settings: Settings,
    project: Project,
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    log = tmp_path / "worker.log"
    first = _spawn_worker(stack, settings, latency_ms=4000, log=log)
    try:
        handle = await start(client, settings, project, auto_approve=True)
        await _wait_until_step_runs(handle, Step.ARCHITECTURE)
        await asyncio.sleep(1.5)  # the architect is writing (simulated latency)
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        if first.poll() is None:
            first.kill()
    second = _spawn_worker(stack, settings, latency_ms=0, log=log)
    returned = time.monotonic()
    try:
        async with asyncio.timeout(120):
            result = await handle.result()
        # a figure, not a target: the heartbeat timeout (10 s) hands the dead worker's
        # activity to the new one
        print(f"run completed {time.monotonic() - returned:.1f} s after the worker's return")
        assert (await state_of(handle)).status is RunStatus.COMPLETED
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(timeout=20)
    accepted = sum(len(refs) for refs in result.accepted.values())
    # exactly one version per accepted document, plus the package README and traceability
    assert await count_versions(engine, project.tenant_id, project.id) == accepted + 2
    async with tenant_session(engine, project.tenant_id) as session:
        runs = (
            (
                await run_sql(
                    session,
                    "select step, count(*) as n from agent_runs where project_id = :p "
                    "group by step",
                    p=project.id,
                )
            )
            .mappings()
            .all()
        )
    assert {row["step"]: row["n"] for row in runs} == {step.value: 1 for step in Step}
