"""Many processes, one truth: one Temporal server, PostgreSQL and Valkey; two agent workers,
one memory worker and two API processes, each a real `python -m worker` / `python -m api`
on its own port. Several projects run through both APIs at once while one agent worker and
one API are killed (SIGKILL) mid-run. Every run completes exactly once, SSE subscribers on
either API see every event exactly once (a subscriber of the killed API resumes on the
other with Last-Event-ID), and the rate limit is one budget across the replicas."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from api.events import ENDING_EVENTS
from docflow import temporal
from docflow.contracts import STEPS, FlowResult
from docflow.embedded import StackEndpoints
from docflow.settings import Settings
from tests.conftest import bearer
from tests.integration.test_events import Sse, parse_sse
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
PROJECTS = 3
AUTH_LIMIT = 4  # token requests per minute per client address, across both APIs
RUN_TIMEOUT_S = 300


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@dataclass
class Cluster:
    processes: dict[str, Process] = field(default_factory=dict)

    def spawn(self, name: str, module: str, env: dict[str, str], logs: Path) -> Process:
        log = logs / f"{name}.log"
        with log.open("wb") as output:
            popen = subprocess.Popen(
                [sys.executable, "-m", module], cwd=ROOT, env=env, stdout=output, stderr=output
            )
        self.processes[name] = Process(name, popen, log)
        return self.processes[name]

    def kill(self, name: str) -> None:
        self.processes[name].popen.send_signal(signal.SIGKILL)
        self.processes[name].popen.wait(10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.popen.wait(20)
            except subprocess.TimeoutExpired:
                process.popen.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.tail()}" for p in self.processes.values())


def _environment(stack: StackEndpoints, data: Path, task_queue: str) -> dict[str, str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DOCFLOW_", "TEMPORAL_")) or key == "DOCFLOW_MASTER_KEY"
    }
    return {
        **inherited,
        "DATABASE_URL": stack.database_url,
        "REDIS_URL": stack.redis_url,
        "TEMPORAL_ADDRESS": stack.temporal_address,
        "DOCFLOW_TASK_QUEUE": task_queue,
        "DOCFLOW_DATA_DIR": str(data),
        "DOCFLOW_QDRANT_PATH": str(data / "qdrant"),
        # Slow enough sections that the kills land while steps are being written.
        "DOCFLOW_LLM_OFFLINE_LATENCY_MS": "150",
        "DOCFLOW_RATE_LIMIT_GLOBAL_PER_MIN": "0",
        "DOCFLOW_RATE_LIMIT_TENANT_PER_MIN": "0",
        "DOCFLOW_RATE_LIMIT_PROJECT_PER_MIN": "0",
        "DOCFLOW_RATE_LIMIT_AUTH_PER_MIN": str(AUTH_LIMIT),
        "DOCFLOW_SSE_POLL_S": "1",
    }


@pytest.fixture
def cluster(stack: StackEndpoints, tmp_path: Path) -> Iterator[tuple[Cluster, list[str], str]]:
    """The five processes; yields them, the two API URLs and the task queue."""
    task_queue = f"many-{uuid4().hex[:8]}"
    env = _environment(stack, tmp_path / "data", task_queue)
    (tmp_path / "data" / "qdrant").mkdir(parents=True)
    group = Cluster()
    try:
        group.spawn("memory", "worker", {**env, "DOCFLOW_WORKER_QUEUES": "memory"}, tmp_path)
        for number in (1, 2):
            agents = {**env, "DOCFLOW_WORKER_QUEUES": "agents"}
            group.spawn(f"agents-{number}", "worker", agents, tmp_path)
        ports = [free_port(), free_port()]
        for number, port in enumerate(ports, 1):
            group.spawn(f"api-{number}", "api", {**env, "DOCFLOW_PORT": str(port)}, tmp_path)
        yield group, [f"http://127.0.0.1:{port}" for port in ports], task_queue
    finally:
        group.stop_all()


async def _ready(urls: list[str], group: Cluster) -> None:
    async with asyncio.timeout(120), httpx.AsyncClient(timeout=5) as http:
        for url in urls:
            while True:
                for process in group.processes.values():
                    assert process.popen.poll() is None, group.logs()
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{url}/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.5)


@dataclass
class Subscription:
    events: list[Sse] = field(default_factory=list)
    under_way: asyncio.Event = field(default_factory=asyncio.Event)  # a few events in
    resumed: int = 0  # reconnections after a stream ended early or its API died

    @property
    def seqs(self) -> list[int]:
        return [event.seq for event in self.events]

    @property
    def ended(self) -> bool:
        return bool(self.events) and self.events[-1].flow_event.type in ENDING_EVENTS


async def subscribe(
    url: str, auth: dict[str, str], into: Subscription, after: int | None = None
) -> bool:
    """Read a project's events until the run ends (True) or the server ends the stream
    early (False: a replica lost the run's state for a moment, as when the worker holding
    the workflow was killed); a broken connection raises httpx.TransportError."""
    headers = auth | ({"Last-Event-ID": str(after)} if after is not None else {})
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=60)) as http,
        http.stream("GET", url, headers=headers) as answer,
    ):
        if answer.status_code == 204:  # the run has closed and nothing is left to send
            return True
        assert answer.status_code in (200, 503), answer.status_code
        async for item in parse_sse(answer.aiter_lines()):
            if isinstance(item, Sse) and item.event != "section_progress":
                into.events.append(item)
                if len(into.events) >= 3:
                    into.under_way.set()
                if into.ended:
                    return True
    return False


async def follow(urls: list[str], auth: dict[str, str], into: Subscription) -> None:
    """An EventSource's behaviour: resume after the last event seen until the run ends, on
    the next API when one is gone."""
    for _ in range(40):
        try:
            if await subscribe(urls[0], auth, into, into.seqs[-1] if into.events else None):
                return
        except (httpx.TransportError, httpx.RemoteProtocolError):
            urls = urls[1:] or urls  # that API is gone: the next one
        into.resumed += 1
        await asyncio.sleep(1.0)
    raise AssertionError(f"the stream never reached the run's end: {into.seqs}")


async def _shared_rate_limit(urls: list[str]) -> list[int]:
    """Token requests from one (forwarded) client address, alternating the APIs."""
    client_address = f"10.{uuid4().int % 250}.{uuid4().int % 250}.{uuid4().int % 250}"
    codes = []
    async with httpx.AsyncClient(timeout=10) as http:
        for number in range(AUTH_LIMIT + 4):
            answer = await http.post(
                f"{urls[number % 2]}/api/v1/auth/token",
                data={"username": "nobody@example.com", "password": "wrong-password"},
                headers={"X-Forwarded-For": client_address},
            )
            codes.append(answer.status_code)
    return codes


async def _start_projects(
    urls: list[str], settings: Settings
) -> list[tuple[UUID, dict[str, str], str]]:
    projects = []
    async with httpx.AsyncClient(timeout=30) as http:
        for number in range(PROJECTS):
            auth = bearer(settings, uuid4())
            url = urls[number % 2]
            created = await http.post(
                f"{url}/api/v1/projects",
                json={"name": f"Harbour {number}", "idea": f"Berths and tides, harbour {number}."},
                headers=auth,
            )
            assert created.status_code == 201, created.text
            project_id = UUID(created.json()["id"])
            started = await http.post(
                f"{urls[(number + 1) % 2]}/api/v1/projects/{project_id}/runs",
                json={"auto_approve": True},
                headers=auth,
            )
            assert started.status_code == 202, started.text
            projects.append((project_id, auth, f"/api/v1/projects/{project_id}/events"))
    return projects


@contextlib.asynccontextmanager
async def _tasks() -> AsyncIterator[list[asyncio.Task[None]]]:
    tasks: list[asyncio.Task[None]] = []
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _runs_of(client: Client, project_id: UUID) -> list[Any]:
    query = f"WorkflowId = '{temporal.workflow_id(project_id)}'"
    return [execution async for execution in client.list_workflows(query)]


async def _busy_agent_worker(client: Client, projects: list[UUID], group: Cluster) -> str:
    """The agent worker running an activity right now (from the runs' pending activities:
    Temporal's worker identity is pid@host)."""
    agents = {
        process.popen.pid: name for name, process in group.processes.items() if "agents" in name
    }
    async with asyncio.timeout(60):
        while True:
            for project_id in projects:
                handle = client.get_workflow_handle(temporal.workflow_id(project_id))
                described = await handle.describe()
                for pending in described.raw_description.pending_activities:
                    pid = pending.last_worker_identity.split("@", 1)[0]
                    running_step = pending.activity_type.name == "write_step"
                    if running_step and pid.isdigit() and int(pid) in agents:
                        return agents[int(pid)]
            await asyncio.sleep(0.05)


async def _retried_activities(client: Client, project_id: UUID) -> int:
    """Activity attempts after the first: the work the killed worker had in hand."""
    history = await client.get_workflow_handle(temporal.workflow_id(project_id)).fetch_history()
    return sum(
        1
        for event in history.events
        if event.HasField("activity_task_started_event_attributes")
        and event.activity_task_started_event_attributes.attempt > 1
    )


async def test_runs_complete_once_and_events_arrive_once_across_replicas(
    cluster: tuple[Cluster, list[str], str], base_settings: Settings, client: Client
) -> None:
    group, urls, _ = cluster
    await _ready(urls, group)

    codes = await _shared_rate_limit(urls)
    assert 429 not in codes[:AUTH_LIMIT], codes  # refused for the bad password, not limited
    assert codes[AUTH_LIMIT:] == [429] * 4, codes  # both APIs draw on one bucket

    began = time.monotonic()
    projects = await _start_projects(urls, base_settings)
    survivor, doomed = urls[1], urls[0]
    on_survivor = [Subscription() for _ in projects]
    moved = Subscription()  # on the API that is killed, then resumed on the other
    async with _tasks() as tasks:
        for (_, auth, path), into in zip(projects, on_survivor, strict=True):
            tasks.append(asyncio.create_task(follow([survivor + path], auth, into)))
        _, first_auth, first_path = projects[0]
        both = [doomed + first_path, survivor + first_path]
        tasks.append(asyncio.create_task(follow(both, first_auth, moved)))
        async with asyncio.timeout(60):
            await moved.under_way.wait()
        busy = await _busy_agent_worker(client, [pid for pid, _, _ in projects], group)
        group.kill(busy)
        group.kill("api-1")
        try:
            async with asyncio.timeout(RUN_TIMEOUT_S):
                await asyncio.gather(*tasks)
        except TimeoutError:
            pytest.fail(f"runs did not end:\n{group.logs()}")

    retried = [await _retried_activities(client, project_id) for project_id, _, _ in projects]
    print(  # the figures of the run (pytest -s)
        f"many-process: {len(projects)} runs ended in {time.monotonic() - began:.1f} s; "
        f"events per run {[len(into.events) for into in on_survivor]}; "
        f"streams resumed {[into.resumed for into in on_survivor]} on the survivor, "
        f"{moved.resumed} for the killed API's subscriber; activities retried after the "
        f"kill {retried}; rate-limit codes {codes}"
    )
    for name, into in [*enumerate(on_survivor), ("moved", moved)]:
        assert into.seqs == list(range(1, len(into.seqs) + 1)), (name, into.seqs)  # once, no gap
        assert into.events[-1].flow_event.type == "run_completed", (name, into.events[-1].data)
    assert moved.resumed >= 1  # it did lose its API
    assert moved.seqs == on_survivor[0].seqs
    assert moved.events[-1].data == on_survivor[0].events[-1].data

    for project_id, _, _ in projects:
        runs = await _runs_of(client, project_id)
        assert [run.status for run in runs] == [WorkflowExecutionStatus.COMPLETED]
        handle = client.get_workflow_handle(
            temporal.workflow_id(project_id), result_type=FlowResult
        )
        assert set((await handle.result()).accepted) == set(STEPS)
    assert sum(retried) >= 1  # the killed worker's step was taken over by the other
    (other,) = {"agents-1", "agents-2"} - {busy}
    assert group.processes[other].popen.poll() is None, group.logs()
    assert group.processes["api-2"].popen.poll() is None, group.logs()
