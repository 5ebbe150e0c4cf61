"""A project's progress as Server-Sent Events: ``GET /api/v1/projects/{id}/events``."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, status
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import ProjectForViewer
from api.events import EventHub, NoRunError, RunEnd, RunRef, RunUnavailableError
from api.schemas import MAX_INT
from docflow.contracts import FlowEvent, TenantScope
from docflow.progress import SectionProgress

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["events"])

NO_RUN = "no run has been started for this project"

# The SSE bytes of the latest events, made once: one event object reaches every subscriber
# of its run in this replica (``RunWatch.on_message``). Kept with the event itself, so an
# id reused after the event is gone never matches.
ENCODED_KEPT = 4096
_encoded: OrderedDict[int, tuple[FlowEvent | SectionProgress, bytes]] = OrderedDict()


def sse_bytes(item: FlowEvent | SectionProgress) -> bytes:
    known = _encoded.get(id(item))
    if known is not None and known[0] is item:
        return known[1]
    if isinstance(item, SectionProgress):  # a draft: no id, never replayed
        encoded = ServerSentEvent(data=item.model_dump_json(), event=item.type).encode()
    else:
        encoded = ServerSentEvent(
            data=item.model_dump_json(), event=item.type, id=str(item.seq)
        ).encode()
    _encoded[id(item)] = (item, encoded)
    if len(_encoded) > ENCODED_KEPT:
        _encoded.popitem(last=False)
    return encoded


async def event_hub(request: Request) -> EventHub:
    hub: EventHub = request.app.state.events
    return hub


HubDep = Annotated[EventHub, Depends(event_hub)]
LastEventIdHeader = Annotated[
    int | None,
    Header(
        alias="Last-Event-ID",
        ge=0,
        le=MAX_INT,
        description="Resume after this event: the `id:` of the last event received.",
    ),
]
LastEventIdQuery = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_INT,
        description="Same as the Last-Event-ID header, for clients that cannot set it.",
    ),
]


@router.get(
    "/events",
    summary="Follow the current run's progress (Server-Sent Events)",
    response_class=Response,
    responses={
        200: {
            "description": "One event per step of progress: `id:` is its sequence number, "
            "`event:` its type, `data:` the event as JSON. Ends after the run's last event. "
            "While an agent writes, `section_progress` events (no `id:`, never replayed) carry "
            "the section being written, its characters so far and the tail of its text.",
            "content": {"text/event-stream": {}},
        },
        204: {"description": "The run has ended and nothing follows the given event id."},
        404: {"description": "Unknown project, or no run has been started for it."},
        503: {"description": "The run's state cannot be read right now; retry."},
    },
)
async def project_events(
    access: ProjectForViewer,
    hub: HubDep,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
) -> Response:
    # A browser's EventSource resends its URL (with a stale query) and the newer header.
    after = last_event_id_header if last_event_id_header is not None else last_event_id or 0
    run, end = await _current_run(hub, access.scope)
    if end is None:
        await _ensure_channel(hub)
        events = hub.stream(run, after)
    else:
        replay = [event for event in await _closed_run_events(hub, run, end) if event.seq > after]
        if not replay:  # 204 also tells an EventSource not to reconnect
            return Response(status_code=status.HTTP_204_NO_CONTENT)
        events = _iterate(replay)
    return EventSourceResponse(_encode(events, run), ping=hub.settings.sse_ping_s)


async def _current_run(hub: EventHub, scope: TenantScope) -> tuple[RunRef, RunEnd | None]:
    try:
        return await hub.reader.current(scope)
    except NoRunError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NO_RUN) from error
    except RunUnavailableError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error)) from error


async def _ensure_channel(hub: EventHub) -> None:
    try:
        await hub.ensure_channel()
    except RunUnavailableError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error), headers={"Retry-After": "5"}
        ) from error


async def _closed_run_events(hub: EventHub, run: RunRef, end: RunEnd) -> list[FlowEvent]:
    try:
        return await hub.reader.events(run, end)
    except NoRunError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NO_RUN) from error
    except RunUnavailableError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error)) from error


async def _iterate(events: list[FlowEvent]) -> AsyncIterator[FlowEvent]:
    for event in events:
        yield event


async def _encode(
    events: AsyncIterator[FlowEvent | SectionProgress], run: RunRef
) -> AsyncIterator[bytes]:
    try:
        async for event in events:
            yield sse_bytes(event)
    except (RunUnavailableError, NoRunError) as error:
        # The stream ends early; the client resumes with Last-Event-ID.
        log.warning("event stream of run %s ended early: %s", run.run_id, error)
