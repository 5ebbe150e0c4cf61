"""Activities of a step: write with the agent, save a person's edit, accept the versions.

Every write is idempotent: versions are keyed on the workflow's idempotency key, so a
retried activity (after a crash, a timeout or a lost reply) never adds a second version.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, timedelta

from opentelemetry.trace import Span
from pydantic import BaseModel
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.drafts import DraftPublisher, section_progress
from activities.edits import EDIT_SOURCE, carried_version, edit_meta, reapply_edit
from activities.errors import invalid_input, not_found
from activities.heartbeats import heartbeating, heartbeats
from docflow.agents.compose import SavedSection, StepComposer
from docflow.agents.errors import ContractUnfilledError, MalformedReplyError, WriterError
from docflow.agents.render import ABOUT_PATH
from docflow.agents.sections import rewrite_keys
from docflow.agents.writer import Usage
from docflow.agents.writers import select_writer
from docflow.clarify import known_questions, questions_of
from docflow.contracts import (
    STEP_AGENT,
    STEPS,
    AcceptInput,
    ClarifyingAnswer,
    MemoryChunk,
    RenderedDocument,
    SaveEditInput,
    Step,
    StepBrief,
    StepUsage,
    StepWriting,
    TenantScope,
    VersionRef,
    WriteStepInput,
    WriteStepOutput,
)
from docflow.failures import quota_reset_words
from docflow.quality.parse import parse
from docflow.quotas import Meter, Quotas
from docflow.settings import Settings
from docflow.storage.db import tenant_session
from docflow.storage.models import AgentRun, SectionDraft
from docflow.storage.repositories import NotFoundError, TenantRepository, version_ref
from docflow.telemetry import tracer
from docflow.traceability import requirements_of


def _span_attributes(scope: TenantScope, **extra: str) -> dict[str, str]:
    return {"tenant_id": str(scope.tenant_id), "project_id": str(scope.project_id), **extra}


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _record_documents(span: Span, refs: list[VersionRef]) -> None:
    span.set_attribute("document_ids", [str(ref.document_id) for ref in refs])
    span.set_attribute("version_ids", [str(ref.version_id) for ref in refs])


MEMORY_PASSAGES = 6  # top-k passages of the accepted documents given to agents of steps 2-4
MemorySearch = Callable[[TenantScope, str, int], Awaitable[list[MemoryChunk]]]


class StepActivities:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        memory: MemorySearch | None = None,
        quotas: Quotas | None = None,
        redis: Redis | None = None,  # section drafts to the run's channel
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._memory = memory
        self._quotas = quotas
        self._redis = redis
        self._tracer = tracer(__name__)

    @activity.defn(name="write_step")
    @heartbeats
    async def write_step(self, task: WriteStepInput) -> WriteStepOutput:
        attributes = _span_attributes(task.scope, step=task.step.value)
        with self._tracer.start_as_current_span("docflow.write_step", attributes=attributes) as s:
            earlier = await self._already_written(task)
            if earlier is not None:
                _record_documents(s, earlier.versions)
                return earlier
            await self._check_quota(task)
            started = time.monotonic()
            composer: StepComposer | None = None
            try:
                brief = await self._brief(task)
                writer = select_writer(self._settings, task.step)
                store = SectionDraftStore(self._engine, task.scope, task.idempotency_key)
                if task.revise_from is not None:
                    rewrite = rewrite_keys(task.step, task.rewrite_paths)
                    store = store.keeping(task.revise_from, rewrite)
                drafts = DraftPublisher(
                    self._redis, task.scope, activity.info().workflow_run_id or "", task.step
                )
                composer = StepComposer(brief, writer, store, on_event=section_progress(drafts))
                writing = await heartbeating(composer.write(date.today()))
            except Exception as error:
                spent = composer.spent if composer is not None else Usage()
                await self._record_failure(task, error, _elapsed_ms(started), spent)
                await self._count_tokens(task, spent)
                if isinstance(error, WriterError):
                    raise self._failure(task, error) from error
                raise
            s.set_attribute("sections_resumed", composer.resumed)
            output = await self._persist(task, brief, writing, _elapsed_ms(started))
            await self._count_tokens(task, composer.spent)
            _record_documents(s, output.versions)
            return output

    def _failure(self, task: WriteStepInput, error: WriterError) -> ApplicationError:
        """One plain sentence naming the step, the section and the cause."""
        attempt = activity.info().attempt
        final = not error.retryable or (
            isinstance(error, MalformedReplyError)
            and attempt >= self._settings.llm_contract_attempts
        )
        where = f" the '{error.section}' section of" if error.section else ""
        message = f"The {STEP_AGENT[task.step]} could not write{where} the {task.step.value}: "
        kind = ContractUnfilledError.kind if final and error.retryable else error.kind
        delay = None if error.retry_after_s is None else timedelta(seconds=error.retry_after_s)
        return ApplicationError(
            message + error.message, type=kind, non_retryable=final, next_retry_delay=delay
        )

    async def _count_tokens(self, task: WriteStepInput, spent: Usage) -> None:
        if self._quotas is not None and spent.tokens_in + spent.tokens_out > 0:
            tokens = spent.tokens_in + spent.tokens_out
            await self._quotas.record(task.scope.tenant_id, Meter.LLM_TOKENS, tokens)

    async def _check_quota(self, task: WriteStepInput) -> None:
        """A tenant over its monthly quota gets a clear, final error, not retries."""
        if self._quotas is None:
            return
        exceeded = await self._quotas.first_exceeded(task.scope.tenant_id)
        if exceeded is not None:
            raise ApplicationError(
                f"quota exceeded: {exceeded.describe()}; {quota_reset_words()}",
                type="QuotaExceeded",
                non_retryable=True,
            )

    async def _already_written(self, task: WriteStepInput) -> WriteStepOutput | None:
        async with tenant_session(self._engine, task.scope.tenant_id) as session:
            repo = TenantRepository(task.scope.tenant_id, session)
            rows = await repo.versions_by_key_prefix(f"{task.idempotency_key}:")
            run = await repo.agent_run_by_key(task.idempotency_key)
        if not rows:
            return None
        # An agent's version and, where a person's edit was re-applied, the merged one
        # after it: the write's result is the last version of each document.
        last = {document.id: (document, version) for document, version in
                sorted(rows, key=lambda row: row[1].version)}  # fmt: skip
        refs = [version_ref(document, version) for document, version in
                sorted(last.values(), key=lambda row: row[0].path)]  # fmt: skip
        return WriteStepOutput(versions=refs, writer=rows[0][1].writer, usage=_usage_of(run))

    async def _brief(self, task: WriteStepInput) -> StepBrief:
        earlier_steps = STEPS[: STEPS.index(task.step)]
        async with tenant_session(self._engine, task.scope.tenant_id) as session:
            repo = TenantRepository(task.scope.tenant_id, session)
            try:
                project = await repo.get_project(task.scope.project_id)
            except NotFoundError as error:
                raise not_found(error) from error
            upstream = await repo.accepted_documents(project.id, earlier_steps)
            answers = [
                ClarifyingAnswer(question_id=row.question_id, question=row.question,
                                 answer=row.answer)
                for row in (await repo.current_answers(project.id)).values()
            ]  # fmt: skip
            # A new description keeps the ids of the latest one's requirements and questions.
            first = task.step is STEPS[0]
            latest = await repo.latest_version_at(project.id, ABOUT_PATH) if first else None
            about = parse(latest.content_md) if latest is not None else None
        memory = await self._recall(task, f"{project.name}: {project.idea}")
        return StepBrief(
            step=task.step,
            project_name=project.name,
            idea=project.idea,
            constraints=project.constraints,
            feedback=task.feedback,
            upstream=[
                RenderedDocument(
                    path=document.path,
                    kind=document.kind,
                    title=document.title,
                    content_md=version.content_md,
                )
                for document, version in upstream
            ],
            memory=memory,
            known_requirements=requirements_of(about) if about else [],
            known_questions=known_questions(questions_of(about) if about else [], answers),
            answers=answers,
        )

    async def _recall(self, task: WriteStepInput, query: str) -> list[MemoryChunk]:
        """Passages of the accepted documents most relevant to this step (none for step 1)."""
        if self._memory is None or task.step is STEPS[0]:
            return []
        question = f"{STEP_AGENT[task.step]} writing the {task.step.value}. {query}"[:2000]
        return await self._memory(task.scope, question, MEMORY_PASSAGES)

    async def _persist(
        self, task: WriteStepInput, brief: StepBrief, writing: StepWriting, duration_ms: int
    ) -> WriteStepOutput:
        memory_used = [
            {"path": chunk.path, "version": chunk.version, "chunk": chunk.chunk_index,
             "score": round(chunk.score, 4)}
            for chunk in brief.memory
        ]  # fmt: skip
        if not writing.documents:
            raise invalid_input(f"the {STEP_AGENT[task.step]} wrote no document")
        tenant_id, project_id = task.scope.tenant_id, task.scope.project_id
        async with tenant_session(self._engine, tenant_id) as session:
            repo = TenantRepository(tenant_id, session)
            refs = []
            for rendered in writing.documents:
                document = await repo.ensure_document(project_id, task.step.value, rendered)
                earlier = await repo.list_versions(document.id)
                version = await repo.add_version(
                    document,
                    rendered.content_md,
                    source="agent",
                    created_by=STEP_AGENT[task.step],
                    writer=writing.writer,
                    idempotency_key=f"{task.idempotency_key}:{rendered.path}",
                    meta={
                        "writer": writing.writer,
                        "feedback": task.feedback,
                        "requested_by": task.requested_by,
                        "memory_used": memory_used,
                        "comments": [comment.model_dump() for comment in task.comments],
                    },
                )
                carried = carried_version(earlier, set(task.carry_version_ids))
                merged = await reapply_edit(repo, document, version, carried, earlier)
                refs.append(version_ref(document, merged or version))
            await repo.record_agent_run(
                AgentRun(
                    tenant_id=tenant_id,
                    project_id=project_id,
                    step=task.step.value,
                    status="succeeded",
                    writer=writing.writer,
                    tokens_in=writing.tokens_in,
                    tokens_out=writing.tokens_out,
                    duration_ms=duration_ms,
                    idempotency_key=task.idempotency_key,
                )
            )
        usage = StepUsage(
            writer=writing.writer,
            sections=writing.sections,
            resumed=writing.resumed,
            tokens_in=writing.tokens_in,
            tokens_out=writing.tokens_out,
            duration_ms=duration_ms,
        )
        return WriteStepOutput(versions=refs, writer=writing.writer, usage=usage)

    async def _record_failure(
        self, task: WriteStepInput, error: Exception, ms: int, spent: Usage
    ) -> None:
        """One failed agent_runs row per attempt, so operators see what went wrong."""
        async with tenant_session(self._engine, task.scope.tenant_id) as session:
            await TenantRepository(task.scope.tenant_id, session).record_agent_run(
                AgentRun(
                    tenant_id=task.scope.tenant_id,
                    project_id=task.scope.project_id,
                    step=task.step.value,
                    status="failed",
                    writer=self._settings.llm_provider,
                    tokens_in=spent.tokens_in,
                    tokens_out=spent.tokens_out,
                    duration_ms=ms,
                    error=f"{type(error).__name__}: {error}"[:2000],
                    idempotency_key=f"{task.idempotency_key}:attempt-{activity.info().attempt}",
                )
            )

    @activity.defn(name="save_edit")
    @heartbeats
    async def save_edit(self, edit: SaveEditInput) -> VersionRef:
        attributes = _span_attributes(edit.scope, document_id=str(edit.document_id))
        with self._tracer.start_as_current_span("docflow.save_edit", attributes=attributes):
            async with tenant_session(self._engine, edit.scope.tenant_id) as session:
                repo = TenantRepository(edit.scope.tenant_id, session)
                try:
                    document = await repo.get_document(edit.scope.project_id, edit.document_id)
                except NotFoundError as error:
                    raise not_found(error) from error
                version = await repo.version_by_key(edit.idempotency_key)
                if version is None:
                    edited_from = await repo.latest_version(document.id)
                    version = await repo.add_version(
                        document,
                        edit.content_md,
                        source=EDIT_SOURCE,
                        created_by=edit.edited_by,
                        writer="human",
                        idempotency_key=edit.idempotency_key,
                        meta=edit_meta(edited_from, edit.edited_by),
                    )
                return version_ref(document, version)

    @activity.defn(name="accept_step")
    @heartbeats
    async def accept_step(self, accept: AcceptInput) -> int:
        attributes = _span_attributes(accept.scope, step=accept.step.value)
        with self._tracer.start_as_current_span("docflow.accept_step", attributes=attributes) as s:
            s.set_attribute("version_ids", [str(version_id) for version_id in accept.version_ids])
            async with tenant_session(self._engine, accept.scope.tenant_id) as session:
                repo = TenantRepository(accept.scope.tenant_id, session)
                return await repo.accept_step(
                    accept.scope.project_id, Step(accept.step), accept.version_ids
                )


def _usage_of(run: AgentRun | None) -> StepUsage:
    if run is None:
        return StepUsage()
    return StepUsage(writer=run.writer, tokens_in=run.tokens_in, tokens_out=run.tokens_out,
                     duration_ms=run.duration_ms)  # fmt: skip


class SectionDraftStore:
    """A write's finished sections in PostgreSQL, keyed by the activity's idempotency key;
    for a quality revision also the revised write's sections that need no rewrite."""

    def __init__(
        self,
        engine: AsyncEngine,
        scope: TenantScope,
        write_key: str,
        kept_from: tuple[str, frozenset[str]] | None = None,
    ) -> None:
        self._engine, self._scope, self._write_key = engine, scope, write_key
        self._kept_from = kept_from

    def keeping(self, revised_key: str, rewrite: set[str]) -> SectionDraftStore:
        """This store, also offering ``revised_key``'s answers except those in ``rewrite``."""
        return SectionDraftStore(
            self._engine, self._scope, self._write_key, (revised_key, frozenset(rewrite))
        )

    async def saved(self) -> Mapping[str, SavedSection]:
        own = await self._load(self._write_key)
        if self._kept_from is None:
            return own
        revised_key, rewrite = self._kept_from
        kept = {k: v for k, v in (await self._load(revised_key)).items()
                if k not in rewrite and k not in own}  # fmt: skip
        for key, section in kept.items():  # kept under this write too: a later revision finds them
            await self._save_json(key, section.content_json, section.usage, 0)
        return {**kept, **own}

    async def _load(self, write_key: str) -> dict[str, SavedSection]:
        async with tenant_session(self._engine, self._scope.tenant_id) as session:
            drafts = await TenantRepository(self._scope.tenant_id, session).section_drafts(
                self._scope.project_id, write_key
            )
        return {
            draft.section_key: SavedSection(
                json.dumps(draft.content), Usage(draft.tokens_in, draft.tokens_out)
            )
            for draft in drafts
        }

    async def save(self, key: str, answer: BaseModel, usage: Usage, duration_ms: int) -> None:
        await self._save_json(key, answer.model_dump_json(), usage, duration_ms)

    async def _save_json(self, key: str, content: str, usage: Usage, duration_ms: int) -> None:
        draft = SectionDraft(
            tenant_id=self._scope.tenant_id,
            project_id=self._scope.project_id,
            write_key=self._write_key,
            section_key=key,
            content=json.loads(content),
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            duration_ms=duration_ms,
        )
        async with tenant_session(self._engine, self._scope.tenant_id) as session:
            await TenantRepository(self._scope.tenant_id, session).save_section_draft(draft)
