"""Progress of a project's run, fanned out from one poller to every SSE subscriber.

- One poller per run across all API replicas, thanks to a Redis lease (SET NX PX, renewed
  while polling; a replica that cannot take it only listens). The poller is told when to
  look: a history long-poll wakes it whenever a workflow task completes (the only moment
  the event log can change; ``sse_poll_s`` is the safety net should the long-poll fail).
  It then asks the workflow for the events after the last one published
  (``ProjectFlow.events_after``: never the whole log again) and publishes them to the run's
  Redis channel.
- Each replica listens on that channel once per run, every channel on one Redis connection
  (``Channels``), and hands the events to its local subscribers. A subscriber replays
  from the event log first (subscribers that join together share one read of it), then
  follows the channel, de-duplicating by sequence number: never a repeat, never a skip
  (a gap is filled from a fresh query, the log being the truth).
- The poller stops when the run ends or when the replica's last subscriber leaves; it then
  releases the lease and says so on the channel, so another replica takes over at once.
- A run that closes without a terminal event (terminated, timed out) ends with a synthetic
  ``run_ended`` event that carries the workflow's status.
- Section drafts (``docflow.progress.SectionProgress``) are published on the same channel
  by the worker while an agent writes; subscribers get them live, between the numbered
  events, and they are never replayed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from docflow.contracts import FlowEvent, TenantScope
from docflow.progress import ChannelMessage, SectionProgress, run_channel
from docflow.settings import Settings
from docflow.temporal import workflow_id
from workflows.project_flow import ProjectFlow

log = logging.getLogger(__name__)

TERMINAL_EVENTS = frozenset({"run_completed", "run_failed", "run_cancelled"})
RUN_ENDED = "run_ended"  # synthetic: the run closed without a terminal event of its own
ENDING_EVENTS = TERMINAL_EVENTS | {RUN_ENDED}

LEASE_MS = 6_000
LEASE_RENEW_S = 2.0  # also how often a replica without the lease tries to take it
QUERY_TIMEOUT = timedelta(seconds=3)  # well below the lease: a slow query cannot outlive it
MARK_TTL_MS = 24 * 3600 * 1000
HISTORY_RETRY_S = 1.0

_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


class NoRunError(LookupError):
    """No run has been started for the project."""


class RunUnavailableError(RuntimeError):
    """The run exists, but its events cannot be read or followed right now."""


@dataclass(frozen=True)
class RunRef:
    """One run of a project's flow; Redis names are prefixed by tenant and project."""

    scope: TenantScope
    run_id: str

    @property
    def workflow_id(self) -> str:
        return workflow_id(self.scope.project_id)

    @property
    def channel(self) -> str:
        return run_channel(self.scope)

    def key(self, name: str) -> str:
        return f"{self.channel}:{self.run_id}:{name}"


@dataclass(frozen=True)
class RunEnd:
    """How and when a closed run closed."""

    status: WorkflowExecutionStatus
    at: datetime


@dataclass
class HubStats:
    """What this replica did: tests and operators read it."""

    poller_starts: Counter[str] = field(default_factory=Counter)  # run id -> times
    queries: int = 0


def is_ending(events: list[FlowEvent]) -> bool:
    return bool(events) and events[-1].type in ENDING_EVENTS


def run_ended(events: list[FlowEvent], end: RunEnd) -> FlowEvent:
    return FlowEvent(
        seq=events[-1].seq + 1 if events else 1,
        at=end.at,
        type=RUN_ENDED,
        data={"status": end.status.name.lower()},
    )


class Cursor:
    """The last sequence number a subscriber delivered: passes each event once, in order."""

    def __init__(self, last: int) -> None:
        self.last = last
        self.done = False

    def take_log(self, log: list[FlowEvent]) -> list[FlowEvent]:
        """Like ``take``, for the run's whole log: its first event is the run's first, so an
        older position (an id from the project's previous run) resumes there."""
        if log:
            self.last = max(self.last, min(event.seq for event in log) - 1)
        return self.take(log)

    def take(self, events: Iterable[FlowEvent]) -> list[FlowEvent]:
        """The events that extend the delivered run without a gap."""
        taken: list[FlowEvent] = []
        for event in sorted(events, key=lambda item: item.seq):
            if self.done or event.seq <= self.last:
                continue
            if event.seq != self.last + 1:
                break  # a gap: the caller fills it from the log
            taken.append(event)
            self.last, self.done = event.seq, event.type in ENDING_EVENTS
        return taken


# --- Temporal -------------------------------------------------------------------------------


class RunReader:
    """Reads a run's event log from Temporal."""

    def __init__(self, client: Client, stats: HubStats) -> None:
        self._client = client
        self._stats = stats

    def _handle(self, scope: TenantScope, run_id: str | None = None) -> WorkflowHandle[Any, Any]:
        return self._client.get_workflow_handle(workflow_id(scope.project_id), run_id=run_id)

    async def current(self, scope: TenantScope) -> tuple[RunRef, RunEnd | None]:
        """The project's latest run, and how it ended if it has."""
        try:
            description = await self._handle(scope).describe(rpc_timeout=QUERY_TIMEOUT)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise NoRunError("no run has been started for this project") from error
            raise RunUnavailableError(f"the run cannot be described: {error}") from error
        run = RunRef(scope=scope, run_id=description.run_id)
        return run, _end_of(description.status, description.close_time)

    async def end_of(self, run: RunRef) -> RunEnd | None:
        try:
            description = await self._handle(run.scope, run.run_id).describe(
                rpc_timeout=QUERY_TIMEOUT
            )
        except RPCError as error:
            raise RunUnavailableError(f"the run cannot be described: {error}") from error
        return _end_of(description.status, description.close_time)

    async def events(self, run: RunRef, end: RunEnd | None, after: int = 0) -> list[FlowEvent]:
        """The run's events numbered above ``after`` (the whole log for 0); a closed run
        without a terminal event gets ``run_ended``."""
        self._stats.queries += 1
        try:
            page = await self._handle(run.scope, run.run_id).query(
                ProjectFlow.events_after, after, rpc_timeout=QUERY_TIMEOUT
            )
        except (RPCError, WorkflowQueryFailedError) as error:
            raise RunUnavailableError(f"the run's state cannot be read: {error}") from error
        if page.tenant_id != run.scope.tenant_id:  # the second wall: never another tenant's
            raise NoRunError("no run has been started for this project")
        events = page.events
        if end is not None and not is_ending(events):
            if not events and after > 0:  # run_ended is numbered after the last event
                return await self.events(run, end)
            events.append(run_ended(events, end))
        return events

    async def log(self, run: RunRef) -> list[FlowEvent]:
        """The event log as it stands, ``run_ended`` included once the run has closed."""
        return await self.events(run, await self.end_of(run))

    async def watch_history(self, run: RunRef, wake: asyncio.Event) -> None:
        """Set ``wake`` whenever a workflow task completes; return once the run has closed."""
        handle = self._handle(run.scope, run.run_id)
        while True:
            try:
                async for event in handle.fetch_history_events(wait_new_event=True):
                    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                        wake.set()
            except Exception as error:  # the long-poll only speeds polling up: retry it
                log.warning("history long-poll of run %s failed: %s", run.run_id, error)
                await asyncio.sleep(HISTORY_RETRY_S)
                continue
            wake.set()
            return


def _retrieve(task: asyncio.Task[list[FlowEvent]]) -> None:
    """Mark a shared read's failure as seen (its subscribers got it, or left)."""
    if not task.cancelled():
        task.exception()


def _end_of(status: WorkflowExecutionStatus | None, closed: datetime | None) -> RunEnd | None:
    if status is None or status is WorkflowExecutionStatus.RUNNING:
        return None
    return RunEnd(status=status, at=closed or datetime.now(UTC))


# --- Redis: the lease and the channel -------------------------------------------------------


class Lease:
    """The right to poll one run, held by one replica at a time."""

    def __init__(self, redis: Redis, key: str) -> None:
        self._redis, self._key = redis, key
        self._token = uuid4().hex
        self._renewed = 0.0

    async def acquire(self) -> bool:
        taken = await self._redis.set(self._key, self._token, nx=True, px=LEASE_MS)
        self._renewed = time.monotonic()
        return bool(taken)

    async def keep(self) -> bool:
        """Renew the lease when due; False once it is no longer ours."""
        if time.monotonic() - self._renewed < LEASE_RENEW_S:
            return True
        kept = await self._redis.eval(_RENEW, 1, self._key, self._token, str(LEASE_MS))
        self._renewed = time.monotonic()
        return bool(kept)

    async def release(self) -> None:
        await self._redis.eval(_RELEASE, 1, self._key, self._token)


class Poller:
    """Publishes one run's new events while this replica holds the run's lease."""

    def __init__(self, hub: EventHub, run: RunRef, lease: Lease) -> None:
        self._hub, self._run, self._lease = hub, run, lease
        self._published = 0

    async def run(self) -> bool:
        """Poll until the run ends (True) or the lease is lost (False)."""
        self._published = await self._mark()
        wake = asyncio.Event()
        history = asyncio.create_task(self._hub.reader.watch_history(self._run, wake))
        try:
            while await self._lease.keep():
                wake.clear()
                if await self._poll_once(closed=history.done()):
                    return True
                with suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self._hub.settings.sse_poll_s)
            return False
        finally:
            history.cancel()

    async def _poll_once(self, *, closed: bool) -> bool:
        """Query and publish what is new; True once the run has ended and that is out."""
        try:
            end = await self._hub.reader.end_of(self._run) if closed else None
            # Once closed, the last event published is read again: it goes out once more.
            after = max(0, self._published - 1) if end is not None else self._published
            events = await self._hub.reader.events(self._run, end, after)
        except RunUnavailableError as error:
            log.warning("polling run %s: %s", self._run.run_id, error)
            return False
        ended = end is not None or is_ending(events)
        await self._publish(events, ended=ended)
        return ended

    async def _mark(self) -> int:
        """The last sequence number any poller of this run published."""
        mark = await self._hub.redis.get(self._run.key("published"))
        return int(mark) if mark is not None else 0

    async def _publish(self, events: list[FlowEvent], *, ended: bool) -> None:
        fresh = [event for event in events if event.seq > self._published]
        if ended and not fresh:
            fresh = events[-1:]  # the ending once more, for subscribers that joined late
        if not fresh:
            return
        published = max(self._published, fresh[-1].seq)
        async with self._hub.redis.pipeline(transaction=False) as pipe:
            for event in fresh:
                message = ChannelMessage(run_id=self._run.run_id, event=event)
                pipe.publish(self._run.channel, message.model_dump_json())
            pipe.set(self._run.key("published"), published, px=MARK_TTL_MS)
            await pipe.execute()
        self._published = published


# --- the replica's channels -----------------------------------------------------------------


class Channels:
    """Every channel this replica listens on, on one Redis connection: one connection per
    watched run would stop at redis-py's pool limit (100), before Redis's own."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._watches: dict[str, set[RunWatch]] = {}
        self._live: dict[str, asyncio.Event] = {}  # set once Redis confirms the subscription
        self._lock = asyncio.Lock()

    async def join(self, watch: RunWatch) -> None:
        """Listen on the watch's channel; returns once the subscription is live."""
        channel = watch.run.channel
        async with self._lock:
            watches = self._watches.setdefault(channel, set())
            watches.add(watch)
            if channel not in self._live:
                self._live[channel] = asyncio.Event()
                if self._pubsub is None:
                    self._pubsub = self._redis.pubsub()
                try:
                    await self._pubsub.subscribe(channel)
                except BaseException:  # nobody may wait for a subscription never made
                    del self._live[channel]
                    watches.discard(watch)
                    if not watches:
                        del self._watches[channel]
                    raise
                if self._reader is None or self._reader.done():
                    self._reader = asyncio.create_task(self._read(self._pubsub))
            live = self._live[channel]
        await live.wait()

    async def leave(self, watch: RunWatch) -> None:
        channel = watch.run.channel
        async with self._lock:
            watches = self._watches.get(channel, set())
            watches.discard(watch)
            if watches or channel not in self._live:
                return
            del self._watches[channel], self._live[channel]
            if self._pubsub is not None:
                with suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(channel)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with suppress(asyncio.CancelledError):
                await self._reader
        if self._pubsub is not None:
            with suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _read(self, pubsub: PubSub) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is not None:
                    self._dispatch(message)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the connection is gone: every watch on it breaks
            log.warning("the event channels' Redis connection failed: %s", error)
            await self._lost(pubsub)

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else str(channel)
        if message["type"] == "subscribe" and channel in self._live:
            self._live[channel].set()
        if message["type"] == "message":
            for watch in list(self._watches.get(channel, ())):
                watch.on_message(message)

    async def _lost(self, pubsub: PubSub) -> None:
        async with self._lock:
            watches = [watch for group in self._watches.values() for watch in group]
            live = list(self._live.values())
            self._watches.clear()
            self._live.clear()
            if self._pubsub is pubsub:
                self._pubsub = None
        with suppress(Exception):
            await pubsub.aclose()  # type: ignore[no-untyped-call]
        for watch in watches:
            watch.channel_lost()
        for event in live:
            event.set()  # joins waiting for a confirmation see the watch broken


# --- one run in one replica -----------------------------------------------------------------

# None: the channel is gone, the stream must end
Inbox = asyncio.Queue[FlowEvent | SectionProgress | None]


class RunWatch:
    """One run as this replica sees it: local subscribers, a channel listener and, while
    it holds the run's lease, the poller."""

    def __init__(self, hub: EventHub, run: RunRef) -> None:
        self._hub, self.run = hub, run
        self.inboxes: set[Inbox] = set()
        self.ended = False  # an ending event went through the channel
        self._listening = asyncio.Event()
        self._released = asyncio.Event()
        self.broken = False
        self._asked = 0  # subscribers that asked for the event log so far
        self._log_read: tuple[int, asyncio.Task[list[FlowEvent]]] | None = None
        self._listener = asyncio.create_task(self._listen())
        self._leader = asyncio.create_task(self._lead())
        self.tasks = [self._listener, self._leader]
        for task in self.tasks:
            task.add_done_callback(self._on_task_done)

    async def listening(self) -> None:
        """Wait until the channel subscription is live: nothing published after is lost."""
        await self._listening.wait()
        if self.broken:
            raise RunUnavailableError("the run's event channel is not available")

    def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        leaving = asyncio.create_task(self._hub.channels.leave(self))
        self.tasks.append(leaving)

    async def log(self) -> list[FlowEvent]:
        """The run's event log for a subscriber already in ``inboxes``, from one read shared
        by the subscribers that ask together: a read serves those who asked before it began
        (so it sees everything published before they joined), later ones wait for the next.
        """
        self._asked += 1
        asked = self._asked
        while True:
            current = self._log_read
            if current is not None and current[0] >= asked:
                return await asyncio.shield(current[1])
            if current is not None and not current[1].done():
                await asyncio.wait([current[1]])
                continue
            read = asyncio.create_task(self._hub.reader.log(self.run))
            read.add_done_callback(_retrieve)
            self._log_read = (self._asked, read)

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return  # stopped, subscribed, or the poller saw the run end
        log.error("event watch of run %s broke", self.run.run_id, exc_info=task.exception())
        self._break()

    def channel_lost(self) -> None:
        log.error("event watch of run %s broke: its channel was lost", self.run.run_id)
        self._break()

    def _break(self) -> None:
        if self.broken:
            return
        self.broken = True
        self._listening.set()
        self.stop()
        for inbox in self.inboxes:
            inbox.put_nowait(None)  # their streams end; clients resume with Last-Event-ID

    async def _listen(self) -> None:
        await self._hub.channels.join(self)
        self._listening.set()

    def on_message(self, message: dict[str, Any]) -> None:
        parsed = ChannelMessage.model_validate_json(message["data"])
        if parsed.run_id != self.run.run_id:
            return  # an earlier or later run of the same project
        if parsed.lease_released:
            self._released.set()
        if parsed.event is not None:
            self.ended = self.ended or parsed.event.type in ENDING_EVENTS
            for inbox in self.inboxes:
                inbox.put_nowait(parsed.event)
        if parsed.draft is not None:
            for inbox in self.inboxes:
                inbox.put_nowait(parsed.draft)

    async def _lead(self) -> None:
        """Poll the run whenever this replica can take its lease, until the run ends."""
        await self._listening.wait()
        while not self.ended and not self.broken:
            self._released.clear()
            lease = Lease(self._hub.redis, self.run.key("lease"))
            if await lease.acquire():
                if await self._poll(lease):
                    return
                continue
            with suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), LEASE_RENEW_S)

    async def _poll(self, lease: Lease) -> bool:
        self._hub.stats.poller_starts[self.run.run_id] += 1
        try:
            return await Poller(self._hub, self.run, lease).run()
        finally:
            await self._hand_over(lease)

    async def _hand_over(self, lease: Lease) -> None:
        try:
            await lease.release()
            released = ChannelMessage(run_id=self.run.run_id, lease_released=True)
            await self._hub.redis.publish(self.run.channel, released.model_dump_json())
        except Exception as error:  # the lease expires by itself; another replica takes over
            log.warning("releasing the lease of %s: %s", self.run.run_id, error)


# --- the hub ----------------------------------------------------------------------------------


class EventHub:
    """Per API process: the runs being watched, keyed by run id."""

    def __init__(self, settings: Settings, client: Client, redis: Redis) -> None:
        self.settings, self.redis = settings, redis
        self.stats = HubStats()
        self.reader = RunReader(client, self.stats)
        self.channels = Channels(redis)
        self._watches: dict[str, RunWatch] = {}
        self._stopping: set[asyncio.Task[None]] = set()

    @property
    def watched_runs(self) -> int:
        return len(self._watches)

    async def ensure_channel(self) -> None:
        """Raise RunUnavailableError when Redis, which carries a live run's events, does not
        answer: the caller says 503 before a stream opens, not 200 and an empty end."""
        try:
            await self.redis.ping()
        except (RedisError, OSError) as error:
            raise RunUnavailableError(f"live progress is unavailable (Redis): {error}") from error

    async def stream(self, run: RunRef, after: int) -> AsyncIterator[FlowEvent | SectionProgress]:
        """The run's events with seq > ``after``: replayed, then live until its ending event;
        section drafts as they arrive, between them."""
        watch = self._watches.get(run.run_id)
        if watch is None or watch.broken:
            watch = self._watch(run)
        inbox: Inbox = asyncio.Queue()
        watch.inboxes.add(inbox)
        try:
            await watch.listening()
            async for event in self._follow(watch, inbox, Cursor(after)):
                yield event
        finally:
            self._leave(watch, inbox)

    async def close(self) -> None:
        for watch in list(self._watches.values()):
            watch.stop()
            self._stopping.update(watch.tasks)
        self._watches.clear()
        await asyncio.gather(*self._stopping, return_exceptions=True)
        await self.channels.close()

    def _watch(self, run: RunRef) -> RunWatch:
        watch = RunWatch(self, run)
        self._watches[run.run_id] = watch
        return watch

    def _leave(self, watch: RunWatch, inbox: Inbox) -> None:
        """Synchronous on purpose: it runs while the stream's task is being cancelled."""
        watch.inboxes.discard(inbox)
        if watch.inboxes or self._watches.get(watch.run.run_id) is not watch:
            return
        del self._watches[watch.run.run_id]
        watch.stop()
        for task in watch.tasks:
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def _follow(
        self, watch: RunWatch, inbox: Inbox, cursor: Cursor
    ) -> AsyncIterator[FlowEvent | SectionProgress]:
        for event in cursor.take_log(await watch.log()):
            yield event
        while not cursor.done:
            item = await inbox.get()
            if item is None:
                raise RunUnavailableError("the run's event channel was lost")
            if isinstance(item, SectionProgress):
                yield item  # ephemeral: no sequence number, nothing to de-duplicate
                continue
            if item.seq > cursor.last + 1:  # a gap: the log is the truth
                for event in cursor.take_log(await watch.log()):
                    yield event
            for event in cursor.take([item]):
                yield event
