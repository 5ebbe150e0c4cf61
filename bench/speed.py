"""Benchmark: the speed table of issue 11, docflow beside its anchors, in one run.

    .venv/bin/python -m bench.speed [--repeats 3] [--sections flows,api,memory]
                                    [--subscribers 500] [--watched-runs 100]

Anchors, on the same servers in the same run: a bare Temporal workflow of the flow's shape
(17 no-op activities) for the flow rows, and bare FastAPI with one asyncpg SELECT
(`bench/anchor_api.py`) for the request path. docflow runs with the zero-latency offline
writer and auto-approve. Every figure is measured ``--repeats`` times; the table shows
the min and the median of the repeats, and the ratio of the medians.

- flows: an in-process worker (the production worker's code, `worker.main.build_worker`);
  CPU per flow is this process's CPU time (the worker's threads; the client's share is
  negligible) over the sequential flows; RSS is this process's after one flow.
- api: the worker and the API as processes of their own (as `docflow dev` runs them);
  GET p95 over 20 clients, with rate limits off and again on a second API process that
  checks every bucket (limits too high to refuse); SSE delivery from the moment the
  workflow's state shows an event to its arrival at every subscriber, with the API
  process's CPU; export from the request to the last byte of the ZIP.
- memory: search p95 (Qdrant query, top 10, query vector embedded beforehand) in the
  embedded default, over tenants x 2 projects of random unit vectors with real payloads.

Prints figures; asserts nothing. Starts its own embedded stack on free ports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.flow import SHAPE, BareFlow, noop
from bench.measure import cpu_s, free_ports, p95, quiet, rss_mb
from docflow import admin, temporal
from docflow.auth.tokens import issue_access_token
from docflow.contracts import FlowInput, FlowOptions, FlowState
from docflow.embedded import EmbeddedStack, StackEndpoints, export_env, free_port_settings
from docflow.memory.runtime import close_clients
from docflow.settings import Settings
from docflow.storage import migrate
from docflow.storage.db import make_engine
from worker.main import build_worker
from workflows.project_flow import ProjectFlow

IDEA = "A booking app for small harbours: berths, boat owners, harbour masters."
Timing = Callable[[], Awaitable[float]]


# --- the table ------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    unit: str
    docflow: list[float] = field(default_factory=list)
    anchor: list[float] = field(default_factory=list)
    goal: str = ""
    higher_is_better: bool = False

    def cells(self) -> list[str]:
        ratio = ""
        if self.docflow and self.anchor and statistics.median(self.anchor) > 0:
            ratio = f"{statistics.median(self.docflow) / statistics.median(self.anchor):.2f}"
        return [self.figure, _spread(self.docflow, self.unit), _spread(self.anchor, self.unit),
                ratio, self.goal]  # fmt: skip


def _spread(values: Sequence[float], unit: str) -> str:
    if not values:
        return ""
    return f"{_fmt(min(values))} / {_fmt(statistics.median(values))} {unit}"


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def print_table(rows: Sequence[Row], repeats: int, out: TextIO) -> None:
    head = ["figure", f"docflow min / median of {repeats}", "anchor min / median", "ratio",
            "goal"]  # fmt: skip
    lines = [head, ["---"] * len(head), *[row.cells() for row in rows]]
    for cells in lines:
        out.write("| " + " | ".join(cells) + " |\n")
    out.flush()


def say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


# --- flows ----------------------------------------------------------------------------------


class Flows:
    """ProjectFlow runs through the production worker, and the bare anchor beside it."""

    def __init__(self, client: Client, settings: Settings, tenant_id: UUID) -> None:
        self.client, self.settings, self.tenant_id = client, settings, tenant_id
        self.engine = make_engine(settings.database_url or "")
        self.bare_queue = f"bench-bare-{uuid4().hex[:8]}"
        self.handles: list[WorkflowHandle[Any, Any]] = []

    async def docflow_flow(self) -> float:
        project = await admin.create_project(self.engine, self.tenant_id, name="Bench", idea=IDEA)
        flow = FlowInput(tenant_id=self.tenant_id, project_id=project.id,
                         options=FlowOptions(auto_approve=True))  # fmt: skip
        started = time.perf_counter()
        handle = await temporal.start_flow(self.client, self.settings, flow)
        await handle.result()
        self.handles.append(handle)
        return time.perf_counter() - started

    async def retried_activities(self) -> Counter[str]:
        """Activity attempts beyond the first, by activity and cause, in the flows run
        since the last call (a timed-out or failed attempt is retried)."""
        retried: Counter[str] = Counter()
        for handle in self.handles:
            async for event in handle.fetch_history_events():
                if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
                    retried["timed out"] += 1
                started = event.activity_task_started_event_attributes
                if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED and (
                    started.attempt > 1
                ):
                    retried[f"attempt {started.attempt}"] += 1
        self.handles.clear()
        return retried

    async def memory_settled(self) -> None:
        """Wait until no IndexVersions child (memory catching up after a run) is running."""
        query = "WorkflowType = 'IndexVersions' AND ExecutionStatus = 'Running'"
        async with asyncio.timeout(900):
            while [w async for w in self.client.list_workflows(query, limit=1)]:  # noqa: ASYNC110
                await asyncio.sleep(0.1)

    async def bare_flow(self) -> float:
        started = time.perf_counter()
        await self.client.execute_workflow(
            BareFlow.run, SHAPE, id=f"bench-bare-{uuid4()}", task_queue=self.bare_queue
        )
        return time.perf_counter() - started


async def concurrent(
    flow: Timing, count: int, settled: Callable[[], Awaitable[None]] | None = None
) -> tuple[float, float]:
    """Flows per second with ``count`` started at once: until every run completed, and
    until ``settled`` (memory caught up) too."""
    started = time.perf_counter()
    await asyncio.gather(*(flow() for _ in range(count)))
    completed = time.perf_counter() - started
    if settled is not None:
        await settled()
    return count / completed, count / (time.perf_counter() - started)


async def sequential(
    flow: Timing, count: int, settled: Callable[[], Awaitable[None]] | None = None
) -> tuple[float, float]:
    """The median wall time of ``count`` flows one after another, and CPU seconds per flow
    (memory's catching up included: counted until ``settled``)."""
    cpu = time.process_time()
    timings = [await flow() for _ in range(count)]
    if settled is not None:
        await settled()
    return statistics.median(timings), (time.process_time() - cpu) / count


async def flow_rows(client: Client, settings: Settings, tenant_id: UUID, repeats: int) -> list[Row]:
    flows = Flows(client, settings, tenant_id)
    one = Row("one flow, sequential, p50", "s", goal="ratio <= 3")
    cpu = Row("CPU per flow (worker process)", "s", goal="docflow <= 1 s")
    rss = Row("worker RSS after one flow", "MB")
    throughput = {n: Row(f"{n} concurrent flows, throughput", "flows/s", goal="ratio >= 0.33",
                         higher_is_better=True) for n in (20, 50)}  # fmt: skip
    settled = {n: Row(f"{n} concurrent flows, throughput until memory caught up", "flows/s",
                      higher_is_better=True) for n in (20, 50)}  # fmt: skip
    bare = Worker(client, task_queue=flows.bare_queue, workflows=[BareFlow], activities=[noop],
                  workflow_runner=UnsandboxedWorkflowRunner())  # fmt: skip
    async with build_worker(client, flows.engine, settings), bare:
        await flows.docflow_flow()  # warm-up: imports, the embedder, caches
        rss.docflow.append(rss_mb())
        await flows.bare_flow()
        for repeat in range(repeats):
            say(f"flows: repeat {repeat + 1} of {repeats}")
            await flows.memory_settled()
            median, cpu_per_flow = await sequential(flows.docflow_flow, 3, flows.memory_settled)
            one.docflow.append(median)
            cpu.docflow.append(cpu_per_flow)
            median, cpu_per_flow = await sequential(flows.bare_flow, 3)
            one.anchor.append(median)
            cpu.anchor.append(cpu_per_flow)
            for count, row in throughput.items():
                await flows.retried_activities()
                completed, caught_up = await concurrent(
                    flows.docflow_flow, count, flows.memory_settled
                )
                row.docflow.append(completed)
                settled[count].docflow.append(caught_up)
                say(f"  {count} concurrent flows: retried activities "
                    f"{dict(await flows.retried_activities()) or 'none'}")  # fmt: skip
                bare_rate, _ = await concurrent(flows.bare_flow, count)
                row.anchor.append(bare_rate)
                settled[count].anchor.append(bare_rate)
    await flows.engine.dispose()
    close_clients()  # the API section's worker process opens the same Qdrant folder
    return [one, *throughput.values(), *settled.values(), cpu, rss]


# --- api: GET, SSE, export --------------------------------------------------------------


@dataclass(frozen=True)
class Servers:
    api: str  # rate limits off: latency, not refusals
    limited_api: str  # every bucket checked, none ever refusing
    anchor: str
    api_pid: int
    worker_pid: int


def _rate_limits(per_minute: str) -> dict[str, str]:
    names = ("GLOBAL", "TENANT", "PROJECT", "AUTH")
    return {f"DOCFLOW_RATE_LIMIT_{name}_PER_MIN": per_minute for name in names}


@contextlib.asynccontextmanager
async def api_processes(endpoints: StackEndpoints, settings: Settings) -> AsyncIterator[Servers]:
    """The worker, the API (twice: rate limits off, and on but never refusing) as
    processes, and the anchor app."""
    api_port, limited_port, anchor_port = free_ports(3)
    env = {**os.environ, **export_env(endpoints), "DOCFLOW_TASK_QUEUE": settings.task_queue,
           "DOCFLOW_MAX_CONCURRENT_RUNS_PER_TENANT": "0",  # 100 runs watched at once
           "BENCH_ANCHOR_DSN": endpoints.database_admin_url.replace("+asyncpg", "")}  # fmt: skip
    api_env = {**env, **_rate_limits("0"), "DOCFLOW_PORT": str(api_port)}
    limited_env = {**env, **_rate_limits("100000000"), "DOCFLOW_PORT": str(limited_port)}
    # The anchor logs like the API (uvicorn at info: one access line per request).
    anchor = ["uvicorn", "bench.anchor_api:app", "--port", str(anchor_port), "--log-level",
              "info"]  # fmt: skip
    children = [spawn(["worker"], api_env), spawn(["api"], api_env),
                spawn(["api"], limited_env), spawn(anchor, env)]  # fmt: skip
    try:
        yield Servers(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{limited_port}",
                      f"http://127.0.0.1:{anchor_port}", children[1].pid,
                      children[0].pid)  # fmt: skip
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()


def spawn(module_and_args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", *module_and_args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_ready(url: str, path: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=5) as http, asyncio.timeout(90):
        while True:
            try:
                if (await http.get(path)).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


async def get_p95(url: str, headers: dict[str, str], clients: int, requests: int) -> float:
    """p95 of ``clients`` keep-alive connections sending ``requests`` GETs each, back to
    back. A plain-socket client: an HTTP library's own CPU would weigh on the 2 cores the
    servers run on, and blur the figure."""
    split = urlsplit(url)
    host, port = split.hostname or "127.0.0.1", split.port or 80
    lines = [f"GET {split.path} HTTP/1.1", f"Host: {host}:{port}",
             *(f"{name}: {value}" for name, value in headers.items())]  # fmt: skip
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    samples: list[float] = []

    async def one_client(count: int, record: bool) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for _ in range(count):
                started = time.perf_counter()
                writer.write(request)
                await _read_response(reader)
                if record:
                    samples.append(time.perf_counter() - started)
        finally:
            writer.close()

    # Warm-up on every connection at once: the server's pools fill as they will stay.
    await asyncio.gather(*(one_client(5, record=False) for _ in range(clients)))
    await asyncio.gather(*(one_client(requests, record=True) for _ in range(clients)))
    return p95(samples)


async def _read_response(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    if status != b"200":
        raise RuntimeError(f"GET answered {status.decode()}")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))  # fmt: skip
    await reader.readexactly(length)


class Subscriber:
    """One SSE client on a plain socket (cheap enough to run 500 in this process): records
    when each event id arrives."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def wait_for(self, seq: int) -> float:
        while seq not in self.arrived:
            if self.task is not None and self.task.done():
                raise RuntimeError(f"the stream ended before event {seq}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 1)
        return self.arrived[seq]

    async def follow(self, host: str, port: int, path: str, token: str) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
             f"Authorization: Bearer {token}\r\n\r\n").encode()
        )  # fmt: skip
        try:
            while line := await reader.readline():
                if line.startswith(b"id:"):
                    self.arrived[int(line[3:].strip())] = time.perf_counter()
                    self._changed.set()
        finally:
            writer.close()


async def state_of(handle: WorkflowHandle[Any, Any]) -> FlowState:
    return await handle.query(ProjectFlow.state)


async def when_state_shows(handle: WorkflowHandle[Any, Any], seq: int) -> float:
    """The moment the workflow's state first shows event ``seq`` (queried back to back)."""
    async with asyncio.timeout(30):
        while True:
            if (await state_of(handle)).events[-1].seq >= seq:
                return time.perf_counter()
            await asyncio.sleep(0)


class Api:
    def __init__(self, url: str, token: str, client: Client) -> None:
        self.url, self.token, self.client = url, token, client
        self.headers = {"Authorization": f"Bearer {token}"}
        self.http = httpx.AsyncClient(base_url=url, timeout=60, headers=self.headers)

    async def project(self, *, run: bool, auto_approve: bool = False) -> str:
        created = await self.http.post("/api/v1/projects", json={"name": "Bench", "idea": IDEA})
        project_id = str(created.raise_for_status().json()["id"])
        if run:
            started = await self.http.post(f"/api/v1/projects/{project_id}/runs",
                                           json={"auto_approve": auto_approve})  # fmt: skip
            started.raise_for_status()
        return project_id

    def handle(self, project_id: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(temporal.workflow_id(UUID(project_id)))

    async def at_gate(self, project_id: str) -> FlowState:
        async with asyncio.timeout(300):
            while True:
                state = await state_of(self.handle(project_id))
                if state.gate is not None:
                    return state
                await asyncio.sleep(0.1)

    async def subscribe(self, project_id: str, count: int, last_seq: int) -> list[Subscriber]:
        host, port = self.url.removeprefix("http://").split(":")
        subscribers = [Subscriber() for _ in range(count)]
        path = f"/api/v1/projects/{project_id}/events"
        for start in range(0, count, 50):  # connect in waves, as browsers arrive
            for subscriber in subscribers[start : start + 50]:
                subscriber.task = asyncio.create_task(
                    subscriber.follow(host, int(port), path, self.token)
                )
            await asyncio.sleep(0.05)
        async with asyncio.timeout(120):
            for subscriber in subscribers:
                await subscriber.wait_for(last_seq)
        return subscribers

    async def change(self, project_id: str, subscribers: Sequence[Subscriber]) -> list[float]:
        """Revise at the open gate; the delays until each subscriber has the decision."""
        handle = self.handle(project_id)
        state = await self.at_gate(project_id)
        assert state.gate is not None
        decision_seq = state.events[-1].seq + 1
        body = {"step": state.gate.step.value, "action": "revise", "feedback": "Shorter."}
        decided = asyncio.create_task(
            self.http.post(f"/api/v1/projects/{project_id}/runs/current/decisions", json=body)
        )
        changed_at = await when_state_shows(handle, decision_seq)
        (await decided).raise_for_status()
        async with asyncio.timeout(30):
            arrivals = [await subscriber.wait_for(decision_seq) for subscriber in subscribers]
        return [arrived - changed_at for arrived in arrivals]

    async def export(self, project_id: str) -> float:
        started = time.perf_counter()
        created = await self.http.post(f"/api/v1/projects/{project_id}/exports")
        export_id = created.raise_for_status().json()["id"]
        async with asyncio.timeout(60):
            while True:
                status = await self.http.get(f"/api/v1/projects/{project_id}/exports/{export_id}")
                body = status.raise_for_status().json()
                if body["status"] == "ready":
                    break
                await asyncio.sleep(0.02)
        (await self.http.get(body["download_url"])).raise_for_status()
        return time.perf_counter() - started


async def sse_round(api: Api, project_id: str, subscribers: int, changes: int) -> list[float]:
    state = await api.at_gate(project_id)
    followers = await api.subscribe(project_id, subscribers, state.events[-1].seq)
    delays: list[float] = []
    try:
        for _ in range(changes):
            delays.extend(await api.change(project_id, followers))
    finally:
        for follower in followers:
            if follower.task is not None:
                follower.task.cancel()
    return delays


async def watched_runs_round(api: Api, projects: Sequence[str], changes: int) -> list[float]:
    """One subscriber on each run, all at once; changes on runs picked at random."""
    followers: dict[str, list[Subscriber]] = {}
    for project_id in projects:
        state = await api.at_gate(project_id)
        followers[project_id] = await api.subscribe(project_id, 1, state.events[-1].seq)
    pick = random.Random(5)
    delays: list[float] = []
    try:
        for _ in range(changes):
            project_id = pick.choice(list(projects))
            delays.extend(await api.change(project_id, followers[project_id]))
    finally:
        for group in followers.values():
            for follower in group:
                if follower.task is not None:
                    follower.task.cancel()
    return delays


async def api_rows(
    endpoints: StackEndpoints, settings: Settings, tenant_id: UUID, user_id: UUID,
    args: argparse.Namespace,
) -> list[Row]:  # fmt: skip
    token, _ = issue_access_token(settings, subject=str(user_id), tenant_id=tenant_id,
                                  role="owner", ttl_s=24 * 3600)  # fmt: skip
    get = Row("GET /projects/{id}, 20 clients, p95", "ms", goal="docflow <= 50 ms, ratio <= 2")
    limited_get = Row("the same GET with every rate-limit bucket checked, p95", "ms")
    sse = Row(f"SSE delivery, {args.subscribers} subscribers on one run, p95", "ms",
              goal="<= 100 ms")  # fmt: skip
    sse_cpu = Row(f"API CPU while {args.subscribers} subscribers follow one run", "%")
    watched = Row(f"SSE delivery, {args.watched_runs} runs watched at once, p95", "ms",
                  goal="<= 100 ms")  # fmt: skip
    export = Row("export, request -> downloaded", "ms", goal="< 1000 ms")
    async with api_processes(endpoints, settings) as servers:
        api_url, anchor_url, api_pid = servers.api, servers.anchor, servers.api_pid
        await wait_ready(api_url, "/readyz")
        await wait_ready(servers.limited_api, "/readyz")
        await wait_ready(anchor_url, "/docs")
        client = await temporal.connect(settings)
        api = Api(api_url, token, client)
        try:
            project_id = await api.project(run=False)
            await quiet(servers.worker_pid)  # its warm-up would weigh on the first repeats
            for repeat in range(args.repeats):
                say(f"api: GET, repeat {repeat + 1} of {args.repeats}")
                get.docflow.append(1000 * await get_p95(
                    f"{api_url}/api/v1/projects/{project_id}", api.headers, 20, 25))  # fmt: skip
                get.anchor.append(1000 * await get_p95(
                    f"{anchor_url}/projects/{project_id}", {}, 20, 25))  # fmt: skip
                limited_url = f"{servers.limited_api}/api/v1/projects/{project_id}"
                limited_get.docflow.append(1000 * await get_p95(limited_url, api.headers, 20, 25))
                limited_get.anchor.append(get.anchor[-1])
            for repeat in range(args.repeats):
                say(f"api: SSE with {args.subscribers} subscribers, repeat {repeat + 1}")
                followed = await api.project(run=True)
                wall, cpu = time.perf_counter(), cpu_s(api_pid)
                sse.docflow.append(1000 * p95(await sse_round(api, followed, args.subscribers, 5)))
                sse_cpu.docflow.append(100 * (cpu_s(api_pid) - cpu) / (time.perf_counter() - wall))
            projects = [await api.project(run=True) for _ in range(args.watched_runs)]
            for repeat in range(args.repeats):
                say(f"api: {args.watched_runs} runs watched, repeat {repeat + 1}")
                watched.docflow.append(1000 * p95(await watched_runs_round(api, projects, 10)))
            finished = await api.project(run=True, auto_approve=True)
            await api.handle(finished).result()
            for _ in range(args.repeats):
                export.docflow.append(1000 * await api.export(finished))
        finally:
            await api.http.aclose()
    return [get, limited_get, sse, sse_cpu, watched, export]


# --- memory ---------------------------------------------------------------------------------


def memory_rows(repeats: int, tenants: int) -> list[Row]:
    from bench import memory
    from docflow.memory.embedding import OnnxMiniLM

    embedder = OnnxMiniLM()
    rows = []
    for points, goal in ((10_000, "<= 20 ms"), (100_000, "<= 100 ms")):
        row = Row(f"memory search p95, {points // 1000}k chunks / {tenants} tenants", "ms",
                  goal=goal)  # fmt: skip
        folder = Path(tempfile.mkdtemp(prefix="docflow-bench-speed-memory-"))
        store = memory.open_store("path", folder / "qdrant", embedder)
        try:
            say(f"memory: loading {points:,} points")
            scopes = memory.bulk_load(store, tenants, points, embedder.dims)
            for _ in range(repeats):
                row.docflow.append(1000 * p95(memory.search_samples(store, scopes, 100)))
        finally:
            store.client.close()
            shutil.rmtree(folder, ignore_errors=True)
        rows.append(row)
    return rows


# --- main -----------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    sections = set(args.sections.split(","))
    data_dir = Path(tempfile.mkdtemp(prefix="docflow-bench-speed-"))
    rows: list[Row] = []
    try:
        settings = free_port_settings(data_dir)
        with EmbeddedStack(settings) as endpoints:
            migrate.upgrade(endpoints.database_admin_url, settings.db_app_role)
            run_settings = settings.model_copy(update={
                "database_url": endpoints.database_url, "redis_url": endpoints.redis_url,
                "temporal_address": endpoints.temporal_address,
                "task_queue": f"bench-{uuid4().hex[:8]}",
            })  # fmt: skip
            engine = make_engine(endpoints.database_url)
            tenant = await admin.ensure_tenant(engine, "bench", "Benchmark")
            user_id = await admin.add_member(engine, tenant.id, "bench@example.com",
                                             "bench-password-1234", "owner")  # fmt: skip
            await engine.dispose()
            client = await temporal.connect(run_settings)
            if "flows" in sections:
                rows += await flow_rows(client, run_settings, tenant.id, args.repeats)
                print_table(rows, args.repeats, sys.stderr)  # so far, should a later part fail
            if "api" in sections:
                rows += await api_rows(endpoints, run_settings, tenant.id, user_id, args)
                print_table(rows, args.repeats, sys.stderr)
        if "memory" in sections:
            rows += memory_rows(args.repeats, args.tenants)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print_table(rows, args.repeats, sys.stdout)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sections", default="flows,api,memory")
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--watched-runs", type=int, default=100)
    parser.add_argument("--tenants", type=int, default=100)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(parser.parse_args()))
