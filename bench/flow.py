"""Benchmark: wall time of a full ProjectFlow with auto-approve and the zero-latency
offline writer, against a bare Temporal workflow of the same shape (17 sequential no-op
activities: per step write, score, accept, index into memory; then export). The flow's
figure includes real work the bare one has not: CrewAI, PostgreSQL writes, quality scoring
and embedding the accepted documents on the CPU.

    .venv/bin/python -m bench.flow [--runs 5]

Prints figures; asserts nothing. Starts its own embedded stack on free ports.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from docflow import admin, temporal
from docflow.contracts import FlowInput, FlowOptions
from docflow.embedded import EmbeddedStack, free_port_settings
from docflow.memory.runtime import close_clients
from docflow.settings import Settings
from docflow.storage import migrate
from docflow.storage.db import make_engine
from worker.main import build_worker

SHAPE = 17  # per step: write, score, accept, index into memory (x4); then export
log = logging.getLogger("bench.flow")


@activity.defn(name="bench_noop")
async def noop(step: int) -> int:
    return step


@workflow.defn(name="BareFlow")
class BareFlow:
    @workflow.run
    async def run(self, steps: int) -> int:
        for step in range(steps):
            await workflow.execute_activity(
                noop, step, start_to_close_timeout=timedelta(seconds=30)
            )
        return steps


async def _time_flows(client: Client, settings: Settings, runs: int) -> list[float]:
    engine = make_engine(settings.database_url or "")
    tenant = await admin.ensure_tenant(engine, "bench", "Benchmark")
    timings = []
    async with build_worker(client, engine, settings):
        for _ in range(runs + 1):  # the first run warms up imports and caches
            project = await admin.create_project(
                engine, tenant.id, name="Bench", idea="A booking app for small harbours."
            )
            flow = FlowInput(
                tenant_id=tenant.id, project_id=project.id, options=FlowOptions(auto_approve=True)
            )
            started = time.perf_counter()
            handle = await temporal.start_flow(client, settings, flow)
            await handle.result()
            timings.append(time.perf_counter() - started)
    await engine.dispose()
    return timings[1:]


async def _time_bare(client: Client, runs: int) -> list[float]:
    queue = f"bench-bare-{uuid4().hex[:8]}"
    timings = []
    async with Worker(
        client,
        task_queue=queue,
        workflows=[BareFlow],
        activities=[noop],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        for _ in range(runs + 1):
            started = time.perf_counter()
            await client.execute_workflow(
                BareFlow.run, SHAPE, id=f"bench-bare-{uuid4()}", task_queue=queue
            )
            timings.append(time.perf_counter() - started)
    return timings[1:]


def _summary(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{name:<38} median {statistics.median(ordered) * 1000:7.0f} ms   "
        f"p95 {p95 * 1000:7.0f} ms   min {ordered[0] * 1000:7.0f} ms   (n={len(ordered)})"
    )


async def main(runs: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="docflow-bench-"))
    try:
        settings = free_port_settings(data_dir)
        with EmbeddedStack(settings) as endpoints:
            migrate.upgrade(endpoints.database_admin_url, settings.db_app_role)
            run_settings = settings.model_copy(
                update={
                    "database_url": endpoints.database_url,
                    "temporal_address": endpoints.temporal_address,
                    "task_queue": f"bench-{uuid4().hex[:8]}",
                }
            )
            client = await temporal.connect(run_settings)
            flows = await _time_flows(client, run_settings, runs)
            bare = await _time_bare(client, runs)
        sys.stdout.write(_summary("ProjectFlow, auto-approve, offline", flows) + "\n")
        sys.stdout.write(_summary(f"bare workflow, {SHAPE} no-op activities", bare) + "\n")
        ratio = statistics.median(flows) / statistics.median(bare)
        sys.stdout.write(f"overhead ratio (median flow / median bare): {ratio:.1f}x\n")
    finally:
        close_clients()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(parser.parse_args().runs))
