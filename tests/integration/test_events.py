"""GET /api/v1/projects/{id}/events: the run's progress as Server-Sent Events.

Real stack, real HTTP; the stream is parsed here, line by line (``id:``, ``event:``,
``data:``, comments, blank line), as a browser's EventSource would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowExecutionStatus

from api.app import create_app
from api.events import Channels, Cursor, EventHub
from docflow import admin, temporal
from docflow.contracts import Action, Decision, FlowEvent, FlowInput, FlowOptions, Step
from docflow.embedded import StackEndpoints
from docflow.progress import SectionProgress
from docflow.settings import Settings
from docflow.storage.models import Project
from tests.conftest import bearer
from tests.flow_helpers import Handle, decide, wait_for_gate
from tests.servers import free_port, serve
from worker.main import Workers
from workflows.project_flow import ProjectFlow

READ_TIMEOUT_S = 60.0

# --- a small SSE client -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sse:
    id: str | None
    event: str | None
    data: str

    @property
    def flow_event(self) -> FlowEvent:
        return FlowEvent.model_validate_json(self.data)

    @property
    def seq(self) -> int:
        return self.flow_event.seq


@dataclass
class Stream:
    status: int
    events: list[Sse] = field(default_factory=list)
    drafts: list[SectionProgress] = field(default_factory=list)  # no id, never replayed
    comments: list[str] = field(default_factory=list)
    body: Any = None  # the JSON body of a non-200 answer

    @property
    def seqs(self) -> list[int]:
        return [event.seq for event in self.events]

    @property
    def types(self) -> list[str]:
        return [event.flow_event.type for event in self.events]


Stop = Callable[[Stream], bool]


async def parse_sse(lines: AsyncIterator[str]) -> AsyncIterator[Sse | str]:
    """Events, and comments (as str), from the lines of a text/event-stream."""
    fields: dict[str, str] = {}
    async for line in lines:
        if not line:
            if fields:
                yield Sse(id=fields.get("id"), event=fields.get("event"), data=fields["data"])
            fields = {}
        elif line.startswith(":"):
            yield line[1:].strip()
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            fields[name] = f"{fields[name]}\n{value}" if name in fields else value


async def read_stream(
    http: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    *,
    stop: Stop | None = None,
    on_item: Callable[[Stream], None] | None = None,
) -> Stream:
    """Read until the server ends the stream, or until ``stop`` says so (a disconnect)."""
    async with asyncio.timeout(READ_TIMEOUT_S), http.stream("GET", url, headers=headers) as answer:
        stream = Stream(status=answer.status_code)
        if answer.status_code != 200:
            await answer.aread()
            stream.body = answer.json() if answer.content else None
            return stream
        assert answer.headers["content-type"].startswith("text/event-stream")
        async for item in parse_sse(answer.aiter_lines()):
            if isinstance(item, str):
                stream.comments.append(item)
            elif item.event == "section_progress":
                assert item.id is None
                stream.drafts.append(SectionProgress.model_validate_json(item.data))
            else:
                stream.events.append(item)
            if on_item is not None:
                on_item(stream)
            if stop is not None and stop(stream):
                break
    return stream


def after_gate(count: int = 1) -> Stop:
    return lambda stream: stream.types.count("awaiting_approval") >= count


def assert_well_formed(stream: Stream) -> None:
    for event in stream.events:
        assert event.id == str(event.flow_event.seq)
        assert event.event == event.flow_event.type


def assert_complete(seqs: list[int], last_type: str, stream: Stream) -> None:
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    assert stream.types[-1] == last_type


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def events_url(project: Project) -> str:
    return f"/api/v1/projects/{project.id}/events"


@pytest.fixture
def owner(api_settings: Settings, project: Project) -> dict[str, str]:
    return bearer(api_settings, project.tenant_id)


@pytest.fixture
async def flows(client: Client, api_settings: Settings) -> AsyncIterator[list[Handle]]:
    """Flows started by a test; any still running afterwards is terminated."""
    started: list[Handle] = []
    yield started
    for handle in started:
        with contextlib.suppress(Exception):
            if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test over")


StartFlow = Callable[..., Awaitable[Handle]]


@pytest.fixture
def start_flow(
    client: Client, api_settings: Settings, project: Project, flows: list[Handle]
) -> StartFlow:
    async def start(*, auto_approve: bool = False) -> Handle:
        flow = FlowInput(
            tenant_id=project.tenant_id,
            project_id=project.id,
            requested_by="tests",
            options=FlowOptions(auto_approve=auto_approve),
        )
        handle = await temporal.start_flow(client, api_settings, flow)
        flows.append(handle)
        return handle

    return start


async def approve_gates(handle: Handle, steps: list[Step]) -> None:
    for step in steps:
        await wait_for_gate(handle, step)
        await decide(handle, Decision(step=step, action=Action.APPROVE, decided_by="tests"))


# --- more API replicas, served in this process --------------------------------------------


@dataclass
class Replica:
    app: FastAPI
    http: httpx.AsyncClient

    @property
    def hub(self) -> EventHub:
        hub: EventHub = self.app.state.events
        return hub


@contextlib.asynccontextmanager
async def serve_replica(settings: Settings) -> AsyncIterator[Replica]:
    app = create_app(settings)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield Replica(app=app, http=http)


StartReplica = Callable[..., Awaitable[Replica]]


@pytest.fixture
async def replicas(api_settings: Settings, api_worker: Workers) -> AsyncIterator[StartReplica]:
    """Start API replicas (same settings as the session's server, plus overrides)."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(**overrides: Any) -> Replica:
            settings = api_settings.model_copy(update=overrides)
            return await stack.enter_async_context(serve_replica(settings))

        yield start


# --- tests --------------------------------------------------------------------------------


async def test_an_auto_approved_run_streams_every_event_once_then_ends(
    http: httpx.AsyncClient, start_flow: StartFlow, events_url: str, owner: dict[str, str]
) -> None:
    await start_flow(auto_approve=True)

    stream = await read_stream(http, events_url, owner)

    assert stream.status == 200
    assert_well_formed(stream)
    assert_complete(stream.seqs, "run_completed", stream)
    assert stream.types[0] == "run_started"
    assert stream.types.count("step_accepted") == 4
    assert {event.flow_event.step for event in stream.events} >= set(Step)
    # Section drafts came from the worker between the numbered events, none replayed.
    assert {draft.step for draft in stream.drafts} <= set(Step)
    architecture = [d for d in stream.drafts if d.step is Step.ARCHITECTURE]  # surely live
    started = {d.section for d in architecture if d.state == "started"}
    finished = {d.section for d in architecture if d.state == "finished"}
    assert finished == started and {"containers", "decision/0"} <= finished


async def test_reconnecting_with_last_event_id_resumes_without_gaps_or_repeats(
    http: httpx.AsyncClient, start_flow: StartFlow, events_url: str, owner: dict[str, str]
) -> None:
    handle = await start_flow()

    first = await read_stream(http, events_url, owner, stop=after_gate())
    await approve_gates(handle, [Step.DESCRIPTION])
    resumed = {**owner, "Last-Event-ID": str(first.seqs[-1])}
    second = await read_stream(http, events_url, resumed, stop=after_gate())
    approving = asyncio.create_task(
        approve_gates(handle, [Step.ARCHITECTURE, Step.PLAN, Step.STANDARDS])
    )
    third = await read_stream(http, f"{events_url}?last_event_id={second.seqs[-1]}", owner)
    await approving

    for stream in (first, second, third):
        assert_well_formed(stream)
    assert second.types[0] == "decision"  # the first event after the gate, not a repeat
    assert_complete(first.seqs + second.seqs + third.seqs, "run_completed", third)


async def test_subscribers_on_two_replicas_share_one_poller(
    replicas: StartReplica, start_flow: StartFlow, events_url: str, owner: dict[str, str]
) -> None:
    a, b = await replicas(), await replicas()
    handle = await start_flow()
    at_gate: set[int] = set()

    def note_gate(reader: int) -> Callable[[Stream], None]:
        return lambda stream: at_gate.add(reader) if after_gate()(stream) else None

    async def approve_once_all_listen() -> None:
        async with asyncio.timeout(READ_TIMEOUT_S):
            while len(at_gate) < 3:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        await approve_gates(handle, list(Step))

    readers = [
        read_stream(replica.http, events_url, owner, on_item=note_gate(number))
        for number, replica in enumerate((a, a, b))
    ]
    approving = asyncio.create_task(approve_once_all_listen())
    streams = await asyncio.gather(*readers)
    await approving

    assert streams[0].seqs == streams[1].seqs == streams[2].seqs
    assert_complete(streams[0].seqs, "run_completed", streams[0])
    run_id = handle.result_run_id
    assert run_id is not None
    assert a.hub.stats.poller_starts[run_id] + b.hub.stats.poller_starts[run_id] == 1
    assert a.hub.watched_runs == b.hub.watched_runs == 0


async def test_subscribers_joining_together_share_reads_and_the_poller_is_told(
    replicas: StartReplica, start_flow: StartFlow, events_url: str, owner: dict[str, str]
) -> None:
    """Twenty streams opened at once cost a few reads of the log, not twenty; with the
    fallback poll an hour away, events still arrive: the history long-poll tells."""
    replica = await replicas(sse_poll_s=3600.0)
    handle = await start_flow()
    await wait_for_gate(handle, Step.DESCRIPTION)
    joined: set[int] = set()

    def note(number: int) -> Callable[[Stream], None]:
        return lambda stream: joined.add(number) if after_gate()(stream) else None

    readers = [
        read_stream(replica.http, events_url, owner, stop=after_gate(2), on_item=note(number))
        for number in range(20)
    ]
    reading = asyncio.gather(*readers)
    async with asyncio.timeout(READ_TIMEOUT_S):
        while len(joined) < 20:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    reads_to_join = replica.hub.stats.queries
    await approve_gates(handle, [Step.DESCRIPTION])
    streams = await reading

    assert reads_to_join <= 6, reads_to_join
    assert all(stream.seqs == streams[0].seqs for stream in streams)
    assert streams[0].types.count("awaiting_approval") == 2
    assert streams[0].seqs == list(range(1, len(streams[0].seqs) + 1))


async def test_the_event_log_is_read_from_a_sequence_number(
    client: Client, start_flow: StartFlow
) -> None:
    handle = await start_flow()
    state = await wait_for_gate(handle, Step.DESCRIPTION)
    last = state.events[-1].seq
    page = await handle.query(ProjectFlow.events_after, last - 2)
    assert [event.seq for event in page.events] == [last - 1, last]
    assert (await handle.query(ProjectFlow.events_after, last)).events == []
    assert (await handle.query(ProjectFlow.events_after, 0)).events == state.events


async def test_another_replica_takes_over_polling_when_the_leader_s_subscribers_leave(
    replicas: StartReplica, start_flow: StartFlow, events_url: str, owner: dict[str, str]
) -> None:
    a, b = await replicas(sse_ping_s=0.05), await replicas()
    handle = await start_flow()
    b_listens = asyncio.Event()

    first = await read_stream(a.http, events_url, owner, stop=after_gate())  # a polls
    leaving = asyncio.create_task(
        read_stream(a.http, events_url, owner, stop=lambda _: b_listens.is_set())
    )
    following = asyncio.create_task(
        read_stream(
            b.http,
            events_url,
            owner,
            on_item=lambda stream: b_listens.set() if after_gate()(stream) else None,
        )
    )
    await leaving  # a's last subscriber has left: a stops polling and releases the lease
    await approve_gates(handle, list(Step))
    stream = await following

    assert_complete(stream.seqs, "run_completed", stream)
    assert first.seqs == stream.seqs[: len(first.seqs)]
    run_id = handle.result_run_id
    assert run_id is not None
    assert (a.hub.stats.poller_starts[run_id], b.hub.stats.poller_starts[run_id]) == (2, 1)


async def test_a_terminated_run_ends_with_run_ended_and_then_answers_204(
    http: httpx.AsyncClient, start_flow: StartFlow, events_url: str, owner: dict[str, str]
) -> None:
    handle = await start_flow()
    reading = asyncio.create_task(read_stream(http, events_url, owner))
    await wait_for_gate(handle, Step.DESCRIPTION)
    await asyncio.sleep(0.3)  # the stream is live, following the channel
    await handle.terminate("operator stopped it")

    stream = await reading
    assert_complete(stream.seqs, "run_ended", stream)
    assert stream.events[-1].flow_event.data == {"status": "terminated"}

    replay = await read_stream(http, events_url, owner)
    assert replay.seqs == stream.seqs  # a closed run replays its log, run_ended included
    done = await read_stream(http, events_url, {**owner, "Last-Event-ID": str(stream.seqs[-1])})
    assert done.status == 204  # nothing follows: an EventSource stops reconnecting


async def test_a_cancelled_run_ends_with_its_run_cancelled_event(
    http: httpx.AsyncClient, start_flow: StartFlow, events_url: str, owner: dict[str, str]
) -> None:
    handle = await start_flow()
    first = await read_stream(http, events_url, owner, stop=after_gate())
    await handle.cancel()

    rest = await read_stream(http, events_url, {**owner, "Last-Event-ID": str(first.seqs[-1])})
    assert_complete(first.seqs + rest.seqs, "run_cancelled", rest)


async def restart_and_resume(
    http: httpx.AsyncClient, events_url: str, auth: dict[str, str], *, after: int
) -> Stream:
    """Restart the project's run through the API; follow it from ``after`` to its gate."""
    project_url = events_url.removesuffix("/events")
    restarted = await http.post(f"{project_url}/runs/current/restart", headers=auth)
    assert restarted.status_code == 202, restarted.text
    resume = {**auth, "Last-Event-ID": str(after)}
    return await read_stream(http, events_url, resume, stop=after_gate())


async def test_event_ids_keep_growing_across_a_restart(
    http: httpx.AsyncClient,
    client: Client,
    start_flow: StartFlow,
    events_url: str,
    owner: dict[str, str],
    flows: list[Handle],
) -> None:
    """A client that saw the cancelled run to its end resumes with that id after a restart
    and gets the new run from its first event: ids never start over."""
    handle = await start_flow()
    first = await read_stream(http, events_url, owner, stop=after_gate())
    await handle.cancel()
    cancelled = await read_stream(http, events_url, {**owner, "Last-Event-ID": str(first.seqs[-1])})
    last = cancelled.seqs[-1]

    resumed = await restart_and_resume(http, events_url, owner, after=last)
    flows.append(client.get_workflow_handle(handle.id))
    assert resumed.seqs[0] == last + 1 and resumed.events[0].flow_event.type == "run_started"
    assert resumed.seqs == list(range(last + 1, last + 1 + len(resumed.seqs)))
    fresh = await read_stream(http, events_url, owner, stop=after_gate())
    assert fresh.seqs[: len(resumed.seqs)] == resumed.seqs  # from 0: the new run's whole log


async def test_after_a_terminated_run_the_next_run_starts_after_its_run_ended(
    http: httpx.AsyncClient,
    client: Client,
    start_flow: StartFlow,
    events_url: str,
    owner: dict[str, str],
    flows: list[Handle],
) -> None:
    handle = await start_flow()
    await wait_for_gate(handle, Step.DESCRIPTION)
    await handle.terminate("operator stopped it")
    ended = await read_stream(http, events_url, owner)
    assert ended.events[-1].flow_event.type == "run_ended"

    resumed = await restart_and_resume(http, events_url, owner, after=ended.seqs[-1])
    flows.append(client.get_workflow_handle(handle.id))
    assert resumed.seqs[0] == ended.seqs[-1] + 1
    assert resumed.events[0].flow_event.type == "run_started"


async def test_with_redis_down_a_live_run_answers_503_before_any_stream(
    api_settings: Settings, start_flow: StartFlow, events_url: str, owner: dict[str, str]
) -> None:
    handle = await start_flow()
    await wait_for_gate(handle, Step.DESCRIPTION)
    broken = api_settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async with serve(create_app(broken)) as url, httpx.AsyncClient(base_url=url) as http:
        answer = await http.get(events_url, headers=owner)
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "Redis" in answer.json()["detail"]
    assert answer.headers["retry-after"] == "5"


async def test_a_project_without_a_run_is_a_404_problem(
    http: httpx.AsyncClient, events_url: str, owner: dict[str, str]
) -> None:
    stream = await read_stream(http, events_url, owner)

    assert stream.status == 404
    assert stream.body["detail"] == "no run has been started for this project"


async def test_viewers_read_other_tenants_get_404_and_strangers_401(
    http: httpx.AsyncClient,
    engine: AsyncEngine,
    api_settings: Settings,
    project: Project,
    start_flow: StartFlow,
    events_url: str,
) -> None:
    await start_flow()
    other = await admin.ensure_tenant(engine, f"t-{uuid4().hex[:10]}", "Another tenant")

    viewer = await read_stream(
        http, events_url, bearer(api_settings, project.tenant_id, "viewer"), stop=bool
    )
    stranger = await read_stream(http, events_url, bearer(api_settings, other.id))
    anonymous = await read_stream(http, events_url, {})

    assert viewer.status == 200
    assert viewer.types[:1] == ["run_started"]
    assert (stranger.status, stranger.body["detail"]) == (404, "project not found")
    assert anonymous.status == 401


async def test_an_idle_stream_sends_keep_alive_comments(
    replicas: StartReplica, start_flow: StartFlow, events_url: str, owner: dict[str, str]
) -> None:
    replica = await replicas(sse_ping_s=0.05)
    await start_flow()

    stream = await read_stream(
        replica.http,
        events_url,
        owner,
        stop=lambda stream: after_gate()(stream) and len(stream.comments) >= 2,
    )

    assert all(comment.startswith("ping") for comment in stream.comments)


def test_the_cursor_passes_each_event_once_and_never_across_a_gap() -> None:
    def events(*seqs: int) -> list[FlowEvent]:
        return [FlowEvent(seq=seq, at="2026-01-01T00:00:00Z", type="step_started") for seq in seqs]

    cursor = Cursor(last=1)
    assert [event.seq for event in cursor.take(events(3, 1, 2))] == [2, 3]
    assert cursor.take(events(2, 3)) == []
    assert cursor.take(events(5)) == []  # 4 is missing: wait for the log to fill it
    assert [event.seq for event in cursor.take(events(4, 5))] == [4, 5]
    assert not cursor.done
    ending = [FlowEvent(seq=6, at="2026-01-01T00:00:00Z", type="run_ended")]
    assert cursor.take(ending) == ending and cursor.done

    # A run's whole log starts where that run starts: an older position resumes there.
    resuming = Cursor(last=3)
    assert [event.seq for event in resuming.take_log(events(12, 10, 11))] == [10, 11, 12]
    assert Cursor(last=11).take_log(events(10, 11, 12))[0].seq == 12


@dataclass
class _FakeRun:
    channel: str


@dataclass(eq=False)
class _Listener:
    run: _FakeRun
    received: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    lost: bool = False

    def on_message(self, message: dict[str, Any]) -> None:
        self.received.append(message)
        self.arrived.set()

    def channel_lost(self) -> None:
        self.lost = True


async def test_every_watched_channel_shares_one_redis_connection(stack: StackEndpoints) -> None:
    # redis-py's pool stops at 100 connections: one per watched run failed past ~100 runs.
    redis = Redis.from_url(stack.redis_url)
    channels = Channels(redis)
    prefix = f"docflow:test-channels:{uuid4().hex}"
    listeners = [_Listener(_FakeRun(f"{prefix}:{n}")) for n in range(150)]
    try:
        for listener in listeners:
            await channels.join(listener)  # type: ignore[arg-type]
        assert await redis.publish(listeners[149].run.channel, "hello") == 1
        await asyncio.wait_for(listeners[149].arrived.wait(), 10)
        assert listeners[149].received[0]["data"] == b"hello"
        assert not any(listener.received for listener in listeners[:149])
        await channels.leave(listeners[0])  # type: ignore[arg-type]
        assert await redis.publish(listeners[0].run.channel, "gone") == 0
        assert not any(listener.lost for listener in listeners)
    finally:
        await channels.close()
        await redis.aclose()


async def test_a_lost_channel_connection_ends_every_watch_on_it_and_the_next_join_reconnects(
    stack: StackEndpoints,
) -> None:
    name = f"test-channels-{uuid4().hex[:8]}"
    redis = Redis.from_url(stack.redis_url, client_name=name)
    channels = Channels(redis)
    prefix = f"docflow:test-channels:{uuid4().hex}"
    first, second = (_Listener(_FakeRun(f"{prefix}:{n}")) for n in range(2))
    try:
        await channels.join(first)  # type: ignore[arg-type]
        await channels.join(second)  # type: ignore[arg-type]
        clients = await redis.client_list(_type="pubsub")
        (ours,) = [client for client in clients if client["name"] == name]
        await redis.client_kill_filter(_id=ours["id"])
        async with asyncio.timeout(10):
            while not (first.lost and second.lost):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        again = _Listener(_FakeRun(f"{prefix}:again"))
        await asyncio.wait_for(channels.join(again), 10)  # type: ignore[arg-type]
        assert await redis.publish(again.run.channel, "back") == 1
        await asyncio.wait_for(again.arrived.wait(), 10)
    finally:
        await channels.close()
        await redis.aclose()


async def test_a_join_that_cannot_subscribe_fails_and_leaves_nothing_to_wait_for() -> None:
    redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    channels = Channels(redis)
    listener = _Listener(_FakeRun(f"docflow:test-channels:{uuid4().hex}"))
    try:
        for _ in range(2):  # the second join fails the same way: it does not hang
            with pytest.raises(RedisConnectionError):
                await asyncio.wait_for(channels.join(listener), 10)  # type: ignore[arg-type]
    finally:
        await channels.close()
        await redis.aclose()
