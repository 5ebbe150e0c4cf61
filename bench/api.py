"""Benchmark: p50/p95 of GET /api/v1/projects/{id}, and the SSE delivery delay (a state
change in the workflow -> its event received by an SSE client).

    .venv/bin/python -m bench.api [--requests 500] [--changes 20]

Starts its own embedded stack, a worker and the API as separate processes (as
`docflow dev` does), on free ports. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from temporalio.client import WorkflowHandle

from bench.measure import free_ports, p95
from docflow import admin, temporal
from docflow.auth.tokens import issue_access_token
from docflow.contracts import FlowState
from docflow.embedded import EmbeddedStack, export_env, free_port_settings
from docflow.settings import Settings
from docflow.storage import migrate
from docflow.storage.db import make_engine
from workflows.project_flow import ProjectFlow

Handle = WorkflowHandle[Any, Any]


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    return (
        f"p50 {statistics.median(ordered) * 1000:6.1f} ms   p95 {p95(ordered) * 1000:6.1f} ms   "
        f"max {ordered[-1] * 1000:6.1f} ms   (n={len(ordered)})"
    )


def _spawn(module: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", module],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@asynccontextmanager
async def services(settings: Settings, with_limits: bool) -> AsyncIterator[tuple[str, Settings]]:
    with EmbeddedStack(settings) as endpoints:
        migrate.upgrade(endpoints.database_admin_url, settings.db_app_role)
        (port,) = free_ports(1)
        # Latency, not refusals, is measured: limits are off, or so high they never refuse
        # (--with-limits: the Redis checks still run on every request).
        limit = "1000000" if with_limits else "0"
        limits = {
            f"DOCFLOW_RATE_LIMIT_{name}_PER_MIN": limit
            for name in ("GLOBAL", "TENANT", "PROJECT", "AUTH")
        }
        env = {**os.environ, **export_env(endpoints), "DOCFLOW_PORT": str(port), **limits}
        children = [_spawn(module, env) for module in ("worker", "api")]
        run_settings = settings.model_copy(
            update={
                "database_url": endpoints.database_url,
                "temporal_address": endpoints.temporal_address,
            }
        )
        try:
            yield f"http://127.0.0.1:{port}", run_settings
        finally:
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                child.wait(timeout=30)


async def wait_ready(http: httpx.AsyncClient) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


async def _bench_get(http: httpx.AsyncClient, url: str, auth: dict[str, str], n: int) -> str:
    for _ in range(20):  # warm up connections and caches
        (await http.get(url, headers=auth)).raise_for_status()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        (await http.get(url, headers=auth)).raise_for_status()
        samples.append(time.perf_counter() - started)
    return _percentiles(samples)


class Arrivals:
    """When each event (by sequence number) reached the SSE client."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.changed = asyncio.Event()

    def record(self, seq: str) -> None:
        self.at[seq] = time.perf_counter()
        self.changed.set()

    async def wait_for(self, seq: str) -> float:
        async with asyncio.timeout(10):
            while seq not in self.at:
                await self.changed.wait()
                self.changed.clear()
        return self.at[seq]


async def _read_events(
    http: httpx.AsyncClient, url: str, auth: dict[str, str], seen: Arrivals
) -> None:
    """Record when each event arrives, by its `id:` (the sequence number)."""
    async with http.stream("GET", url, headers=auth, timeout=None) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("id:"):
                seen.record(line.split(":", 1)[1].strip())


async def _bench_sse(
    http: httpx.AsyncClient, base: str, auth: dict[str, str], flow: Handle, n: int
) -> str:
    seen = Arrivals()
    reader = asyncio.create_task(_read_events(http, f"{base}/events", auth, seen))
    await seen.wait_for(str(len((await _state(flow)).events)))  # connected and replayed
    samples = []
    for index in range(n):
        state = await _state(flow)
        next_seq = str(len(state.events) + 1)  # the decision is the next event
        body = {"step": "description", "action": "revise", "feedback": f"Change number {index}"}
        decided = http.post(f"{base}/runs/current/decisions", json=body, headers=auth)
        task = asyncio.create_task(decided)
        changed_at = await _when_state_changes(flow, int(next_seq))
        (await task).raise_for_status()
        samples.append(max(0.0, await seen.wait_for(next_seq) - changed_at))
    reader.cancel()
    return _percentiles(samples)


async def _state(flow: Handle) -> FlowState:
    state = await flow.query(ProjectFlow.state)
    return state


async def _wait_for_first_gate(flow: Handle) -> None:
    for _ in range(600):
        if (await _state(flow)).gate is not None:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the flow never reached its first gate")


async def _when_state_changes(flow: Handle, seq: int) -> float:
    """The moment the workflow's state first shows event ``seq`` (queried back to back)."""
    async with asyncio.timeout(10):
        while True:
            if len((await _state(flow)).events) >= seq:
                return time.perf_counter()
            await asyncio.sleep(0)


async def main(requests: int, changes: int, with_limits: bool) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="docflow-bench-api-"))
    settings = free_port_settings(data_dir)
    try:
        async with services(settings, with_limits) as (api_url, run_settings):
            engine = make_engine(run_settings.database_url or "")
            tenant = await admin.ensure_tenant(engine, "bench", "Benchmark")
            user_id = await admin.add_member(
                engine, tenant.id, "bench@example.com", "bench-password-1234", "owner"
            )
            await engine.dispose()
            token, _ = issue_access_token(
                run_settings, subject=str(user_id), tenant_id=tenant.id, role="owner"
            )
            auth = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
                await wait_ready(http)
                idea = {"name": "Bench", "idea": "A booking app for small harbours."}
                project = (await http.post("/api/v1/projects", json=idea, headers=auth)).json()
                base = f"/api/v1/projects/{project['id']}"
                get_figures = await _bench_get(http, base, auth, requests)
                (await http.post(f"{base}/runs", json={}, headers=auth)).raise_for_status()
                client = await temporal.connect(run_settings)
                flow = client.get_workflow_handle(temporal.workflow_id(UUID(project["id"])))
                await _wait_for_first_gate(flow)
                sse_figures = await _bench_sse(http, base, auth, flow, changes)
        limits = "rate limits checked" if with_limits else "rate limits off"
        sys.stdout.write(f"GET /api/v1/projects/{{id}} ({limits})   {get_figures}\n")
        sys.stdout.write(f"SSE delivery (state -> event)   {sse_figures}\n")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--with-limits", action="store_true", help="rate-limit checks on")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.changes, arguments.with_limits))
