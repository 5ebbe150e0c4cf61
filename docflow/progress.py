"""What travels on a run's Redis channel: flow events, section drafts, lease hand-overs.

Flow events (``FlowEvent``, numbered) come from the workflow's event log through the API's
poller; section drafts (``SectionProgress``) come straight from the worker while an agent
writes, so partial text reaches clients without passing through Temporal history. Drafts
are ephemeral: not numbered, not replayed, sent as SSE events without an ``id:``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from redis.asyncio import Redis

from docflow.contracts import FlowEvent, Step, TenantScope

DRAFT_TEXT_CHARS = 4000  # the tail of a section's reply a draft carries


class SectionProgress(BaseModel):
    """One section of a step while its agent writes it."""

    type: Literal["section_progress"] = "section_progress"
    step: Step
    section: str  # the section's key: "overview", "decision/2"
    state: Literal["started", "writing", "finished", "resumed"]
    chars: int = 0  # characters of the reply so far
    text: str = ""  # its last DRAFT_TEXT_CHARS characters, while writing
    tokens_in: int = 0
    tokens_out: int = 0
    at: datetime


class ChannelMessage(BaseModel):
    run_id: str
    event: FlowEvent | None = None
    draft: SectionProgress | None = None
    lease_released: bool = False


def run_channel(scope: TenantScope) -> str:
    """The project's channel; every name under it is prefixed by tenant and project."""
    return f"docflow:events:{scope.tenant_id}:{scope.project_id}"


async def section_drafts(redis_url: str, scope: TenantScope) -> AsyncIterator[SectionProgress]:
    """The section drafts published on a project's channel, as they come (the CLI's view;
    the API's stream reads the same channel in ``api/events.py``)."""
    redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    try:
        await pubsub.subscribe(run_channel(scope))
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            draft = ChannelMessage.model_validate_json(message["data"]).draft
            if draft is not None:
                yield draft
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()
