"""Section progress from a write_step activity to the run's Redis channel (and the log).

Partial text reaches the API's SSE streams this way, never through Temporal history.
Text updates are throttled per section; progress is best effort: a Redis fault is
logged once and never fails the write.
"""

from __future__ import annotations

import contextvars
import logging
import time
from datetime import UTC, datetime
from typing import Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError
from temporalio import activity

from docflow.agents.compose import Progress, SectionEvent
from docflow.contracts import Step, TenantScope
from docflow.progress import DRAFT_TEXT_CHARS, ChannelMessage, SectionProgress, run_channel

TEXT_EVERY_S = 0.5  # at most two text updates a second per section
DraftState = Literal["started", "writing", "finished", "resumed"]
_STATES: dict[str, DraftState] = {
    "section_started": "started",
    "section_text": "writing",
    "section_finished": "finished",
    "section_resumed": "resumed",
}
log = logging.getLogger(__name__)


class DraftPublisher:
    """Publishes one write's section events as ``SectionProgress`` drafts."""

    def __init__(self, redis: Redis | None, scope: TenantScope, run_id: str, step: Step) -> None:
        self._redis, self._scope, self._run_id, self.step = redis, scope, run_id, step
        self._last_text: dict[str, float] = {}
        self._failed = False

    async def publish(self, event: SectionEvent) -> None:
        if self._redis is None or self._failed or not self._due(event):
            return
        draft = SectionProgress(
            step=self.step,
            section=event.key,
            state=_STATES[event.kind],
            chars=event.chars,
            text=event.text[-DRAFT_TEXT_CHARS:],
            tokens_in=event.usage.tokens_in,
            tokens_out=event.usage.tokens_out,
            at=datetime.now(UTC),
        )
        message = ChannelMessage(run_id=self._run_id, draft=draft)
        try:
            await self._redis.publish(run_channel(self._scope), message.model_dump_json())
        except (RedisError, OSError) as error:
            self._failed = True  # drafts are a nicety: the write goes on without them
            log.warning("section drafts of run %s stop: %s", self._run_id, error)

    def _due(self, event: SectionEvent) -> bool:
        if event.kind != "section_text":
            self._last_text.pop(event.key, None)
            return True
        now = time.monotonic()
        if now - self._last_text.get(event.key, 0.0) < TEXT_EVERY_S:
            return False
        self._last_text[event.key] = now
        return True


def section_progress(publisher: DraftPublisher) -> Progress:
    """Drafts to the channel; starts and finishes also to the worker's log, in the
    activity's context (CrewAI may call back from a context of its own)."""
    context = contextvars.copy_context()

    async def report(event: SectionEvent) -> None:
        if event.kind != "section_text":
            context.run(_log_section, publisher.step, event)
        await publisher.publish(event)

    return report


def _log_section(step: Step, event: SectionEvent) -> None:
    activity.logger.info(
        "%s %s: %s (%d chars, %d+%d tokens, %d ms)", step.value, event.kind, event.key,
        event.chars, event.usage.tokens_in, event.usage.tokens_out, event.duration_ms,
    )  # fmt: skip
